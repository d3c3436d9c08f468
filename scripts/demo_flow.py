"""The marketplace flow on the local devnet and IPFS, end to end, through the `decentralml` CLI.

Run by `scripts/demo` after `decentralml devnet up`. Every step is a `decentralml` command run
as its user would run it (with `--json`, read back for the next step):

0. //Alice (creator) trains the initial Keras model with the creator kit (assets/model_creator,
   her own workspace, never uploaded) and writes the model-contribution task bundle;
1. `create-task`: she posts it with 3 slots, plain submissions, decided by hand;
2. //Bob, //Charlie and //Dave each `list-tasks --open`, `assign-task` (a small bond held; the
   bundle pulled and verified), `run-task` (the kit's setup.sh and start_task.sh, training on
   their own shard of the digits) and `send-result` (the bond comes back);
3. Alice runs `list-results`, scores each result on her holdout with her creator kit, and
   `accept-result` pays it;
4. `show-task` and `account balance`: a final table shows each account's balance change and
   the fees it paid.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
CLI = Path(sys.executable).with_name("decentralml")
WORKERS = ("//Bob", "//Charlie", "//Dave")
console = Console()


class CommandFailed(Exception):
    """A `decentralml` command exited non-zero; its error document says why."""


def decentralml(*args: str, cwd: Path | None = None) -> dict[str, Any]:
    """Run one `decentralml` command with --json and --yes; its JSON document."""
    command = [str(CLI), *args[:1], "--json", "--yes", *args[1:]]
    if args[0] in ("account", "devnet"):  # groups: the options go after the subcommand
        command = [str(CLI), *args[:2], "--json", "--yes", *args[2:]]
    console.print(f"  [dim]$ decentralml {shlex.join(args)}[/]")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(command, capture_output=True, text=True, cwd=cwd, env=env)
    if done.returncode != 0:
        try:
            error = json.loads(done.stdout)["error"]
            message = f"{error['message']}" + (f" ({error['hint']})" if error.get("hint") else "")
        except (ValueError, KeyError, TypeError):
            message = (done.stderr or done.stdout).strip()[-2000:]
        raise CommandFailed(f"`decentralml {shlex.join(args)}` failed: {message}")
    document: dict[str, Any] = json.loads(done.stdout)
    return document


def fees_of(document: dict[str, Any]) -> int:
    """The fees a command's receipts record."""
    receipts = []
    if "receipt" in document:
        receipts.append(document["receipt"])
    receipts.extend(document.get("outcome", {}).get("receipts", []))
    return sum(int(r["fee"]) for r in receipts)


def score(result: Path) -> str:
    """The creator's holdout score of a result directory, from her creator kit."""
    out = subprocess.run(
        [sys.executable, "-m", "model_creator", "evaluate", str(result)],
        cwd=ROOT / "assets",
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    return out.stdout.strip().splitlines()[-1] if out.stdout.strip() else "(no score)"


def tokens(planck: int, token: dict[str, Any]) -> str:
    sign = "-" if planck < 0 else ""
    whole, frac = divmod(abs(planck), 10 ** token["decimals"])
    digits = f"{frac:0{token['decimals']}d}".rstrip("0")
    return f"{sign}{whole}{'.' + digits if digits else ''} {token['symbol']}"


def run() -> None:
    accounts = ("//Alice", *WORKERS)
    balances = {uri: decentralml("account", "balance", "--account", uri) for uri in accounts}
    token = balances["//Alice"]["token"]
    fees = dict.fromkeys(accounts, 0)
    status = decentralml("devnet", "status")
    console.print(f"chain {status['chain']} at {status['url']}, block {status['height']}")

    work = Path(tempfile.mkdtemp(prefix="decentralml-demo-"))
    console.print("0. Alice trains the initial model and writes the task bundle (creator kit)")
    env = {**os.environ, "PYTHON": sys.executable, "TF_CPP_MIN_LOG_LEVEL": "3"}
    creator_kit = ROOT / "assets" / "model_creator" / "start_task.sh"
    subprocess.run([str(creator_kit), str(work / "creator")], check=True, env=env)
    bundle = work / "creator" / "bundles" / "ModelContribution"

    console.print("1. Alice posts the task")
    created = decentralml(
        "create-task", "--kind", "model-contribution", "--assets", str(bundle),
        "--reward", "2", "--slots", "3", "--deadline", "600", "--review-period", "100",
        "--work-period", "100", "--policy", "manual", "--title", "digits 8x8",
        "--account", "//Alice",
    )  # fmt: skip
    task_id = str(created["task_id"])
    fees["//Alice"] += fees_of(created)
    task = created["task"]
    console.print(
        f"   task {task_id}: {tokens(task['escrow'], token)} held in escrow, "
        f"{tokens(task['deposit'], token)} storage deposit"
    )

    results: dict[str, Path] = {}
    for shard, uri in enumerate(WORKERS):
        name = uri[2:]
        console.print(f"2.{shard + 1} {name} takes a slot, trains on shard {shard} and sends")
        listed = decentralml("list-tasks", "--open", "--account", uri)
        assert int(task_id) in [t["task_id"] for t in listed["tasks"]]
        assigned = decentralml(
            "assign-task", task_id, "--dest", str(work / f"task-{name}"), "--account", uri
        )
        fees[uri] += fees_of(assigned)
        output = work / f"result-{name}"
        decentralml(
            "run-task", task_id, "--dir", str(work / f"task-{name}"), "--output", str(output),
            "--account", uri, "--", "--shard", str(shard), "--shards", str(len(WORKERS)),
        )  # fmt: skip
        sent = decentralml("send-result", task_id, str(output), "--account", uri)
        fees[uri] += fees_of(sent)
        results[sent["outcome"]["worker"]] = output
        console.print(f"    sent result {sent['outcome']['result']['cid']}")

    console.print("3. Alice scores each result on her holdout and accepts it")
    for result in decentralml("list-results", task_id, "--account", "//Alice")["results"]:
        worker = result["worker"]
        console.print(f"   {worker[:8]}…'s weights: {score(results[worker])}")
        accepted = decentralml("accept-result", task_id, worker, "--account", "//Alice")
        fees["//Alice"] += fees_of(accepted)

    shown = decentralml("show-task", task_id)["task"]
    table = Table(title=f"Task {task_id} is {shown['status']}: {shown['paid']} results paid")
    for column in ("account", "free balance change", "fees paid", "held now"):
        table.add_column(column)
    for uri in accounts:
        now = decentralml("account", "balance", "--account", uri)
        table.add_row(
            uri,
            tokens(now["free"] - balances[uri]["free"], token),
            tokens(fees[uri], token),
            tokens(now["reserved"], token),
        )
    console.print(table)


def main() -> int:
    try:
        run()
    except subprocess.CalledProcessError as exc:
        console.print(f"[bold red]Error:[/] a kit failed ({exc.cmd[0]}, exit {exc.returncode})")
        return 1
    except CommandFailed as exc:
        console.print(f"[bold red]Error:[/] {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
