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

Options (all optional; without them the commands use the local devnet and its IPFS daemon):

  --url URL               the chain every command uses (e.g. ws://devnet:9944)
  --ipfs-api [ROLE=]URL   the Kubo API a role's commands use (roles: alice, bob, charlie,
                          dave, eve); a bare URL is every role's. Repeatable. With more
                          than one node, the demo also records which nodes hold the task
                          bundle, each result and the model (their root block, asked with
                          `block/stat` offline) before and after they are pulled
  --work DIR              where the kits and results are written (default: a new temporary
                          directory)
  --summary-json          print a last line with a JSON summary of the run
                          ("schema": "decentralml.demo.summary/v1"): balances before and
                          after, fees, decisions, the nodes that held each piece and the
                          seconds the run took

docker/compose.yml runs it across one Kubo node per role (see docs/docker.md).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
CLI = Path(sys.executable).with_name("decentralml")
WORKERS = ("//Bob", "//Charlie", "//Dave")
DISHONEST = "//Eve"
ROLES = ("//Alice", *WORKERS, DISHONEST)
SUMMARY_SCHEMA = "decentralml.demo.summary/v1"
console = Console()


@dataclass(frozen=True)
class Endpoints:
    """The chain and the Kubo API each role's commands use; None: the CLI's default."""

    url: str | None = None
    ipfs: dict[str, str] = field(default_factory=dict)

    def options(self, uri: str) -> list[str]:
        """The --url and --ipfs-api options of `uri`'s commands."""
        options = ["--url", self.url] if self.url else []
        if uri in self.ipfs:
            options += ["--ipfs-api", self.ipfs[uri]]
        return options

    @property
    def several_nodes(self) -> bool:
        return len(set(self.ipfs.values())) > 1


def held_by(endpoints: Endpoints, cid: str) -> list[str]:
    """The roles whose Kubo node holds `cid`'s root block now, asked offline (no fetching)."""
    holders = []
    for uri, api in endpoints.ipfs.items():
        query = urllib.parse.urlencode({"arg": cid, "offline": "true"})
        request = urllib.request.Request(f"{api}/api/v0/block/stat?{query}", method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")
            if exc.code == 500 and "not found" in detail:
                continue
            raise CommandFailed(f"asking {api} for {cid} failed: {detail.strip()}") from exc
        except OSError as exc:
            raise CommandFailed(f"cannot ask {api} for {cid}: {exc}") from exc
        holders.append(uri)
    return holders


# The commands run as from an activated virtual environment: the kits' setup.sh then finds
# TensorFlow where decentralml is installed and installs nothing.
ENV = {
    **os.environ,
    "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    "TF_CPP_MIN_LOG_LEVEL": "3",
}


class CommandFailed(Exception):
    """A `decentralml` command exited non-zero; its error document says why."""


def decentralml(*args: str, options: list[str] | None = None) -> dict[str, Any]:
    """Run one `decentralml` command with --json and --yes; its JSON document.

    `options` (--url, --ipfs-api) go after the command's own arguments, before any `--`.
    """
    words = 2 if args[0] in ("account", "devnet") else 1  # groups: options after the subcommand
    end = args.index("--") if "--" in args else len(args)
    shown = [*args[:end], *(options or []), *args[end:]]
    command = [str(CLI), *shown[:words], "--json", "--yes", *shown[words:]]
    console.print(f"  [dim]$ decentralml {shlex.join(shown)}[/]", soft_wrap=True)
    done = subprocess.run(command, capture_output=True, text=True, env=ENV)
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


def run(endpoints: Endpoints, work: Path | None = None) -> dict[str, Any]:
    """The demo; returns its summary (see --summary-json)."""
    started = time.monotonic()

    def cli(*args: str, uri: str = "//Alice") -> dict[str, Any]:
        return decentralml(*args, options=endpoints.options(uri))

    def holders(cid: str) -> list[str] | None:
        return held_by(endpoints, cid) if endpoints.several_nodes else None

    balances = {uri: cli("account", "balance", "--account", uri, uri=uri) for uri in ROLES}
    token = balances["//Alice"]["token"]
    fees = dict.fromkeys(ROLES, 0)
    if endpoints.url is None:
        status = decentralml("devnet", "status")
        console.print(f"chain {status['chain']} at {status['url']}, block {status['height']}")
    else:
        block = balances["//Alice"]["block"]["number"]
        console.print(f"chain at {balances['//Alice']['url']}, block {block}")
    for uri, api in endpoints.ipfs.items():
        console.print(f"  {uri[2:]}'s IPFS node: {api}")

    if work is None:
        work = Path(tempfile.mkdtemp(prefix="decentralml-demo-"))
    work.mkdir(parents=True, exist_ok=True)
    console.print("0. Alice trains the initial model and writes the task bundle (creator kit)")
    env = {**os.environ, "PYTHON": sys.executable, "TF_CPP_MIN_LOG_LEVEL": "3"}
    creator_kit = ROOT / "assets" / "model_creator" / "start_task.sh"
    subprocess.run([str(creator_kit), str(work / "creator")], check=True, env=env)
    bundle = work / "creator" / "bundles" / "ModelContribution"

    console.print("1. Alice posts the task, decided by her own rule (CustomAccept)")
    created = cli(
        "create-task", "--kind", "model-contribution", "--assets", str(bundle),
        "--reward", "2", "--slots", "4", "--deadline", "600", "--review-period", "100",
        "--work-period", "100", "--policy", "custom", "--title", "digits 8x8",
        "--account", "//Alice",
    )  # fmt: skip
    task_id = str(created["task_id"])
    fees["//Alice"] += fees_of(created)
    task = created["task"]
    bundle_cid = task["bundle"]["cid"]
    console.print(
        f"   task {task_id}: {tokens(task['escrow'], token)} held in escrow, "
        f"{tokens(task['deposit'], token)} storage deposit; bundle {bundle_cid}"
    )
    bundle_nodes = {"before_assign": holders(bundle_cid)}

    results: dict[str, dict[str, Any]] = {}
    for step, uri in enumerate((*WORKERS, DISHONEST)):
        name = uri[2:]
        honest = uri != DISHONEST
        what = f"trains on shard {step}" if honest else "sends random weights instead"
        console.print(f"2.{step + 1} {name} takes a slot, {what}")
        listed = cli("list-tasks", "--open", "--account", uri, uri=uri)
        assert int(task_id) in [t["task_id"] for t in listed["tasks"]]
        task_dir = work / f"task-{name}"
        assigned = cli("assign-task", task_id, "--dest", str(task_dir), "--account", uri, uri=uri)
        fees[uri] += fees_of(assigned)
        output = work / f"result-{name}"
        if honest:
            cli(
                "run-task", task_id, "--dir", str(task_dir), "--output", str(output),
                "--account", uri, "--", "--shard", str(step), "--shards", str(len(WORKERS)),
                uri=uri,
            )  # fmt: skip
        else:
            random_weights(task_dir, output)
        sent = cli("send-result", task_id, str(output), "--account", uri, uri=uri)
        fees[uri] += fees_of(sent)
        cid = sent["outcome"]["result"]["cid"]
        results[uri] = {"cid": cid}
        console.print(f"    sent result {cid}")
    bundle_nodes["after_assign"] = holders(bundle_cid)
    for result in results.values():
        result["held_before_validation"] = holders(result["cid"])
    if endpoints.several_nodes:
        console.print("   the nodes that hold each result (its root block) now:")
        for uri, result in results.items():
            console.print(
                f"     {uri[2:]}: {', '.join(r[2:] for r in result['held_before_validation'])}"
            )

    console.print("3. Alice validates the results with her rule, federates and publishes")
    rule = ROOT / "assets" / "validators" / "accuracy_floor.py"
    report = cli(
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
        role = names.get(r["worker"])
        if role is not None and role in results:
            results[role].update(
                decision=r["decision"], reason=r["reason"], federated=r["federated"]
            )
    console.print(decisions)
    console.print(
        f"   current model: holdout accuracy {report['baseline']['accuracy']:.3f}; "
        f"federated model ({report['aggregator']}): {report['federated']['accuracy']:.3f}"
    )
    console.print(f"   published {report['model']['cid']}; plot: {report['plot']}")
    for result in results.values():
        result["held_after_validation"] = holders(result["cid"])
    model_cid = report["model"]["cid"]
    model_nodes = {"before_pull": holders(model_cid)}

    console.print("4. Bob pulls the published model (anyone can), verified against the chain")
    pulled = cli("pull-model", task_id, str(work / "model"), uri="//Bob")
    console.print(f"   {', '.join(pulled['files'])} in {pulled['dest']}")
    model_nodes["after_pull"] = holders(model_cid)

    shown = cli("show-task", task_id)["task"]
    table = Table(title=f"Task {task_id} is {shown['status']}: {shown['paid']} results paid")
    for column in ("account", "free balance change", "fees paid", "held now"):
        table.add_column(column)
    accounts: dict[str, dict[str, Any]] = {}
    for uri in ROLES:
        now = cli("account", "balance", "--account", uri, uri=uri)
        table.add_row(
            uri,
            tokens(now["free"] - balances[uri]["free"], token),
            tokens(fees[uri], token),
            tokens(now["reserved"], token),
        )
        accounts[uri] = {
            "address": now["address"],
            "free_before": balances[uri]["free"],
            "free_after": now["free"],
            "reserved_before": balances[uri]["reserved"],
            "reserved_after": now["reserved"],
            "fees": fees[uri],
            "ipfs_api": endpoints.ipfs.get(uri),
        }
    console.print(table)
    freed = shown["slots"] - shown["paid"]
    console.print(
        f"Alice's escrow still holds {tokens(shown['escrow'], token)} for the {freed} slot(s) "
        "left open (Eve's rejection freed hers); `decentralml close-task` after the deadline "
        "returns it."
    )
    return {
        "schema": SUMMARY_SCHEMA,
        "url": balances["//Alice"]["url"],
        "token": token,
        "task": {
            "task_id": int(task_id),
            "status": shown["status"],
            "reward": shown["reward"],
            "slots": shown["slots"],
            "paid": shown["paid"],
            "escrow": shown["escrow"],
            "deposit": shown["deposit"],
        },
        "accounts": accounts,
        "results": results,
        "bundle": {"cid": bundle_cid, "held": bundle_nodes},
        "model": {"cid": model_cid, "held": model_nodes, "files": pulled["files"]},
        "federated_accuracy": report["federated"]["accuracy"],
        "baseline_accuracy": report["baseline"]["accuracy"],
        "seconds": round(time.monotonic() - started, 1),
    }


def role_uri(name: str) -> str:
    uri = f"//{name.strip().removeprefix('//').capitalize()}"
    if uri not in ROLES:
        raise argparse.ArgumentTypeError(
            f"unknown role {name!r} (one of {', '.join(r[2:].lower() for r in ROLES)})"
        )
    return uri


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="The marketplace flow (Alice creates and validates; Bob, Charlie and Dave "
        "train; Eve cheats) through the decentralml CLI."
    )
    parser.add_argument("--url", metavar="URL", help="the chain every command uses")
    parser.add_argument(
        "--ipfs-api", metavar="[ROLE=]URL", action="append", default=[],
        help="the Kubo API of ROLE's commands (alice, bob, charlie, dave, eve), or of every "
        "role without ROLE=; repeatable",
    )  # fmt: skip
    parser.add_argument("--work", metavar="DIR", type=Path, help="where files are written")
    parser.add_argument(
        "--summary-json", action="store_true", help="print a JSON summary as the last line"
    )
    return parser.parse_args(argv)


def endpoints_of(args: argparse.Namespace) -> Endpoints:
    ipfs: dict[str, str] = {}
    for value in args.ipfs_api:
        role, sep, api = value.partition("=")
        if sep and not role.startswith(("http:", "https:", "/")):
            try:
                ipfs[role_uri(role)] = api.rstrip("/")
            except argparse.ArgumentTypeError as exc:
                raise SystemExit(f"--ipfs-api {value}: {exc}") from None
        else:
            ipfs.update(dict.fromkeys(ROLES, value.rstrip("/")))
    return Endpoints(url=args.url, ipfs=ipfs)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    endpoints = endpoints_of(args)
    try:
        summary = run(endpoints, args.work)
    except subprocess.CalledProcessError as exc:
        console.print(f"[bold red]Error:[/] a kit failed ({exc.cmd[0]}, exit {exc.returncode})")
        return 1
    except CommandFailed as exc:
        console.print(f"[bold red]Error:[/] {exc}")
        return 1
    if args.summary_json:
        print(json.dumps(summary, separators=(",", ":")), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
