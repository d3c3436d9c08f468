"""Policies, the creator's workspace, annotation labels and the decision journal, without a
chain; and the sending of decisions in batches against a fake marketplace."""

from __future__ import annotations

import stat
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from decentralml.errors import MarketplaceError
from decentralml.marketplace._models import (
    AssignmentState,
    ChainEventModel,
    ContentRef,
    Policy,
    Receipt,
    TaskResult,
)
from decentralml.marketplace._validate import DecisionJournal, ValidationRun, _Entry
from decentralml.validation import (
    Candidate,
    MalformedResult,
    PolicyError,
    Verdict,
    Workspace,
    WorkspaceError,
    accept,
    reject,
)
from decentralml.validation.labels import agreement, majority, read_labels
from decentralml.validation.policy import as_verdict, builtin_verdict, load_policy


def candidate(**changes: Any) -> Candidate:
    fields: dict[str, Any] = {
        "task_id": 1,
        "worker": "w",
        "kind": "ModelContribution",
        "metrics": {"accuracy": 0.9, "loss": 0.3},
        "baseline": {"accuracy": 0.5, "loss": 1.5},
    }
    fields.update(changes)
    return Candidate(**fields)


# -- verdicts and policies ----------------------------------------------------------------------


def test_verdicts_from_what_a_policy_returns() -> None:
    assert as_verdict(accept()) == Verdict(True)
    assert as_verdict(True) == Verdict(True)
    assert as_verdict(False).accept is False and as_verdict(False).reason
    assert as_verdict(reject("worse")) == Verdict(False, "worse")
    with pytest.raises(PolicyError, match="must return accept"):
        as_verdict("yes")
    with pytest.raises(PolicyError, match="needs a reason"):
        reject("  ")
    long = reject("x" * 1000)
    assert long.reason is not None and len(long.reason.encode()) <= 192


def test_builtin_policies_reject_refused_copies_and_unchanged() -> None:
    assert builtin_verdict(candidate()) is None
    assert builtin_verdict(candidate(refused="pickled objects")) == reject("pickled objects")
    copied = builtin_verdict(candidate(copies="5Grw"))
    assert copied is not None and "5Grw" in (copied.reason or "")
    assert builtin_verdict(candidate(unchanged=True)) == reject("the task's model, unchanged")
    assert candidate().accuracy_change == pytest.approx(0.4)
    assert candidate(metrics=None).accuracy_change is None


def test_a_policy_from_a_file_and_from_a_module(tmp_path: Path) -> None:
    rule = tmp_path / "rule.py"
    rule.write_text(
        textwrap.dedent(
            """
            from decentralml.validation import accept, reject

            def policy(c):
                return accept() if c.metrics["accuracy"] > 0.8 else reject("too weak")
            """
        )
    )
    fn = load_policy(f"{rule}:policy")
    assert fn(candidate()) == accept()
    assert fn(candidate(metrics={"accuracy": 0.1})) == reject("too weak")
    assert load_policy("json:dumps") is __import__("json").dumps


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no-colon", "cannot read the policy"),
        ("json:not_there", "has no function"),
        ("no_such_module_xyz:f", "cannot import"),
        ("/nowhere/rule.py:policy", "does not exist"),
    ],
)
def test_a_policy_that_cannot_be_loaded_is_one_clear_error(spec: str, message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        load_policy(spec)


def test_the_example_accuracy_floor() -> None:
    root = Path(__file__).resolve().parents[2]
    fn = load_policy(f"{root}/assets/validators/accuracy_floor.py:policy")
    assert fn(candidate()) == accept()
    assert fn(candidate(metrics={"accuracy": 0.495})) == accept()  # within one point
    worse = fn(candidate(metrics={"accuracy": 0.3}))
    assert not worse.accept and "below the current model" in worse.reason
    assert not fn(candidate(copies="x")).accept


# -- the creator's workspace ----------------------------------------------------------------------


def test_a_workspace_provides_the_three_functions(tmp_path: Path) -> None:
    (tmp_path / "model_creator.py").write_text(
        "def build_model(): return 'model'\n"
        "def load_holdout(): return ([1], [0])\n"
        "def evaluate(model, x, y): return {'accuracy': 1, 'loss': 0}\n"
    )
    workspace = Workspace.load(tmp_path)
    assert workspace.build_model() == "model" and workspace.load_gold is None
    assert workspace.holdout_metrics("m", workspace.load_holdout()) == {
        "accuracy": 1.0,
        "loss": 0.0,
    }


def test_a_workspace_package_with_relative_imports(tmp_path: Path) -> None:
    package = tmp_path / "ws"
    package.mkdir()
    (package / "helpers.py").write_text("GOLD = [1, 2]\n")
    (package / "__init__.py").write_text(
        "from .helpers import GOLD\n"
        "def build_model(): return None\n"
        "def load_holdout(): return ([], [])\n"
        "def evaluate(model, x, y): return {'loss': 1}\n"
        "def load_gold(): return GOLD\n"
    )
    workspace = Workspace.load(package)
    assert workspace.load_gold is not None and workspace.load_gold() == [1, 2]
    with pytest.raises(WorkspaceError, match="no accuracy"):
        workspace.holdout_metrics(None, ([], []))


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("def build_model(): pass\n", "has no load_holdout, evaluate"),
        ("raise RuntimeError('broken')\n", "importing the workspace .* failed: broken"),
    ],
)
def test_a_broken_workspace_is_one_clear_error(tmp_path: Path, source: str, message: str) -> None:
    (tmp_path / "model_creator.py").write_text(source)
    with pytest.raises(WorkspaceError, match=message):
        Workspace.load(tmp_path)


def test_a_directory_without_the_layout_is_refused(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match=r"neither __init__\.py nor model_creator\.py"):
        Workspace.load(tmp_path)
    with pytest.raises(WorkspaceError, match="not a directory"):
        Workspace.load(tmp_path / "missing")


def test_the_creator_kit_is_a_workspace() -> None:
    root = Path(__file__).resolve().parents[2]
    workspace = Workspace.load(root / "assets" / "model_creator")
    assert callable(workspace.build_model) and workspace.load_gold is not None


# -- annotation labels ----------------------------------------------------------------------


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_labels_are_read_strictly(tmp_path: Path) -> None:
    good = write(tmp_path / "good.csv", "index,label\n1,3\n0,9\n2,0\n")
    assert read_labels(good, 3, 10).tolist() == [9, 3, 0]
    bad = {
        "index;label\n0,1\n": "header",
        "index,label\n0,1\n0,2\n1,1\n": "out of range or repeated",
        "index,label\n0,1\n1,10\n": "label 10 out of range",
        "index,label\n0,1\n": "leaves 1 of 2 samples unlabelled",
        "index,label\n0,x\n1,1\n": "not index,label",
    }
    for text, message in bad.items():
        with pytest.raises(MalformedResult, match=message):
            read_labels(write(tmp_path / "bad.csv", text), 2, 10)
    with pytest.raises(MalformedResult, match=r"no labels\.csv"):
        read_labels(tmp_path / "missing.csv", 2, 10)


def test_majority_vote_and_agreement() -> None:
    votes = [np.array([1, 2, 3]), np.array([1, 2, 4]), np.array([0, 5, 4])]
    assert majority(votes, 10).tolist() == [1, 2, 4]
    assert majority([np.array([3]), np.array([2])], 10).tolist() == [2]  # tie: smallest
    assert agreement(np.array([1, 2, 3, 4]), np.array([1, 2, 0, 0])) == 0.5


# -- the decision journal and sending --------------------------------------------------------


def test_the_decision_journal_survives_a_new_run(tmp_path: Path) -> None:
    path = tmp_path / "journal" / "task-1-v.json"
    journal = DecisionJournal(path)
    journal.record([("a", accept()), ("b", reject("copied"))])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = DecisionJournal(path)
    assert again.get("a") == accept() and again.get("b") == reject("copied")
    assert again.get("c") is None


class FakeMarket:
    """The marketplace surface sending decisions uses: results' states, batch, call."""

    def __init__(self, states: dict[str, AssignmentState], refuse: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.states = states
        self.refuse = refuse
        self.batches: list[list[str]] = []
        self.singles: list[str] = []

    def list_results(self, task_id: int, task: Any = None) -> list[TaskResult]:
        return [TaskResult(task_id=task_id, worker=w, state=s) for w, s in self.states.items()]

    def _apply(self, call: str, params: dict[str, Any]) -> ChainEventModel:
        worker = params["worker"]
        if worker in self.refuse:
            raise MarketplaceError(f"{worker}: the review period is over")
        accepted = call == "accept_result"
        self.states[worker] = AssignmentState.PAID if accepted else AssignmentState.REJECTED
        name = "ResultAccepted" if accepted else "ResultRejected"
        return ChainEventModel(pallet="Decentralml", name=name, attributes={"worker": worker})

    def batch(self, calls: list[tuple[str, dict[str, Any]]], *, task_id: int) -> Receipt:
        self.batches.append([p["worker"] for _, p in calls])
        if any(p["worker"] in self.refuse for _, p in calls):
            raise MarketplaceError("the batch was refused")
        events = [self._apply(c, p) for c, p in calls]
        return Receipt(
            call="batch_all", extrinsic_hash="0x1", block_hash="0x2", fee=1, events=events
        )

    def call(self, call: str, params: dict[str, Any], *, task_id: int) -> Receipt:
        self.singles.append(params["worker"])
        event = self._apply(call, params)
        return Receipt(call=call, extrinsic_hash="0x3", block_hash="0x4", fee=1, events=[event])


def entries(market: FakeMarket, verdicts: dict[str, Verdict]) -> list[_Entry]:
    ref = ContentRef(cid="bafy", sha256="0" * 64, size=1)
    out = []
    for worker, verdict in verdicts.items():
        slot = TaskResult(task_id=1, worker=worker, state=market.states[worker], result=ref)
        out.append(_Entry(slot, verdict=verdict))
    return out


def run_for(market: FakeMarket, batch_size: int) -> ValidationRun:
    return ValidationRun(market, 1, workspace=".", batch_size=batch_size)


def test_decisions_go_in_batches_and_what_the_chain_decided_leaves_them() -> None:
    submitted = AssignmentState.SUBMITTED
    market = FakeMarket({"a": submitted, "b": AssignmentState.PAID, "c": submitted, "d": submitted})
    work = entries(market, {"a": accept(), "b": accept(), "c": reject("no"), "d": accept()})
    run_for(market, 2)._send(work, DecisionJournal(Path("/nonexistent/never-written")))
    assert market.batches == [["a"], ["c", "d"]]  # b was paid already: it left its batch
    assert [e.sent for e in work] == [True, True, True, True]
    assert market.states == {
        "a": AssignmentState.PAID,
        "b": AssignmentState.PAID,
        "c": AssignmentState.REJECTED,
        "d": AssignmentState.PAID,
    }


def test_a_refused_batch_is_sent_one_by_one_once() -> None:
    submitted = AssignmentState.SUBMITTED
    market = FakeMarket({"a": submitted, "b": submitted, "c": submitted}, refuse={"b"})
    work = entries(market, {"a": accept(), "b": reject("late"), "c": accept()})
    run_for(market, 3)._send(work, DecisionJournal(Path("/nonexistent/never-written")))
    assert market.batches == [["a", "b", "c"]]
    assert market.singles == ["a", "b", "c"]
    assert [e.sent for e in work] == [True, False, True]
    assert "review period" in (work[1].send_error or "")
    assert market.states["b"] is submitted


def test_a_decision_the_chain_contradicts_is_reported_not_sent() -> None:
    market = FakeMarket({"a": AssignmentState.REJECTED})
    work = entries(market, {"a": accept()})
    run_for(market, 1)._send(work, DecisionJournal(Path("/nonexistent/never-written")))
    assert market.batches == [] and not work[0].sent
    assert "rejected already" in (work[0].send_error or "")


class FakeEvaluator:
    def candidate(self, entry: _Entry, baseline: Any, *, with_weights: bool) -> Candidate:
        return candidate(worker=entry.worker, refused=entry.refused)


def test_an_exception_in_a_custom_policy_is_reported_against_its_result(tmp_path: Path) -> None:
    """The user's function fails on one result: that result stays undecided with the error,
    the others are decided, and only the decisions made are returned for the journal."""
    submitted = AssignmentState.SUBMITTED
    market = FakeMarket({"a": submitted, "b": submitted, "c": submitted})
    work = entries(market, {"a": accept(), "b": accept(), "c": accept()})
    for entry in work:
        entry.verdict = None
    work[2].refused = "pickled objects"

    def policy(c: Candidate) -> Verdict:
        if c.worker == "b":
            raise ZeroDivisionError("division by zero")
        return accept()

    journal = DecisionJournal(tmp_path / "journal.json")
    run = run_for(market, 10)
    made = run._decide(work, Policy.CUSTOM, policy, None, FakeEvaluator(), journal)  # type: ignore[arg-type]
    assert work[0].verdict == accept()
    assert work[1].verdict is None
    assert work[1].policy_error == "ZeroDivisionError: division by zero"
    assert work[2].verdict == reject("pickled objects")  # never handed to the policy
    assert [worker for worker, _ in made] == ["a", "c"]


def test_a_failing_workspace_function_is_the_workspaces_error(tmp_path: Path) -> None:
    """A bug on the validator's side stops the run with one line naming the function; it is
    never held against a contributor's result."""
    (tmp_path / "model_creator.py").write_text(
        "def build_model(): raise ImportError('no module named keras')\n"
        "def load_holdout(): return 1 / 0\n"
        "def evaluate(model, x, y): return {'accuracy': 1}\n"
    )
    workspace = Workspace.load(tmp_path)
    with pytest.raises(WorkspaceError, match=r"build_model\(\) failed: ImportError"):
        workspace.new_model()
    with pytest.raises(WorkspaceError, match=r"load_holdout\(\) failed: ZeroDivisionError"):
        workspace.holdout()
    assert workspace.gold() is None
