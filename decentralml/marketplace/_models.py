"""Typed records of the marketplace, decoded from the chain's storage and receipts.

Amounts are integers in planck (the chain's smallest unit); each record that carries amounts
also carries the chain's `Token` (symbol and decimals) so it can show them in tokens.
"""

from __future__ import annotations

import enum
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, computed_field

from decentralml.marketplace._units import format_amount


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

    `result` is known while the result awaits review; once decided the chain keeps only the
    decision (the reference is in the `ResultSubmitted` event and the worker's journal).
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


def decode_metadata(raw: str | bytes | None) -> dict[str, Any]:
    """The task's metadata as a mapping (JSON object), or ``{"text": ...}`` for other bytes."""
    data = _bytes(raw)
    if not data:
        return {}
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return {"text": data.decode(errors="replace")}
    return value if isinstance(value, dict) else {"value": value}


def _bytes(raw: str | bytes | None) -> bytes:
    if raw is None:
        return b""
    if isinstance(raw, bytes):
        return raw
    if raw.startswith("0x"):
        try:
            return bytes.fromhex(raw[2:])
        except ValueError:
            pass
    return raw.encode()


def decode_ref(raw: dict[str, Any]) -> ContentRef:
    """A `ContentRef` from its decoded storage form (hex or text CID, ``0x`` sha256)."""
    cid = _bytes(raw["cid"]).decode(errors="replace")
    sha = str(raw["sha256"]).removeprefix("0x")
    return ContentRef(cid=cid, sha256=sha, size=int(raw["size"]))


def _enum_name(value: Any) -> str:
    if isinstance(value, dict):
        return str(next(iter(value)))
    return str(value)


def _kebab(name: str) -> str:
    out = "".join(f"-{c.lower()}" if c.isupper() else c for c in name)
    return out.lstrip("-")


def decode_task(task_id: int, raw: dict[str, Any], token: Token) -> Task:
    """A `Task` from the decoded ``Decentralml.Tasks`` value."""
    submission = raw.get("submission", "Plain")
    reveal = None
    if isinstance(submission, dict) and "Sealed" in submission:
        reveal = int(submission["Sealed"]["reveal_period"])
    policy = _enum_name(raw["policy"]).removesuffix("Accept").lower()
    model = raw.get("model")
    return Task(
        task_id=task_id,
        creator=str(raw["creator"]),
        kind=TaskKind(_kebab(_enum_name(raw["kind"]))),
        policy=Policy(policy),
        submission=SubmissionMode.SEALED if reveal is not None else SubmissionMode.PLAIN,
        reveal_period=reveal,
        bundle=decode_ref(raw["bundle"]),
        metadata=decode_metadata(raw.get("metadata")),
        reward=int(raw["reward"]),
        slots=int(raw["slots"]),
        deadline=int(raw["deadline"]),
        review_period=int(raw["review_period"]),
        work_period=int(raw["work_period"]),
        validator=raw.get("validator"),
        deposit=int(raw["deposit"]),
        escrow=int(raw["escrow"]),
        assigned=int(raw["assigned"]),
        committed=int(raw.get("committed", 0)),
        pending=int(raw["pending"]),
        paid=int(raw["paid"]),
        records=int(raw.get("records", 0)),
        status=TaskStatus(_enum_name(raw["status"]).lower()),
        ended_at=None if raw.get("ended_at") is None else int(raw["ended_at"]),
        model=decode_ref(model) if model else None,
        token=token,
    )


def decode_assignment(task_id: int, worker: str, raw: Any, *, review_period: int) -> TaskResult:
    """A `TaskResult` from the decoded ``Decentralml.Assignments`` value."""
    name = _enum_name(raw)
    body = raw[name] if isinstance(raw, dict) else {}
    state = AssignmentState(name.lower())
    at = int(body["at"]) if "at" in body else None
    # A decided result keeps its reference (None on records from storage version 0).
    result = decode_ref(body["result"]) if body.get("result") else None
    commitment = body.get("commitment")
    if isinstance(commitment, (list, tuple)):
        commitment = "0x" + bytes(commitment).hex()
    return TaskResult(
        task_id=task_id,
        worker=worker,
        state=state,
        at=at,
        bond=int(body["bond"]) if "bond" in body else None,
        commitment=commitment,
        result=result,
        review_ends=at + review_period if state is AssignmentState.SUBMITTED and at else None,
    )
