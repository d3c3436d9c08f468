"""validate-results and pull-model as a validator runs them, on the real dev chain and Kubo,
with the example kits: three honest contributors (the contributor kit on their own shards) and
Eve, whose weights are random. Balances are checked exactly against the fees in receipts."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from decentralml.chain import ChainClient
from decentralml.devnet.kubo import KuboDaemon
from tests.fixtures_devnet import Devnet
from tests.integration.test_task_roles import (
    ASSETS,
    REWARD,
    Account,
    RoleCli,
    fees,
    run_creator_kit,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.tensorflow]

POLICY = str(ASSETS / "validators" / "accuracy_floor.py") + ":policy"
HONEST = ("bob", "charlie", "dave")


@pytest.fixture(scope="module")
def creator_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_creator_kit(tmp_path_factory)


@pytest.fixture
def cli(devnet: Devnet, kubo: KuboDaemon, tmp_path: Path) -> RoleCli:
    return RoleCli(devnet, kubo, tmp_path)


@pytest.fixture
def chain(devnet: Devnet) -> Iterator[ChainClient]:
    with ChainClient(devnet.url) as client:
        yield client


@pytest.fixture(scope="module")
def results(creator_out: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Result directories made once for the module: three honest contributions trained by
    the contributor kit on shards 0..2, and Eve's random weights of the right shapes."""
    bundle = creator_out / "bundles" / "ModelContribution"
    root = tmp_path_factory.mktemp("results")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DECENTRALML_")}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    out: dict[str, Path] = {}
    for shard, name in enumerate(HONEST):
        out[name] = root / name
        done = subprocess.run(
            [sys.executable, "-m", "model_contributor", "--task", str(bundle),
             "--output", str(out[name]), "--shard", str(shard), "--shards", "3"],
            cwd=bundle, env=env, capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
    shapes = json.loads((bundle / "task.json").read_text())["weights_shapes"]
    rng = np.random.default_rng(0)
    out["eve"] = root / "eve"
    out["eve"].mkdir()
    random = [rng.normal(0, 1, size=shape).astype(np.float32) for shape in shapes]
    np.savez(out["eve"] / "weights.npz", *random)
    (out["eve"] / "result.json").write_text(json.dumps({"sample_count": 5000}))
    return out


class Market:
    """A task of the creator kit's contribution bundle, and workers that took it and sent."""

    def __init__(self, cli: RoleCli, chain: ChainClient, bundle: Path) -> None:
        self.cli, self.chain, self.bundle = cli, chain, bundle
        self.creator = Account(chain)
        self.workers: dict[str, Account] = {}
        self.fees: dict[str, int] = {}
        self.task_id = -1
        self.deposit = 0

    def create(
        self, policy: str, slots: int, *options: str, kind: str = "model-contribution"
    ) -> dict[str, Any]:
        created = self.cli.ok(
            "create-task", "--kind", kind, "--assets", str(self.bundle),
            "--reward", "2", "--slots", str(slots), "--deadline", "300", "--policy", policy,
            "--account", self.creator.uri, *options,
        )  # fmt: skip
        self.task_id, self.deposit = created["task_id"], created["task"]["deposit"]
        self.fees["creator"] = fees(created)
        return created

    def take(self, name: str) -> None:
        self.workers[name] = Account(self.chain)
        assigned = self.cli.ok("assign-task", str(self.task_id), "--dest", f"task-{name}",
                               "--account", self.workers[name].uri)  # fmt: skip
        self.fees[name] = fees(assigned)

    def send(self, name: str, result: Path) -> dict[str, Any]:
        sent = self.cli.ok("send-result", str(self.task_id), str(result),
                           "--account", self.workers[name].uri)  # fmt: skip
        self.fees[name] += fees(sent)
        return sent

    def validate(self, *options: str, kill_after: str | None = None) -> Any:
        args = ("validate-results", str(self.task_id), "--workspace",
                str(ASSETS / "model_creator"), "--out", str(self.cli.cwd / "report"),
                "--account", self.creator.uri, *options)  # fmt: skip
        if kill_after is not None:
            return self.cli.run(*args, kill_after=kill_after)
        document = self.cli.ok(*args)
        self.fees["creator"] += sum(r["fee"] for r in document["report"]["receipts"])
        return document["report"]

    def by_worker(self, report: dict[str, Any]) -> dict[str, dict[str, Any]]:
        names = {a.address: n for n, a in self.workers.items()}
        return {names[r["worker"]]: r for r in report["results"]}

    def states(self) -> dict[str, str]:
        names = {a.address: n for n, a in self.workers.items()}
        listed = self.cli.ok("list-results", str(self.task_id))["results"]
        return {names[r["worker"]]: r["state"] for r in listed}


@pytest.fixture
def market(cli: RoleCli, chain: ChainClient, creator_out: Path) -> Market:
    return Market(cli, chain, creator_out / "bundles" / "ModelContribution")


def check_published(market: Market, report: dict[str, Any], tmp_path: Path) -> None:
    """The model on-chain is the report's, and pull-model returns the same bytes."""
    shown = market.cli.ok("show-task", str(market.task_id))["task"]
    assert report["published"] and shown["model"] == report["model"]
    pulled = market.cli.ok("pull-model", str(market.task_id), str(tmp_path / "pulled"))
    assert pulled["model"] == report["model"] and "model.keras" in pulled["files"]
    built = Path(report["report_dir"]) / "model" / "model.keras"
    pulled_bytes = (tmp_path / "pulled" / "model.keras").read_bytes()
    assert hashlib.sha256(pulled_bytes).digest() == hashlib.sha256(built.read_bytes()).digest()


def test_custom_policy_rejects_random_weights_and_pays_the_honest(
    market: Market, results: dict[str, Path], tmp_path: Path
) -> None:
    """CustomAccept with the example rule "accuracy at least the current model's minus one
    point": Eve's random weights are rejected with that reason, the three honest results are
    paid exactly the reward, and the federated model (without Eve) is published."""
    market.create("custom", 4)
    for name in (*HONEST, "eve"):
        market.take(name)
        market.send(name, results[name])

    report = market.validate("--policy-fn", POLICY, "--batch-size", "2")
    found = market.by_worker(report)
    baseline = report["baseline"]["accuracy"]
    for name in HONEST:
        assert found[name]["decision"] == "accept" and found[name]["sent"], found[name]
        assert found[name]["federated"] and found[name]["metrics"]["accuracy"] > baseline
    eve = found["eve"]
    assert eve["decision"] == "reject" and eve["sent"] and not eve["federated"]
    assert "below the current model" in eve["reason"] and eve["metrics"]["accuracy"] < 0.3
    assert report["federated"]["accuracy"] > baseline + 0.2
    assert report["plot"] and Path(report["plot"]).is_file()

    assert market.states() == {**dict.fromkeys(HONEST, "paid"), "eve": "rejected"}
    for name in HONEST:
        assert market.workers[name].change() == REWARD - market.fees[name], name
    assert market.workers["eve"].change() == -market.fees["eve"]
    # Four rewards left the creator's free balance into escrow; three were paid out of it,
    # and Eve's slot is free again, its reward still held for whoever takes it.
    assert market.creator.change() == -4 * REWARD - market.deposit - market.fees["creator"]
    assert market.creator.holds()["TaskEscrow"] == REWARD
    check_published(market, report, tmp_path)


def test_manual_policy_is_scripted_with_accept_and_reject(
    market: Market, results: dict[str, Path]
) -> None:
    """ManualAccept decides exactly as told; a result nobody decided stays awaiting review."""
    market.create("manual", 3)
    for name in HONEST:
        market.take(name)
        market.send(name, results[name])
    bob, charlie = market.workers["bob"].address, market.workers["charlie"].address

    report = market.validate("--accept", bob, "--reject", f"{charlie}:blurry weights")
    found = market.by_worker(report)
    assert (found["bob"]["decision"], found["charlie"]["decision"]) == ("accept", "reject")
    assert found["charlie"]["reason"] == "blurry weights"
    assert found["dave"]["decision"] == "none" and not found["dave"]["sent"]
    assert market.states() == {"bob": "paid", "charlie": "rejected", "dave": "submitted"}
    assert market.workers["bob"].change() == REWARD - market.fees["bob"]
    assert market.workers["charlie"].change() == -market.fees["charlie"]
    # Federation is not payment: all three pass the floor, whatever was decided.
    assert sum(r["federated"] for r in report["results"]) == 2  # charlie was rejected


def test_auto_accept_pays_all_at_reveal_and_federates_without_the_random_one(
    market: Market, results: dict[str, Path], devnet: Devnet, tmp_path: Path
) -> None:
    """AutoAccept (sealed): all four are paid when they reveal; the run only evaluates and
    federates, leaving Eve's random weights out of the model."""
    market.create("auto", 4, "--reveal-period", "50")
    for name in (*HONEST, "eve"):
        market.take(name)
        assert market.send(name, results[name])["outcome"]["state"] == "committed"
    devnet.advance(300)
    for name in (*HONEST, "eve"):
        assert market.send(name, results[name])["outcome"]["state"] == "submitted"
    assert market.states() == dict.fromkeys((*HONEST, "eve"), "paid")

    report = market.validate()
    found = market.by_worker(report)
    assert all(r["decision"] == "none" for r in found.values())
    assert [n for n, r in found.items() if r["federated"]] == sorted(HONEST) or {
        n for n, r in found.items() if r["federated"]
    } == set(HONEST)
    assert not found["eve"]["federated"]
    for name in (*HONEST, "eve"):
        assert market.workers[name].change() == REWARD - market.fees[name], name
    check_published(market, report, tmp_path)


class Unpickled:
    """An object that, when unpickled, creates a marker file: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (str(self.marker), "w"))


def test_unsafe_and_malformed_results_are_rejected_and_nothing_of_them_runs(
    market: Market, results: dict[str, Path], tmp_path: Path
) -> None:
    """A pickle inside the .npz, NaN weights, wrong shapes and wrong dtypes: each rejected
    with its reason by the built-in checks (manual policy, no flags), and the pickle's code
    never ran."""
    marker = tmp_path / "pwned"
    honest = np.load(results["bob"] / "weights.npz", allow_pickle=False)
    layers = [honest[f"arr_{i}"] for i in range(len(honest.files))]
    bad: dict[str, list[Any]] = {
        "pickle": [np.array([Unpickled(marker)], dtype=object), *layers[1:]],
        "nan": [np.full_like(layers[0], np.nan), *layers[1:]],
        "shapes": [layers[0][..., :1], *layers[1:]],
        "dtype": [layers[0].astype(np.float64), *layers[1:]],
    }
    market.create("manual", len(bad))
    for name, arrays in bad.items():
        directory = tmp_path / name
        directory.mkdir()
        with open(directory / "weights.npz", "wb") as handle:
            np.savez(handle, *arrays, allow_pickle=True) if name == "pickle" else np.savez(
                handle, *arrays
            )
        market.take(name)
        market.send(name, directory)
    assert pickle.dumps(1)  # the test process itself can unpickle: the marker is the proof

    report = market.validate()
    found = market.by_worker(report)
    for name in bad:
        assert found[name]["decision"] == "reject" and found[name]["sent"], found[name]
        assert found[name]["refused"] and not found[name]["federated"]
    assert "object" in found["pickle"]["reason"] or "pickle" in found["pickle"]["reason"]
    assert "finite" in found["nan"]["reason"] or "nan" in found["nan"]["reason"].lower()
    assert "shape" in found["shapes"]["reason"]
    assert "dtype" in found["dtype"]["reason"] or "float64" in found["dtype"]["reason"]
    assert not marker.exists()
    assert set(market.states().values()) == {"rejected"}
    assert report["model"] is None and any("nothing was federated" in n for n in report["notes"])


def test_an_engineered_model_with_a_lambda_layer_is_rejected_unrun(
    cli: RoleCli,
    chain: ChainClient,
    creator_out: Path,
    tmp_path: Path,
) -> None:
    """A model.keras whose config carries a Lambda layer is refused before Keras loads it."""
    import keras

    marker = tmp_path / "lambda-ran"
    where = str(marker)  # a str: Keras serializes the lambda with its closure
    inputs = keras.Input(shape=(8, 8, 1))
    hidden = keras.layers.Flatten()(inputs)
    hidden = keras.layers.Lambda(lambda x: (open(where, "w"), x)[1])(hidden)  # noqa: SIM115
    outputs = keras.layers.Dense(10, activation="softmax")(hidden)
    result = tmp_path / "lambda"
    result.mkdir()
    keras.Model(inputs, outputs).save(result / "model.keras")
    marker.unlink(missing_ok=True)  # building the model ran the lambda once, here
    with zipfile.ZipFile(result / "model.keras") as archive:
        assert "Lambda" in archive.read("config.json").decode()

    market = Market(cli, chain, creator_out / "bundles" / "ModelEngineering")
    market.create("manual", 1, kind="model-engineering")
    market.take("mallory")
    market.send("mallory", result)
    report = market.validate()
    (found,) = report["results"]
    assert found["decision"] == "reject" and "Lambda" in found["reason"]
    assert not marker.exists()
    assert market.states() == {"mallory": "rejected"}


def test_a_run_killed_after_its_first_batch_pays_nobody_twice(
    market: Market, results: dict[str, Path]
) -> None:
    """--batch-size 1, killed right after the first decision reached the chain: the rerun
    sends the rest, and every worker is paid exactly once."""
    market.create("custom", 3)
    for name in HONEST:
        market.take(name)
        market.send(name, results[name])

    killed = market.validate(
        "--policy-fn", POLICY, "--batch-size", "1", kill_after="decision-batch-sent"
    )
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert sorted(market.states().values()) == ["paid", "submitted", "submitted"]

    report = market.validate("--policy-fn", POLICY, "--batch-size", "1")
    assert market.states() == dict.fromkeys(HONEST, "paid")
    already = [r for r in report["results"] if r["state"] == "paid"]
    assert len(already) == 1 and already[0]["decision"] == "none"
    for name in HONEST:
        assert market.workers[name].change() == REWARD - market.fees[name], name
    paid_events = sum(
        1
        for receipt in report["receipts"]
        for event in receipt["events"]
        if event["name"] == "RewardPaid"
    )
    assert paid_events == 2


def run_kit(kit: str, bundle: Path, output: Path, *args: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DECENTRALML_")}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    done = subprocess.run(
        [sys.executable, "-m", kit, "--task", str(bundle), "--output", str(output), *args],
        cwd=bundle, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]


def test_annotations_are_scored_against_gold_and_voted(
    cli: RoleCli, chain: ChainClient, creator_out: Path, tmp_path: Path
) -> None:
    """Two annotators run the annotator kit (k=1 and k=3) and one labels at random: scored
    against the creator's gold labels, the random one falls below the agreement floor and
    is left out of the vote; the voted labels are published."""
    bundle = creator_out / "bundles" / "DataAnnotation"
    market = Market(cli, chain, bundle)
    market.create("manual", 3, kind="data-annotation")
    count = len(np.load(bundle / "samples.npz", allow_pickle=False)["x"])
    for name, k in (("ann", "1"), ("bea", "3")):
        run_kit("data_annotator", bundle, tmp_path / name, "--k", k)
    noise = tmp_path / "noise"
    noise.mkdir()
    labels = np.random.default_rng(1).integers(0, 10, count)
    rows = "".join(f"{i},{label}\n" for i, label in enumerate(labels))
    (noise / "labels.csv").write_text("index,label\n" + rows)
    for name in ("ann", "bea", "noise"):
        market.take(name)
        market.send(name, tmp_path / name)

    report = market.validate("--accept", market.workers["ann"].address)
    found = market.by_worker(report)
    assert found["ann"]["metrics"]["accuracy"] > 0.7 and found["bea"]["metrics"]["accuracy"] > 0.7
    assert found["noise"]["metrics"]["accuracy"] < 0.3
    assert [found[n]["federated"] for n in ("ann", "bea", "noise")] == [True, True, False]
    assert found["ann"]["decision"] == "accept" and found["bea"]["decision"] == "none"
    assert report["federated"]["accuracy"] > 0.7 and report["published"]
    pulled = cli.ok("pull-model", str(market.task_id), str(tmp_path / "voted"))
    assert "labels.csv" in pulled["files"]
    assert market.states() == {"ann": "paid", "bea": "submitted", "noise": "submitted"}


def test_engineering_results_are_ranked_and_the_best_published(
    cli: RoleCli, chain: ChainClient, creator_out: Path, tmp_path: Path
) -> None:
    """An engineer's trained model beats the current one and becomes the published model; the
    task's own model sent back byte for byte is flagged unchanged and rejected."""
    bundle = creator_out / "bundles" / "ModelEngineering"
    market = Market(cli, chain, bundle)
    market.create("manual", 2, kind="model-engineering")
    run_kit("model_engineer", bundle, tmp_path / "eng", "--shard", "0", "--shards", "1")
    lazy = tmp_path / "lazy"
    lazy.mkdir()
    (lazy / "model.keras").write_bytes((bundle / "model.keras").read_bytes())
    for name in ("eng", "lazy"):
        market.take(name)
        market.send(name, tmp_path / name)

    report = market.validate("--min-improvement", "0")
    found = market.by_worker(report)
    assert found["eng"]["metrics"]["accuracy"] > report["baseline"]["accuracy"]
    assert found["lazy"]["metrics"]["accuracy"] == pytest.approx(report["baseline"]["accuracy"])
    assert found["eng"]["federated"] and not found["lazy"]["federated"]
    assert found["lazy"]["unchanged"] and found["lazy"]["decision"] == "reject"
    assert found["eng"]["decision"] == "none"  # manual, no flags, --json: left for the creator
    assert report["aggregator"] == "rank"
    assert report["federated"]["accuracy"] == found["eng"]["metrics"]["accuracy"]
    cli.ok("pull-model", str(market.task_id), str(tmp_path / "best"))
    published = (tmp_path / "best" / "model.keras").read_bytes()
    assert published == (tmp_path / "eng" / "model.keras").read_bytes()
