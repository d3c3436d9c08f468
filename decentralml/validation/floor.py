"""The quality floor: which results federation takes, judged on the creator's holdout.

Payment and federation are separate decisions. Whatever a policy paid, a result joins the
federated model only if its holdout accuracy is at least the current model's minus
`min_improvement`. The floor sits just *below* the current model, not above it: on non-IID
data one contributor's round of training often costs a little global accuracy that the
average wins back, and refusing every such result would stall the federation. What the
floor does refuse is a result that is clearly worse than what the task already has: random
or inverted weights, a model trained on flipped labels, a boosted update that replaces the
model with the attacker's. Attacks that keep holdout accuracy up (a backdoor on a trigger
the holdout never shows) pass the floor; the robust aggregators are the second line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from decentralml.validation._errors import AggregationError

__all__ = ["DEFAULT_MIN_IMPROVEMENT", "FloorCheck", "check_floor"]

# One accuracy point, as a fraction.
DEFAULT_MIN_IMPROVEMENT = 0.01
# Accuracies are counts over the holdout size: a result exactly `min_improvement` below the
# current model passes even when the subtraction rounds the floor up by an ulp.
_SLACK = 1e-12


@dataclass(frozen=True)
class FloorCheck:
    """One result held against the floor: its accuracy, the floor, and the verdict."""

    accuracy: float
    floor: float
    passed: bool

    @property
    def reason(self) -> str:
        """Why the result was left out, for the validation report ("" when it passed)."""
        if self.passed:
            return ""
        return f"holdout accuracy {self.accuracy:.4f} below the floor {self.floor:.4f}"


def _fraction(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AggregationError(f"{name} must be a number, not {value!r}")
    if not (math.isfinite(value) and 0 <= value <= 1):
        raise AggregationError(f"{name} must be a fraction from 0 to 1, not {value!r}")
    return float(value)


def check_floor(
    accuracy: float,
    current_accuracy: float,
    *,
    min_improvement: float = DEFAULT_MIN_IMPROVEMENT,
) -> FloorCheck:
    """Hold one result's holdout accuracy against the current model's.

    Parameters
    ----------
    accuracy
        The result's accuracy on the creator's holdout, a fraction from 0 to 1.
    current_accuracy
        The current model's accuracy on the same holdout.
    min_improvement
        How far below the current model a result may fall and still be federated, as a
        fraction (0.01 is one accuracy point). 0 asks results to do at least as well.

    Returns
    -------
    FloorCheck
        Passed when ``accuracy >= current_accuracy - min_improvement``.
    """
    accuracy = _fraction(accuracy, "accuracy")
    current = _fraction(current_accuracy, "current_accuracy")
    margin = _fraction(min_improvement, "min_improvement")
    floor = max(0.0, current - margin)
    return FloorCheck(accuracy, floor, accuracy >= floor - _SLACK)
