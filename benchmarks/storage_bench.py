#!/usr/bin/env python3
"""Bundle push/pull throughput against raw `ipfs add` / `ipfs cat`, locally and across nodes.

    .venv/bin/python benchmarks/storage_bench.py [--sizes 25,100] [--rounds 5] [--json FILE]

Starts two Kubo daemons of the pinned build in a temporary directory, each with its own
repository, talking over loopback only, connected to each other (node A and node B). For
each size it makes a bundle directory of random data (four files) and packs it once to a tar
file; the raw baselines then add and cat exactly those archive bytes:

- push on node A: `IpfsStore.push(dir)` (scan, pack, hash and upload in one stream) against
  `ipfs add --cid-version=1 --raw-leaves --chunker=size-1048576 -Q FILE` (same CID); before
  every add the bundle is unpinned and garbage-collected, so neither side finds its blocks;
- pull on node A (local): `IpfsStore.pull(cid, dest)` (stat, then unpack while the bytes
  stream in and are hashed, verify, rename into place) against `ipfs cat CID > FILE`;
- pull through node B of content held by node A (across nodes): the same two, with node B's
  blockstore garbage-collected before each one, so every transfer crosses by bitswap.

Each measurement runs `--rounds` times, alternating which side goes first; the median is
reported. Ours runs in a fresh Python process that times only the operation and reports its
own peak RSS (`VmHWM` from /proc, or `ru_maxrss` where there is no /proc), beside the peak
RSS of the same process doing nothing but importing the library (the baseline). Raw timings
are of the whole `ipfs` command, its start-up included (also reported alone, as `ipfs cat`
of one byte). Not a test: it prints what it measured, and the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The test suite's two-node set-up: one definition of "two local nodes over loopback".
from tests.fixtures_kubo import KuboPeer, launch_peer  # noqa: E402

MB = 1_000_000
# No step of a round takes anywhere near this; a transfer that does has stalled.
STALL = 300.0


def _child(argv: list[str]) -> None:
    """Run one operation in this fresh process and print timing and peak RSS as JSON."""
    from decentralml.storage import IpfsStore

    mode, api = argv[0], argv[1]
    started = time.perf_counter()
    if mode == "push":
        with IpfsStore(api) as store:
            ref = store.push(argv[2])
        extra: dict[str, Any] = {"cid": ref.cid, "sha256": ref.sha256, "size": ref.size}
    elif mode == "pull":
        with IpfsStore(api) as store:
            store.pull(argv[2], argv[4], sha256=argv[3])
        extra = {}
    else:
        extra = {}
    elapsed = time.perf_counter() - started
    print(json.dumps({"seconds": elapsed, "peak_rss_mib": peak_rss_kib() / 1024, **extra}))


def peak_rss_kib() -> int:
    """This process's peak resident set, in KiB.

    Linux's `ru_maxrss` also counts the parent's resident set at fork time (the forked copy
    is this process until exec), so it grows with the benchmark's own process; `VmHWM` in
    /proc is the peak of this program's memory alone.
    """
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_child(*args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args],
        check=True,
        capture_output=True,
        text=True,
        timeout=STALL,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


class Raw:
    """The `ipfs` command line against one benchmark daemon."""

    def __init__(self, binary: Path, repo: Path) -> None:
        self.binary = binary
        self.env = {**os.environ, "IPFS_PATH": str(repo), "IPFS_TELEMETRY": "off"}

    def __call__(self, *args: str, stdout: Any = subprocess.PIPE) -> str:
        out = subprocess.run(
            [str(self.binary), *args],
            env=self.env,
            check=True,
            stdout=stdout,
            text=True,
            timeout=STALL,
        )
        return out.stdout.strip() if out.stdout else ""

    def timed(self, *args: str, stdout: Any = subprocess.PIPE) -> tuple[float, str]:
        started = time.perf_counter()
        text = self(*args, stdout=stdout)
        return time.perf_counter() - started, text

    def forget(self, cid: str | None = None) -> None:
        """Unpin `cid` (if given) and garbage-collect: the node no longer holds its blocks."""
        if cid:
            subprocess.run(
                [str(self.binary), "pin", "rm", cid],
                env=self.env,
                check=False,
                capture_output=True,
            )
        self("repo", "gc", "--quiet")

    def holds(self, cid: str) -> bool:
        done = subprocess.run(
            [str(self.binary), "--offline", "block", "stat", cid],
            env=self.env,
            check=False,
            capture_output=True,
        )
        return done.returncode == 0


def make_bundle(root: Path, size: int) -> Path:
    root.mkdir(parents=True)
    part = size // 4
    for i in range(4):
        with open(root / f"part-{i}.bin", "wb") as fh:
            remaining = part
            while remaining:
                chunk = os.urandom(min(remaining, 1 << 20))
                fh.write(chunk)
                remaining -= len(chunk)
    return root


def pull_round(
    raw: Raw,
    api: str,
    cid: str,
    sha256: str,
    work: Path,
    *,
    raw_first: bool,
    before: Callable[[], None] | None = None,
) -> tuple[float, float, float]:
    """One `ipfs cat CID > FILE` and one pull of `cid`, both through the daemon at `api`.

    Returns (cat seconds, pull seconds, pull peak RSS). `before` runs ahead of each of the
    two, so a cross-node round can clear the pulling node's blockstore first.
    """
    out_file = work / "cat.tar"
    dest = work / "dest"
    timings: dict[str, float] = {}

    def cat() -> None:
        with open(out_file, "wb") as fh:
            timings["cat"], _ = raw.timed("cat", cid, stdout=fh)
        out_file.unlink()

    def pull() -> None:
        pulled = run_child("pull", api, cid, sha256, str(dest))
        timings["pull"], timings["rss"] = pulled["seconds"], pulled["peak_rss_mib"]
        shutil.rmtree(dest)

    for step in (cat, pull) if raw_first else (pull, cat):
        if before is not None:
            before()
        step()
    return timings["cat"], timings["pull"], timings["rss"]


def command_startup(raw: Raw, work: Path, rounds: int) -> float:
    """Median seconds of `ipfs cat` of a one-byte file: the command's own start-up cost."""
    tiny = work / "tiny.bin"
    tiny.write_bytes(b"x")
    cid = raw("add", "-Q", "--pin", str(tiny))
    times = []
    for _ in range(max(rounds, 5)):
        seconds, _ = raw.timed("cat", cid, stdout=subprocess.DEVNULL)
        times.append(seconds)
    return statistics.median(times)


def bench_size(
    nodes: tuple[KuboPeer, KuboPeer],
    raws: tuple[Raw, Raw],
    work: Path,
    size_mb: int,
    rounds: int,
    startup: float,
) -> dict[str, Any]:
    from decentralml.storage import pack_directory

    (node_a, node_b), (raw_a, raw_b) = nodes, raws
    api_a, api_b = node_a.api_url, node_b.api_url

    src = make_bundle(work / f"src-{size_mb}", size_mb * MB)
    archive = work / f"bundle-{size_mb}.tar"
    packed = pack_directory(src, archive)
    add_args = ("add", "--cid-version=1", "--raw-leaves", "--chunker=size-1048576", "-Q", "--pin")
    push_t, raw_add_t, push_rss = [], [], []
    cid = ""
    for _ in range(rounds):
        if cid:
            raw_a.forget(cid)
        seconds, cid = raw_a.timed(*add_args, str(archive))
        raw_add_t.append(seconds)
        raw_a.forget(cid)
        pushed = run_child("push", api_a, str(src))
        assert pushed["cid"] == cid and pushed["sha256"] == packed.sha256, "CIDs differ"
        push_t.append(pushed["seconds"])
        push_rss.append(pushed["peak_rss_mib"])

    local: list[tuple[float, float, float]] = []
    cross: list[tuple[float, float, float]] = []

    def clear_b() -> None:
        raw_b.forget()
        assert not raw_b.holds(cid), "node B still holds the bundle"
        # A fresh connection each time, as between two unrelated transfers: right after a
        # garbage collection, re-asking the same peer for the same blocks can stall in Kubo.
        node_b.reconnect(node_a)

    for i in range(rounds):
        raw_first = i % 2 == 0  # alternate, so neither side always runs on a warmer machine
        local.append(pull_round(raw_a, api_a, cid, packed.sha256, work, raw_first=raw_first))
        # Across nodes: node B starts each transfer without the blocks, node A sends them.
        cross.append(
            pull_round(raw_b, api_b, cid, packed.sha256, work, raw_first=raw_first, before=clear_b)
        )
    raw_b.forget()
    size = packed.size / MB

    def rate(times: list[float], minus: float = 0.0) -> float:
        return size / (statistics.median(times) - minus)

    def ratio(ours: list[float], raw: list[float], minus: float = 0.0) -> float:
        return rate(ours) / rate(raw, minus)

    return {
        "size_mb": round(size, 1),
        "push_mb_s": rate(push_t),
        "ipfs_add_mb_s": rate(raw_add_t),
        "push_ratio": rate(push_t) / rate(raw_add_t),
        "pull_mb_s": rate([r[1] for r in local]),
        "ipfs_cat_mb_s": rate([r[0] for r in local]),
        "pull_ratio": ratio([r[1] for r in local], [r[0] for r in local]),
        "pull_ratio_no_startup": ratio([r[1] for r in local], [r[0] for r in local], startup),
        "cross_pull_mb_s": rate([r[1] for r in cross]),
        "cross_ipfs_cat_mb_s": rate([r[0] for r in cross]),
        "cross_pull_ratio": ratio([r[1] for r in cross], [r[0] for r in cross]),
        "cross_pull_ratio_no_startup": ratio([r[1] for r in cross], [r[0] for r in cross], startup),
        "push_peak_rss_mib": max(push_rss),
        "pull_peak_rss_mib": max(r[2] for r in local),
        "cross_pull_peak_rss_mib": max(r[2] for r in cross),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="25,100", help="bundle sizes in MB, comma-separated")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args()

    from decentralml.devnet.kubo import KUBO_VERSION, kubo_binary

    binary = kubo_binary(log=lambda m: print(m, file=sys.stderr))
    with tempfile.TemporaryDirectory(prefix="storage-bench-") as tmp:
        work = Path(tmp)
        node_a = launch_peer(binary, work / "node-a")
        try:
            node_b = launch_peer(binary, work / "node-b")
            try:
                node_b.connect(node_a)
                baseline = run_child("idle", node_a.api_url)["peak_rss_mib"]
                raw_a, raw_b = Raw(binary, node_a.repo), Raw(binary, node_b.repo)
                startup = command_startup(raw_a, work, args.rounds)
                rows = [
                    bench_size((node_a, node_b), (raw_a, raw_b), work, int(s), args.rounds, startup)
                    for s in args.sizes.split(",")
                ]
            finally:
                node_b.stop()
        finally:
            node_a.stop()
    print(
        f"Kubo {KUBO_VERSION}, two local nodes over loopback, {args.rounds} rounds (median); "
        f"Python {sys.version.split()[0]}; {os.cpu_count()} CPUs"
    )
    print(f"baseline peak RSS (interpreter + library imported): {baseline:.1f} MiB")
    header = (
        f"{'size':>8} | {'push':>8} {'ipfs add':>8} {'ratio':>5} | "
        f"{'pull':>8} {'ipfs cat':>8} {'ratio':>5} | "
        f"{'pull B<-A':>9} {'cat B<-A':>8} {'ratio':>5} | RSS push/pull/pull B (MiB)"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['size_mb']:>6.1f}MB | {r['push_mb_s']:>8.0f} {r['ipfs_add_mb_s']:>8.0f} "
            f"{r['push_ratio']:>5.2f} | {r['pull_mb_s']:>8.0f} {r['ipfs_cat_mb_s']:>8.0f} "
            f"{r['pull_ratio']:>5.2f} | {r['cross_pull_mb_s']:>9.0f} "
            f"{r['cross_ipfs_cat_mb_s']:>8.0f} {r['cross_pull_ratio']:>5.2f} | "
            f"{r['push_peak_rss_mib']:.1f} / {r['pull_peak_rss_mib']:.1f} / "
            f"{r['cross_pull_peak_rss_mib']:.1f}"
        )
    print("(rates in MB/s; B<-A: pulled through node B, held by node A, B's store cleared)")
    print(
        f"`ipfs cat` of one byte takes {startup * 1000:.0f} ms (the command's start-up); "
        "pull ratios against `ipfs cat` without it:"
    )
    for r in rows:
        print(
            f"{r['size_mb']:>6.1f}MB | local {r['pull_ratio_no_startup']:.2f} | "
            f"across nodes {r['cross_pull_ratio_no_startup']:.2f}"
        )
    if args.json:
        document = {"baseline_rss_mib": baseline, "cat_startup_s": startup, "rows": rows}
        args.json.write_text(json.dumps(document, indent=2))
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(sys.argv[2:])
    else:
        sys.exit(main())
