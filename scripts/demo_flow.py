"""The marketplace flow on the local devnet and IPFS, end to end, through the `decentralml` CLI.

Run by `scripts/demo` after `decentralml devnet up`. Every step is a `decentralml` command run
as its user would run it (with `--json`, read back for the next step):

0. //Alice (creator) trains the initial Keras model with the creator kit (assets/model_creator,
   her own workspace, never uploaded) and writes the model-contribution task bundle;
1. `create-task`: she posts it with 4 slots, plain submissions, decided by her own rule
   (CustomAccept);
2. //Bob, //Charlie and //Dave each `list-tasks --open`, `assign-task` (a small bond held; the
   bundle pulled and verified), `run-task` (the kit's setup.sh and start_task.sh, training on
   their own shard of the digits) and `send-result` (the bond comes back); //Eve takes a slot
   too, but sends random weights of the right shapes instead of training;
3. `validate-results` with the example rule assets/validators/accuracy_floor.py ("holdout
   accuracy at least the current model's minus one point"): each result is scored on
   Alice's holdout, Eve is rejected with her reason, the other three are paid, and their
   weights are federated (FedAvg) into a new model, which is published on-chain;
4. `pull-model` fetches the published model back, verified; `account balance` for the final
   table of each account's balance change and the fees it paid.
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
DISHONEST = "//Eve"
console = Console()


# The commands run as from an activated virtual environment: the kits' setup.sh then finds
# TensorFlow where decentralml is installed and installs nothing.
ENV = {
    **os.environ,
    "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    "TF_CPP_MIN_LOG_LEVEL": "3",
}


class CommandFailed(Exception):
    """A `decentralml` command exited non-zero; its error document says why."""


def decentralml(*args: str, cwd: Path | None = None) -> dict[str, Any]:
    """Run one `decentralml` command with --json and --yes; its JSON document."""
    command = [str(CLI), *args[:1], "--json", "--yes", *args[1:]]
    if args[0] in ("account", "devnet"):  # groups: the options go after the subcommand
        command = [str(CLI), *args[:2], "--json", "--yes", *args[2:]]
    console.print(f"  [dim]$ decentralml {shlex.join(args)}[/]")
    done = subprocess.run(command, capture_output=True, text=True, cwd=cwd, env=ENV)
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


def tokens(planck: int, token: dict[str, Any]) -> str:
    sign = "-" if planck < 0 else ""
    whole, frac = divmod(abs(planck), 10 ** token["decimals"])
    digits = f"{frac:0{token['decimals']}d}".rstrip("0")
    return f"{sign}{whole}{'.' + digits if digits else ''} {token['symbol']}"


def random_weights(task_dir: Path, dest: Path) -> None:
    """Eve's result: random weights of the task's shapes, no training at all."""
    import numpy as np

    shapes = json.loads((task_dir / "task.json").read_text())["weights_shapes"]
    rng = np.random.default_rng(666)
    dest.mkdir(parents=True)
    np.savez(dest / "weights.npz", *[rng.normal(0, 1, s).astype("float32") for s in shapes])
    (dest / "result.json").write_text(json.dumps({"sample_count": 5000}) + "\n")


def run() -> None:
    accounts = ("//Alice", *WORKERS, DISHONEST)
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

    console.print("1. Alice posts the task, decided by her own rule (CustomAccept)")
    created = decentralml(
        "create-task", "--kind", "model-contribution", "--assets", str(bundle),
        "--reward", "2", "--slots", "4", "--deadline", "600", "--review-period", "100",
        "--work-period", "100", "--policy", "custom", "--title", "digits 8x8",
        "--account", "//Alice",
    )  # fmt: skip
    task_id = str(created["task_id"])
    fees["//Alice"] += fees_of(created)
    task = created["task"]
    console.print(
        f"   task {task_id}: {tokens(task['escrow'], token)} held in escrow, "
        f"{tokens(task['deposit'], token)} storage deposit"
    )

    for step, uri in enumerate((*WORKERS, DISHONEST)):
        name = uri[2:]
        honest = uri != DISHONEST
        what = f"trains on shard {step}" if honest else "sends random weights instead"
        console.print(f"2.{step + 1} {name} takes a slot, {what}")
        listed = decentralml("list-tasks", "--open", "--account", uri)
        assert int(task_id) in [t["task_id"] for t in listed["tasks"]]
        task_dir = work / f"task-{name}"
        assigned = decentralml("assign-task", task_id, "--dest", str(task_dir), "--account", uri)
        fees[uri] += fees_of(assigned)
        output = work / f"result-{name}"
        if honest:
            decentralml(
                "run-task", task_id, "--dir", str(task_dir), "--output", str(output),
                "--account", uri, "--", "--shard", str(step), "--shards", str(len(WORKERS)),
            )  # fmt: skip
        else:
            random_weights(task_dir, output)
        sent = decentralml("send-result", task_id, str(output), "--account", uri)
        fees[uri] += fees_of(sent)
        console.print(f"    sent result {sent['outcome']['result']['cid']}")

    console.print("3. Alice validates the results with her rule, federates and publishes")
    rule = ROOT / "assets" / "validators" / "accuracy_floor.py"
    report = decentralml(
        "validate-results", task_id, "--workspace", str(ROOT / "assets" / "model_creator"),
        "--policy-fn", f"{rule}:policy", "--out", str(work / "validation"),
        "--account", "//Alice",
    )["report"]  # fmt: skip
    fees["//Alice"] += sum(int(r["fee"]) for r in report["receipts"])
    names = {a["address"]: uri for uri, a in balances.items()}
    decisions = Table(title=f"Task {task_id}: validation ({report['policy']} policy)")
    for column in ("worker", "holdout accuracy", "vs current model", "decision", "federated"):
        decisions.add_column(column)
    for r in report["results"]:
        accuracy = "-" if r["metrics"] is None else f"{r['metrics']['accuracy']:.3f}"
        change = "-" if r["accuracy_change"] is None else f"{r['accuracy_change']:+.3f}"
        decision = r["decision"] if r["decision"] != "reject" else f"reject: {r['reason']}"
        decisions.add_row(
            names.get(r["worker"], r["worker"]), accuracy, change, decision,
            "yes" if r["federated"] else "no",
        )  # fmt: skip
    console.print(decisions)
    console.print(
        f"   current model: holdout accuracy {report['baseline']['accuracy']:.3f}; "
        f"federated model ({report['aggregator']}): {report['federated']['accuracy']:.3f}"
    )
    console.print(f"   published {report['model']['cid']}; plot: {report['plot']}")

    console.print("4. Anyone pulls the published model, verified against the chain")
    pulled = decentralml("pull-model", task_id, str(work / "model"))
    console.print(f"   {', '.join(pulled['files'])} in {pulled['dest']}")

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
    freed = shown["slots"] - shown["paid"]
    console.print(
        f"Alice's escrow still holds {tokens(shown['escrow'], token)} for the {freed} slot(s) "
        "left open (Eve's rejection freed hers); `decentralml close-task` after the deadline "
        "returns it."
    )


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
