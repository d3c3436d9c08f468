"""Typed records of the marketplace, decoded from the chain's storage and receipts.

Amounts are integers in planck (the chain's smallest unit); each record that carries amounts
also carries the chain's `Token` (symbol and decimals) so it can show them in tokens.
"""

from __future__ import annotations

import enum
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, computed_field

from decentralml import chain
from decentralml.marketplace._units import format_amount
from decentralml.storage import ContentRef as StoredRef


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class TaskKind(str, enum.Enum):
    """What kind of work a task asks for."""

    MODEL_CONTRIBUTION = "model-contribution"
    MODEL_ENGINEERING = "model-engineering"
    DATA_ANNOTATION = "data-annotation"

    @property
    def chain_name(self) -> str:
        return "".join(part.title() for part in self.value.split("-"))


class Policy(str, enum.Enum):
    """How results are decided."""

    AUTO = "auto"
    MANUAL = "manual"
    CUSTOM = "custom"

    @property
    def chain_name(self) -> str:
        return f"{self.value.title()}Accept"


class SubmissionMode(str, enum.Enum):
    """How results reach the chain."""

    PLAIN = "plain"
    SEALED = "sealed"


class TaskStatus(str, enum.Enum):
    OPEN = "open"
    CANCELLED = "cancelled"
    CLOSED = "closed"


class AssignmentState(str, enum.Enum):
    """Where a worker's slot is: holding it, committed, submitted, or decided."""

    ASSIGNED = "assigned"
    COMMITTED = "committed"
    SUBMITTED = "submitted"
    PAID = "paid"
    REJECTED = "rejected"
    RELEASED = "released"


class Token(_Frozen):
    """The chain's native token."""

    symbol: str
    decimals: int

    def format(self, planck: int) -> str:
        """`planck` in tokens with the symbol: ``"1.5 DML"``."""
        return format_amount(planck, decimals=self.decimals, symbol=self.symbol)


class ContentRef(_Frozen):
    """A bundle's CID, the sha256 of its bytes and their size, as the chain records it."""

    cid: str
    sha256: str
    size: int


class ChainEventModel(_Frozen):
    """One event a transaction emitted."""

    pallet: str
    name: str
    attributes: dict[str, Any]


class Receipt(_Frozen):
    """An included transaction: what it did and what it cost its signer."""

    call: str
    extrinsic_hash: str
    block_hash: str
    fee: int
    events: list[ChainEventModel]

    def find(self, pallet: str, name: str) -> list[ChainEventModel]:
        return [e for e in self.events if e.pallet == pallet and e.name == name]


class Task(_Frozen):
    """A task as the chain records it."""

    task_id: int
    creator: str
    kind: TaskKind
    policy: Policy
    submission: SubmissionMode
    reveal_period: int | None
    bundle: ContentRef
    metadata: dict[str, Any]
    reward: int
    slots: int
    deadline: int
    review_period: int
    work_period: int
    validator: str | None
    deposit: int
    escrow: int
    assigned: int
    committed: int
    pending: int
    paid: int
    records: int
    status: TaskStatus
    ended_at: int | None
    model: ContentRef | None
    token: Token

    @computed_field  # type: ignore[prop-decorator]
    @property
    def title(self) -> str:
        """The task's title, from its metadata."""
        return str(self.metadata.get("title") or self.metadata.get("name") or "")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def free_slots(self) -> int:
        """Slots nobody holds, has committed to, awaits review on, or was paid for."""
        return max(self.slots - self.assigned - self.committed - self.pending - self.paid, 0)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def reveal_end(self) -> int | None:
        """The first block at which a sealed task no longer takes reveals."""
        return None if self.reveal_period is None else self.deadline + self.reveal_period

    @computed_field  # type: ignore[prop-decorator]
    @property
    def closable_from(self) -> int:
        """The first block at which anyone may close the task."""
        return self.reveal_end if self.reveal_end is not None else self.deadline


class TaskResult(_Frozen):
    """One worker's slot on a task and, when it sent one, its result.

    `result` is the submitted reference: known while the result awaits review and kept with
    the decision once paid or rejected (None on records older than storage version 1).
    """

    task_id: int
    worker: str
    state: AssignmentState
    at: int | None = None
    bond: int | None = None
    commitment: str | None = None
    result: ContentRef | None = None
    review_ends: int | None = None


# The name the brief of the API uses for a slot's record.
Assignment = TaskResult


def decode_metadata(raw: bytes) -> dict[str, Any]:
    """The task's metadata as a mapping (JSON object), or ``{"text": ...}`` for other bytes."""
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return {"text": raw.decode(errors="replace")}
    return value if isinstance(value, dict) else {"value": value}


def stored_ref(ref: StoredRef) -> ContentRef:
    """The storage layer's reference to a bundle as the marketplace's model of it."""
    return ContentRef(cid=ref.cid, sha256=ref.sha256, size=ref.size)


def _ref(ref: StoredRef | None) -> ContentRef | None:
    return None if ref is None else stored_ref(ref)


def task_from_record(record: chain.TaskInfo, token: Token) -> Task:
    """A `Task` from the chain client's record of it."""
    bundle = _ref(record.bundle)
    assert bundle is not None
    return Task(
        task_id=record.task_id,
        creator=record.creator,
        kind=TaskKind(_kebab(record.kind.value)),
        policy=Policy(record.policy.value.removesuffix("Accept").lower()),
        submission=SubmissionMode.SEALED if record.submission.sealed else SubmissionMode.PLAIN,
        reveal_period=record.submission.reveal_period if record.submission.sealed else None,
        bundle=bundle,
        metadata=decode_metadata(record.metadata),
        reward=record.reward,
        slots=record.slots,
        deadline=record.deadline,
        review_period=record.review_period,
        work_period=record.work_period,
        validator=record.validator,
        deposit=record.deposit,
        escrow=record.escrow,
        assigned=record.assigned,
        committed=record.committed,
        pending=record.pending,
        paid=record.paid,
        records=record.records,
        status=TaskStatus(record.status.value.lower()),
        ended_at=record.ended_at,
        model=_ref(record.model),
        token=token,
    )


def _kebab(name: str) -> str:
    out = "".join(f"-{c.lower()}" if c.isupper() else c for c in name)
    return out.lstrip("-")


def result_from_record(record: chain.Assignment, *, review_period: int) -> TaskResult:
    """A `TaskResult` from the chain client's record of an assignment."""
    state = AssignmentState(record.state.lower())
    at = record.at
    return TaskResult(
        task_id=record.task_id,
        worker=record.worker,
        state=state,
        at=at,
        bond=record.bond,
        commitment=None if record.commitment is None else "0x" + record.commitment.hex(),
        result=_ref(record.result),
        review_ends=at + review_period
        if state is AssignmentState.SUBMITTED and at is not None
        else None,
    )
