"""Talking to the chain: connection, signing, submission, events, error mapping and the
marketplace's records."""

from decentralml.chain._records import (
    Assignment,
    Submission,
    TaskInfo,
    TaskKind,
    TaskStatus,
    ValidationPolicy,
)
from decentralml.chain.client import (
    DEFAULT_ERA_PERIOD,
    DEFAULT_INCLUSION_TIMEOUT,
    DEFAULT_TIMEOUT,
    HOLD_REASONS,
    AccountBalance,
    ChainClient,
    ChainEvent,
    PendingExtrinsic,
    Receipt,
    TokenInfo,
)
from decentralml.chain.keys import keypair_from_uri
from decentralml.chain.sealed import commitment_preimage, new_salt, result_commitment

__all__ = [
    "DEFAULT_ERA_PERIOD",
    "DEFAULT_INCLUSION_TIMEOUT",
    "DEFAULT_TIMEOUT",
    "HOLD_REASONS",
    "AccountBalance",
    "Assignment",
    "ChainClient",
    "ChainEvent",
    "PendingExtrinsic",
    "Receipt",
    "Submission",
    "TaskInfo",
    "TaskKind",
    "TaskStatus",
    "TokenInfo",
    "ValidationPolicy",
    "commitment_preimage",
    "keypair_from_uri",
    "new_salt",
    "result_commitment",
]
