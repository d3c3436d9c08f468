"""Finding near-copies: results that resubmit an earlier result, or the task's own model.

A worker who downloads another's published result (or sends back the task's model
untouched, perhaps with a little noise) has done no work; the earlier submission keeps the
credit, and a copy must not be federated twice.

What is compared is each result's *update*, ``delta = weights - baseline`` (the baseline is
the task's current model), never the raw weights:

- raw weights are the wrong scale: a short training moves them by a few percent, so any
  two honest results from the same baseline are "close" relative to the weights' norm;
- a result is flagged **unchanged** when ``|delta| <= baseline_tolerance * |baseline|``;
- a result is flagged as a **copy** of an earlier one when
  ``|delta_j - delta_k| <= tolerance * max(|delta_j|, |delta_k|)``: the two updates agree in
  direction *and* size to within `tolerance`. The cosine of the updates alone would not do:
  honest trainings from the same start on similar data take nearly the same direction.

How close can honest results come? Minibatch SGD on a softmax regression (20 features, 5
well-separated classes) from one shared start, on independent shards of the same
distribution, gave update cosines of 0.92-0.999 and relative distances of 0.24-0.39 with 100
samples per shard, 0.08-0.09 with 2,000 and 0.05-0.06 with 10,000: the more data, the closer
honest results converge. Hence a default `tolerance` of 0.01, an order of magnitude below
what honest work reached there; a copier adding noise above 1% of the update is not caught
here, and is left to the quality floor. A task whose honest results converge tighter still
(large shards, a convex model) needs a smaller tolerance.

The relative distance is not scale-invariant: ``baseline + 2 * delta_k`` is not flagged.
Such a result is a different model (a larger step along someone else's update), and the
quality floor judges it; flagging every result parallel to another would also flag honest
ones. Norms are summed layer by layer, so only one layer of every result is read at a time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from decentralml.validation._errors import AggregationError, MalformedResult
from decentralml.validation.aggregate import LayerSource, check_layer

__all__ = ["DEFAULT_BASELINE_TOLERANCE", "DEFAULT_TOLERANCE", "CopyCheck", "find_copies"]

DEFAULT_TOLERANCE = 0.01
# Columns per block when comparing updates: 16 results take 8 MiB of float64 per block.
_BLOCK = 1 << 16
# Brief fine-tuning of a large pretrained model at a small learning rate can move it by
# about 1e-3 of its norm: "unchanged" is kept well below that.
DEFAULT_BASELINE_TOLERANCE = 1e-4


@dataclass(frozen=True)
class CopyCheck:
    """What `find_copies` found about one worker's result."""

    worker: str
    # The earlier worker whose result this one nearly repeats, if any.
    copies: str | None
    # True when the result is nearly the task's current model, unchanged.
    unchanged: bool
    # How far the result moved from the baseline: |delta| / |baseline|.
    change: float
    # The smallest relative distance from its update to an earlier result's update
    # (inf for the first result, or one that is unchanged and so not compared).
    distance: float

    @property
    def flagged(self) -> bool:
        """Whether the result is a copy (of an earlier result or of the task's model)."""
        return self.unchanged or self.copies is not None


class _Norms:
    """Squared norms summed over layers: the baseline's, each update's, each pair's."""

    def __init__(self, n: int) -> None:
        self.baseline = 0.0
        self.deltas = np.zeros(n, dtype=np.float64)
        self.pairs = np.zeros((n, n), dtype=np.float64)

    def add_layer(self, base: np.ndarray, stack: np.ndarray) -> None:
        """Add one layer: `base` flattened, `stack` every result's layer flattened, by row.

        Columns go through in blocks converted to float64 once, so the extra memory is a
        few blocks rather than a float64 copy of every result's layer. Pairs are compared
        from the difference itself: the two updates of a copy nearly cancel, and
        ``|a|^2 + |b|^2 - 2ab`` would lose that small remainder.
        """
        for start in range(0, base.size, _BLOCK):
            b = base[start : start + _BLOCK].astype(np.float64)
            self.baseline += float(np.dot(b, b))
            deltas = stack[:, start : start + _BLOCK].astype(np.float64) - b
            self.deltas += np.einsum("ij,ij->i", deltas, deltas)
            for j in range(1, deltas.shape[0]):
                diff = deltas[:j] - deltas[j]
                self.pairs[j, :j] += np.einsum("ij,ij->i", diff, diff)


def find_copies(
    results: Sequence[tuple[str, LayerSource]],
    baseline: LayerSource,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    baseline_tolerance: float = DEFAULT_BASELINE_TOLERANCE,
) -> dict[str, CopyCheck]:
    """Flag each result that nearly repeats an earlier one, or the baseline unchanged.

    Parameters
    ----------
    results
        ``(worker, weights)`` in submission order: an earlier result is the original, a later
        near-identical one the copy.
    baseline
        The task's current model's weights, which every result started from.
    tolerance
        The largest relative distance between two updates that still counts as a copy,
        ``0 <= tolerance < 1``.
    baseline_tolerance
        The largest change relative to the baseline's norm that still counts as unchanged.

    Returns
    -------
    dict[str, CopyCheck]
        One check per worker, in the order given.

    Raises
    ------
    MalformedResult
        A result's layers, shapes or dtypes differ from the baseline's, or hold NaN or
        infinite values (``result`` is the worker, or ``"baseline"``).
    AggregationError
        Two results from the same worker, or a tolerance out of range.
    """
    if not 0 <= tolerance < 1:
        raise AggregationError(f"tolerance must be at least 0 and below 1, not {tolerance}")
    if not (baseline_tolerance >= 0 and math.isfinite(baseline_tolerance)):
        raise AggregationError(f"baseline_tolerance must be at least 0, not {baseline_tolerance}")
    workers = [worker for worker, _ in results]
    if len(set(workers)) != len(workers):
        raise AggregationError("a worker appears twice among the results")
    layers = len(baseline)
    for worker, source in results:
        if len(source) != layers:
            raise MalformedResult(
                f"{len(source)} layers where the current model has {layers}", result=worker
            )
    norms = _Norms(len(results))
    for i in range(layers):
        base = baseline[i]
        check_layer(base, shape=getattr(base, "shape", ()), result="baseline", layer=i)
        # Every result's layer i, in its own dtype: N times the layer, as for the robust
        # aggregators.
        stack = np.empty((len(results), base.size), dtype=base.dtype)
        for j, (worker, source) in enumerate(results):
            layer = source[i]
            check_layer(
                layer,
                shape=base.shape,
                dtype=base.dtype,
                result=worker,
                layer=i,
                shape_origin="the current model's",
                dtype_origin="the current model's",
            )
            stack[j] = layer.reshape(-1)
            del layer
        norms.add_layer(base.reshape(-1), stack)
        del base, stack
    return {c.worker: c for c in _decide(workers, norms, tolerance, baseline_tolerance)}


def _ratio(numerator_sq: float, denominator_sq: float) -> float:
    if denominator_sq > 0:
        return math.sqrt(numerator_sq / denominator_sq)
    return 0.0 if numerator_sq == 0 else math.inf


def _decide(
    workers: list[str], norms: _Norms, tolerance: float, baseline_tolerance: float
) -> list[CopyCheck]:
    checks = []
    for j, worker in enumerate(workers):
        from_baseline = _ratio(float(norms.deltas[j]), norms.baseline)
        if from_baseline <= baseline_tolerance:
            checks.append(CopyCheck(worker, None, True, from_baseline, math.inf))
            continue
        nearest, copies = math.inf, None
        for k in range(j):
            scale = max(norms.deltas[j], norms.deltas[k])
            distance = _ratio(float(norms.pairs[j, k]), float(scale))
            if copies is None and distance <= tolerance:
                # The earliest match is named: the original, ahead of any copy of it.
                copies = workers[k]
            nearest = min(nearest, distance)
        checks.append(CopyCheck(worker, copies, False, from_baseline, nearest))
    return checks
