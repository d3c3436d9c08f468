"""Pallet errors as plain sentences: what went wrong for the user, and what to do."""

from __future__ import annotations

from decentralml.errors import ExtrinsicFailed, TransactionRejected

# Every `Error<T>` variant of the pallet: (sentence, hint or None). `{task}` is the task id.
PALLET_ERRORS: dict[str, tuple[str, str | None]] = {
    "UnknownTask": ("there is no task {task}", "list tasks with `decentralml list-tasks`"),
    "RewardTooLow": ("the reward is below the chain's minimum reward", "raise --reward"),
    "ZeroSlots": ("a task needs at least one slot", None),
    "TooManySlots": ("too many slots for one task", "the chain's MaxSlots bounds --slots"),
    "DeadlineInPast": ("the deadline is not in the future", "give blocks from now, or 2h"),
    "InvalidReviewPeriod": ("the review period is zero or too long", None),
    "InvalidWorkPeriod": ("the work period is zero or too long", None),
    "EmptyCid": ("the bundle has an empty CID", None),
    "CidTooLong": ("the bundle's CID is too long for the chain", None),
    "MetadataTooLong": ("the title and description are too long", "shorten them"),
    "ReasonTooLong": ("the reason is too long", "the chain's MaxReasonLen bounds it"),
    "EscrowOverflow": ("reward times slots is too large", None),
    "InsufficientBalance": (
        "insufficient balance: the account cannot cover what this holds",
        "check it with `decentralml account balance`",
    ),
    "TaskNotOpen": ("task {task} is closed or cancelled", None),
    "DeadlinePassed": ("the deadline of task {task} has passed", None),
    "DeadlineNotReached": (
        "the deadline of task {task} has not been reached",
        "on the devnet, `decentralml devnet advance N` makes blocks",
    ),
    "NoFreeSlot": ("task {task} has no free slot", None),
    "AlreadyAssigned": ("this account already holds or held a slot on task {task}", None),
    "OwnTask": ("the creator and the validator of task {task} cannot take it", None),
    "WorkerBarred": ("this account was rejected or released on task {task}", None),
    "NotAssigned": (
        "this account holds no slot on task {task}",
        "take one with `decentralml assign-task {task}`",
    ),
    "AlreadySubmitted": ("a result was already sent for this slot on task {task}", None),
    "AlreadyCommitted": ("this slot on task {task} already committed to a result", None),
    "NotCommitted": ("this slot on task {task} committed to nothing", None),
    "DuplicateResult": ("this result was already sent to task {task}", None),
    "NotReviewer": ("not your task: only task {task}'s creator or validator may do this", None),
    "NotCreator": ("not your task: only the creator of task {task} may do this", None),
    "NoPendingResult": ("that worker has no result awaiting a decision on task {task}", None),
    "ReviewPeriodNotOver": ("the review period of this result is not over yet", None),
    "WorkPeriodNotOver": ("the work period of this assignment is not over yet", None),
    "ResultAwaitingReview": ("a result of task {task} awaits review", "decide it first"),
    "TaskCancelled": ("task {task} was cancelled", None),
    "ReviewPeriodOver": (
        "the review period of this result is over: it can no longer be rejected",
        None,
    ),
    "TaskIdsExhausted": ("the chain has used every task id", None),
    "PublishPeriodOver": ("the model of task {task} can no longer be published", None),
    "InvalidRevealPeriod": ("the reveal period is zero or too long", None),
    "AutoAcceptNeedsSealed": ("an auto-accept task must take sealed submissions", None),
    "SubmissionsSealed": ("task {task} takes sealed submissions: commit, then reveal", None),
    "SubmissionsPlain": ("task {task} takes plain submissions", None),
    "CommitmentMismatch": ("the result and salt do not match this account's commitment", None),
    "RevealPeriodNotStarted": (
        "the reveal period of task {task} has not started",
        "reveal from the deadline on",
    ),
    "RevealPeriodOver": ("the reveal period of task {task} is over", None),
    "RevealPeriodNotOver": ("the reveal period of task {task} is not over yet", None),
    "ResultCommitted": ("a commitment on task {task} is not revealed yet", None),
    "TooManyAssignments": ("task {task} has had as many assignments as it may", None),
    "TaskNotEnded": ("task {task} is still open", "close or cancel it first"),
    "RetentionPeriodNotOver": ("task {task}'s record must be kept a while longer", None),
}


def explain(exc: ExtrinsicFailed, task_id: int | None) -> ExtrinsicFailed:
    """`exc` with a plain sentence for its pallet error (same class and fields)."""
    known = PALLET_ERRORS.get(exc.name or "")
    if known is None:
        return exc
    task = "?" if task_id is None else str(task_id)
    sentence, hint = known
    message = sentence.format(task=task) + f" ({exc.name})"
    plain = ExtrinsicFailed(
        message[0].upper() + message[1:],
        pallet=exc.pallet,
        name=exc.name,
        docs=exc.docs,
        tx_hash=exc.tx_hash,
        fee=exc.fee,
    )
    if hint:
        plain.hint = hint.format(task=task)
    return plain


def explain_rejected(exc: TransactionRejected) -> TransactionRejected:
    """A pool refusal, usually a balance too small for the fee, in plain words."""
    text = exc.message
    if "Inability to pay" in text or "balance too low" in text.lower() or "Payment" in text:
        return TransactionRejected(
            "insufficient balance: the account cannot pay the transaction fee",
            hint="fund the account, and check it with `decentralml account balance`",
        )
    return exc
