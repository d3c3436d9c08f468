"""The marketplace's on-chain records as typed values: tasks and assignments, with the field
names of the pallet's storage (docs/pallet.md, "Storage")."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from decentralml.storage import ContentRef


class TaskKind(str, Enum):
    """What kind of work a task asks for (the pallet's `TaskKind`)."""

    MODEL_CONTRIBUTION = "ModelContribution"
    MODEL_ENGINEERING = "ModelEngineering"
    DATA_ANNOTATION = "DataAnnotation"


class ValidationPolicy(str, Enum):
    """How a task's results are decided (the pallet's `ValidationPolicy`)."""

    AUTO_ACCEPT = "AutoAccept"
    MANUAL_ACCEPT = "ManualAccept"
    CUSTOM_ACCEPT = "CustomAccept"


class TaskStatus(str, Enum):
    """Where a task is in its life (the pallet's `TaskStatus`)."""

    OPEN = "Open"
    CANCELLED = "Cancelled"
    CLOSED = "Closed"


@dataclass(frozen=True)
class Submission:
    """How results reach the chain: ``Plain``, or ``Sealed`` with a reveal period in blocks."""

    kind: str
    reveal_period: int | None = None

    @property
    def sealed(self) -> bool:
        return self.kind == "Sealed"


@dataclass(frozen=True)
class TaskInfo:
    """A task as the chain stores it (``Decentralml.Tasks``), with its id.

    Amounts are integers in planck; block numbers are absolute; accounts are SS58 addresses.
    `metadata` is the creator's bytes as stored (often JSON text).
    """

    task_id: int
    creator: str
    kind: TaskKind
    policy: ValidationPolicy
    submission: Submission
    bundle: ContentRef
    metadata: bytes
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

    @property
    def is_open(self) -> bool:
        return self.status is TaskStatus.OPEN

    @property
    def free_slots(self) -> int:
        """Slots nobody holds, awaits review for or was paid for."""
        return max(self.slots - self.assigned - self.committed - self.pending - self.paid, 0)


@dataclass(frozen=True)
class Assignment:
    """One worker's standing on a task (``Decentralml.Assignments``).

    `state` is the pallet's variant: ``Assigned``, ``Committed``, ``Submitted``, ``Paid``,
    ``Rejected`` or ``Released``; the other fields are those the variant carries (`at` the
    block it entered the state, `bond` what is held from the worker, `commitment` a sealed
    result's hash, `result` a submitted result), None where it carries none.
    """

    task_id: int
    worker: str
    state: str
    at: int | None = None
    bond: int | None = None
    commitment: bytes | None = None
    result: ContentRef | None = None
