"""Near-copies: a result repeating an earlier one, or the task's model, is flagged."""

from __future__ import annotations

import numpy as np
import pytest

from decentralml.validation import (
    AggregationError,
    MalformedResult,
    find_copies,
)
from decentralml.validation.copies import DEFAULT_TOLERANCE

Weights = list[np.ndarray]


def _baseline() -> Weights:
    rng = np.random.default_rng(0)
    return [
        (rng.standard_normal((20, 5)) * 0.1).astype(np.float32),
        np.zeros(5, dtype=np.float32),
    ]


def _data(seed: int, n: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """One worker's shard: five Gaussian classes, the same centres for everyone."""
    centres = np.random.default_rng(100).standard_normal((5, 20)) * 1.5
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 5, n)
    return centres[y] + rng.standard_normal((n, 20)), y


def _train(start: Weights, seed: int) -> Weights:
    """An honest worker: one epoch of minibatch SGD on softmax regression, on its own shard."""
    x, y = _data(seed)
    w, b = start[0].astype(np.float64), start[1].astype(np.float64)
    order = np.random.default_rng(seed).permutation(len(y))
    for first in range(0, len(y), 32):
        rows = order[first : first + 32]
        z = x[rows] @ w + b
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        p[np.arange(len(rows)), y[rows]] -= 1
        w -= 0.1 * x[rows].T @ p / len(rows)
        b -= 0.1 * p.mean(axis=0)
    return [w.astype(np.float32), b.astype(np.float32)]


def _noisy(weights: Weights, start: Weights, relative: float, seed: int) -> Weights:
    """`weights` plus noise of norm `relative` times the size of its update from `start`."""
    rng = np.random.default_rng(seed)
    update = np.sqrt(
        sum(
            float(np.sum((a - s).astype(np.float64) ** 2))
            for a, s in zip(weights, start, strict=True)
        )
    )
    noise = [rng.standard_normal(a.shape) for a in weights]
    scale = relative * update / np.sqrt(sum(float(np.sum(n**2)) for n in noise))
    return [(a + scale * n).astype(a.dtype) for a, n in zip(weights, noise, strict=True)]


def test_a_copy_with_tiny_noise_is_flagged_with_its_original() -> None:
    """Bob copies Alice with noise of 0.1% of her update; Carol trained; Dave copies Carol."""
    # Prepare
    start = _baseline()
    alice, carol = _train(start, 1), _train(start, 2)
    results = [
        ("alice", alice),
        ("bob", _noisy(alice, start, 1e-3, seed=5)),
        ("carol", carol),
        ("dave", [layer.copy() for layer in carol]),
    ]

    # Execute
    checks = find_copies(results, start)

    # Assert
    assert list(checks) == ["alice", "bob", "carol", "dave"]
    assert [checks[w].copies for w in checks] == [None, "alice", None, "carol"]
    assert not checks["alice"].flagged and not checks["carol"].flagged
    assert checks["bob"].flagged and checks["dave"].flagged
    assert checks["bob"].distance == pytest.approx(1e-3, rel=0.05)
    assert checks["dave"].distance == 0.0


def test_the_earlier_submission_keeps_the_credit() -> None:
    """Order decides: the same two results, swapped, swap who copies whom."""
    start = _baseline()
    original = _train(start, 1)
    copy = _noisy(original, start, 1e-3, seed=6)

    forward = find_copies([("a", original), ("b", copy)], start)
    backward = find_copies([("b", copy), ("a", original)], start)

    assert (forward["a"].copies, forward["b"].copies) == (None, "a")
    assert (backward["b"].copies, backward["a"].copies) == (None, "b")


def test_a_copy_of_a_copy_names_the_first_original() -> None:
    start = _baseline()
    alice = _train(start, 1)
    bob = _noisy(alice, start, 1e-3, seed=7)
    carol = _noisy(bob, start, 1e-3, seed=8)

    checks = find_copies([("alice", alice), ("bob", bob), ("carol", carol)], start)

    assert checks["carol"].copies == "alice"


def test_the_unchanged_baseline_is_flagged() -> None:
    """The task's model sent back as is, or with noise of 1e-5 of its norm, did no work."""
    start = _baseline()
    norm = np.sqrt(sum(float(np.sum(a.astype(np.float64) ** 2)) for a in start))
    rng = np.random.default_rng(9)
    jitter = [a + (1e-5 * norm / np.sqrt(a.size * 2)) * rng.choice([-1, 1], a.shape) for a in start]
    results = [
        ("alice", _train(start, 1)),
        ("bob", [a.copy() for a in start]),
        ("carol", [a.astype(np.float32) for a in jitter]),
    ]

    checks = find_copies(results, start)

    assert not checks["alice"].flagged
    assert checks["bob"].unchanged and checks["bob"].change == 0.0
    assert checks["carol"].unchanged and checks["carol"].change < 1e-4
    assert checks["bob"].copies is None and checks["carol"].copies is None


def test_independent_trainings_are_not_flagged() -> None:
    """Honest SGD runs from one start on iid shards: updates closely aligned, still distinct."""
    # Prepare
    start = _baseline()
    results = [(f"worker{seed}", _train(start, seed)) for seed in range(1, 6)]

    # Execute
    checks = find_copies(results, start)

    # Assert: the updates point the same way (the hard case), yet none is flagged.
    updates = [
        np.concatenate([(a - s).ravel() for a, s in zip(w, start, strict=True)]) for _, w in results
    ]
    cosine = updates[0] @ updates[1] / np.linalg.norm(updates[0]) / np.linalg.norm(updates[1])
    assert cosine > 0.9
    assert not any(c.flagged for c in checks.values())
    assert min(c.distance for c in list(checks.values())[1:]) > 10 * DEFAULT_TOLERANCE


@pytest.mark.parametrize(("relative", "flagged"), [(0.005, True), (0.02, False)])
def test_the_tolerance_is_relative_to_the_update(relative: float, flagged: bool) -> None:
    """Noise of 0.5% of the update is a copy at the default 1%; noise of 2% is not."""
    start = _baseline()
    original = _train(start, 1)

    checks = find_copies([("a", original), ("b", _noisy(original, start, relative, 3))], start)

    assert checks["b"].flagged is flagged
    assert find_copies(
        [("a", original), ("b", _noisy(original, start, relative, 3))], start, tolerance=0.05
    )["b"].flagged


def test_distances_do_not_depend_on_the_block_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """Layers longer than a block (here 7 columns) are compared block by block, exactly."""
    import decentralml.validation.copies as copies

    start = _baseline()
    alice = _train(start, 1)
    results = [
        ("alice", alice),
        ("bob", _noisy(alice, start, 1e-3, 4)),
        ("carol", _train(start, 2)),
    ]
    whole = find_copies(results, start)
    monkeypatch.setattr(copies, "_BLOCK", 7)

    blocked = find_copies(results, start)

    for worker, check in whole.items():
        assert blocked[worker].copies == check.copies
        assert blocked[worker].distance == pytest.approx(check.distance, rel=1e-9)
        assert blocked[worker].change == pytest.approx(check.change, rel=1e-9)


def test_find_copies_reads_one_layer_at_a_time() -> None:
    class Logged:
        def __init__(self, weights: Weights, log: list[int]) -> None:
            self.weights, self.log = weights, log

        def __len__(self) -> int:
            return len(self.weights)

        def __getitem__(self, layer: int) -> np.ndarray:
            self.log.append(layer)
            return self.weights[layer]

    start = _baseline()
    log: list[int] = []
    results = [(f"w{i}", Logged(_train(start, i), log)) for i in range(3)]

    find_copies(results, Logged(start, log))

    assert log == [0, 0, 0, 0, 1, 1, 1, 1]


def test_mismatched_results_are_refused_naming_the_worker() -> None:
    start = _baseline()
    short = [start[0].copy()]
    wide = [start[0].astype(np.float64), start[1].copy()]
    nan = [start[0].copy(), np.full(5, np.nan, dtype=np.float32)]

    for bad, layer, reason in ((short, None, "1 layers"), (wide, 0, "dtype"), (nan, 1, "NaN")):
        with pytest.raises(MalformedResult) as info:
            find_copies([("alice", _train(start, 1)), ("mallory", bad)], start)
        assert (info.value.result, info.value.layer) == ("mallory", layer)
        assert reason in info.value.reason


def test_bad_parameters_are_refused() -> None:
    start = _baseline()
    with pytest.raises(AggregationError, match="twice"):
        find_copies([("a", start), ("a", start)], start)
    with pytest.raises(AggregationError, match="tolerance"):
        find_copies([("a", start)], start, tolerance=1.0)
    with pytest.raises(AggregationError, match="baseline_tolerance"):
        find_copies([("a", start)], start, baseline_tolerance=-1)
