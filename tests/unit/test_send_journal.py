"""The send-result state machine with a fake chain and a fake IPFS: every step journaled,
a crash anywhere resumed without a second submission or a changed bundle."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from decentralml.chain import result_commitment
from decentralml.errors import JournalError, MarketplaceError
from decentralml.marketplace import AssignmentState, Journal, Receipt, Task, TaskResult, Token
from decentralml.marketplace._models import ContentRef, Policy, SubmissionMode, TaskKind, TaskStatus
from decentralml.marketplace._send import WORKER_FILE, ResultSender
from decentralml.storage import ContentRef as StoreRef

WORKER = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"


class Crash(Exception):
    """Stands for the process dying at a checkpoint."""


class FakeChain:
    def __init__(self, *, sealed: bool, deadline: int = 10, reveal_period: int = 5) -> None:
        self.now = 1
        self.sealed = sealed
        self.deadline = deadline
        self.reveal_period = reveal_period
        self.slot: dict[str, Any] = {"state": AssignmentState.ASSIGNED}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.crash_after_call = False

    def get_task(self, task_id: int) -> Task:
        ref = ContentRef(cid="bafytask", sha256="0" * 64, size=1)
        return Task(
            task_id=task_id, creator="creator", kind=TaskKind.MODEL_CONTRIBUTION,
            policy=Policy.AUTO if self.sealed else Policy.MANUAL,
            submission=SubmissionMode.SEALED if self.sealed else SubmissionMode.PLAIN,
            reveal_period=self.reveal_period if self.sealed else None, bundle=ref, metadata={},
            reward=1, slots=1, deadline=self.deadline, review_period=5, work_period=5,
            validator=None, deposit=0, escrow=1, assigned=1, committed=0, pending=0, paid=0,
            records=1, status=TaskStatus.OPEN, ended_at=None, model=None,
            token=Token(symbol="DML", decimals=12),
        )  # fmt: skip

    def get_assignment(
        self, task_id: int, worker: str, *, task: Task | None = None
    ) -> TaskResult | None:
        return TaskResult(task_id=task_id, worker=worker, **self.slot)

    def block_number(self) -> int:
        return self.now

    def call(self, call: str, params: dict[str, Any], *, task_id: int | None) -> Receipt:
        self.calls.append((call, params))
        self.now += 1
        if call == "submit_result" or call == "reveal_result":
            cid = bytes.fromhex(params["result"]["cid"][2:]).decode()
            ref = ContentRef(cid=cid, sha256=params["result"]["sha256"][2:], size=1)
            self.slot = {"state": AssignmentState.SUBMITTED, "result": ref}
        elif call == "commit_result":
            self.slot = {"state": AssignmentState.COMMITTED, "commitment": params["commitment"]}
        if self.crash_after_call:
            raise Crash(call)
        return Receipt(call=call, extrinsic_hash="0x1", block_hash="0x2", fee=7, events=[])


class FakeStore:
    def __init__(self) -> None:
        self.pushed: list[str] = []
        # What each pushed bundle said of its worker.
        self.named: list[dict[str, Any]] = []

    def _ref(self, directory: str | os.PathLike[str]) -> StoreRef:
        data = b"".join(p.read_bytes() for p in sorted(Path(directory).rglob("*")) if p.is_file())
        digest = hashlib.sha256(data).hexdigest()
        return StoreRef(cid="bafy" + digest[:40], sha256=digest, size=len(data))

    def reference(self, directory: str | os.PathLike[str]) -> StoreRef:
        return self._ref(directory)

    def push(self, directory: str | os.PathLike[str]) -> StoreRef:
        ref = self._ref(directory)
        self.pushed.append(ref.cid)
        self.named.append(json.loads((Path(directory) / WORKER_FILE).read_text()))
        return ref


@pytest.fixture
def result_dir(tmp_path: Path) -> Path:
    path = tmp_path / "result"
    path.mkdir()
    (path / "weights.npz").write_bytes(b"weights")
    return path


def sender(chain: FakeChain, store: FakeStore, root: Path) -> ResultSender:
    return ResultSender(chain, store, Journal.open(3, WORKER, root=root), worker=WORKER)


def crash_at(monkeypatch: pytest.MonkeyPatch, step: str | None) -> None:
    def checkpoint(name: str) -> None:
        if name == step:
            raise Crash(name)

    monkeypatch.setattr("decentralml.marketplace._journal.checkpoint", checkpoint)
    monkeypatch.setattr("decentralml.marketplace._send.checkpoint", checkpoint)


@pytest.mark.parametrize("step", ["packed", "published", "submitting", "submit-sent", None])
def test_plain_resumes_after_a_crash_at_each_step(
    step: str | None, tmp_path: Path, result_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Prepare: a plain task. Execute: crash at `step`, run again. Assert: one submission,
    one upload, the same reference."""
    chain, store, root = FakeChain(sealed=False), FakeStore(), tmp_path / "journal"
    crash_at(monkeypatch, step)
    if step is not None:
        with pytest.raises(Crash):
            sender(chain, store, root).run(3, result_dir)
    crash_at(monkeypatch, None)
    outcome = sender(chain, store, root).run(3, result_dir)
    assert outcome.state == "submitted"
    assert [c for c, _ in chain.calls] == ["submit_result"]
    assert len(store.pushed) == 1 and store.pushed[0] == outcome.result.cid
    again = sender(chain, store, root).run(3, result_dir)
    assert again.already_done and again.result == outcome.result
    assert len(chain.calls) == 1
    journal = Journal.open(3, WORKER, root=root)
    assert journal.steps == ["packed", "published", "submitting", "included"]


@pytest.mark.parametrize("step", ["packed", "committing", "commit-sent", "committed", None])
def test_sealed_commit_resumes_with_the_same_salt(
    step: str | None, tmp_path: Path, result_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chain, store, root = FakeChain(sealed=True), FakeStore(), tmp_path / "journal"
    crash_at(monkeypatch, step)
    if step is not None:
        with pytest.raises(Crash):
            sender(chain, store, root).run(3, result_dir)
    crash_at(monkeypatch, None)
    outcome = sender(chain, store, root).run(3, result_dir)
    assert outcome.state == "committed"
    assert outcome.reveal_from == 10 and outcome.reveal_until == 15
    assert [c for c, _ in chain.calls] == ["commit_result"]
    assert store.pushed == []  # nothing is published before the reveal
    journal = Journal.open(3, WORKER, root=root)
    ref = outcome.result
    expected = result_commitment(3, WORKER, ref.cid, ref.sha256, ref.size, journal.get("salt"))
    assert chain.calls[0][1]["commitment"] == "0x" + expected.hex()
    assert stat.S_IMODE(journal.path.stat().st_mode) == 0o600

    chain.now = 10
    revealed = sender(chain, store, root).run(3, None)
    assert revealed.state == "submitted" and revealed.result == ref
    assert [c for c, _ in chain.calls] == ["commit_result", "reveal_result"]
    assert chain.calls[1][1]["salt"] == journal.get("salt")
    assert store.pushed == [ref.cid]


@pytest.mark.parametrize("step", ["published", "revealing", "reveal-sent"])
def test_sealed_reveal_resumes(
    step: str, tmp_path: Path, result_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chain, store, root = FakeChain(sealed=True), FakeStore(), tmp_path / "journal"
    sender(chain, store, root).run(3, result_dir)
    chain.now = 12
    crash_at(monkeypatch, step)
    with pytest.raises(Crash):
        sender(chain, store, root).run(3, None)
    crash_at(monkeypatch, None)
    done = sender(chain, store, root).run(3, None)
    assert done.state == "submitted"
    assert [c for c, _ in chain.calls] == ["commit_result", "reveal_result"]
    assert len(store.pushed) == 1


def test_a_changed_directory_is_refused_until_restart(tmp_path: Path, result_dir: Path) -> None:
    chain, store, root = FakeChain(sealed=False), FakeStore(), tmp_path / "journal"
    journal = Journal.open(3, WORKER, root=root)
    ResultSender(chain, store, journal, worker=WORKER)._pack(3, result_dir)
    (result_dir / "weights.npz").write_bytes(b"other weights")
    with pytest.raises(JournalError, match="changed"):
        sender(chain, store, root).run(3, result_dir)
    assert chain.calls == [] and store.pushed == []
    outcome = sender(chain, store, root).run(3, result_dir, restart=True)
    assert outcome.state == "submitted" and len(chain.calls) == 1


def test_a_committed_result_cannot_restart_or_change(tmp_path: Path, result_dir: Path) -> None:
    chain, store, root = FakeChain(sealed=True), FakeStore(), tmp_path / "journal"
    sender(chain, store, root).run(3, result_dir)
    with pytest.raises(JournalError, match="cannot restart"):
        sender(chain, store, root).run(3, result_dir, restart=True)
    (result_dir / "weights.npz").write_bytes(b"changed")
    with pytest.raises(JournalError, match="changed"):
        sender(chain, store, root).run(3, result_dir)


def test_a_commitment_without_its_salt_is_reported(tmp_path: Path, result_dir: Path) -> None:
    chain, store = FakeChain(sealed=True), FakeStore()
    chain.slot = {"state": AssignmentState.COMMITTED, "commitment": "0x" + "11" * 32}
    with pytest.raises(JournalError, match="no salt"):
        sender(chain, store, tmp_path / "elsewhere").run(3, result_dir)


def test_no_slot_and_late_commit_are_refused(tmp_path: Path, result_dir: Path) -> None:
    chain, store = FakeChain(sealed=True), FakeStore()
    chain.now = 9
    with pytest.raises(MarketplaceError, match="deadline"):
        sender(chain, store, tmp_path / "j").run(3, result_dir)
    chain.get_assignment = lambda task_id, worker, task=None: None  # type: ignore[method-assign]
    with pytest.raises(MarketplaceError, match="holds no slot"):
        sender(chain, store, tmp_path / "j").run(3, result_dir)


OTHER_WORKER = "5FLSigC9HGRKVhB9FiEo4Y3koPsNmBmLJbpXg2mp1hXcS59Y"


def test_a_result_bundle_names_its_worker_and_leaves_the_directory_alone(
    tmp_path: Path, result_dir: Path
) -> None:
    """The bundle carries who sent it for which task; the user's directory gets no file."""
    chain, store = FakeChain(sealed=False), FakeStore()
    before = sorted(p.name for p in result_dir.iterdir())
    sender(chain, store, tmp_path / "journal").run(3, result_dir)
    assert store.named == [
        {"schema": "decentralml.result-worker/v1", "task_id": 3, "worker": WORKER}
    ]
    assert sorted(p.name for p in result_dir.iterdir()) == before


def test_two_workers_with_the_same_files_send_different_bundles(
    tmp_path: Path, result_dir: Path
) -> None:
    """Same weights from two accounts: two references, so neither is refused as a duplicate
    and a validator can tell which is whose."""
    store = FakeStore()
    mine = sender(FakeChain(sealed=False), store, tmp_path / "a").run(3, result_dir)
    theirs = ResultSender(
        FakeChain(sealed=False),
        store,
        Journal.open(3, OTHER_WORKER, root=tmp_path / "b"),
        worker=OTHER_WORKER,
    ).run(3, result_dir)
    assert mine.result.cid != theirs.result.cid
    assert [n["worker"] for n in store.named] == [WORKER, OTHER_WORKER]


def test_a_reserved_file_in_the_directory_is_replaced_in_the_bundle(
    tmp_path: Path, result_dir: Path
) -> None:
    """A result directory cannot claim another worker's name."""
    (result_dir / WORKER_FILE).write_text(json.dumps({"worker": OTHER_WORKER}))
    store = FakeStore()
    sender(FakeChain(sealed=False), store, tmp_path / "journal").run(3, result_dir)
    assert store.named[0]["worker"] == WORKER
    assert json.loads((result_dir / WORKER_FILE).read_text()) == {"worker": OTHER_WORKER}


def test_a_vanished_result_directory_is_reported(tmp_path: Path, result_dir: Path) -> None:
    chain, store, root = FakeChain(sealed=True), FakeStore(), tmp_path / "journal"
    sender(chain, store, root).run(3, result_dir)  # committed, waiting for the deadline
    chain.now = chain.deadline
    for path in result_dir.iterdir():
        path.unlink()
    result_dir.rmdir()
    with pytest.raises(JournalError, match="is gone"):
        sender(chain, store, root).run(3, None)
    assert store.pushed == []
