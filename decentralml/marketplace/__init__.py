"""The marketplace, for its users: post tasks, take them, send results, decide and get paid.

`Marketplace` composes the chain client and the IPFS store; the CLI's task commands call it
and nothing below it, and scripts can do the same::

    from decentralml.chain import keypair_from_uri
    from decentralml.marketplace import Marketplace

    with Marketplace("ws://127.0.0.1:9944", ipfs_api="http://127.0.0.1:5001",
                     signer=keypair_from_uri("//Alice")) as market:
        created = market.create_task("assets/model_contributor", kind="model-contribution",
                                     reward="1.5", slots=3, deadline="2h", policy="manual")
        print(created.task_id, created.receipt.fee)
"""

from decentralml.marketplace._api import CreatedTask, Marketplace, PublishedModel
from decentralml.marketplace._errors import PALLET_ERRORS
from decentralml.marketplace._journal import KILL_AFTER_ENV, Journal, journal_dir
from decentralml.marketplace._models import (
    Assignment,
    AssignmentState,
    ContentRef,
    Policy,
    Receipt,
    SubmissionMode,
    Task,
    TaskKind,
    TaskResult,
    TaskStatus,
    Token,
)
from decentralml.marketplace._send import WORKER_FILE, SendOutcome
from decentralml.marketplace._units import (
    format_amount,
    format_seconds,
    parse_amount,
    parse_duration,
)
from decentralml.marketplace._validate import ResultReview, ValidationReport, ValidationRun

__all__ = [
    "KILL_AFTER_ENV",
    "PALLET_ERRORS",
    "WORKER_FILE",
    "Assignment",
    "AssignmentState",
    "ContentRef",
    "CreatedTask",
    "Journal",
    "Marketplace",
    "Policy",
    "PublishedModel",
    "Receipt",
    "ResultReview",
    "SendOutcome",
    "SubmissionMode",
    "Task",
    "TaskKind",
    "TaskResult",
    "TaskStatus",
    "Token",
    "ValidationReport",
    "ValidationRun",
    "format_amount",
    "format_seconds",
    "journal_dir",
    "parse_amount",
    "parse_duration",
]
