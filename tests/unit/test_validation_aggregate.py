"""Aggregators: FedAvg streaming over results, coordinate-wise median, trimmed mean, Krum."""

from __future__ import annotations

import weakref
from collections.abc import Iterator

import numpy as np
import pytest

from decentralml.errors import DecentralMLError
from decentralml.validation import (
    AggregationError,
    MalformedResult,
    ResultRefused,
    coordinate_median,
    fedavg,
    krum,
    trimmed_mean,
)

Weights = list[np.ndarray]


def _weights(a: float, b: float) -> Weights:
    """A two-layer model whose layers are filled with `a` and `b`."""
    return [np.full((2, 2), a, dtype=np.float32), np.full(3, b, dtype=np.float32)]


def _random(rng: np.random.Generator, scale: float = 1.0) -> Weights:
    return [
        (rng.standard_normal((4, 3)) * scale).astype(np.float32),
        (rng.standard_normal(3) * scale).astype(np.float32),
    ]


class LoggedSource:
    """A result whose layers are made on demand, logging each read as (result, layer)."""

    def __init__(self, weights: Weights, index: int, log: list[tuple[int, int]]) -> None:
        self._weights = weights
        self._index = index
        self._log = log

    def __len__(self) -> int:
        return len(self._weights)

    def __getitem__(self, layer: int) -> np.ndarray:
        self._log.append((self._index, layer))
        return self._weights[layer].copy()


# --- FedAvg ---------------------------------------------------------------------------------


def test_fedavg_uniform_equals_hand_computation() -> None:
    """Uniform FedAvg is the plain mean of each layer, whatever the declared counts."""
    # Prepare
    results = [(_weights(1, 10), 100), (_weights(2, 20), 1), (_weights(6, 0), 5)]
    expected = [np.full((2, 2), 3, dtype=np.float32), np.full(3, 10, dtype=np.float32)]

    # Execute
    actual = fedavg(iter(results))

    # Assert
    np.testing.assert_equal(actual, expected)
    assert [a.dtype for a in actual] == [np.float32, np.float32]


def test_fedavg_declared_weighting_equals_hand_computation() -> None:
    """Declared weighting: (1*3 + 2*1) / 4 = 1.25 and (10*3 + 20*1) / 4 = 12.5."""
    # Prepare
    results = [(_weights(1, 10), 3), (_weights(2, 20), 1)]

    # Execute
    declared = fedavg(results, weighting="declared")
    uniform = fedavg(results)

    # Assert
    np.testing.assert_equal(declared, [np.full((2, 2), 1.25), np.full(3, 12.5)])
    np.testing.assert_equal(uniform, [np.full((2, 2), 1.5), np.full(3, 15.0)])


def test_fedavg_caps_declared_counts() -> None:
    """A result declaring 1,000,000 samples counts as `cap` = 3: (1*1 + 5*3) / 4 = 4."""
    # Prepare
    results = [(_weights(1, 1), 1), (_weights(5, 5), 1_000_000)]

    # Execute
    capped = fedavg(results, weighting="declared", cap=3)
    uncapped = fedavg(results, weighting="declared")

    # Assert
    np.testing.assert_equal(capped, [np.full((2, 2), 4.0), np.full(3, 4.0)])
    assert float(uncapped[0][0, 0]) == pytest.approx(5.0, abs=1e-5)


@pytest.mark.parametrize("count", [0, -3, float("nan"), float("inf"), "12", None, True])
def test_fedavg_refuses_bad_declared_counts(count: object) -> None:
    """A zero, negative, non-finite or non-numeric declared count names its result."""
    results = [(_weights(1, 1), 10), (_weights(2, 2), count)]

    with pytest.raises(MalformedResult) as info:
        fedavg(results, weighting="declared", names=["5Alice", "5Bob"])  # type: ignore[arg-type]

    assert info.value.result == "5Bob"
    assert "declared sample count" in info.value.reason
    # Uniform weighting never looks at the counts.
    fedavg(results)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"weighting": "declared", "cap": 0}, "cap"),
        ({"weighting": "declared", "cap": float("nan")}, "cap"),
        ({"weighting": "median"}, "weighting"),
    ],
)
def test_fedavg_refuses_bad_parameters(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(AggregationError, match=message):
        fedavg([(_weights(1, 1), 1)], **kwargs)  # type: ignore[arg-type]


def test_fedavg_refuses_no_results() -> None:
    with pytest.raises(AggregationError, match="no results"):
        fedavg(iter([]))


def test_fedavg_keeps_each_layers_dtype() -> None:
    """float16 stays float16 and integers are rounded, not truncated: (1 + 2) / 2 -> 2."""
    first: Weights = [np.array([1.0, 2.0], dtype=np.float16), np.array([1, 4], dtype=np.int64)]
    second: Weights = [np.array([3.0, 4.0], dtype=np.float16), np.array([2, 7], dtype=np.int64)]

    out = fedavg([(first, 1), (second, 1)])

    assert [a.dtype for a in out] == [np.float16, np.int64]
    np.testing.assert_equal(out[0], np.array([2.0, 3.0], dtype=np.float16))
    np.testing.assert_equal(out[1], np.array([2, 6]))


def test_fedavg_sums_in_float64() -> None:
    """Many float32 results lose nothing to float32 rounding of the running sum."""
    # 1 + 1e-8 is 1 in float32: a float32 sum of these would drift, a float64 one does not.
    values = [np.array([1.0], dtype=np.float32)] * 999 + [np.array([1001.0], dtype=np.float32)]

    out = fedavg(([v], 1) for v in values)

    assert out[0][0] == np.float32(2.0)


def test_fedavg_equals_a_naive_mean() -> None:
    rng = np.random.default_rng(1)
    models = [_random(rng) for _ in range(7)]
    counts = [int(c) for c in rng.integers(1, 100, size=7)]

    out = fedavg(zip(models, counts, strict=True), weighting="declared")

    for i in range(2):
        stacked = np.stack([m[i].astype(np.float64) for m in models])
        naive = np.average(stacked, axis=0, weights=counts)
        np.testing.assert_allclose(out[i], naive, rtol=1e-6)


def test_fedavg_holds_one_result_at_a_time() -> None:
    """With a generator that loads lazily, a result is freed before the next one loads."""
    # Prepare: count the arrays alive; each result's arrays are freed when no one holds them.
    alive = {"arrays": 0, "most_at_load": 0}

    def release() -> None:
        alive["arrays"] -= 1

    def load(seed: int) -> Weights:
        alive["most_at_load"] = max(alive["most_at_load"], alive["arrays"])
        weights = _random(np.random.default_rng(seed))
        for array in weights:
            alive["arrays"] += 1
            weakref.finalize(array, release)
        return weights

    def results() -> Iterator[tuple[Weights, int]]:
        for seed in range(20):
            yield load(seed), 1

    # Execute
    out = fedavg(results())

    # Assert: when each result loads, none of the earlier ones is still alive.
    assert alive["most_at_load"] == 0
    assert alive["arrays"] == 0
    expected = np.mean([_random(np.random.default_rng(s))[0] for s in range(20)], axis=0)
    np.testing.assert_allclose(out[0], expected, rtol=1e-5, atol=1e-6)


def test_fedavg_names_the_result_and_layer_of_a_shape_mismatch() -> None:
    good, bad = _weights(1, 1), _weights(2, 2)
    bad[1] = np.zeros(4, dtype=np.float32)

    with pytest.raises(MalformedResult) as info:
        fedavg([(good, 1), (good, 1), (bad, 1)])

    assert (info.value.result, info.value.layer) == (2, 1)
    assert info.value.reason == "layer 1: shape (4) differs from result 0's (3)"
    assert str(info.value).startswith("result 2: layer 1:")
    assert isinstance(info.value, ResultRefused)
    assert isinstance(info.value, DecentralMLError)


def test_fedavg_checks_the_first_result_against_the_tasks_shapes() -> None:
    with pytest.raises(MalformedResult) as info:
        fedavg([(_weights(1, 1), 1)], expected_shapes=[[2, 2], [4]])

    assert (info.value.result, info.value.layer) == (0, 1)
    assert "the task's (4)" in info.value.reason


def test_fedavg_refuses_a_missing_layer_naming_the_result() -> None:
    with pytest.raises(MalformedResult) as info:
        fedavg([(_weights(1, 1), 1), (_weights(1, 1)[:1], 1)], names=["5Alice", "5Bob"])

    assert info.value.result == "5Bob"
    assert info.value.layer is None
    assert "1 layers" in info.value.reason


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_fedavg_refuses_non_finite_values(value: float) -> None:
    bad = _weights(1, 1)
    bad[0][1, 1] = value

    with pytest.raises(MalformedResult) as info:
        fedavg([(_weights(1, 1), 1), (bad, 1)])

    assert (info.value.result, info.value.layer) == (1, 0)
    assert "NaN or infinite" in info.value.reason


def test_fedavg_refuses_a_different_dtype_or_a_non_array() -> None:
    wide = [layer.astype(np.float64) for layer in _weights(1, 1)]
    with pytest.raises(MalformedResult, match="dtype float64 differs from result 0's float32"):
        fedavg([(_weights(1, 1), 1), (wide, 1)])
    with pytest.raises(MalformedResult, match="not an array but list"):
        fedavg([(_weights(1, 1), 1), ([[1.0, 2.0], [3.0]], 1)])  # type: ignore[list-item]
    strings = [np.array([["a", "b"], ["c", "d"]]), np.zeros(3, dtype=np.float32)]
    with pytest.raises(MalformedResult, match="not numeric"):
        fedavg([(strings, 1)])


# --- robust aggregators ---------------------------------------------------------------------


def test_median_equals_hand_computation() -> None:
    """Odd count: the middle value; even count: the mean of the two middle values."""
    three = [_weights(1, 9), _weights(5, 2), _weights(3, 4)]
    four = [*three, _weights(10, 0)]

    np.testing.assert_equal(coordinate_median(three), _weights(3, 4))
    np.testing.assert_equal(coordinate_median(four), _weights(4, 3))
    assert [a.dtype for a in coordinate_median(four)] == [np.float32, np.float32]


def test_median_and_trimmed_mean_resist_a_poisoned_result() -> None:
    """One result of 1e6 drags the mean by ~1e5 and barely moves the median or trimmed mean."""
    # Prepare
    rng = np.random.default_rng(7)
    honest = [_random(rng, 0.1) for _ in range(9)]
    poisoned = [np.full_like(layer, 1e6) for layer in honest[0]]
    results = [*honest, poisoned]
    clean = coordinate_median(honest)

    # Execute
    mean = fedavg((r, 1) for r in results)
    median = coordinate_median(results)
    trimmed = trimmed_mean(results, 0.1)

    # Assert
    assert np.abs(mean[0] - clean[0]).max() > 9e4
    assert np.abs(median[0] - clean[0]).max() < 0.5
    assert np.abs(trimmed[0] - clean[0]).max() < 0.5


def test_trimmed_mean_equals_hand_computation() -> None:
    """beta 0.2 of 5 results drops the lowest and highest: mean of the middle three."""
    results = [_weights(v, -v) for v in (1, 2, 3, 4, 100)]

    out = trimmed_mean(results, 0.2)

    np.testing.assert_equal(out, _weights(3, -3))
    np.testing.assert_equal(trimmed_mean(results, 0.0), _weights(22, -22))


@pytest.mark.parametrize("beta", [0.5, 0.7, -0.1, float("nan")])
def test_trimmed_mean_refuses_a_beta_that_leaves_nothing(beta: float) -> None:
    with pytest.raises(AggregationError, match="beta"):
        trimmed_mean([_weights(1, 1), _weights(2, 2)], beta)


def test_robust_aggregators_read_one_layer_of_every_result_at_a_time() -> None:
    """All results' layer 0 is read before any layer 1: memory is N layers, not N models."""
    rng = np.random.default_rng(3)
    models = [_random(rng) for _ in range(5)]
    for aggregate in (
        coordinate_median,
        lambda sources: trimmed_mean(sources, 0.2),
        lambda sources: krum(sources, f=1).weights,
    ):
        log: list[tuple[int, int]] = []
        sources = [LoggedSource(m, j, log) for j, m in enumerate(models)]

        aggregate(sources)

        layers = [layer for _result, layer in log]
        first_pass = layers[: 2 * len(models)]
        assert first_pass == sorted(first_pass), log


def test_robust_aggregators_name_the_result_of_a_mismatch() -> None:
    results = [_weights(1, 1), _weights(2, 2), _weights(3, 3)]
    results[2] = [results[2][0], np.zeros((3, 1), dtype=np.float32)]
    for aggregate in (coordinate_median, lambda r, **kw: trimmed_mean(r, 0.0, **kw)):
        with pytest.raises(MalformedResult) as info:
            aggregate(results, names=["a", "b", "c"])
        assert (info.value.result, info.value.layer) == ("c", 1)

    short = [_weights(1, 1), _weights(2, 2), _weights(3, 3)[:1]]
    log: list[tuple[int, int]] = []
    with pytest.raises(MalformedResult) as info:
        coordinate_median([LoggedSource(m, j, log) for j, m in enumerate(short)])
    assert info.value.result == 2
    assert log == [], "layer counts are checked before any layer is read"


def test_krum_picks_an_honest_result_when_f_are_far_away() -> None:
    """Five honest results near 0 and two Byzantine ones at 50: Krum selects an honest one."""
    # Prepare
    rng = np.random.default_rng(11)
    honest = [_random(rng, 0.1) for _ in range(5)]
    byzantine = [[np.full_like(layer, 50.0) for layer in honest[0]] for _ in range(2)]
    results = [byzantine[0], *honest, byzantine[1]]

    # Execute
    chosen = krum(results, f=2)

    # Assert
    assert len(chosen.selected) == 1
    (index,) = chosen.selected
    assert 1 <= index <= 5
    np.testing.assert_equal(chosen.weights, results[index])
    assert min(chosen.scores[0], chosen.scores[6]) > max(chosen.scores[1:6])


def test_krum_scores_equal_hand_computation() -> None:
    """One-layer results 0, 1, 3, 10 with f=0: each score sums the 2 nearest squared distances."""
    results = [[np.array([v], dtype=np.float64)] for v in (0.0, 1.0, 3.0, 10.0)]

    chosen = krum(results, f=0)

    # 0: 1 + 9; 1: 1 + 4; 3: 4 + 9; 10: 49 + 81.
    assert chosen.scores == (10.0, 5.0, 13.0, 130.0)
    assert chosen.selected == (1,)


def test_multi_krum_averages_the_selected_results() -> None:
    results = [[np.array([v], dtype=np.float32)] for v in (0.0, 1.0, 2.0, 3.0, 100.0)]

    chosen = krum(results, f=1, m=3)

    # Scores with 2 neighbours: 0: 1+4=5, 1: 1+1=2, 2: 1+1=2, 3: 1+4=5, 100: huge.
    assert chosen.selected == (1, 2, 0)
    np.testing.assert_equal(chosen.weights, [np.array([1.0], dtype=np.float32)])


def test_krum_distances_do_not_depend_on_the_block_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """Layers longer than a block (here 7 columns) are compared block by block, exactly."""
    import decentralml.validation.aggregate as aggregate

    rng = np.random.default_rng(5)
    results = [_random(rng) for _ in range(6)]
    whole = krum(results, f=1)
    monkeypatch.setattr(aggregate, "_BLOCK", 7)

    blocked = krum(results, f=1)

    np.testing.assert_allclose(blocked.scores, whole.scores, rtol=1e-12)
    assert blocked.selected == whole.selected


@pytest.mark.parametrize(
    ("n", "f", "m", "message"),
    [(4, 1, 1, "more than 4 results"), (5, 1, 5, "m must be"), (5, -1, 1, "f must be")],
)
def test_krum_refuses_parameters_without_a_guarantee(n: int, f: int, m: int, message: str) -> None:
    with pytest.raises(AggregationError, match=message):
        krum([_weights(i, i) for i in range(n)], f=f, m=m)


# --- against independent computations, on layers of mixed dtypes and shapes -----------------

# float32, float64 and float16 weights, a scalar, an int32 counter, uint8 and bool masks.
MIXED_LAYERS: list[tuple[tuple[int, ...], type[np.generic]]] = [
    ((4, 3, 2), np.float32),
    ((7,), np.float64),
    ((3, 5), np.float16),
    ((), np.float32),
    ((2, 2), np.int32),
    ((6,), np.uint8),
    ((5,), np.bool_),
]


def _mixed(rng: np.random.Generator) -> Weights:
    """A random result with every layer of `MIXED_LAYERS`."""
    layers = []
    for shape, dtype in MIXED_LAYERS:
        if dtype is np.bool_:
            layers.append(rng.random(shape) < 0.5)
        elif dtype is np.uint8:
            layers.append(rng.integers(0, 256, shape).astype(dtype))
        elif dtype is np.int32:
            layers.append(rng.integers(-1000, 1000, shape).astype(dtype))
        else:
            layers.append(np.asarray(rng.standard_normal(shape) * 3).astype(dtype))
    return layers


def _as_layer(values: np.ndarray, like: np.ndarray) -> np.ndarray:
    """An independent float64 result cast to the layer's dtype the documented way."""
    if like.dtype.kind == "b":
        return np.asarray(values >= 0.5)
    if like.dtype.kind in "iu":
        return np.rint(values).astype(like.dtype)
    return np.asarray(values).astype(like.dtype)


def _assert_layers_match(actual: Weights, expected: Weights) -> None:
    assert len(actual) == len(expected)
    for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
        assert a.dtype == e.dtype, i
        assert a.shape == e.shape, i
        np.testing.assert_allclose(
            a.astype(np.float64), e.astype(np.float64), rtol=1e-6, atol=1e-6, err_msg=f"layer {i}"
        )


def _stacked(results: list[Weights], layer: int) -> np.ndarray:
    return np.stack([r[layer].astype(np.float64) for r in results])


def _as_given(results: list[Weights], counts: list[int], form: str) -> object:
    """The same results as a list in memory, a generator, or lazy sources (both streamed)."""
    if form == "list":
        return list(zip(results, counts, strict=True))
    if form == "generator":
        return ((r, c) for r, c in zip(results, counts, strict=True))
    log: list[tuple[int, int]] = []
    return [
        (LoggedSource(r, j, log), c) for j, (r, c) in enumerate(zip(results, counts, strict=True))
    ]


@pytest.mark.parametrize("form", ["list", "generator", "lazy"])
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("span", [None, 7])
def test_fedavg_matches_numpy_average_on_mixed_layers(
    seed: int, form: str, span: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Declared and uniform FedAvg equal `np.average` per layer, in each layer's dtype.

    In memory (a list of arrays) and streamed (a generator, lazy sources), and with spans
    of 7 elements, so that every layer but the scalar one crosses span boundaries.
    """
    # Prepare
    import decentralml.validation.aggregate as aggregate

    if span is not None:
        monkeypatch.setattr(aggregate, "_SPAN", span)
    rng = np.random.default_rng(seed)
    results = [_mixed(rng) for _ in range(9)]
    counts = [int(c) for c in rng.integers(1, 5_000, size=9)]
    declared = [
        _as_layer(np.average(_stacked(results, i), axis=0, weights=counts), results[0][i])
        for i in range(len(MIXED_LAYERS))
    ]
    uniform = [
        _as_layer(np.average(_stacked(results, i), axis=0), results[0][i])
        for i in range(len(MIXED_LAYERS))
    ]

    # Execute
    actual_declared = fedavg(_as_given(results, counts, form), weighting="declared")  # type: ignore[arg-type]
    actual_uniform = fedavg(_as_given(results, counts, form))  # type: ignore[arg-type]

    # Assert
    _assert_layers_match(actual_declared, declared)
    _assert_layers_match(actual_uniform, uniform)


@pytest.mark.parametrize("form", ["list", "generator"])
def test_fedavg_finds_a_non_finite_value_in_any_span(
    form: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Values are checked span by span: a NaN in the last span of a layer is still found."""
    import decentralml.validation.aggregate as aggregate

    monkeypatch.setattr(aggregate, "_SPAN", 5)
    rng = np.random.default_rng(4)
    results = [_mixed(rng) for _ in range(4)]
    results[2][0] = results[2][0].copy()
    results[2][0].reshape(-1)[-1] = np.inf

    with pytest.raises(MalformedResult) as info:
        fedavg(_as_given(results, [1, 2, 3, 4], form), weighting="declared")  # type: ignore[arg-type]

    assert (info.value.result, info.value.layer) == (2, 0)
    assert "NaN or infinite" in info.value.reason


def test_fedavg_in_memory_allocates_no_running_sum() -> None:
    """Results in a list: the only model-sized allocation is the output, not a float64 sum."""
    import tracemalloc

    rng = np.random.default_rng(8)
    results = [([rng.standard_normal((512, 512)).astype(np.float32)], 1) for _ in range(6)]
    layer_bytes = 512 * 512 * 4

    tracemalloc.start()
    before, _ = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    fedavg(results)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    # The float32 output plus two float64 spans of 32,768 elements (512 KiB).
    assert peak - before < layer_bytes + (1 << 20)


@pytest.mark.parametrize("count", [7, 8])
def test_median_matches_numpy_median_on_mixed_layers(count: int) -> None:
    """Odd and even counts: the coordinate median equals `np.median` of the stacked layer."""
    rng = np.random.default_rng(count)
    results = [_mixed(rng) for _ in range(count)]
    expected = [
        _as_layer(np.median(_stacked(results, i), axis=0), results[0][i])
        for i in range(len(MIXED_LAYERS))
    ]

    actual = coordinate_median(results)

    _assert_layers_match(actual, expected)


@pytest.mark.parametrize(("count", "beta"), [(10, 0.1), (10, 0.25), (9, 0.3), (6, 0.0)])
def test_trimmed_mean_matches_a_sorted_trim_on_mixed_layers(count: int, beta: float) -> None:
    """Sort each coordinate, drop floor(beta * n) from each end, average the rest."""
    rng = np.random.default_rng(count + int(beta * 100))
    results = [_mixed(rng) for _ in range(count)]
    cut = int(np.floor(beta * count))
    expected = [
        _as_layer(np.sort(_stacked(results, i), axis=0)[cut : count - cut].mean(axis=0), r0)
        for i, r0 in enumerate(results[0])
    ]

    actual = trimmed_mean(results, beta)

    _assert_layers_match(actual, expected)


def _brute_force_krum(results: list[Weights], f: int, m: int) -> tuple[list[float], list[int]]:
    """Krum by the definition: every pair's distance over all layers flattened together."""
    flat = [np.concatenate([layer.astype(np.float64).ravel() for layer in r]) for r in results]
    n = len(flat)
    scores = []
    for i in range(n):
        distances = sorted(float(np.sum((flat[i] - flat[j]) ** 2)) for j in range(n) if j != i)
        scores.append(sum(distances[: n - f - 2]))
    # Lowest scores first; ties to the earlier result.
    order = sorted(range(n), key=lambda j: (scores[j], j))
    return scores, order[:m]


@pytest.mark.parametrize(("f", "m"), [(1, 1), (2, 1), (2, 3), (1, 5)])
def test_krum_matches_a_brute_force_choice_on_mixed_layers(f: int, m: int) -> None:
    """Scores, selection and average equal a pairwise-distance computation done by hand."""
    # Prepare: seven results, two of them pushed away so the choice is not a coin toss.
    rng = np.random.default_rng(10 * f + m)
    results = [_mixed(rng) for _ in range(7)]
    for far in (2, 5):
        results[far] = [
            layer if layer.dtype.kind in "biu" else np.asarray(layer * 4, dtype=layer.dtype)
            for layer in results[far]
        ]
    scores, selected = _brute_force_krum(results, f, m)
    expected = [
        _as_layer(_stacked([results[j] for j in selected], i).mean(axis=0), results[0][i])
        for i in range(len(MIXED_LAYERS))
    ]

    # Execute
    chosen = krum(results, f=f, m=m)

    # Assert
    np.testing.assert_allclose(chosen.scores, scores, rtol=1e-9)
    assert list(chosen.selected) == selected
    _assert_layers_match(chosen.weights, expected)


def test_every_aggregator_returns_arrays_for_scalar_layers() -> None:
    """A 0-d layer comes back as a 0-d array, never a numpy scalar the next round refuses."""
    results = [[np.array(v, dtype=np.float32), np.array([v, -v])] for v in (1.0, 2.0, 4.0, 8.0)]

    outputs = {
        "fedavg uniform": fedavg((r, 1) for r in results),
        "fedavg declared": fedavg(((r, 2) for r in results), weighting="declared"),
        "median": coordinate_median(results),
        "trimmed mean": trimmed_mean(results, 0.25),
        "krum": krum(results, f=0).weights,
    }

    for name, out in outputs.items():
        assert all(isinstance(layer, np.ndarray) for layer in out), name
        assert (out[0].shape, out[0].dtype) == ((), np.float32), name
        # The output is a valid result itself, e.g. the next round's baseline.
        fedavg([(out, 1), (results[0], 1)])
    assert float(outputs["fedavg uniform"][0]) == 3.75
    assert float(outputs["median"][0]) == 3.0
    assert float(outputs["trimmed mean"][0]) == 3.0
