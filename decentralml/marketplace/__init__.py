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

A worker runs the kit of a task it took with `run_kit` (see `Kit` and `Sandbox`).
"""

from decentralml.marketplace._api import CreatedTask, Marketplace, PublishedModel
from decentralml.marketplace._errors import PALLET_ERRORS
from decentralml.marketplace._journal import KILL_AFTER_ENV, Journal, journal_dir
from decentralml.marketplace._kit import (
    ENTRY_POINTS,
    SANDBOX_IMAGE_ENV,
    Kit,
    KitRun,
    Sandbox,
    default_sandbox_image,
    find_docker,
    find_kit,
    run_kit,
)
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
    "ENTRY_POINTS",
    "KILL_AFTER_ENV",
    "PALLET_ERRORS",
    "SANDBOX_IMAGE_ENV",
    "WORKER_FILE",
    "Assignment",
    "AssignmentState",
    "ContentRef",
    "CreatedTask",
    "Journal",
    "Kit",
    "KitRun",
    "Marketplace",
    "Policy",
    "PublishedModel",
    "Receipt",
    "ResultReview",
    "Sandbox",
    "SendOutcome",
    "SubmissionMode",
    "Task",
    "TaskKind",
    "TaskResult",
    "TaskStatus",
    "Token",
    "ValidationReport",
    "ValidationRun",
    "default_sandbox_image",
    "find_docker",
    "find_kit",
    "format_amount",
    "format_seconds",
    "journal_dir",
    "parse_amount",
    "parse_duration",
    "run_kit",
]
