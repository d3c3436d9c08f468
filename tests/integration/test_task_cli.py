"""The task commands as a user runs them: subprocesses with --json, on the real dev chain and
a real Kubo daemon. Balances are checked exactly against the fees in the receipts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from substrateinterface import Keypair

from decentralml.chain import ChainClient, keypair_from_uri
from decentralml.devnet.kubo import KuboDaemon
from tests.backend import skip_jump_on_omni_node
from tests.fixtures_devnet import Devnet

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CLI = str(Path(sys.executable).parent / "decentralml")
UNIT = 10**12
REWARD = 2 * UNIT


def schema(name: str) -> dict[str, Any]:
    text = resources.files("decentralml.schemas").joinpath(f"{name}.json").read_text()
    loaded: dict[str, Any] = json.loads(text)
    return loaded


class Cli:
    """Runs `decentralml` as a process against the test's chain and Kubo."""

    def __init__(self, devnet: Devnet, kubo: KuboDaemon, home: Path) -> None:
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("DECENTRALML_")},
            "DECENTRALML_URL": devnet.url,
            "DECENTRALML_IPFS_API": kubo.api_url,
            "DECENTRALML_DATA_DIR": str(devnet.data_dir),
            "DECENTRALML_CONFIG_DIR": str(home / "config"),
            "DECENTRALML_CACHE_DIR": os.environ.get("DECENTRALML_CACHE_DIR", ""),
        }
        if not self.env["DECENTRALML_CACHE_DIR"]:
            del self.env["DECENTRALML_CACHE_DIR"]
        self.cwd = home

    def run(self, *args: str, kill_after: str | None = None) -> subprocess.CompletedProcess[str]:
        env = dict(self.env)
        if kill_after is not None:
            env["DECENTRALML_TEST_KILL_AFTER"] = kill_after
        return subprocess.run(
            [CLI, *args, "--json", "--yes"],
            env=env,
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=300,
        )

    def ok(self, *args: str) -> dict[str, Any]:
        """Run, expect exit 0, validate the document against its shipped schema."""
        done = self.run(*args)
        assert done.returncode == 0, f"{args}: {done.stdout}{done.stderr}"
        document: dict[str, Any] = json.loads(done.stdout)
        name = document["schema"].replace("/", ".")
        jsonschema.validate(document, schema(name))
        return document


@pytest.fixture
def cli(devnet: Devnet, kubo: KuboDaemon, tmp_path: Path) -> Cli:
    return Cli(devnet, kubo, tmp_path)


@pytest.fixture
def chain(devnet: Devnet) -> Iterator[ChainClient]:
    with ChainClient(devnet.url) as client:
        yield client


def make_dir(path: Path, **files: str) -> Path:
    path.mkdir(parents=True)
    for name, text in files.items():
        (path / name).write_text(text)
    return path


def fund(chain: ChainClient, amount: int = 100 * UNIT) -> str:
    """A fresh account's mnemonic, funded by //Alice."""
    mnemonic = Keypair.generate_mnemonic()
    address = Keypair.create_from_mnemonic(mnemonic, ss58_format=42).ss58_address
    chain.submit(
        keypair_from_uri("//Alice"),
        "Balances",
        "transfer_keep_alive",
        {"dest": address, "value": amount},
    )
    return mnemonic


def test_three_workers_manual_accept_close_and_remove(
    cli: Cli, chain: ChainClient, devnet: Devnet, tmp_path: Path
) -> None:
    """Alice posts a 3-slot plain task; Bob, Charlie and Dave take it and send results; Alice
    accepts two and rejects one; close refunds the rest; remove returns the deposit."""
    names = ("//Bob", "//Charlie", "//Dave")
    alice = keypair_from_uri("//Alice").ss58_address
    workers = {n: keypair_from_uri(n).ss58_address for n in names}
    before = {n: chain.free_balance(a) for n, a in workers.items()}
    fees = dict.fromkeys(names, 0)
    alice_free, alice_held = chain.free_balance(alice), chain.holds(alice)
    alice_fees = 0

    kit = make_dir(tmp_path / "kit", **{"start_task.sh": 'echo 1 > "$1/weights.txt"\n'})
    created = cli.ok(
        "create-task", "--kind", "model-contribution", "--assets", str(kit), "--reward", "2",
        "--slots", "3", "--deadline", "40", "--review-period", "200", "--work-period", "30",
        "--policy", "manual", "--submission", "plain", "--title", "digits",
        "--account", "//Alice",
    )  # fmt: skip
    task_id = created["task_id"]
    alice_fees += created["receipt"]["fee"]
    assert not (kit / "task.json").exists(), "the creator's directory was written to"
    assert created["task"]["escrow"] == 3 * REWARD

    for name in names:
        listed = cli.ok("list-tasks", "--open", "--account", name)
        assert task_id in [t["task_id"] for t in listed["tasks"]]
        assigned = cli.ok("assign-task", str(task_id), "--dest", f"t-{name[2:]}", "--account", name)
        fees[name] += assigned["receipt"]["fee"]
        assert assigned["entry_points"] and (tmp_path / f"t-{name[2:]}" / "task.json").exists()
        # The same files from every worker: each bundle names its worker, so none is refused
        # as a duplicate of another.
        result = make_dir(tmp_path / f"result-{name[2:]}", **{"result.json": '{"acc":0.9}'})
        sent = cli.ok("send-result", str(task_id), str(result), "--account", name)
        assert sent["outcome"]["state"] == "submitted"
        fees[name] += sum(r["fee"] for r in sent["outcome"]["receipts"])

    results = cli.ok("list-results", str(task_id))["results"]
    assert sorted(r["worker"] for r in results) == sorted(workers.values())
    assert all(r["state"] == "submitted" for r in results)
    assert len({r["result"]["cid"] for r in results}) == 3
    for r in results:
        dest = tmp_path / f"pulled-{r['worker']}"
        ref = r["result"]
        cli.ok("assets", "pull", ref["cid"], str(dest), "--sha256", ref["sha256"])
        named = json.loads((dest / "decentralml-worker.json").read_text())
        assert (named["worker"], named["task_id"]) == (r["worker"], task_id)
        assert (dest / "result.json").read_text() == '{"acc":0.9}'
    (task_json,) = (tmp_path / "t-Bob").glob("task.json")
    assert json.loads(task_json.read_text())["kind"] == "model-contribution"
    for name in ("//Bob", "//Charlie"):
        accepted = cli.ok("accept-result", str(task_id), workers[name], "--account", "//Alice")
        alice_fees += accepted["receipt"]["fee"]
    rejected = cli.ok(
        "reject-result", str(task_id), workers["//Dave"], "--reason", "copied",
        "--account", "//Alice",
    )  # fmt: skip
    alice_fees += rejected["receipt"]["fee"]

    for name, address in workers.items():
        paid = REWARD if name != "//Dave" else 0
        assert chain.free_balance(address) - before[name] == paid - fees[name], name
        assert chain.holds(address)["AssignmentBond"] == 0

    early = cli.run("close-task", str(task_id), "--account", "//Alice")
    assert early.returncode == 1 and "DeadlineNotReached" in early.stdout
    alice_fees += _fee_of_failure(chain, alice)
    devnet.advance(40)
    closed = cli.ok("close-task", str(task_id), "--account", "//Alice")
    alice_fees += closed["receipt"]["fee"]
    (event,) = [e for e in closed["receipt"]["events"] if e["name"] == "TaskClosed"]
    assert int(event["attributes"]["refunded"]) == REWARD
    shown = cli.ok("show-task", str(task_id))
    assert shown["task"]["status"] == "closed" and shown["task"]["escrow"] == 0

    skip_jump_on_omni_node()
    cli.ok("devnet", "advance", "201600", "--jump")
    removed = cli.ok("remove-task", str(task_id), "--account", "//Alice")
    alice_fees += removed["receipt"]["fee"]
    assert chain.holds(alice) == alice_held
    assert chain.free_balance(alice) == alice_free - 2 * REWARD - alice_fees
    gone = cli.run("show-task", str(task_id))
    assert gone.returncode == 1 and json.loads(gone.stdout)["error"]["type"] == "UnknownTask"


def _fee_of_failure(chain: ChainClient, address: str) -> int:
    """The fee of the failed transaction just included (from the block's events)."""
    events = chain.substrate.get_events()
    return sum(
        int(e.value["attributes"]["actual_fee"])
        for e in events
        if e.value["event_id"] == "TransactionFeePaid" and e.value["attributes"]["who"] == address
    )


def test_sealed_auto_accept_commit_advance_reveal(
    cli: Cli, chain: ChainClient, devnet: Devnet, tmp_path: Path
) -> None:
    """Commit before the deadline (exit 0, says when to reveal), reveal after: paid at the
    reveal, the bond returned."""
    worker = fund(chain)
    address = Keypair.create_from_mnemonic(worker, ss58_format=42).ss58_address
    kit = make_dir(tmp_path / "kit", **{"task.json": "{}"})
    created = cli.ok(
        "create-task", "--kind", "data-annotation", "--assets", str(kit), "--reward", "2",
        "--slots", "1", "--deadline", "15", "--reveal-period", "20", "--policy", "auto",
        "--account", "//Alice",
    )  # fmt: skip
    task_id = created["task_id"]
    assert created["task"]["submission"] == "sealed"
    start = chain.free_balance(address)
    fees = cli.ok("assign-task", str(task_id), "--account", worker)["receipt"]["fee"]
    result = make_dir(tmp_path / "labels", **{"labels.csv": "a,1\n"})
    committed = cli.ok("send-result", str(task_id), str(result), "--account", worker)
    outcome = committed["outcome"]
    assert outcome["state"] == "committed" and outcome["reveal_from"] == created["task"]["deadline"]
    fees += sum(r["fee"] for r in outcome["receipts"])
    assert chain.holds(address)["AssignmentBond"] > 0

    devnet.advance(15)
    revealed = cli.ok("reveal-result", str(task_id), "--account", worker)["outcome"]
    assert revealed["state"] == "submitted" and revealed["result"] == outcome["result"]
    fees += sum(r["fee"] for r in revealed["receipts"])
    assert chain.free_balance(address) - start == REWARD - fees
    assert chain.holds(address)["AssignmentBond"] == 0


PLAIN_STEPS = ("packed", "published", "submitting", "submit-sent")
SEALED_COMMIT_STEPS = ("packed", "committing", "commit-sent", "committed")
SEALED_REVEAL_STEPS = ("published", "revealing", "reveal-sent")


def _killed_then_finished(cli: Cli, args: tuple[str, ...], step: str) -> dict[str, Any]:
    killed = cli.run(*args, kill_after=step)
    assert killed.returncode == -9, f"{step}: {killed.stdout}{killed.stderr}"
    return cli.ok(*args)


def test_send_result_killed_at_each_step_finishes_once(
    cli: Cli, chain: ChainClient, devnet: Devnet, tmp_path: Path
) -> None:
    """SIGKILL after each journaled step, then a rerun: one submission, the same CID."""
    kit = make_dir(tmp_path / "kit", **{"task.json": "{}"})
    plain = cli.ok(
        "create-task", "--kind", "model-contribution", "--assets", str(kit), "--reward", "1",
        "--slots", str(len(PLAIN_STEPS)), "--deadline", "100", "--policy", "manual",
        "--account", "//Alice",
    )["task_id"]  # fmt: skip
    for step in PLAIN_STEPS:
        worker = fund(chain)
        cli.ok("assign-task", str(plain), "--dest", f"p-{step}", "--account", worker)
        result = make_dir(tmp_path / f"plain-{step}", **{"result.json": step})
        args = ("send-result", str(plain), str(result), "--account", worker)
        first = _killed_then_finished(cli, args, step)["outcome"]
        again = cli.ok(*args)["outcome"]
        assert first["state"] == again["state"] == "submitted"
        assert first["result"] == again["result"] and again["already_done"]
        address = Keypair.create_from_mnemonic(worker, ss58_format=42).ss58_address
        mine = [r for r in cli.ok("list-results", str(plain))["results"] if r["worker"] == address]
        assert [r["result"] for r in mine] == [first["result"]]

    sealed = cli.ok(
        "create-task", "--kind", "model-contribution", "--assets", str(kit), "--reward", "1",
        "--slots", str(len(SEALED_COMMIT_STEPS)), "--deadline", "40", "--reveal-period", "50",
        "--policy", "auto", "--account", "//Alice",
    )  # fmt: skip
    sealed_id = sealed["task_id"]
    committed: dict[str, dict[str, Any]] = {}
    for step in SEALED_COMMIT_STEPS:
        worker = fund(chain)
        cli.ok("assign-task", str(sealed_id), "--dest", f"s-{step}", "--account", worker)
        result = make_dir(tmp_path / f"sealed-{step}", **{"result.json": step})
        args = ("send-result", str(sealed_id), str(result), "--account", worker)
        outcome = _killed_then_finished(cli, args, step)["outcome"]
        assert outcome["state"] == "committed"
        committed[worker] = outcome
    devnet.advance(40)
    for worker, step in zip(committed, (*SEALED_REVEAL_STEPS, None), strict=True):
        args = ("reveal-result", str(sealed_id), "--account", worker)
        outcome = (cli.ok(*args) if step is None else _killed_then_finished(cli, args, step))[
            "outcome"
        ]
        assert outcome["state"] == "submitted"
        assert outcome["result"] == committed[worker]["result"]
    paid = cli.ok("show-task", str(sealed_id))["task"]["paid"]
    assert paid == len(SEALED_COMMIT_STEPS)
