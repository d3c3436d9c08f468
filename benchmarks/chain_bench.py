#!/usr/bin/env python3
"""Listing every task on the dev chain: our batched listing against substrate-interface's
`query_map` and polkadot.js's `entries()`.

    .venv/bin/python benchmarks/chain_bench.py [--tasks 2000] [--rounds 3] [--json FILE]
    .venv/bin/python benchmarks/chain_bench.py --tasks 10000      # the large run

Starts a fresh dev chain (Chopsticks, the shipped chain spec) in a temporary directory on a
free loopback port, or uses `--url`. Creates `--tasks` tasks from //Alice, 500 per
`Utility.batch_all` (one block each), all sent back to back and then awaited. Then, for
`--rounds` rounds (alternating the order), each of these runs in a fresh process that first
connects and loads the runtime metadata, then times only the listing of every task and
reports its own peak RSS:

- ours: `ChainClient.list_tasks()` (keys of ids 0 .. NextTaskId - 1 computed locally, read
  500 per `state_queryStorageAt`, decoded into `TaskInfo` records one batch at a time);
- query_map: substrate-interface's `query_map("Decentralml", "Tasks", page_size=1000)`
  (`state_getKeysPaged`, then `state_queryStorageAt` per page), iterated;
- polkadot.js: `api.query.decentralml.tasks.entries()` in Node (`@polkadot/api` 16.5.6,
  installed into the cache by benchmarks/polkadotjs/ensure-deps), each value made plain
  JSON. Left out with `--no-polkadotjs`, or when Node or npm is missing.

Every method must return the same number of tasks. The median of the rounds is reported,
with each method's time as a ratio to ours and its peak RSS beside that of a process that
only connected and loaded the metadata (the baseline). Not a test: it prints what it
measured.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# A listing that takes this long has hung.
STALL = 900.0
CREATE_BATCH = 500
METADATA = b'{"name":"benchmark task","description":"a task created by chain_bench"}'


def peak_rss_kib() -> int:
    """This process's peak resident set, in KiB (`VmHWM`; see storage_bench.py)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _child(argv: list[str]) -> None:
    """Connect, load the metadata, then time one way of listing every task."""
    from decentralml.chain import ChainClient

    mode, url = argv[0], argv[1]
    with ChainClient(url, timeout=STALL) as client:
        substrate = client.substrate
        substrate.init_runtime()
        client.next_task_id()
        count = 0
        started = time.perf_counter()
        if mode == "ours":
            for _task in client.list_tasks():
                count += 1
        elif mode == "query_map":
            for _key, value in substrate.query_map("Decentralml", "Tasks", page_size=1000):
                if value.value is not None:
                    count += 1
        elapsed = time.perf_counter() - started
    print(json.dumps({"seconds": elapsed, "count": count, "peak_rss_mib": peak_rss_kib() / 1024}))


def run_child(*args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args],
        check=True,
        capture_output=True,
        text=True,
        timeout=STALL,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def polkadotjs_dir() -> Path | None:
    """Where the polkadot.js helper and its dependencies are, installing them if needed."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        print("Node.js or npm missing: polkadot.js is left out", file=sys.stderr)
        return None
    script = ROOT / "benchmarks" / "polkadotjs" / "ensure-deps"
    out = subprocess.run([str(script)], check=True, capture_output=True, text=True, timeout=600)
    return Path(out.stdout.strip())


def run_polkadotjs(directory: Path, url: str, mode: str = "entries") -> dict[str, Any]:
    out = subprocess.run(
        ["node", "list-tasks.mjs", url, mode],
        cwd=directory,
        check=True,
        capture_output=True,
        text=True,
        timeout=STALL,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def create_tasks(url: str, count: int) -> tuple[float, int]:
    """Create `count` tasks from //Alice in batches; returns (seconds, blocks made)."""
    from decentralml.chain import ChainClient, keypair_from_uri

    alice = keypair_from_uri("//Alice")
    with ChainClient(url, timeout=120, inclusion_timeout=600) as client:
        reward = int(client.constant("Decentralml", "MinimumReward"))
        start_block = client.block_number()
        deadline = start_block + 100_000
        started = time.perf_counter()
        pending = []
        for first in range(0, count, CREATE_BATCH):
            calls = [
                {
                    "call_module": "Decentralml",
                    "call_function": "create_task",
                    "call_args": {
                        "kind": ("ModelContribution", "ModelEngineering", "DataAnnotation")[i % 3],
                        "policy": "ManualAccept",
                        "submission": "Plain",
                        "bundle": {
                            "cid": "0x" + f"bafybench{i:040d}".encode().hex(),
                            "sha256": "0x" + f"{i:064x}",
                            "size": 1024 + i,
                        },
                        "metadata": "0x" + METADATA.hex(),
                        "reward": reward,
                        "slots": 1,
                        "deadline": deadline,
                        "review_period": 10,
                        "work_period": 10,
                        "validator": None,
                    },
                }
                for i in range(first, min(first + CREATE_BATCH, count))
            ]
            pending.append(client.submit_nowait(alice, "Utility", "batch_all", {"calls": calls}))
        for n, p in enumerate(pending):
            created = len(p.wait().find("Decentralml", "TaskCreated"))
            assert created == min(CREATE_BATCH, count - CREATE_BATCH * n), created
        return time.perf_counter() - started, client.block_number() - start_block


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=2000, help="tasks to create (10000: large)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--url", help="use this chain instead of starting a dev chain")
    parser.add_argument("--no-polkadotjs", action="store_true", help="leave polkadot.js out")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args()

    from decentralml.devnet import network
    from decentralml.devnet._process import free_port

    pjs = None if args.no_polkadotjs else polkadotjs_dir()
    with tempfile.TemporaryDirectory(prefix="chain-bench-") as tmp:
        paths = network.DevnetPaths(Path(tmp) / "devnet")
        url = args.url
        if url is None:
            url = network.up(port=free_port(), ipfs=False, fresh=True, paths=paths).state.chain.url
        try:
            create_seconds, blocks = create_tasks(url, args.tasks)
            print(
                f"created {args.tasks} tasks in {create_seconds:.1f} s "
                f"({blocks} blocks of up to {CREATE_BATCH} create_task in Utility.batch_all)",
                file=sys.stderr,
            )
            methods = ["ours", "query_map"] + (["polkadot.js"] if pjs else [])
            results: dict[str, list[dict[str, Any]]] = {m: [] for m in methods}
            baseline = run_child("idle", url)["peak_rss_mib"]
            pjs_baseline = run_polkadotjs(pjs, url, "idle")["peak_rss_mib"] if pjs else None
            for i in range(args.rounds):
                order = methods if i % 2 == 0 else methods[::-1]
                for method in order:
                    if method == "polkadot.js":
                        assert pjs is not None
                        results[method].append(run_polkadotjs(pjs, url))
                    else:
                        results[method].append(run_child(method, url))
                    print(f"round {i + 1}: {method} {results[method][-1]}", file=sys.stderr)
        finally:
            if args.url is None:
                network.down(paths=paths)

    counts = {m: {r["count"] for r in rs} for m, rs in results.items()}
    assert all(c == counts["ours"] for c in counts.values()), f"counts differ: {counts}"
    (listed,) = counts["ours"]
    ours = statistics.median(r["seconds"] for r in results["ours"])
    rows = []
    for method, runs in results.items():
        seconds = statistics.median(r["seconds"] for r in runs)
        rss = max(r["peak_rss_mib"] for r in runs)
        base = pjs_baseline if method == "polkadot.js" else baseline
        rows.append(
            {
                "method": method,
                "seconds": seconds,
                "tasks_per_s": listed / seconds,
                "ratio_to_ours": seconds / ours,
                "peak_rss_mib": rss,
                "baseline_rss_mib": base,
            }
        )

    print(
        f"{listed} tasks on Chopsticks (dev chain, loopback), {args.rounds} rounds (median); "
        f"Python {sys.version.split()[0]}; {os.cpu_count()} CPUs"
    )
    header = (
        f"{'method':<12} | {'seconds':>8} {'tasks/s':>8} {'x ours':>7} | "
        "peak RSS MiB (baseline: connected, metadata loaded)"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        extra = r["peak_rss_mib"] - r["baseline_rss_mib"]
        print(
            f"{r['method']:<12} | {r['seconds']:>8.2f} {r['tasks_per_s']:>8.0f} "
            f"{r['ratio_to_ours']:>7.2f} | {r['peak_rss_mib']:.1f} "
            f"(baseline {r['baseline_rss_mib']:.1f}, +{extra:.1f})"
        )
    print("(x ours: the method's time divided by ours; above 1 is slower than ours)")
    if args.json:
        args.json.write_text(json.dumps({"tasks": listed, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(sys.argv[2:])
    else:
        sys.exit(main())
