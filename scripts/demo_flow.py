"""The marketplace flow on the local devnet and IPFS, end to end, through the Marketplace API.

Run by `scripts/demo` after `decentralml devnet up`. //Alice (creator) trains the initial
Keras model with the creator kit (assets/model_creator), writes the model-contribution task
bundle (the current model, the contributor kit, task.json) and posts a 3-slot task (plain
submissions, decided by hand); //Bob, //Charlie and //Dave each take a slot (a small bond
held), pull and verify the bundle, run its kit on their own shard of the digits (the kit's
setup.sh and start_task.sh, as `decentralml run-task` does), and send the weights they trained
(the bond comes back); Alice scores each result on her holdout, accepts them, and each worker
is paid. A final table shows every account's balance change and the fees it paid.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

from decentralml.chain import keypair_from_uri
from decentralml.config import resolve_settings
from decentralml.errors import DecentralMLError
from decentralml.marketplace import Marketplace

ROOT = Path(__file__).resolve().parent.parent
WORKERS = ("//Bob", "//Charlie", "//Dave")
console = Console()


def market_for(uri: str) -> Marketplace:
    settings = resolve_settings({})
    return Marketplace(settings.url, ipfs_api=settings.ipfs_api, signer=keypair_from_uri(uri))


def run_script(script: Path, *args: str) -> None:
    """Run a kit's script with the demo's interpreter, its output streamed."""
    env = {**os.environ, "PYTHON": sys.executable, "TF_CPP_MIN_LOG_LEVEL": "3"}
    subprocess.run([str(script), *args], check=True, env=env)


def score(result: Path) -> str:
    """The creator's holdout score of a result directory, from the creator kit."""
    out = subprocess.run(
        [sys.executable, "-m", "model_creator", "evaluate", str(result)],
        cwd=ROOT / "assets",
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    return out.stdout.strip().splitlines()[-1] if out.stdout.strip() else "(no score)"


def run() -> None:
    accounts = ("//Alice", *WORKERS)
    markets = {uri: market_for(uri) for uri in accounts}
    alice = markets["//Alice"]
    token = alice.token
    start = {uri: alice.chain.free_balance(m.address) for uri, m in markets.items()}
    fees = dict.fromkeys(accounts, 0)
    console.print(f"chain {alice.chain.chain_name()} at {alice.url}, block {alice.block_number()}")

    work = Path(tempfile.mkdtemp(prefix="decentralml-demo-"))
    console.print("0. Alice trains the initial model and writes the task bundle (creator kit)")
    run_script(ROOT / "assets" / "model_creator" / "start_task.sh", str(work / "creator"))
    bundle = work / "creator" / "bundles" / "ModelContribution"

    created = alice.create_task(
        bundle,
        kind="model-contribution",
        reward="2",
        slots=3,
        deadline=600,
        review_period=100,
        work_period=100,
        policy="manual",
        title="digits 8x8",
    )
    task_id = created.task_id
    fees["//Alice"] += created.receipt.fee
    console.print(
        f"1. Alice created task {task_id}: {token.format(created.task.escrow)} held in escrow, "
        f"{token.format(created.task.deposit)} storage deposit"
    )

    results: dict[str, Path] = {}
    for n, uri in enumerate(WORKERS, start=1):
        market = markets[uri]
        fees[uri] += market.assign_task(task_id).fee
        task_dir = work / f"task-{n}"
        pulled = market.pull_task_bundle(task_id, task_dir)
        spec = json.loads((task_dir / "task.json").read_text())
        console.print(
            f"2.{n} {uri[2:]} took a slot and pulled the verified bundle ({pulled.ref.size} "
            f"bytes); training on shard {n - 1} (of 0..2) with {spec['start']}"
        )
        result = work / f"result-{n}"
        run_script(task_dir / spec["setup"])
        shard = ("--shard", str(n - 1), "--shards", str(len(WORKERS)))
        run_script(task_dir / spec["start"], str(result), *shard)
        sent = market.send_result(task_id, result, journal_root=work / "journal")
        fees[uri] += sum(r.fee for r in sent.receipts)
        results[market.address] = result
        console.print(f"    sent result {sent.result.cid}")

    for result in alice.list_results(task_id):
        scored = score(results[result.worker])
        console.print(f"3. Alice scores {result.worker[:8]}…'s weights: {scored}")
        receipt = alice.accept_result(task_id, result.worker)
        fees["//Alice"] += receipt.fee
        (paid,) = receipt.find("Decentralml", "RewardPaid")
        console.print(
            f"   Alice accepted {result.worker[:8]}…: paid "
            f"{token.format(int(paid.attributes['amount']))}"
        )

    table = Table(title=f"Task {task_id}: balance changes")
    for column in ("account", "free balance change", "fees paid", "held now"):
        table.add_column(column)
    for uri, market in markets.items():
        balance = alice.chain.account_balance(market.address)
        table.add_row(
            uri,
            token.format(balance.free - start[uri]),
            token.format(fees[uri]),
            token.format(balance.reserved),
        )
    console.print(table)
    for market in markets.values():
        market.close()


def main() -> int:
    try:
        run()
    except subprocess.CalledProcessError as exc:
        console.print(f"[bold red]Error:[/] a kit failed ({exc.cmd[0]}, exit {exc.returncode})")
        return 1
    except DecentralMLError as exc:
        console.print(f"[bold red]Error:[/] {exc.message}")
        if exc.hint:
            console.print(f"Hint: {exc.hint}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
