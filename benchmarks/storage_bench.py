#!/usr/bin/env python3
"""Bundle push/pull throughput against raw `ipfs add` / `ipfs cat`, and peak memory.

    .venv/bin/python benchmarks/storage_bench.py [--sizes 25,100] [--rounds 3] [--json FILE]

Starts its own offline Kubo daemon (the pinned build) in a temporary directory. For each
size it makes a bundle directory of random data (four files) and packs it once to a tar file;
the raw baseline then adds and cats exactly those archive bytes on the same daemon:

- push: `IpfsStore.push(dir)` (scan, pack, hash and upload in one stream) against
  `ipfs add --cid-version=1 --raw-leaves --chunker=size-1048576 -Q FILE` (same CID);
- pull: `IpfsStore.pull(cid, dest)` (stat, download to disk while hashing, verify, unpack)
  against `ipfs cat CID > FILE`.

Before every add the bundle is unpinned and garbage-collected, so neither side finds its
blocks already stored. Each measurement runs `--rounds` times, alternating ours and raw;
the median is reported. Ours runs in a fresh Python process that times only the operation
and reports its own peak RSS (`resource.getrusage(RUSAGE_SELF).ru_maxrss`), beside the
peak RSS of the same process doing nothing but importing the library (the baseline). Raw
timings are of the whole `ipfs` command, its start-up included.
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
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MB = 1_000_000


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
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": elapsed, "peak_rss_mib": peak_kib / 1024, **extra}))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_child(*args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args], check=True, capture_output=True, text=True
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


class Raw:
    """The `ipfs` command line against the benchmark daemon."""

    def __init__(self, binary: Path, repo: Path) -> None:
        self.binary = binary
        self.env = {**os.environ, "IPFS_PATH": str(repo), "IPFS_TELEMETRY": "off"}

    def __call__(self, *args: str, stdout: Any = subprocess.PIPE) -> str:
        out = subprocess.run(
            [str(self.binary), *args], env=self.env, check=True, stdout=stdout, text=True
        )
        return out.stdout.strip() if out.stdout else ""

    def timed(self, *args: str, stdout: Any = subprocess.PIPE) -> tuple[float, str]:
        started = time.perf_counter()
        text = self(*args, stdout=stdout)
        return time.perf_counter() - started, text

    def forget(self, cid: str) -> None:
        subprocess.run(
            [str(self.binary), "pin", "rm", cid],
            env=self.env,
            check=False,
            capture_output=True,
        )
        self("repo", "gc", "--quiet")


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


def bench_size(raw: Raw, api: str, work: Path, size_mb: int, rounds: int) -> dict[str, Any]:
    from decentralml.storage import pack_directory

    src = make_bundle(work / f"src-{size_mb}", size_mb * MB)
    archive = work / f"bundle-{size_mb}.tar"
    packed = pack_directory(src, archive)
    add_args = ("add", "--cid-version=1", "--raw-leaves", "--chunker=size-1048576", "-Q", "--pin")
    push_t, raw_add_t, pull_t, raw_cat_t, push_rss, pull_rss = [], [], [], [], [], []
    cid = ""
    for _ in range(rounds):
        if cid:
            raw.forget(cid)
        seconds, cid = raw.timed(*add_args, str(archive))
        raw_add_t.append(seconds)
        raw.forget(cid)
        pushed = run_child("push", api, str(src))
        assert pushed["cid"] == cid and pushed["sha256"] == packed.sha256, "CIDs differ"
        push_t.append(pushed["seconds"])
        push_rss.append(pushed["peak_rss_mib"])
    for i in range(rounds):
        out_file = work / f"cat-{i}.tar"
        with open(out_file, "wb") as fh:
            seconds, _ = raw.timed("cat", cid, stdout=fh)
        raw_cat_t.append(seconds)
        out_file.unlink()
        dest = work / f"dest-{size_mb}-{i}"
        pulled = run_child("pull", api, cid, packed.sha256, str(dest))
        pull_t.append(pulled["seconds"])
        pull_rss.append(pulled["peak_rss_mib"])
        shutil.rmtree(dest)
    size = packed.size / MB

    def rate(times: list[float]) -> float:
        return size / statistics.median(times)

    return {
        "size_mb": round(size, 1),
        "push_mb_s": rate(push_t),
        "ipfs_add_mb_s": rate(raw_add_t),
        "push_ratio": rate(push_t) / rate(raw_add_t),
        "pull_mb_s": rate(pull_t),
        "ipfs_cat_mb_s": rate(raw_cat_t),
        "pull_ratio": rate(pull_t) / rate(raw_cat_t),
        "push_peak_rss_mib": max(push_rss),
        "pull_peak_rss_mib": max(pull_rss),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="25,100", help="bundle sizes in MB, comma-separated")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args()

    from decentralml.devnet.kubo import KUBO_VERSION, kubo_binary, start_kubo, stop_kubo

    binary = kubo_binary(log=lambda m: print(m, file=sys.stderr))
    with tempfile.TemporaryDirectory(prefix="storage-bench-") as tmp:
        work = Path(tmp)
        daemon = start_kubo(
            work / "repo",
            api_port=free_port(),
            gateway_port=free_port(),
            log_path=work / "kubo.log",
        )
        try:
            baseline = run_child("idle", daemon.api_url)["peak_rss_mib"]
            raw = Raw(binary, daemon.repo)
            rows = [
                bench_size(raw, daemon.api_url, work, int(s), args.rounds)
                for s in args.sizes.split(",")
            ]
        finally:
            stop_kubo(daemon.pid)
    print(
        f"Kubo {KUBO_VERSION}, offline, {args.rounds} rounds (median); "
        f"Python {sys.version.split()[0]}"
    )
    print(f"baseline peak RSS (interpreter + library imported): {baseline:.1f} MiB")
    header = (
        f"{'size':>8} | {'push':>10} {'ipfs add':>10} {'ratio':>6} | "
        f"{'pull':>10} {'ipfs cat':>10} {'ratio':>6} | {'push RSS':>9} {'pull RSS':>9}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['size_mb']:>6.1f}MB | {r['push_mb_s']:>6.0f}MB/s {r['ipfs_add_mb_s']:>6.0f}MB/s "
            f"{r['push_ratio']:>6.2f} | {r['pull_mb_s']:>6.0f}MB/s {r['ipfs_cat_mb_s']:>6.0f}MB/s "
            f"{r['pull_ratio']:>6.2f} | {r['push_peak_rss_mib']:>6.1f}MiB "
            f"{r['pull_peak_rss_mib']:>6.1f}MiB"
        )
    if args.json:
        args.json.write_text(json.dumps({"baseline_rss_mib": baseline, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(sys.argv[2:])
    else:
        sys.exit(main())
