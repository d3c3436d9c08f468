#!/usr/bin/env python3
"""How many marketplace transactions the chain includes per block, on a real node.

    .venv/bin/python benchmarks/chain_capacity.py [--workers 2000] [--json FILE]
    .venv/bin/python benchmarks/chain_capacity.py --url ws://127.0.0.1:9944   # a running node

Starts polkadot-omni-node (`decentralml devnet up --engine omni-node --block-time 6000`, the
shipped chain spec) in a temporary directory on a free loopback port, or uses `--url`. Then:

1. funds `--workers` new accounts from //Alice (`Utility.batch_all` of transfers) and creates
   enough tasks from //Alice for one slot each (a task has at most `MaxSlots` slots);
2. signs one `assign_task` per worker (each from its own account), then sends them all as
   fast as one websocket takes them, without waiting for answers in between;
3. records, block by block, how many were included, and the block's weight for normal calls
   against the runtime's limit (`System.BlockWeights`), ref time and proof size apart;
4. does the same for one `submit_result` per worker.

It prints, for each phase: the signing rate, the rate the node's pool accepted them, the
per-block table, and the end-to-end rate (from the first send to the last inclusion), and
names what bounded the blocks: the runtime's weight limit (ref time or proof size), the block
length limit, or neither (then the pool, the RPC or the client fed the blocks too slowly).
Not a test, and not in CI: it prints what it measured.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from substrateinterface import Keypair, SubstrateInterface  # noqa: E402
from websocket import create_connection  # noqa: E402

from decentralml.devnet._process import free_port  # noqa: E402

FUND_BATCH = 250
TASK_BATCH = 20
FUNDING = 10 * 10**12  # ten tokens per worker: bonds and fees
PHASE_TIMEOUT = 600.0


@dataclass
class BlockRow:
    number: int
    included: int
    ref_time: int
    proof_size: int
    length: int


@dataclass
class Phase:
    call: str
    sent: int
    sign_seconds: float
    send_seconds: float
    accepted: int
    rejected: dict[str, int]
    blocks: list[BlockRow] = field(default_factory=list)
    included: int = 0
    seconds_to_last_inclusion: float = 0.0


def cli(*args: str, env: dict[str, str]) -> dict[str, Any]:
    out = subprocess.run(
        [str(ROOT / ".venv/bin/decentralml"), *args, "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"decentralml {' '.join(args)} failed: {out.stdout}{out.stderr}")
    return dict(json.loads(out.stdout))


def submit_batch(substrate: SubstrateInterface, signer: Keypair, calls: list[Any]) -> None:
    batch = substrate.compose_call("Utility", "batch_all", {"calls": calls})
    extrinsic = substrate.create_signed_extrinsic(call=batch, keypair=signer)
    receipt = substrate.submit_extrinsic(extrinsic, wait_for_inclusion=True)
    if not receipt.is_success:
        raise SystemExit(f"setup batch failed: {receipt.error_message}")


def setup(substrate: SubstrateInterface, workers: list[Keypair], max_slots: int) -> list[int]:
    """Fund the workers; create tasks with a slot for each. Returns each worker's task id."""
    alice = Keypair.create_from_uri("//Alice")
    for start in range(0, len(workers), FUND_BATCH):
        calls = [
            substrate.compose_call(
                "Balances",
                "transfer_keep_alive",
                {"dest": worker.ss58_address, "value": FUNDING},
            )
            for worker in workers[start : start + FUND_BATCH]
        ]
        submit_batch(substrate, alice, calls)
    first = int(substrate.query("Decentralml", "NextTaskId").value)
    tasks_needed = -(-len(workers) // max_slots)
    height = int(substrate.get_block_header()["header"]["number"])
    min_reward = int(substrate.get_constant("Decentralml", "MinimumReward").value)
    for start in range(0, tasks_needed, TASK_BATCH):
        calls = []
        for index in range(start, min(tasks_needed, start + TASK_BATCH)):
            digest = hashlib.sha256(f"capacity-task-{index}-{time.time()}".encode()).hexdigest()
            calls.append(
                substrate.compose_call(
                    "Decentralml",
                    "create_task",
                    {
                        "kind": "ModelContribution",
                        "policy": "ManualAccept",
                        "submission": "Plain",
                        "bundle": {
                            "cid": "0x" + f"bafy{digest[:40]}".encode().hex(),
                            "sha256": "0x" + digest,
                            "size": 1024,
                        },
                        "metadata": "0x" + b'{"name":"capacity"}'.hex(),
                        "reward": min_reward,
                        "slots": max_slots,
                        "deadline": height + 5_000,
                        "review_period": 100,
                        "work_period": 5_000,
                        "validator": None,
                    },
                )
            )
        submit_batch(substrate, alice, calls)
    return [first + index // max_slots for index in range(len(workers))]


def result_ref(task_id: int, worker: Keypair) -> dict[str, Any]:
    digest = hashlib.sha256(f"result-{task_id}-{worker.ss58_address}".encode()).hexdigest()
    return {
        "cid": "0x" + f"bafy{digest[:40]}".encode().hex(),
        "sha256": "0x" + digest,
        "size": 2048,
    }


def run_phase(
    substrate: SubstrateInterface,
    url: str,
    call_name: str,
    workers: list[Keypair],
    task_ids: list[int],
    nonce: int,
    limits: dict[str, int],
) -> Phase:
    t0 = time.monotonic()
    signed: list[str] = []
    for worker, task_id in zip(workers, task_ids, strict=True):
        params: dict[str, Any] = {"task_id": task_id}
        if call_name == "submit_result":
            params["result"] = result_ref(task_id, worker)
        call = substrate.compose_call("Decentralml", call_name, params)
        extrinsic = substrate.create_signed_extrinsic(
            call=call, keypair=worker, nonce=nonce, era={"period": 256}
        )
        signed.append(str(extrinsic.data))
    sign_seconds = time.monotonic() - t0

    start_height = int(substrate.get_block_header()["header"]["number"])
    ws = create_connection(url, timeout=120)
    t1 = time.monotonic()
    for index, hex_data in enumerate(signed):
        ws.send(
            json.dumps(
                {
                    "jsonrpc": "2.0",
                    "id": index,
                    "method": "author_submitExtrinsic",
                    "params": [hex_data],
                }
            )
        )
    accepted, rejected = 0, {}
    for _ in signed:
        answer = json.loads(ws.recv())
        if "result" in answer:
            accepted += 1
        else:
            message = str(answer.get("error", {}).get("message", answer))
            rejected[message] = rejected.get(message, 0) + 1
    send_seconds = time.monotonic() - t1
    ws.close()
    phase = Phase(call_name, len(signed), sign_seconds, send_seconds, accepted, rejected)

    # Follow the blocks until every accepted transaction is in one, or nothing moves.
    number = start_height
    last_progress = time.monotonic()
    while phase.included < accepted and time.monotonic() - last_progress < 60:
        best = int(substrate.get_block_header()["header"]["number"])
        if best <= number:
            time.sleep(0.2)
            continue
        number += 1
        block_hash = substrate.get_block_hash(number)
        events = substrate.get_events(block_hash)
        ok_event = "TaskAssigned" if call_name == "assign_task" else "ResultSubmitted"
        included = sum(
            1
            for e in events
            if e.value["module_id"] == "Decentralml" and e.value["event_id"] == ok_event
        )
        weight = substrate.query("System", "BlockWeight", block_hash=block_hash).value
        raw = substrate.rpc_request("chain_getBlock", [block_hash])["result"]["block"]
        length = sum((len(x) - 2) // 2 for x in raw["extrinsics"])
        phase.blocks.append(
            BlockRow(
                number,
                included,
                int(weight["normal"]["ref_time"]),
                int(weight["normal"]["proof_size"]),
                length,
            )
        )
        if included:
            phase.included += included
            phase.seconds_to_last_inclusion = time.monotonic() - t1
            last_progress = time.monotonic()
    return phase


def block_limits(substrate: SubstrateInterface) -> dict[str, int]:
    weights = substrate.get_constant("System", "BlockWeights").value
    normal = weights["per_class"]["normal"]
    length = substrate.get_constant("System", "BlockLength").value
    return {
        "normal_ref_time": int(normal["max_total"]["ref_time"]),
        "normal_proof_size": int(normal["max_total"]["proof_size"]),
        "normal_length": int(length["max"]["normal"]),
    }


def bound(phase: Phase, limits: dict[str, int]) -> str:
    full = [row for row in phase.blocks if row.included]
    if not full:
        return "nothing was included"
    top = max(full, key=lambda row: row.included)
    shares = {
        "ref time (weight)": top.ref_time / limits["normal_ref_time"],
        "proof size (weight)": top.proof_size / limits["normal_proof_size"],
        "block length": top.length / limits["normal_length"],
    }
    name, share = max(shares.items(), key=lambda item: item[1])
    if share > 0.9:
        return f"{name}: the fullest block used {share:.0%} of the limit for normal calls"
    return (
        f"no block limit (at most {share:.0%} of the {name} limit): the blocks were fed more "
        "slowly than they could take (transaction pool, RPC or client)"
    )


def report(phase: Phase, limits: dict[str, int]) -> None:
    print(f"\n== {phase.call}: {phase.sent} transactions from {phase.sent} accounts")
    print(
        f"signed in {phase.sign_seconds:.1f} s ({phase.sent / phase.sign_seconds:.0f}/s, "
        f"substrate-interface); sent in {phase.send_seconds:.1f} s "
        f"({phase.sent / phase.send_seconds:.0f}/s accepted by the pool: {phase.accepted}"
        + (f"; refused: {phase.rejected}" if phase.rejected else "")
        + ")"
    )
    print(f"{'block':>7} {'included':>9} {'ref time':>9} {'proof size':>11} {'length':>8}")
    for row in phase.blocks:
        print(
            f"{row.number:>7} {row.included:>9} "
            f"{row.ref_time / limits['normal_ref_time']:>9.1%} "
            f"{row.proof_size / limits['normal_proof_size']:>11.1%} "
            f"{row.length / limits['normal_length']:>8.1%}"
        )
    best = max((row.included for row in phase.blocks), default=0)
    rate = phase.included / phase.seconds_to_last_inclusion if phase.included else 0.0
    print(
        f"included {phase.included}/{phase.sent}; most in one block: {best}; end to end "
        f"{phase.seconds_to_last_inclusion:.1f} s from the first send to the last inclusion "
        f"({rate:.0f} tx/s)"
    )
    print(f"bound: {bound(phase, limits)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2000, help="accounts, one call each")
    parser.add_argument("--url", help="a running node instead of a new one")
    parser.add_argument("--block-time", type=int, default=6000, help="ms, for a new node")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="decentralml-capacity-"))
    env = {**os.environ, "DECENTRALML_DATA_DIR": str(work / "data")}
    url = args.url
    started = False
    if url is None:
        port = free_port()
        up = cli(
            "devnet", "up", "--engine", "omni-node", "--block-time", str(args.block_time),
            "--port", str(port), "--no-ipfs", "--fresh", env=env,
        )  # fmt: skip
        url, started = up["url"], True
        print(f"polkadot-omni-node {up['engine']['version']} at {url}, {args.block_time} ms blocks")
    try:
        substrate = SubstrateInterface(url=url)
        limits = block_limits(substrate)
        max_slots = int(substrate.get_constant("Decentralml", "MaxSlots").value)
        print(f"limits for normal calls: {limits}")
        workers = [
            Keypair.create_from_mnemonic(Keypair.generate_mnemonic(), ss58_format=42)
            for _ in range(args.workers)
        ]
        t0 = time.monotonic()
        task_ids = setup(substrate, workers, max_slots)
        print(
            f"setup: {len(workers)} accounts funded, {len(set(task_ids))} tasks of "
            f"{max_slots} slots, in {time.monotonic() - t0:.0f} s"
        )
        phases = []
        for nonce, call in enumerate(("assign_task", "submit_result")):
            phase = run_phase(substrate, url, call, workers, task_ids, nonce, limits)
            report(phase, limits)
            phases.append(phase)
        if args.json:
            args.json.write_text(
                json.dumps(
                    {"url": url, "limits": limits, "phases": [asdict(p) for p in phases]},
                    indent=2,
                )
            )
        substrate.close()
    finally:
        if started:
            cli("devnet", "down", env=env)
    return 0


if __name__ == "__main__":
    sys.exit(main())
