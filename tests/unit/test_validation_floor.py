"""The quality floor: a result joins federation only near or above the current model."""

from __future__ import annotations

import pytest

from decentralml.validation import (
    DEFAULT_MIN_IMPROVEMENT,
    AggregationError,
    FloorCheck,
    check_floor,
)


def test_default_floor_is_one_point_under_the_current_model() -> None:
    """Current 0.85: 0.84 passes, 0.839 does not."""
    # Execute
    at_floor = check_floor(0.84, 0.85)
    below = check_floor(0.839, 0.85)

    # Assert
    assert DEFAULT_MIN_IMPROVEMENT == 0.01
    assert isinstance(at_floor, FloorCheck)
    assert (at_floor.accuracy, at_floor.passed) == (0.84, True)
    assert at_floor.floor == pytest.approx(0.84)
    assert at_floor.reason == ""
    assert not below.passed
    assert below.reason == "holdout accuracy 0.8390 below the floor 0.8400"


@pytest.mark.parametrize("holdout", [100, 1_000, 3_000])
def test_exactly_one_point_below_passes_whatever_the_rounding(holdout: int) -> None:
    """Accuracies are counts over the holdout; a floor rounded up by an ulp must not bite.

    (0.86 - 0.01 is 0.8500000000000001 in floating point, above 85 / 100.)
    """
    point = holdout // 100
    for correct in range(point + 1, holdout + 1):
        current = correct / holdout
        assert check_floor((correct - point) / holdout, current).passed, correct
        assert not check_floor((correct - point - 1) / holdout, current).passed, correct


def test_a_better_result_passes_and_zero_margin_asks_for_no_loss() -> None:
    assert check_floor(0.9, 0.85).passed
    assert check_floor(0.85, 0.85, min_improvement=0).passed
    assert not check_floor(0.849, 0.85, min_improvement=0).passed


def test_floor_never_goes_below_zero() -> None:
    """A useless current model (accuracy 0) lets everything through: the floor cannot judge."""
    check = check_floor(0.0, 0.005, min_improvement=0.1)

    assert check.floor == 0.0
    assert check.passed


@pytest.mark.parametrize(
    ("accuracy", "current", "margin", "name"),
    [
        (1.2, 0.5, 0.01, "accuracy"),
        (float("nan"), 0.5, 0.01, "accuracy"),
        (0.5, -0.1, 0.01, "current_accuracy"),
        (0.5, 0.5, -0.01, "min_improvement"),
        (0.5, 0.5, float("inf"), "min_improvement"),
        ("0.5", 0.5, 0.01, "accuracy"),
        (True, 0.5, 0.01, "accuracy"),
    ],
)
def test_floor_refuses_values_that_are_not_fractions(
    accuracy: object, current: object, margin: object, name: str
) -> None:
    """Accuracies are fractions: a percentage (85) or NaN is a caller's mistake, not a verdict."""
    with pytest.raises(AggregationError, match=name):
        check_floor(accuracy, current, min_improvement=margin)  # type: ignore[arg-type]
