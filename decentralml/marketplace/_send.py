"""Sending a result, step by step, resumable: plain (publish, submit) or sealed (commit, then
from the deadline publish and reveal). The chain is checked before every transaction, so a
rerun never sends a result twice; the journal keeps the reference and the salt."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from decentralml.chain.sealed import new_salt, result_commitment
from decentralml.errors import ExtrinsicFailed, JournalError, MarketplaceError
from decentralml.marketplace._bundles import with_files
from decentralml.marketplace._journal import Journal, checkpoint
from decentralml.marketplace._models import (
    AssignmentState,
    ContentRef,
    Receipt,
    SubmissionMode,
    Task,
    TaskResult,
    stored_ref,
)
from decentralml.storage import ContentRef as StoreRef


class ChainPort(Protocol):
    """What sending a result needs from the chain (the `Marketplace` provides it)."""

    def get_task(self, task_id: int) -> Task: ...

    def get_assignment(
        self, task_id: int, worker: str, *, task: Task | None = None
    ) -> TaskResult | None: ...

    def block_number(self) -> int: ...

    def call(self, call: str, params: dict[str, Any], *, task_id: int | None) -> Receipt: ...


class StorePort(Protocol):
    """What sending a result needs from IPFS (an `IpfsStore` provides it)."""

    def reference(self, directory: str | os.PathLike[str]) -> StoreRef: ...

    def push(self, directory: str | os.PathLike[str]) -> StoreRef: ...


class SendOutcome(BaseModel):
    """Where a result stands after a `send_result` or `reveal_result` run."""

    model_config = ConfigDict(frozen=True)

    task_id: int
    worker: str
    submission: SubmissionMode
    state: str  # "committed" (waiting for the deadline) or "submitted"
    result: ContentRef
    receipts: list[Receipt]
    steps: list[str]
    journal: str
    already_done: bool = False
    reveal_from: int | None = None
    reveal_until: int | None = None
    blocks_to_wait: int | None = None


#: The file every result bundle carries, naming the task and the worker that sent it. The
#: name is reserved: a file of that name in the result directory is replaced in the bundle.
WORKER_FILE = "decentralml-worker.json"
WORKER_SCHEMA = "decentralml.result-worker/v1"


@contextmanager
def named_result(directory: Path, task_id: int, worker: str) -> Iterator[Path]:
    """`directory` as it travels: the same files plus `WORKER_FILE` naming `worker` and the
    task, in a temporary copy, so the user's directory is never written to.

    On a plain task every submitted reference is public as soon as it is on-chain; two
    workers sending the same files would otherwise send the same bundle (the second refused
    as a duplicate), and a validator could not tell a copy from its original.
    """
    document = {"schema": WORKER_SCHEMA, "task_id": task_id, "worker": worker}
    marker = (json.dumps(document, sort_keys=True) + "\n").encode()
    with with_files(directory, {WORKER_FILE: marker}) as staged:
        yield staged


_SENT = (AssignmentState.SUBMITTED, AssignmentState.PAID, AssignmentState.REJECTED)


def call_ref(ref: ContentRef) -> dict[str, Any]:
    """A reference as the pallet's calls take it."""
    return {"cid": "0x" + ref.cid.encode().hex(), "sha256": "0x" + ref.sha256, "size": ref.size}


class ResultSender:
    """One run of send-result for `worker` (the signer's address)."""

    def __init__(
        self, chain: ChainPort, store: StorePort, journal: Journal, *, worker: str
    ) -> None:
        self.chain = chain
        self.store = store
        self.journal = journal
        self.worker = worker
        self.receipts: list[Receipt] = []

    def run(self, task_id: int, directory: Path | None, *, restart: bool = False) -> SendOutcome:
        task = self.chain.get_task(task_id)
        slot = self._slot(task)
        if slot.state in _SENT:
            return self._already_on_chain(task, slot)
        if restart:
            if slot.state is not AssignmentState.ASSIGNED:
                raise JournalError(
                    "cannot restart: a commitment is on-chain; reveal the committed result",
                    task_id=task_id,
                )
            self.journal.discard()
        ref = self._pack(task_id, directory)
        if task.submission is SubmissionMode.PLAIN:
            return self._plain(task, ref, directory)
        return self._sealed(task, slot, ref, directory)

    # -- steps -------------------------------------------------------------------------------

    def _slot(self, task: Task) -> TaskResult:
        task_id = task.task_id
        slot = self.chain.get_assignment(task_id, self.worker, task=task)
        if slot is None:
            raise MarketplaceError(
                f"this account holds no slot on task {task_id}",
                task_id=task_id,
                hint=f"take one with `decentralml assign-task {task_id}`",
            )
        if slot.state is AssignmentState.RELEASED:
            raise MarketplaceError(
                f"this account's slot on task {task_id} was released", task_id=task_id
            )
        return slot

    def _pack(self, task_id: int, directory: Path | None) -> ContentRef:
        recorded = self.journal.get("result")
        if directory is None:
            if recorded is None:
                raise JournalError(
                    f"nothing was prepared for task {task_id} from this account",
                    task_id=task_id,
                    hint=f"send it with `decentralml send-result {task_id} DIR`",
                )
            return ContentRef(**recorded)
        with named_result(directory, task_id, self.worker) as staged:
            stored = self.store.reference(staged)
        ref = stored_ref(stored)
        if recorded is not None and ContentRef(**recorded) != ref:
            raise JournalError(
                f"{directory} changed since its result for task {task_id} was prepared "
                f"(sha256 was {recorded['sha256']}, now {ref.sha256})",
                task_id=task_id,
                hint="put the directory back as it was, or start over with --restart "
                "(possible while nothing is committed on-chain)",
            )
        if not self.journal.has("packed"):
            self.journal.record(
                "packed", result=ref.model_dump(), directory=str(Path(directory).resolve())
            )
        return ref

    def _publish(self, task_id: int, ref: ContentRef, directory: Path | None) -> None:
        if self.journal.has("published"):
            return
        source = directory or Path(self.journal.get("directory") or "")
        if not source.is_dir():
            raise JournalError(
                f"the result directory {source} of task {task_id} is gone",
                task_id=task_id,
                hint="put it back as it was when the result was prepared",
            )
        with named_result(source, task_id, self.worker) as staged:
            pushed = self.store.push(staged)
        if pushed.cid != ref.cid or pushed.sha256 != ref.sha256:
            raise JournalError(
                f"{source} changed while its result for task {task_id} was being sent "
                f"(expected {ref.cid}, published {pushed.cid})",
                task_id=task_id,
                hint="put the directory back as it was",
            )
        self.journal.record("published")

    def _plain(self, task: Task, ref: ContentRef, directory: Path | None) -> SendOutcome:
        self._publish(task.task_id, ref, directory)
        self.journal.record("submitting")
        self._send("submit_result", {"task_id": task.task_id, "result": call_ref(ref)}, task)
        return self._done(task, ref)

    def _sealed(
        self, task: Task, slot: TaskResult, ref: ContentRef, directory: Path | None
    ) -> SendOutcome:
        if slot.state is AssignmentState.ASSIGNED:
            self._commit(task, ref)
        elif slot.state is AssignmentState.COMMITTED:
            self._check_commitment(task, slot)
            if not self.journal.has("committed"):
                self.journal.record("committed")
        next_block = self.chain.block_number() + 1
        assert task.reveal_end is not None
        if next_block < task.deadline:
            return self._outcome(
                task,
                ref,
                state="committed",
                reveal_from=task.deadline,
                reveal_until=task.reveal_end,
                blocks_to_wait=task.deadline - next_block,
            )
        if next_block >= task.reveal_end:
            raise MarketplaceError(
                f"the reveal period of task {task.task_id} ended at block {task.reveal_end}",
                task_id=task.task_id,
            )
        self._publish(task.task_id, ref, directory)
        self.journal.record("revealing")
        salt = self.journal.get("salt")
        params = {"task_id": task.task_id, "result": call_ref(ref), "salt": salt}
        self._send("reveal_result", params, task)
        return self._done(task, ref)

    def _commit(self, task: Task, ref: ContentRef) -> None:
        if self.chain.block_number() + 1 >= task.deadline:
            raise MarketplaceError(
                f"the deadline of task {task.task_id} has passed: it no longer takes commitments",
                task_id=task.task_id,
            )
        salt = self.journal.get("salt")
        if salt is None:
            salt = "0x" + new_salt().hex()
        commitment = (
            "0x"
            + result_commitment(
                task.task_id, self.worker, ref.cid, ref.sha256, ref.size, salt
            ).hex()
        )
        self.journal.record("committing", salt=salt, commitment=commitment)
        self._send("commit_result", {"task_id": task.task_id, "commitment": commitment}, task)
        self.journal.record("committed")

    def _check_commitment(self, task: Task, slot: TaskResult) -> None:
        mine = self.journal.get("commitment")
        if mine is None or self.journal.get("salt") is None:
            raise JournalError(
                f"this account committed on task {task.task_id}, but this machine's journal "
                "has no salt for it: the commitment cannot be revealed from here",
                task_id=task.task_id,
                hint=f"run the command where the result was committed ({self.journal.path})",
            )
        if slot.commitment is not None and slot.commitment.lower() != mine.lower():
            raise JournalError(
                f"the commitment on-chain for task {task.task_id} is not the journal's",
                task_id=task.task_id,
            )

    def _send(self, call: str, params: dict[str, Any], task: Task) -> None:
        try:
            receipt = self.chain.call(call, params, task_id=task.task_id)
        except ExtrinsicFailed as failed:
            # Sent before, by a run that died before journaling it: the chain has it.
            if failed.name in ("AlreadySubmitted", "AlreadyCommitted", "DuplicateResult"):
                slot = self.chain.get_assignment(task.task_id, self.worker, task=task)
                if slot is not None and slot.state is not AssignmentState.ASSIGNED:
                    return
            raise
        self.receipts.append(receipt)
        checkpoint(call.split("_")[0] + "-sent")

    def _done(self, task: Task, ref: ContentRef) -> SendOutcome:
        self.journal.record("included")
        return self._outcome(task, ref, state="submitted")

    def _already_on_chain(self, task: Task, slot: TaskResult) -> SendOutcome:
        recorded = self.journal.get("result")
        ref = ContentRef(**recorded) if recorded else slot.result
        if ref is None:
            raise JournalError(
                f"a result from this account is already on task {task.task_id}",
                task_id=task.task_id,
            )
        if not self.journal.has("included") and recorded is not None:
            self.journal.record("included")
        return self._outcome(task, ref, state="submitted", already_done=not self.receipts)

    def _outcome(self, task: Task, ref: ContentRef, *, state: str, **extra: Any) -> SendOutcome:
        return SendOutcome(
            task_id=task.task_id,
            worker=self.worker,
            submission=task.submission,
            state=state,
            result=ref,
            receipts=self.receipts,
            steps=self.journal.steps,
            journal=str(self.journal.path),
            **extra,
        )
