#!/usr/bin/env python3
"""The Marketplace API's overhead over plain substrate-interface for create, assign and submit.

    .venv/bin/python benchmarks/api_bench.py [--rounds 20] [--url ws://...]

Starts a fresh dev chain (Chopsticks, the shipped chain spec) on a free loopback port, or uses
`--url`. For each round, on the same chain, one task is created, a slot taken and a result
submitted twice: once through `decentralml.marketplace.Marketplace` (its calls with the checks
it makes before spending a fee, its error mapping and its receipts) and once through plain
substrate-interface (`compose_call`, `create_signed_extrinsic`, `submit_extrinsic` waiting for
inclusion, then `is_success`), each side with its own accounts. The order alternates per
round. The bundle and the result are
content references made up front, so neither side touches IPFS: what is measured is the chain
path. Prints the median seconds per operation for each side and the ratio (goal: at most 1.2).
Not a test: it prints what it measured.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

REWARD = 2 * 10**12


def content(tag: str) -> dict[str, object]:
    digest = hashlib.sha256(tag.encode()).hexdigest()
    return {
        "cid": "0x" + f"bafy{digest[:40]}".encode().hex(),
        "sha256": "0x" + digest,
        "size": 1024,
    }


def task_params(block: int, tag: str) -> dict[str, Any]:
    return {
        "kind": "ModelContribution",
        "policy": "ManualAccept",
        "submission": "Plain",
        "bundle": content(f"bundle-{tag}"),
        "metadata": "0x" + b'{"name":"api bench"}'.hex(),
        "reward": REWARD,
        "slots": 1,
        "deadline": block + 500,
        "review_period": 50,
        "work_period": 50,
        "validator": None,
    }


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--url", help="use this chain instead of starting a dev chain")
    args = parser.parse_args()

    from substrateinterface import SubstrateInterface

    from decentralml.chain import keypair_from_uri
    from decentralml.devnet import network
    from decentralml.devnet._process import free_port
    from decentralml.marketplace import Marketplace

    # Each side signs with its own accounts: an account used by two programs at once makes
    # the API's locally counted nonce stale at every call (the pool refuses it, the client
    # resyncs and signs again), which is the other program's cost, not the API's.
    creator, worker = keypair_from_uri("//Alice"), keypair_from_uri("//Bob")
    plain_creator, plain_worker = keypair_from_uri("//Charlie"), keypair_from_uri("//Dave")
    times: dict[tuple[str, str], list[float]] = {}

    def record(side: str, op: str, seconds: float) -> None:
        times.setdefault((side, op), []).append(seconds)

    with tempfile.TemporaryDirectory(prefix="api-bench-") as tmp:
        paths = network.DevnetPaths(Path(tmp) / "devnet")
        url = args.url
        if url is None:
            url = network.up(port=free_port(), ipfs=False, fresh=True, paths=paths).state.chain.url
        try:
            plain = SubstrateInterface(url=url)
            api_creator = Marketplace(url, signer=creator)
            api_worker = Marketplace(url, signer=worker)

            def plain_submit(keypair: Any, call: str, params: dict[str, Any]) -> Any:
                composed = plain.compose_call("Decentralml", call, params)
                extrinsic = plain.create_signed_extrinsic(call=composed, keypair=keypair)
                receipt = plain.submit_extrinsic(extrinsic, wait_for_inclusion=True)
                assert receipt.is_success, receipt.error_message
                return receipt

            def plain_round(tag: str) -> None:
                block = int(plain.get_block_number(None))
                seconds, receipt = timed(
                    lambda: plain_submit(plain_creator, "create_task", task_params(block, tag))
                )
                record("substrate-interface", "create", seconds)
                (event,) = [
                    e for e in receipt.triggered_events if e.value["event_id"] == "TaskCreated"
                ]
                task_id = int(event.value["attributes"]["task_id"])
                seconds, _ = timed(
                    lambda: plain_submit(plain_worker, "assign_task", {"task_id": task_id})
                )
                record("substrate-interface", "assign", seconds)
                result = {"task_id": task_id, "result": content(f"result-{tag}")}
                seconds, _ = timed(lambda: plain_submit(plain_worker, "submit_result", result))
                record("substrate-interface", "submit", seconds)

            def api_round(tag: str) -> None:
                block = api_creator.block_number()
                seconds, receipt = timed(
                    lambda: api_creator.call("create_task", task_params(block, tag), task_id=None)
                )
                record("Marketplace API", "create", seconds)
                (event,) = receipt.find("Decentralml", "TaskCreated")
                task_id = int(event.attributes["task_id"])
                seconds, _ = timed(lambda: api_worker.assign_task(task_id))
                record("Marketplace API", "assign", seconds)
                result = {"task_id": task_id, "result": content(f"result-{tag}")}
                seconds, _ = timed(
                    lambda: api_worker.call("submit_result", result, task_id=task_id)
                )
                record("Marketplace API", "submit", seconds)

            # One warm-up round each: metadata and type registries load on first use.
            plain_round("warm-plain")
            api_round("warm-api")
            times.clear()
            for i in range(args.rounds):
                sides = [plain_round, api_round] if i % 2 == 0 else [api_round, plain_round]
                for side in sides:
                    side(f"{i}-{side.__name__}")
            api_creator.close()
            api_worker.close()
            plain.close()
        finally:
            if args.url is None:
                network.down(paths=paths)

    print(f"{args.rounds} rounds on {url}; median seconds per operation, waiting for inclusion")
    print(f"{'operation':<10} {'substrate-interface':>20} {'Marketplace API':>16} {'ratio':>7}")
    for op in ("create", "assign", "submit"):
        base = statistics.median(times[("substrate-interface", op)])
        ours = statistics.median(times[("Marketplace API", op)])
        print(f"{op:<10} {base:>20.4f} {ours:>16.4f} {ours / base:>7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
