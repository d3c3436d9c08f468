"""The marketplace flow on the local devnet and IPFS, end to end, through the Marketplace API.

Run by `scripts/demo` after `decentralml devnet up`. //Alice (creator) pushes the contributor
kit and posts a 3-slot task (plain submissions, decided by hand); //Bob, //Charlie and //Dave
each take a slot (a small bond held), pull and verify the bundle, and send a result bundle
(the bond comes back); Alice lists the results and accepts them all; each worker is paid. A
final table shows every account's balance change and the fees it paid.
"""

from __future__ import annotations

import json
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


def run() -> None:
    accounts = ("//Alice", *WORKERS)
    markets = {uri: market_for(uri) for uri in accounts}
    alice = markets["//Alice"]
    token = alice.token
    start = {uri: alice.chain.free_balance(m.address) for uri, m in markets.items()}
    fees = dict.fromkeys(accounts, 0)
    console.print(f"chain {alice.chain.chain_name()} at {alice.url}, block {alice.block_number()}")

    created = alice.create_task(
        ROOT / "assets" / "model_contributor",
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

    with tempfile.TemporaryDirectory() as tmp:
        for n, uri in enumerate(WORKERS, start=1):
            market = markets[uri]
            fees[uri] += market.assign_task(task_id).fee
            pulled = market.pull_task_bundle(task_id, Path(tmp) / f"task-{n}")
            result = Path(tmp) / f"result-{n}"
            result.mkdir()
            (result / "result.json").write_text(
                json.dumps({"worker": market.address, "num_samples": 400 + n})
            )
            sent = market.send_result(task_id, result, journal_root=Path(tmp) / "journal")
            fees[uri] += sum(r.fee for r in sent.receipts)
            console.print(
                f"2.{n} {uri[2:]} took a slot, pulled the verified bundle "
                f"({pulled.ref.size} bytes) and sent result {sent.result.cid}"
            )

    for result in alice.list_results(task_id):
        receipt = alice.accept_result(task_id, result.worker)
        fees["//Alice"] += receipt.fee
        (paid,) = receipt.find("Decentralml", "RewardPaid")
        console.print(
            f"3. Alice accepted {result.worker[:8]}…: paid "
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
    except DecentralMLError as exc:
        console.print(f"[bold red]Error:[/] {exc.message}")
        if exc.hint:
            console.print(f"Hint: {exc.hint}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
