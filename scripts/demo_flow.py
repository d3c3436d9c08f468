"""The marketplace flow on the local devnet and IPFS, end to end, with real accounts.

Run by `scripts/demo` after `decentralml devnet up`. //Alice (creator) publishes the
contributor kit to IPFS and posts a task (plain submissions, decided by hand); //Bob
(contributor) takes a slot, which holds a small bond from him, pulls and verifies the bundle,
sends a result bundle, which returns the bond; Alice pulls and verifies it and accepts it; Bob
is paid.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

from decentralml.chain import ChainClient, keypair_from_uri
from decentralml.config import resolve_settings
from decentralml.errors import DecentralMLError
from decentralml.storage import ContentRef, IpfsStore

ROOT = Path(__file__).resolve().parent.parent
UNIT = 10**12
console = Console()


def as_call_ref(ref: ContentRef) -> dict[str, object]:
    return {"cid": "0x" + ref.cid.encode().hex(), "sha256": "0x" + ref.sha256, "size": ref.size}


def dml(amount: int) -> str:
    return f"{amount / UNIT:,.6f} DML"


def run() -> None:
    settings = resolve_settings({})
    alice, bob = keypair_from_uri("//Alice"), keypair_from_uri("//Bob")
    with (
        ChainClient(settings.url, timeout=settings.chain_timeout) as chain,
        IpfsStore(settings.ipfs_api) as ipfs,
        tempfile.TemporaryDirectory() as tmp,
    ):
        work = Path(tmp)
        console.print(
            f"chain [bold]{chain.chain_name()}[/] at {settings.url}, block {chain.block_number()}"
        )
        console.print(f"IPFS daemon {ipfs.version()} at {settings.ipfs_api}")
        bob_start = chain.free_balance(bob.ss58_address)

        bundle = ipfs.push(ROOT / "assets" / "model_contributor")
        console.print(f"1. Alice pushed the task bundle: {bundle.cid} ({bundle.size} bytes)")
        reward = 2 * UNIT
        receipt = chain.submit(
            alice,
            "Decentralml",
            "create_task",
            {
                "kind": "ModelContribution",
                "policy": "ManualAccept",
                "submission": "Plain",
                "bundle": as_call_ref(bundle),
                "metadata": "0x" + b'{"name":"digits-8x8"}'.hex(),
                "reward": reward,
                "slots": 2,
                "deadline": chain.block_number() + 600,
                "review_period": 100,
                "work_period": 100,
                "validator": None,
            },
        )
        (created,) = receipt.find("Decentralml", "TaskCreated")
        task_id = int(created.attributes["task_id"])
        console.print(
            f"2. Alice created task {task_id}: rewards {dml(int(created.attributes['escrow']))} "
            f"and storage deposit {dml(int(created.attributes['deposit']))} held"
        )

        receipt = chain.submit(bob, "Decentralml", "assign_task", {"task_id": task_id})
        (assigned,) = receipt.find("Decentralml", "TaskAssigned")
        bond = int(assigned.attributes["bond"])
        task = chain.query("Decentralml", "Tasks", [task_id])
        on_chain = task["bundle"]
        cid = (
            bytes.fromhex(on_chain["cid"][2:]).decode()
            if on_chain["cid"].startswith("0x")
            else on_chain["cid"]
        )
        pulled = ipfs.pull(
            cid,
            work / "task",
            sha256=on_chain["sha256"].removeprefix("0x"),
            size=int(on_chain["size"]),
        )
        kit = json.loads((work / "task" / "task.json").read_text())
        console.print(
            f"3. Bob took a slot (bond {dml(bond)} held) and pulled the verified bundle "
            f"({pulled.ref.size} bytes): task '{kit['name']}'"
        )

        result_dir = work / "result"
        result_dir.mkdir()
        (result_dir / "result.json").write_text(
            json.dumps({"num_samples": 1437, "metrics": {"accuracy": 0.93}})
        )
        result = ipfs.push(result_dir)
        chain.submit(
            bob, "Decentralml", "submit_result", {"task_id": task_id, "result": as_call_ref(result)}
        )
        console.print(f"4. Bob sent his result bundle: {result.cid} (his bond went back)")

        ipfs.pull(result.cid, work / "review", sha256=result.sha256, size=result.size)
        receipt = chain.submit(
            alice, "Decentralml", "accept_result", {"task_id": task_id, "worker": bob.ss58_address}
        )
        (paid,) = receipt.find("Decentralml", "RewardPaid")
        console.print(
            f"5. Alice verified and accepted it: Bob was paid {dml(int(paid.attributes['amount']))}"
        )

        table = Table(title=f"Task {task_id} on-chain")
        for column in (
            "slots",
            "assigned",
            "pending",
            "paid",
            "escrow held",
            "deposit held",
            "Bob's balance change",
        ):
            table.add_column(column)
        task = chain.query("Decentralml", "Tasks", [task_id])
        table.add_row(
            str(task["slots"]),
            str(task["assigned"]),
            str(task["pending"]),
            str(task["paid"]),
            dml(int(task["escrow"])),
            dml(int(task["deposit"])),
            dml(chain.free_balance(bob.ss58_address) - bob_start),
        )
        console.print(table)


def main() -> int:
    try:
        run()
    except DecentralMLError as exc:
        console.print(f"[bold red]Error:[/] {exc.message}")
        if exc.hint:
            console.print(f"Hint: {exc.hint}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
