#!/usr/bin/env python3
"""Federating large results: our streaming `fedavg` against Flower's `aggregate()`.

    .venv/bin/python benchmarks/federation_bench.py [--models 10] [--repeat 3]
        [--flower-python PATH] [--json FILE]

Writes `--models` contributors' ``weights.npz`` (uncompressed, as `numpy.savez` writes them)
of an 80 MiB float32 model (20,987,914 parameters: a 4096 x 4096 dense layer, a 4096 x 1024
one and a classifier; random values) with random declared sample counts into a temporary
directory. Then, each measurement in a fresh worker process:

- in memory, on the same arrays: the worker loads every result with `numpy.load` into a
  ``list[(layers, count)]`` (untimed), then times the call alone: Flower's
  ``flwr.server.strategy.aggregate.aggregate(results)`` against ours,
  ``fedavg(results, weighting="declared")`` (both weighted by the declared counts);
- from disk, the whole federation: ours over a generator that loads and checks one result
  at a time (`load_weights_npz`), and over `WeightsReader`s that read one layer at a time;
  Flower's over every result loaded with `numpy.load`, then `aggregate()`.

Flower runs in a Python that has ``flwr`` (`--flower-python`; by default this one if it
imports ``flwr``, else the ``flwr-venv`` in the project's cache directory), because Flower
pins protobuf and other packages differently from TensorFlow. Every worker runs the same
code and measures the same two ways:

- tracemalloc: the peak of Python and numpy allocations during the call, less what was
  allocated when it started (the inputs, for in-memory runs);
- RSS: the peak resident set during the call (``VmHWM``, reset through
  ``/proc/self/clear_refs`` just before it), less the resident set when it started.

Each call runs `--repeat` times in its worker (the median time, the largest peaks); the
files are read once beforehand so the page cache serves every worker alike. The outputs of
both sides are compared (relative difference under 1e-5). Not a test: it prints what it
measured, in model sizes (80 MiB) and as ratios.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
MIB = 1 << 20
SHAPES = [[4096, 4096], [4096], [4096, 1024], [1024], [1024, 10], [10]]
# What each worker runs, and which Python runs it.
MEASUREMENTS = {
    "flower, in memory": ("flower", "memory"),
    "ours, in memory": ("ours", "memory"),
    "flower, from disk": ("flower", "disk"),
    "ours, from disk": ("ours", "disk"),
    "ours, from disk per layer": ("ours", "layers"),
}


# --- the worker: runs in a fresh process, imports only what its side needs ----------------


def _rss_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak_rss() -> None:
    # Writing 5 resets VmHWM to the current RSS (Linux 4.0 and later).
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")


def _measure(call: Callable[[], list[np.ndarray]]) -> tuple[float, int, int, list[np.ndarray]]:
    gc.collect()
    tracemalloc.start()
    base_traced, _ = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    base_rss = _rss_kib("VmRSS")
    _reset_peak_rss()
    started = time.perf_counter()
    out = call()
    seconds = time.perf_counter() - started
    peak_rss = (_rss_kib("VmHWM") - base_rss) * 1024
    _, peak_traced = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return seconds, peak_traced - base_traced, peak_rss, out


def _load_all(paths: list[Path], counts: list[int]) -> list[tuple[list[np.ndarray], int]]:
    results = []
    for path, count in zip(paths, counts, strict=True):
        with np.load(path, allow_pickle=False) as npz:
            results.append(([npz[f"arr_{i}"] for i in range(len(SHAPES))], count))
    return results


def _call(side: str, mode: str, paths: list[Path], counts: list[int]) -> Callable[[], Any]:
    """The measured call, and (for in-memory runs) the inputs it closes over, loaded now."""
    if side == "flower":
        from flwr.server.strategy.aggregate import aggregate

        if mode == "memory":
            results = _load_all(paths, counts)
            return lambda: aggregate(results)
        return lambda: aggregate(_load_all(paths, counts))

    sys.path.insert(0, str(ROOT))
    from decentralml.validation import WeightsReader, fedavg, load_weights_npz

    if mode == "memory":
        results = _load_all(paths, counts)
        # The list itself: results already in memory are averaged a span at a time.
        return lambda: fedavg(results, weighting="declared")

    def from_disk() -> list[np.ndarray]:
        loaded = ((load_weights_npz(p, SHAPES), c) for p, c in zip(paths, counts, strict=True))
        return fedavg(loaded, weighting="declared", expected_shapes=SHAPES)

    def per_layer() -> list[np.ndarray]:
        def readers() -> Any:
            for p, c in zip(paths, counts, strict=True):
                with WeightsReader(p, SHAPES) as reader:
                    yield reader, c

        return fedavg(readers(), weighting="declared", expected_shapes=SHAPES)

    return from_disk if mode == "disk" else per_layer


def worker(args: argparse.Namespace) -> int:
    directory = Path(args.dir)
    spec = json.loads((directory / "results.json").read_text())
    paths = [directory / name for name in spec["files"]]
    call = _call(args.side, args.mode, paths, spec["counts"])
    runs = []
    out: list[np.ndarray] = []
    for _ in range(args.repeat):
        del out
        seconds, traced, rss, out = _measure(call)
        runs.append({"seconds": seconds, "traced": traced, "rss": rss})
    np.savez(Path(args.out), *out)
    print(json.dumps(runs))
    return 0


# --- the driver ---------------------------------------------------------------------------


def write_results(directory: Path, models: int) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    files, counts = [], []
    for j in range(models):
        name = f"result-{j:02d}.npz"
        # Small values, as trained weights have: their sum stays exact enough in float32.
        layers = [(rng.standard_normal(s, dtype=np.float32) * 0.05) for s in SHAPES]
        np.savez(directory / name, *layers)
        del layers
        files.append(name)
        counts.append(int(rng.integers(100, 5_000)))
    spec = {"files": files, "counts": counts}
    (directory / "results.json").write_text(json.dumps(spec))
    return spec


def default_flower_python() -> str:
    try:
        import flwr  # noqa: F401
    except ImportError:
        import platformdirs

        return str(Path(platformdirs.user_cache_dir("decentralml")) / "flwr-venv/bin/python")
    return sys.executable


def run_worker(python: str, directory: Path, side: str, mode: str, repeat: int) -> list[dict]:
    out = directory / f"out-{side}-{mode}.npz"
    command = [python, __file__, "--worker", side, "--mode", mode, "--dir", str(directory)]
    command += ["--repeat", str(repeat), "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{side} {mode} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def compare(directory: Path) -> float:
    """The largest relative difference between Flower's output and each of ours."""
    worst = 0.0
    with np.load(directory / "out-flower-memory.npz") as flower:
        for side, mode in [("ours", "memory"), ("ours", "disk"), ("ours", "layers")]:
            with np.load(directory / f"out-{side}-{mode}.npz") as ours:
                for name in flower.files:
                    a, b = flower[name].astype(np.float64), ours[name].astype(np.float64)
                    scale = max(float(np.abs(a).max()), 1e-30)
                    worst = max(worst, float(np.abs(a - b).max()) / scale)
    return worst


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--flower-python", help="a Python with flwr installed")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument("--worker", choices=["ours", "flower"], help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=["memory", "disk", "layers"], help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        args.side = args.worker
        return worker(args)

    flower_python = args.flower_python or default_flower_python()
    model_bytes = sum(int(np.prod(s)) for s in SHAPES) * 4
    rows: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="federation-bench-") as tmp:
        directory = Path(tmp)
        write_results(directory, args.models)
        for path in sorted(directory.glob("result-*.npz")):
            path.read_bytes()
        for name, (side, mode) in MEASUREMENTS.items():
            python = flower_python if side == "flower" else sys.executable
            runs = run_worker(python, directory, side, mode, args.repeat)
            rows[name] = {
                "seconds": statistics.median(r["seconds"] for r in runs),
                "traced_models": max(r["traced"] for r in runs) / model_bytes,
                "rss_models": max(r["rss"] for r in runs) / model_bytes,
            }
            print(f"{name}: {rows[name]}", file=sys.stderr)
        difference = compare(directory)

    flower_version = subprocess.run(
        [flower_python, "-c", "import flwr; print(flwr.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    print(
        f"{args.models} results of {model_bytes // 4:,} float32 parameters "
        f"({model_bytes / MIB:.0f} MiB each), declared weighting, {args.repeat} runs per "
        f"worker (median time, largest peak); numpy {np.__version__}, flwr {flower_version}, "
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs"
    )
    header = (
        f"{'measurement':<27} | {'seconds':>8} {'x flower':>8} | "
        f"{'traced peak':>11} {'RSS peak':>9} (model sizes)"
    )
    print(header)
    print("-" * len(header))
    for name, row in rows.items():
        side_of_flower = "flower, in memory" if "memory" in name else "flower, from disk"
        ratio = rows[side_of_flower]["seconds"] / row["seconds"]
        print(
            f"{name:<27} | {row['seconds']:>8.3f} {ratio:>7.2f}x | "
            f"{row['traced_models']:>11.2f} {row['rss_models']:>9.2f}"
        )
    print(
        "(x flower: Flower's time over this one, in memory or from disk alike; peaks are "
        "above what the worker held when the call started, the inputs for in-memory runs)"
    )
    print(f"largest relative difference from Flower's output: {difference:.1e}")
    if args.json:
        args.json.write_text(json.dumps({"models": args.models, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
