"""Aggregating contributors' weights: FedAvg, coordinate-wise median, trimmed mean, Krum.

Pure functions over numpy arrays, in the spirit of Flower's ``aggregate.py``, written so that
a validator with many results never holds them all in memory:

- `fedavg` streams: it takes an iterable that loads one result at a time and keeps a running
  weighted sum in float64, so peak memory stays near two models (the float64 sum) plus the
  result being read; results already in memory (a list of lists of arrays) are averaged a
  span of every result at a time, into the output alone. FedAvg is McMahan et al.,
  "Communication-Efficient Learning of Deep Networks from Decentralized Data" (AISTATS 2017).
- the robust aggregators read one layer of every result at a time from a `LayerSource` per
  result (a list of arrays, or a lazy reader such as `loading.WeightsReader`), so peak memory
  stays near N times the largest layer. Coordinate-wise median and trimmed mean are from
  Yin et al., "Byzantine-Robust Distributed Learning: Towards Optimal Statistical Rates"
  (ICML 2018); Krum and Multi-Krum from Blanchard et al., "Machine Learning with Adversaries:
  Byzantine Tolerant Gradient Descent" (NeurIPS 2017).

Every function checks that each result has the task's number of layers, each layer the
reference shape and dtype (the task's shapes when given, otherwise the first result's) and
only finite values, and raises `MalformedResult` naming the result and the layer. Outputs
keep each layer's dtype; integer layers are rounded, boolean layers take the majority.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from decentralml.validation._errors import AggregationError, MalformedResult

__all__ = [
    "KrumSelection",
    "LayerSource",
    "Weighting",
    "check_layer",
    "coordinate_median",
    "fedavg",
    "krum",
    "trimmed_mean",
]

# Columns per block when comparing results pairwise: 16 results take 8 MiB per block.
_BLOCK = 1 << 16
# Elements per span when FedAvg adds a layer: a float64 span and its scratch (512 KiB)
# stay in cache, so the running sum is read and written once per result, with no
# layer-sized temporary.
_SPAN = 1 << 15
# Numeric kinds a weights layer may have: float, signed and unsigned integer, boolean.
NUMERIC_KINDS = "fiub"

Weighting = Literal["uniform", "declared"]
Shapes = Sequence[Sequence[int]]
Label = int | str


class LayerSource(Protocol):
    """One result's layers in ``get_weights()`` order, read one at a time by index.

    A ``list`` of arrays is one; so is `loading.WeightsReader`, which reads each layer from
    its ``.npz`` only when asked.
    """

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> np.ndarray: ...


@dataclass(frozen=True)
class KrumSelection:
    """What Krum chose: the aggregated weights and which results they came from."""

    weights: list[np.ndarray]
    # Positions of the selected results, best score first.
    selected: tuple[int, ...]
    # Every result's score (sum of squared distances to its closest neighbours), by position.
    scores: tuple[float, ...]


class _Reference:
    """The layer count, shapes and dtypes every result must match.

    The task's shapes when known, so that the first result is checked like any other;
    otherwise the first result's. Dtypes always come from the first result: the task does
    not record them, and a mix of dtypes would make the output's dtype a matter of order.
    """

    def __init__(self, expected_shapes: Shapes | None) -> None:
        self.layers: int | None = None
        self.shapes: dict[int, tuple[int, ...]] = {}
        self.dtypes: dict[int, np.dtype] = {}
        self.shape_origin = "the task's"
        self.dtype_origin = "the first result's"
        self.first: Label | None = None
        if expected_shapes is not None:
            self.layers = len(expected_shapes)
            self.shapes = {i: tuple(int(d) for d in s) for i, s in enumerate(expected_shapes)}

    def count(self, source: LayerSource, label: Label) -> int:
        """The number of layers of `source`, which must be the model's."""
        n = len(source)
        if self.first is None:
            self.first = label
            self.dtype_origin = f"result {label}'s"
        if self.layers is None:
            self.layers = n
            self.shape_origin = f"result {label}'s"
        elif n != self.layers:
            raise MalformedResult(
                f"{n} layers where {self.shape_origin} weights have {self.layers}", result=label
            )
        return n

    def read(
        self, source: LayerSource, layer: int, label: Label, *, finite: bool = True
    ) -> np.ndarray:
        """Layer `layer` of `source`, checked; the first result read sets what is unset.

        With ``finite=False`` the values are not scanned: FedAvg checks them block by block
        while it adds them, instead of in a pass of its own.
        """
        array = source[layer]
        shape = self.shapes.setdefault(layer, getattr(array, "shape", ()))
        dtype = self.dtypes.get(layer)
        check_layer(
            array,
            shape=shape,
            dtype=dtype,
            result=label,
            layer=layer,
            shape_origin=self.shape_origin,
            dtype_origin=self.dtype_origin,
            finite=finite,
        )
        self.dtypes.setdefault(layer, array.dtype)
        return array


def check_layer(
    array: object,
    *,
    shape: tuple[int, ...],
    dtype: np.dtype | None = None,
    result: Label | None = None,
    layer: int | None = None,
    shape_origin: str = "the model's",
    dtype_origin: str = "the model's",
    finite: bool = True,
) -> None:
    """Refuse `array` unless it is numeric, of `shape` (and `dtype`), with finite values.

    Raises `MalformedResult` naming `result` and `layer`. ``finite=False`` leaves the
    values to the caller.
    """
    if not isinstance(array, np.ndarray):
        kind = type(array).__name__
        raise MalformedResult(f"not an array but {kind}", result=result, layer=layer)
    if array.dtype.kind not in NUMERIC_KINDS:
        raise MalformedResult(f"dtype {array.dtype} is not numeric", result=result, layer=layer)
    if array.shape != shape:
        raise MalformedResult(
            f"shape {format_shape(array.shape)} differs from {shape_origin} {format_shape(shape)}",
            result=result,
            layer=layer,
        )
    if dtype is not None and array.dtype != dtype:
        raise MalformedResult(
            f"dtype {array.dtype} differs from {dtype_origin} {dtype}", result=result, layer=layer
        )
    if finite and array.dtype.kind == "f" and not np.isfinite(array).all():
        raise MalformedResult("holds NaN or infinite values", result=result, layer=layer)


def format_shape(shape: tuple[int, ...]) -> str:
    """A shape as ``(3, 4)``, for messages."""
    return "(" + ", ".join(str(d) for d in shape) + ")"


def _cast(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """float64 aggregates back to the layer's dtype: rounded for integers, majority for bools.

    Always an array: numpy reduces a 0-d layer to a scalar, which no aggregator would take
    back as a layer (the federated model is the next round's baseline).
    """
    values = np.asarray(values)
    if dtype.kind == "b":
        return values >= 0.5
    if dtype.kind in "iu":
        return np.rint(values).astype(dtype)
    return values.astype(dtype)


def _labels(count: int | None, names: Sequence[str] | None) -> list[Label] | None:
    if names is None:
        return None
    if count is not None and len(names) != count:
        raise AggregationError(f"{len(names)} names for {count} results")
    if len(set(names)) != len(names):
        raise AggregationError("two results have the same name")
    return list(names)


def _label(j: int, labels: Sequence[Label] | None) -> Label:
    if labels is None:
        return j
    if j >= len(labels):
        raise AggregationError(f"more results than names ({len(labels)})")
    return labels[j]


# --- FedAvg, streaming ---------------------------------------------------------------------


def _factor(count: object, weighting: Weighting, cap: float | None, label: Label) -> float:
    """The weight of one result: 1, or its declared sample count, capped.

    Declared counts are the contributor's word, and a poisoning vector: a bad count is
    refused rather than guessed at, and the cap bounds what an honest-looking one can claim.
    """
    if weighting == "uniform":
        return 1.0
    if isinstance(count, bool) or not isinstance(count, int | float | np.integer | np.floating):
        raise MalformedResult(f"declared sample count {count!r} is not a number", result=label)
    value = float(count)
    if not math.isfinite(value) or value <= 0:
        raise MalformedResult(f"declared sample count {count!r} is not positive", result=label)
    return value if cap is None else min(value, cap)


def fedavg(
    results: Iterable[tuple[LayerSource, float]],
    *,
    weighting: Weighting = "uniform",
    cap: float | None = None,
    expected_shapes: Shapes | None = None,
    names: Sequence[str] | None = None,
) -> list[np.ndarray]:
    """Weighted average of results, read one at a time.

    Parameters
    ----------
    results
        ``(weights, declared_sample_count)`` pairs, where ``weights`` is a `LayerSource`
        (a list of arrays, or a lazy reader). Pass a generator that loads each result when
        asked: this function keeps no reference to a result once it has been added, so only
        one is alive at a time (as long as the iterable keeps none either: ``enumerate`` and
        ``zip`` over already-loaded results hold the previous one while the next loads).
        A list or tuple whose weights are all lists or tuples of arrays is already in
        memory: it is averaged a span of every result at a time, which needs no running
        sum of the model and reads each result once.
    weighting
        ``"uniform"`` (the default: every result counts once, declared counts are ignored)
        or ``"declared"`` (weighted by declared sample counts, each capped at `cap`).
    cap
        The most samples one result may claim under ``"declared"`` weighting.
    expected_shapes
        The task's ``weights_shapes``; without them the first result sets the shapes.
    names
        A name per result, in order (e.g. the worker's address), used in errors.

    Returns
    -------
    list[np.ndarray]
        The averaged layers, each in its input dtype.
    """
    if weighting not in ("uniform", "declared"):
        raise AggregationError(f"unknown weighting {weighting!r}: uniform or declared")
    if cap is not None and not (math.isfinite(cap) and cap > 0):
        raise AggregationError(f"the cap on declared sample counts must be positive, not {cap}")
    if isinstance(results, list | tuple) and all(_in_memory(item) for item in results):
        return _fedavg_in_memory(results, weighting, cap, expected_shapes, names)
    return _fedavg_streaming(results, weighting, cap, expected_shapes, names)


def _in_memory(item: object) -> bool:
    if not (isinstance(item, tuple) and len(item) == 2):
        return False
    weights = item[0]
    return isinstance(weights, list | tuple) and all(isinstance(a, np.ndarray) for a in weights)


def _flat(array: np.ndarray) -> np.ndarray:
    """A 1-d view of a layer (a copy only for a non-contiguous one)."""
    return array.reshape(-1)


def _check_span(span: np.ndarray, label: Label, layer: int) -> None:
    # Checked span by span while the values are in cache, not in a pass of their own.
    if span.dtype.kind == "f" and not np.isfinite(span).all():
        raise MalformedResult("holds NaN or infinite values", result=label, layer=layer)


def _fedavg_streaming(
    results: Iterable[tuple[LayerSource, float]],
    weighting: Weighting,
    cap: float | None,
    expected_shapes: Shapes | None,
    names: Sequence[str] | None,
) -> list[np.ndarray]:
    """One result at a time, into a float64 running sum of the model."""
    labels = _labels(None, names)
    ref = _Reference(expected_shapes)
    sums: list[np.ndarray] = []
    scratch = np.empty(_SPAN, dtype=np.float64)
    total = 0.0
    # A counter, not enumerate(): enumerate keeps its last item until the next one is
    # loaded, which would hold two results at once.
    j = -1
    for weights, count in results:
        j += 1
        label = _label(j, labels)
        factor = _factor(count, weighting, cap, label)
        n = ref.count(weights, label)
        for i in range(n):
            layer = ref.read(weights, i, label, finite=False)
            if j == 0:
                # In float64 whatever the layer's dtype, so that summing many results loses
                # nothing to float32 rounding. asarray: numpy turns a 0-d product into a
                # scalar, which cannot be added to in place.
                sums.append(np.asarray(np.multiply(layer, factor, dtype=np.float64)))
            _add_scaled(sums[i], layer, factor, scratch, first=j == 0, label=label, index=i)
            del layer
        total += factor
        # Drop this result before the iterable loads the next one.
        del weights
    if j < 0:
        raise AggregationError("no results to aggregate")
    if labels is not None and j + 1 != len(labels):
        raise AggregationError(f"{len(labels)} names for {j + 1} results")
    # Divide in place and let each float64 sum go once cast: no second copy of the model.
    out: list[np.ndarray] = []
    sums.reverse()
    while sums:
        layer_sum = sums.pop()
        layer_sum /= total
        out.append(_cast(layer_sum, ref.dtypes[len(out)]))
        del layer_sum
    return out


def _add_scaled(
    total: np.ndarray,
    layer: np.ndarray,
    factor: float,
    scratch: np.ndarray,
    *,
    first: bool,
    label: Label,
    index: int,
) -> None:
    """``total += factor * layer`` span by span, checking the layer's values on the way.

    The first result only has its values checked: `total` already holds it.
    """
    flat_total, flat = _flat(total), _flat(layer)
    for start in range(0, flat.size, _SPAN):
        span = flat[start : start + _SPAN]
        _check_span(span, label, index)
        if first:
            continue
        target = flat_total[start : start + _SPAN]
        if factor == 1.0:
            np.add(target, span, out=target)
        else:
            buffer = scratch[: span.size]
            # dtype: numpy would otherwise multiply in the layer's own (float16/32) precision.
            np.multiply(span, factor, out=buffer, dtype=np.float64)
            np.add(target, buffer, out=target)


def _fedavg_in_memory(
    results: Sequence[tuple[LayerSource, float]],
    weighting: Weighting,
    cap: float | None,
    expected_shapes: Shapes | None,
    names: Sequence[str] | None,
) -> list[np.ndarray]:
    """Results already in memory: a span of every result at a time, into the output.

    Streaming must keep a float64 sum of the whole model, read and written once per
    result. With every result at hand, each span's weighted sum is made in cache and
    written once, cast, to the output: the memory traffic is little more than reading
    each result, and the only model-sized allocation is the output itself.
    """
    if len(results) == 0:
        raise AggregationError("no results to aggregate")
    labels: list[Label] = list(range(len(results)))
    given = _labels(len(results), names)
    if given is not None:
        labels = given
    ref = _Reference(expected_shapes)
    factors = []
    # Counts, layer counts, shapes and dtypes of every result, in the streaming order;
    # values are checked span by span below, so a result holding NaN is named after any
    # later result with a wrong shape.
    for j, (weights, count) in enumerate(results):
        factors.append(_factor(count, weighting, cap, labels[j]))
        for i in range(ref.count(weights, labels[j])):
            ref.read(weights, i, labels[j], finite=False)
    # Normalised first, so that no weighted value can overflow float64.
    total = math.fsum(factors)
    shares = [factor / total for factor in factors]
    span_sum = np.empty(_SPAN, dtype=np.float64)
    scratch = np.empty(_SPAN, dtype=np.float64)
    out = []
    for i in range(len(ref.shapes)):
        flats = [_flat(weights[i]) for weights, _count in results]
        dtype = ref.dtypes[i]
        layer = np.empty(ref.shapes[i], dtype=dtype)
        target = _flat(layer)
        for start in range(0, target.size, _SPAN):
            stop = min(start + _SPAN, target.size)
            acc, buffer = span_sum[: stop - start], scratch[: stop - start]
            for j, flat in enumerate(flats):
                span = flat[start:stop]
                _check_span(span, labels[j], i)
                # dtype: numpy would otherwise multiply in the layer's own precision.
                np.multiply(span, shares[j], out=acc if j == 0 else buffer, dtype=np.float64)
                if j:
                    np.add(acc, buffer, out=acc)
            target[start:stop] = _cast(acc, dtype)
        del flats
        out.append(layer)
    return out


# --- robust aggregators, one layer at a time -------------------------------------------------


def _prepare(
    results: Sequence[LayerSource], expected_shapes: Shapes | None, names: Sequence[str] | None
) -> tuple[_Reference, list[Label], int]:
    if len(results) == 0:
        raise AggregationError("no results to aggregate")
    given = _labels(len(results), names)
    labels: list[Label] = list(range(len(results))) if given is None else given
    ref = _Reference(expected_shapes)
    # Every result's layer count is checked before any layer is read.
    counts = [ref.count(source, labels[j]) for j, source in enumerate(results)]
    return ref, labels, counts[0]


def _stack(
    results: Sequence[LayerSource], ref: _Reference, labels: Sequence[Label], layer: int
) -> np.ndarray:
    """Layer `layer` of every result, stacked along a new first axis.

    Filled in place, one result at a time, so a lazy source's array is dropped as soon as
    it is copied: peak is the stack plus one layer.
    """
    first = ref.read(results[0], layer, labels[0])
    stack = np.empty((len(results), *first.shape), dtype=first.dtype)
    stack[0] = first
    del first
    for j in range(1, len(results)):
        stack[j] = ref.read(results[j], layer, labels[j])
    return stack


def coordinate_median(
    results: Sequence[LayerSource],
    *,
    expected_shapes: Shapes | None = None,
    names: Sequence[str] | None = None,
) -> list[np.ndarray]:
    """Coordinate-wise median of the results, one layer at a time.

    Parameters
    ----------
    results
        One `LayerSource` per result.
    expected_shapes, names
        As for `fedavg`.

    Returns
    -------
    list[np.ndarray]
        Each coordinate's median over the results (the mean of the two middle values for an
        even count), each layer in its input dtype.
    """
    ref, labels, layers = _prepare(results, expected_shapes, names)
    out = []
    for i in range(layers):
        stack = _stack(results, ref, labels, i)
        # The stack is ours: let numpy partition it in place instead of copying it.
        values = np.median(stack, axis=0, overwrite_input=True)
        out.append(_cast(np.asarray(values, dtype=np.float64), stack.dtype))
        del stack
    return out


def trimmed_mean(
    results: Sequence[LayerSource],
    beta: float,
    *,
    expected_shapes: Shapes | None = None,
    names: Sequence[str] | None = None,
) -> list[np.ndarray]:
    """Coordinate-wise trimmed mean: drop the ``floor(beta * n)`` lowest and highest values.

    Parameters
    ----------
    results
        One `LayerSource` per result.
    beta
        The fraction trimmed from each end, ``0 <= beta < 0.5``; 0 is the plain mean.
    expected_shapes, names
        As for `fedavg`.

    Returns
    -------
    list[np.ndarray]
        Each coordinate's trimmed mean, each layer in its input dtype.
    """
    n = len(results)
    if not (isinstance(beta, int | float) and 0 <= beta < 0.5):
        raise AggregationError(f"beta must be at least 0 and below 0.5, not {beta!r}")
    cut = math.floor(beta * n)
    if n - 2 * cut < 1:
        raise AggregationError(f"trimming {cut} of {n} results from each end leaves none")
    ref, labels, layers = _prepare(results, expected_shapes, names)
    out = []
    for i in range(layers):
        stack = _stack(results, ref, labels, i)
        stack.sort(axis=0)
        kept = stack[cut : n - cut]
        out.append(_cast(kept.mean(axis=0, dtype=np.float64), stack.dtype))
        del stack, kept
    return out


def krum(
    results: Sequence[LayerSource],
    *,
    f: int,
    m: int = 1,
    expected_shapes: Shapes | None = None,
    names: Sequence[str] | None = None,
) -> KrumSelection:
    """Krum (``m=1``) or Multi-Krum: keep the results closest to their neighbours.

    Each result's score is the sum of its squared Euclidean distances to its ``n - f - 2``
    nearest other results; the ``m`` lowest scores are selected (ties go to the earlier
    result) and averaged uniformly. Distances are accumulated layer by layer, so only one
    layer of every result is in memory at a time; the selected results are read again for
    the average.

    Parameters
    ----------
    results
        One `LayerSource` per result.
    f
        How many results may be Byzantine. Krum's guarantee needs ``n > 2f + 2``.
    m
        How many results to select and average, ``1 <= m <= n - f``.
    expected_shapes, names
        As for `fedavg`.

    Returns
    -------
    KrumSelection
        The averaged weights, the selected positions and every result's score.
    """
    n = len(results)
    if isinstance(f, bool) or not isinstance(f, int) or f < 0:
        raise AggregationError(f"f must be a whole number of results, at least 0, not {f!r}")
    if n <= 2 * f + 2:
        raise AggregationError(f"Krum with f={f} needs more than {2 * f + 2} results, got {n}")
    if isinstance(m, bool) or not isinstance(m, int) or not 1 <= m <= n - f:
        raise AggregationError(f"m must be from 1 to n - f = {n - f}, not {m!r}")
    ref, labels, layers = _prepare(results, expected_shapes, names)
    distances = np.zeros((n, n), dtype=np.float64)
    for i in range(layers):
        _add_squared_distances(_stack(results, ref, labels, i), distances)
    scores = _krum_scores(distances, n - f - 2)
    selected = tuple(int(j) for j in np.argsort(scores, kind="stable")[:m])
    chosen = [results[j] for j in selected]
    weights = []
    for i in range(layers):
        total = np.zeros(ref.shapes[i], dtype=np.float64)
        for j, source in zip(selected, chosen, strict=True):
            total += ref.read(source, i, labels[j])
        weights.append(_cast(total / m, ref.dtypes[i]))
    return KrumSelection(weights, selected, tuple(float(s) for s in scores))


def _add_squared_distances(stack: np.ndarray, distances: np.ndarray) -> None:
    """Add each pair's squared distance over this layer to `distances` (symmetric).

    From the differences themselves, not the ``|a|^2 + |b|^2 - 2ab`` expansion, which loses
    the small distances of near-identical results to cancellation. Columns go through in
    blocks converted to float64 once, so the extra memory is a few blocks, not a layer.
    """
    n = stack.shape[0]
    flat = stack.reshape(n, -1)
    for start in range(0, flat.shape[1], _BLOCK):
        block = flat[:, start : start + _BLOCK].astype(np.float64)
        for a in range(n - 1):
            diff = block[a + 1 :] - block[a]
            d = np.einsum("ij,ij->i", diff, diff)
            distances[a, a + 1 :] += d
            distances[a + 1 :, a] += d


def _krum_scores(distances: np.ndarray, neighbours: int) -> np.ndarray:
    """Each row's sum of its `neighbours` smallest distances to the other results."""
    n = distances.shape[0]
    others = np.where(np.eye(n, dtype=bool), np.inf, distances)
    nearest = np.sort(others, axis=1)[:, :neighbours]
    return np.asarray(nearest.sum(axis=1), dtype=np.float64)
