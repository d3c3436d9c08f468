"""Every role through the CLI, as subprocesses with --json, on the real dev chain and Kubo:
the example kits' real task bundles run through `run-task`, a named validator, claims after the
review period, releases after the work period, and cancellation. Balances are checked exactly
against the fees in the receipts and the bonds and deposits of docs/pallet.md."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from substrateinterface import Keypair

from decentralml.chain import ChainClient
from decentralml.devnet.kubo import KuboDaemon
from tests.backend import skip_jump_on_omni_node
from tests.fixtures_devnet import Devnet
from tests.integration.test_task_cli import Cli, _fee_of_failure, fund, make_dir

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
ASSETS = ROOT / "assets"
UNIT = 10**12
REWARD = 2 * UNIT
TF_MISSING = [m for m in ("tensorflow", "sklearn") if importlib.util.find_spec(m) is None]


class RoleCli(Cli):
    """`Cli` with this Python's bin first on PATH (the kits' setup.sh then finds TensorFlow
    and installs nothing), and the common flags before a `--` (what follows goes to the kit)."""

    def __init__(self, devnet: Devnet, kubo: KuboDaemon, home: Path) -> None:
        super().__init__(devnet, kubo, home)
        self.env.pop("PYTHON", None)
        self.env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{self.env.get('PATH', '')}"

    def run(self, *args: str, kill_after: str | None = None) -> subprocess.CompletedProcess[str]:
        if "--" not in args:
            return super().run(*args, kill_after=kill_after)
        split = args.index("--")
        return subprocess.run(
            [self.cli, *args[:split], "--json", "--yes", *args[split:]],
            env=self.env,
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=600,
        )

    @property
    def cli(self) -> str:
        return str(Path(sys.executable).parent / "decentralml")


@pytest.fixture
def cli(devnet: Devnet, kubo: KuboDaemon, tmp_path: Path) -> RoleCli:
    return RoleCli(devnet, kubo, tmp_path)


@pytest.fixture
def chain(devnet: Devnet) -> Iterator[ChainClient]:
    with ChainClient(devnet.url) as client:
        yield client


@pytest.fixture(scope="module")
def creator_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The creator kit run once for the module: OUT/model.keras and OUT/bundles/<Kind>/."""
    return run_creator_kit(tmp_path_factory)


def run_creator_kit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run the creator kit (skip when the tensorflow extra is missing); its output dir."""
    if TF_MISSING:
        pytest.skip(f"the tensorflow extra is not installed (no {', '.join(TF_MISSING)})")
    out = tmp_path_factory.mktemp("creator") / "out"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DECENTRALML_")}
    env.pop("PYTHON", None)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    done = subprocess.run(
        [str(ASSETS / "model_creator" / "start_task.sh"), str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def address_of(mnemonic: str) -> str:
    return Keypair.create_from_mnemonic(mnemonic, ss58_format=42).ss58_address


def fees(*documents: dict[str, Any]) -> int:
    """The fees paid in these documents' receipts (a receipt, or an outcome's receipts)."""
    total = 0
    for doc in documents:
        if "receipt" in doc:
            total += doc["receipt"]["fee"]
        if "outcome" in doc:
            total += sum(r["fee"] for r in doc["outcome"]["receipts"])
    return total


def events(document: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [e for e in document["receipt"]["events"] if e["name"] == name]


class Account:
    """A fresh funded account and the free balance it started with."""

    def __init__(self, chain: ChainClient) -> None:
        self.uri = fund(chain)
        self.address = address_of(self.uri)
        self.chain = chain
        self.start = chain.free_balance(self.address)

    def change(self) -> int:
        return self.chain.free_balance(self.address) - self.start

    def holds(self) -> dict[str, int]:
        return self.chain.holds(self.address)


def evaluate(result: Path) -> dict[str, Any]:
    """The creator scores a result with its kit: `python -m model_creator evaluate DIR`."""
    done = subprocess.run(
        [sys.executable, "-m", "model_creator", "evaluate", str(result)],
        cwd=ASSETS,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    score: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return score


# kind on the chain, bundle directory, arguments for the kit after `--`
KIT_TASKS = {
    "model-contribution": (
        "ModelContribution",
        ("--shard", "1", "--shards", "3", "--seed", "7", "--epochs", "2"),
    ),
    "model-engineering": ("ModelEngineering", ("--shard", "2", "--shards", "3", "--epochs", "2")),
    "data-annotation": ("DataAnnotation", ()),
}


def check_result_files(kind: str, result: Path) -> None:
    """The result is data, never code, and loads the way the bundle contract says."""
    assert (result / "result.json").is_file()
    if kind == "model-contribution":
        import numpy as np

        with np.load(result / "weights.npz", allow_pickle=False) as weights:
            arrays = [weights[name] for name in weights.files]
        assert arrays and all(a.dtype.kind == "f" for a in arrays)
    elif kind == "model-engineering":
        import keras

        model = keras.saving.load_model(result / "model.keras", safe_mode=True)
        assert model.output_shape[-1] == 10
    else:
        rows = (result / "labels.csv").read_text().strip().splitlines()
        assert rows[0].split(",") == ["index", "label"] and len(rows) > 1


@pytest.mark.tensorflow
@pytest.mark.parametrize("kind", list(KIT_TASKS))
def test_kit_bundle_run_task_send_evaluate_accept(
    kind: str, cli: RoleCli, chain: ChainClient, creator_out: Path, tmp_path: Path
) -> None:
    """The creator kit's bundle for the kind goes on-chain; a worker takes it, runs the kit
    through run-task (shard options passed after --), sends the result; the creator scores
    it with its kit and accepts it: the worker gains the reward less its fees."""
    bundle_name, kit_args = KIT_TASKS[kind]
    bundle = creator_out / "bundles" / bundle_name
    creator, worker = Account(chain), Account(chain)

    created = cli.ok(
        "create-task", "--kind", kind, "--assets", str(bundle), "--reward", "2",
        "--slots", "1", "--deadline", "200", "--policy", "manual", "--title", bundle_name,
        "--account", creator.uri,
    )  # fmt: skip
    task_id, deposit = created["task_id"], created["task"]["deposit"]
    assert created["task"]["escrow"] == REWARD and created["task"]["submission"] == "plain"

    assigned = cli.ok("assign-task", str(task_id), "--dest", "task", "--account", worker.uri)
    assert (tmp_path / "task" / "task.json").read_bytes() == (bundle / "task.json").read_bytes()
    assert any(p.endswith("start_task.sh") for p in assigned["entry_points"])
    ran = cli.ok(
        "run-task", str(task_id), "--dir", "task", "--output", "result",
        "--account", worker.uri, "--", *kit_args,
    )  # fmt: skip
    assert [Path(p).name for p in ran["ran"]] == ["setup.sh", "start_task.sh"]
    result = tmp_path / "result"
    assert Path(ran["output"]) == result
    check_result_files(kind, result)
    declared = json.loads((result / "result.json").read_text())
    if kind == "model-contribution":
        # The shard options reached the kit: shard 1 of 3 of the 1,168-row pool.
        assert declared["data"] == {
            "source": "sklearn-digits-pool", "shard": 1, "shards": 3, "seed": 7,
        }  # fmt: skip
        assert declared["epochs"] == 2 and declared["sample_count"] in (389, 390)

    sent = cli.ok("send-result", str(task_id), str(result), "--account", worker.uri)
    assert sent["outcome"]["state"] == "submitted"
    (listed,) = cli.ok("list-results", str(task_id))["results"]
    assert listed["worker"] == worker.address and listed["result"] == sent["outcome"]["result"]

    score = evaluate(result)
    assert score["kind"] == bundle_name and 0.0 <= score["accuracy"] <= 1.0
    assert score["samples"] > 0
    accepted = cli.ok("accept-result", str(task_id), worker.address, "--account", creator.uri)
    assert events(accepted, "RewardPaid")

    assert worker.change() == REWARD - fees(assigned, sent)
    assert worker.holds()["AssignmentBond"] == 0
    assert creator.change() == -REWARD - deposit - fees(created, accepted)
    assert creator.holds()["TaskEscrow"] == 0 and creator.holds()["TaskStorage"] == deposit
    shown = cli.ok("show-task", str(task_id))["task"]
    assert shown["paid"] == 1 and shown["escrow"] == 0


def plain_task(cli: RoleCli, creator: Account, tmp_path: Path, *options: str) -> dict[str, Any]:
    """A one-slot plain manual task with a tiny bundle (no TensorFlow needed)."""
    kit = make_dir(tmp_path / "kit", **{"start_task.sh": 'echo 1 > "$1/weights.txt"\n'})
    return cli.ok(
        "create-task", "--kind", "model-contribution", "--assets", str(kit), "--reward", "2",
        "--slots", "1", "--policy", "manual", "--account", creator.uri, *options,
    )  # fmt: skip


def assign_and_send(
    cli: RoleCli, task_id: int, worker: Account, tmp_path: Path
) -> tuple[dict[str, Any], dict[str, Any]]:
    assigned = cli.ok("assign-task", str(task_id), "--dest", "t", "--account", worker.uri)
    result = make_dir(tmp_path / "res", **{"result.json": f'{{"by":"{worker.address}"}}'})
    sent = cli.ok("send-result", str(task_id), str(result), "--account", worker.uri)
    assert sent["outcome"]["state"] == "submitted"
    return assigned, sent


def test_named_validator_accepts_and_worker_is_paid_from_creator_escrow(
    cli: RoleCli, chain: ChainClient, tmp_path: Path
) -> None:
    """A validator named at creation accepts; it pays only its fee, the reward comes out of
    the creator's escrow. The validator then changes to another with set-validator."""
    creator, validator, worker = Account(chain), Account(chain), Account(chain)
    created = plain_task(
        cli, creator, tmp_path, "--deadline", "100", "--validator", validator.address
    )
    task_id, deposit = created["task_id"], created["task"]["deposit"]
    assert created["task"]["validator"] == validator.address
    own = cli.run("assign-task", str(task_id), "--dest", "v", "--account", validator.uri)
    assert own.returncode == 1 and "cannot take it" in json.loads(own.stdout)["error"]["message"]
    assert validator.change() == 0  # refused before anything was sent

    assigned, sent = assign_and_send(cli, task_id, worker, tmp_path)
    accepted = cli.ok("accept-result", str(task_id), worker.address, "--account", validator.uri)
    (event,) = events(accepted, "ResultAccepted")
    assert event["attributes"]["worker"] == worker.address
    assert event["attributes"]["by"] == validator.address

    assert worker.change() == REWARD - fees(assigned, sent)
    assert validator.change() == -fees(accepted)
    assert creator.change() == -REWARD - deposit - fees(created)
    assert creator.holds()["TaskEscrow"] == 0 and creator.holds()["TaskStorage"] == deposit

    other = Account(chain)
    changed = cli.ok("set-validator", str(task_id), other.address, "--account", creator.uri)
    assert cli.ok("show-task", str(task_id))["task"]["validator"] == other.address
    assert creator.change() == -REWARD - deposit - fees(created, changed)


def test_claim_reward_after_review_period(
    cli: RoleCli, chain: ChainClient, devnet: Devnet, tmp_path: Path
) -> None:
    """Nobody decides; once the review period has passed the worker claims the reward."""
    creator, worker = Account(chain), Account(chain)
    created = plain_task(cli, creator, tmp_path, "--deadline", "100", "--review-period", "5")
    task_id, deposit = created["task_id"], created["task"]["deposit"]
    assigned, sent = assign_and_send(cli, task_id, worker, tmp_path)

    before_claim = worker.change()
    early = cli.run("claim-reward", str(task_id), "--account", worker.uri)
    assert early.returncode == 1, early.stdout
    early_fee = before_claim - worker.change()
    assert early_fee in (0, _fee_of_failure(chain, worker.address)), early.stdout
    cli.ok("devnet", "advance", "5")
    claimed = cli.ok("claim-reward", str(task_id), "--account", worker.uri)
    assert events(claimed, "RewardPaid")

    assert worker.change() == REWARD - fees(assigned, sent, claimed) - early_fee
    assert creator.change() == -REWARD - deposit - fees(created)
    (listed,) = cli.ok("list-results", str(task_id))["results"]
    assert listed["state"] == "paid"


def test_release_assignment_forfeits_the_bond_to_the_creator(
    cli: RoleCli, chain: ChainClient, tmp_path: Path
) -> None:
    """A squatter takes the slot and sends nothing; after the work period a third account
    releases it: the squatter's bond goes to the creator, the slot is free again."""
    creator, squatter, releaser = Account(chain), Account(chain), Account(chain)
    created = plain_task(cli, creator, tmp_path, "--deadline", "100", "--work-period", "5")
    task_id, deposit = created["task_id"], created["task"]["deposit"]
    assigned = cli.ok("assign-task", str(task_id), "--dest", "s", "--account", squatter.uri)
    bond = assigned["bond"]
    assert bond > 0 and squatter.holds()["AssignmentBond"] == bond

    cli.ok("devnet", "advance", "5")
    released = cli.ok(
        "release-assignment", str(task_id), squatter.address, "--account", releaser.uri
    )
    (forfeited,) = events(released, "BondForfeited")
    assert int(forfeited["attributes"]["amount"]) == bond

    assert squatter.change() == -bond - fees(assigned)
    assert squatter.holds()["AssignmentBond"] == 0
    assert releaser.change() == -fees(released)
    assert creator.change() == -REWARD - deposit - fees(created) + bond
    shown = cli.ok("show-task", str(task_id))["task"]
    assert shown["assigned"] == 0 and shown["free_slots"] == 1 and shown["escrow"] == REWARD
    again = cli.run("assign-task", str(task_id), "--dest", "s2", "--account", squatter.uri)
    assert again.returncode == 1 and "(released)" in json.loads(again.stdout)["error"]["message"]
    assert squatter.change() == -bond - fees(assigned)  # refused before anything was sent


def test_cancel_returns_escrow_and_bonds_deposit_until_remove(
    cli: RoleCli, chain: ChainClient, tmp_path: Path
) -> None:
    """Cancelling returns the escrow to the creator and the bond to the worker; the storage
    deposit stays held until remove-task after the retention period."""
    creator, worker = Account(chain), Account(chain)
    created = plain_task(cli, creator, tmp_path, "--deadline", "100")
    task_id, deposit = created["task_id"], created["task"]["deposit"]
    assigned = cli.ok("assign-task", str(task_id), "--dest", "w", "--account", worker.uri)
    assert worker.holds()["AssignmentBond"] == assigned["bond"] > 0

    cancelled = cli.ok("cancel-task", str(task_id), "--account", creator.uri)
    assert events(cancelled, "TaskCancelled") and events(cancelled, "BondReturned")
    assert worker.change() == -fees(assigned)
    assert worker.holds()["AssignmentBond"] == 0
    assert creator.change() == -deposit - fees(created, cancelled)
    assert creator.holds()["TaskEscrow"] == 0 and creator.holds()["TaskStorage"] == deposit
    shown = cli.ok("show-task", str(task_id))["task"]
    assert shown["status"] == "cancelled" and shown["escrow"] == 0

    skip_jump_on_omni_node()
    cli.ok("devnet", "advance", "201600", "--jump")
    removed = cli.ok("remove-task", str(task_id), "--account", creator.uri)
    assert creator.change() == -fees(created, cancelled, removed)
    assert creator.holds()["TaskStorage"] == 0
