#!/usr/bin/env python3
"""Aggregating many results: streaming FedAvg against loading them all, and the robust ones.

    .venv/bin/python benchmarks/aggregate_bench.py [--results 20] [--rounds 3] [--json FILE]

Writes `--results` weights files of a ~4.8M-parameter float32 model (random arrays; the
largest layer 8192 x 512, as in a dense head) with `numpy.savez` into a temporary
directory, as contributors' `weights.npz`. Then, for `--rounds` rounds (alternating the
order), times and measures with tracemalloc the peak of Python and numpy allocations of:

- naive: every result loaded with `load_weights_npz` into one list, then averaged layer by
  layer with `np.mean` (what a validator writes first);
- fedavg: `fedavg` over a generator that loads one result at a time with `load_weights_npz`;
- fedavg, per layer: the same over `WeightsReader`s, which read one layer at a time;
- median, trimmed mean (beta 0.1), Krum (f = 4): over `WeightsReader`s, one layer of every
  result at a time.

Every file is read once before the first round, so the page cache serves all methods alike.
Both FedAvg results must equal the naive mean. The median of the rounds' times is reported,
and the largest peak, each as a ratio to naive. Not a test: it prints what it measured.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from decentralml.validation import (  # noqa: E402
    WeightsReader,
    coordinate_median,
    fedavg,
    krum,
    load_weights_npz,
    trimmed_mean,
)

# A conv stem, a wide dense layer and a classifier: 4,803,210 parameters.
SHAPES = [
    [3, 3, 64, 128],
    [128],
    [8192, 512],
    [512],
    [512, 1024],
    [1024],
    [1024, 10],
    [10],
]
MIB = 1 << 20


def write_results(directory: Path, count: int) -> list[Path]:
    paths = []
    for j in range(count):
        rng = np.random.default_rng(j)
        path = directory / f"result-{j:02d}.npz"
        np.savez(path, *(rng.standard_normal(s, dtype=np.float32) for s in SHAPES))
        paths.append(path)
    return paths


def naive(paths: list[Path]) -> list[np.ndarray]:
    results = [load_weights_npz(p, SHAPES) for p in paths]
    return [np.mean([r[i] for r in results], axis=0) for i in range(len(SHAPES))]


def streaming(paths: list[Path]) -> list[np.ndarray]:
    return fedavg((load_weights_npz(p, SHAPES), 1) for p in paths)


def per_layer(paths: list[Path]) -> list[np.ndarray]:
    def results() -> Iterator[tuple[WeightsReader, int]]:
        for p in paths:
            with WeightsReader(p, SHAPES) as reader:
                yield reader, 1

    return fedavg(results())


def robust(method: Callable[[list[WeightsReader]], object]) -> Callable[[list[Path]], Any]:
    def run(paths: list[Path]) -> Any:
        readers = [WeightsReader(p, SHAPES) for p in paths]
        try:
            return method(readers)
        finally:
            for reader in readers:
                reader.close()

    return run


METHODS: dict[str, Callable[[list[Path]], Any]] = {
    "naive": naive,
    "fedavg": streaming,
    "fedavg/layer": per_layer,
    "median": robust(coordinate_median),
    "trimmed 0.1": robust(lambda r: trimmed_mean(r, 0.1)),
    "krum f=4": robust(lambda r: krum(r, f=4)),
}


def measure(method: Callable[[list[Path]], Any], paths: list[Path]) -> tuple[float, int, Any]:
    tracemalloc.start()
    tracemalloc.reset_peak()
    started = time.perf_counter()
    out = method(paths)
    seconds = time.perf_counter() - started
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return seconds, peak, out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args()

    params = sum(int(np.prod(s)) for s in SHAPES)
    model_mib = params * 4 / MIB
    largest_mib = max(int(np.prod(s)) for s in SHAPES) * 4 / MIB
    runs: dict[str, list[tuple[float, int]]] = {m: [] for m in METHODS}
    with tempfile.TemporaryDirectory(prefix="aggregate-bench-") as tmp:
        paths = write_results(Path(tmp), args.results)
        for p in paths:
            p.read_bytes()
        reference = None
        for round_ in range(args.rounds):
            order = list(METHODS) if round_ % 2 == 0 else list(METHODS)[::-1]
            for name in order:
                seconds, peak, out = measure(METHODS[name], paths)
                runs[name].append((seconds, peak))
                if name == "naive":
                    reference = out
                print(
                    f"round {round_ + 1}: {name} {seconds:.2f} s, {peak / MIB:.0f} MiB",
                    file=sys.stderr,
                )
                if name.startswith("fedavg") and reference is not None:
                    for a, b in zip(out, reference, strict=True):
                        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
                del out

    rows = []
    base_s = statistics.median(s for s, _ in runs["naive"])
    base_peak = max(p for _, p in runs["naive"])
    for name, measured in runs.items():
        seconds = statistics.median(s for s, _ in measured)
        peak = max(p for _, p in measured)
        rows.append(
            {
                "method": name,
                "seconds": seconds,
                "peak_mib": peak / MIB,
                "time_x_naive": seconds / base_s,
                "peak_x_naive": peak / base_peak,
            }
        )

    print(
        f"{args.results} results of {params:,} float32 parameters ({model_mib:.1f} MiB each, "
        f"largest layer {largest_mib:.1f} MiB), {args.rounds} rounds (median time, largest "
        f"peak); Python {sys.version.split()[0]}, numpy {np.__version__}; {os.cpu_count()} CPUs"
    )
    header = f"{'method':<13} | {'seconds':>8} {'x naive':>8} | {'peak MiB':>9} {'x naive':>8}"
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['method']:<13} | {r['seconds']:>8.2f} {r['time_x_naive']:>8.2f} | "
            f"{r['peak_mib']:>9.1f} {r['peak_x_naive']:>8.3f}"
        )
    print("(peak: tracemalloc's peak of Python and numpy allocations during the call)")
    if args.json:
        args.json.write_text(json.dumps({"results": args.results, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
