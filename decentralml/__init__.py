"""decentralml: a blockchain-backed marketplace for machine-learning work."""

from decentralml.errors import (
    AccountError,
    ArchiveRefused,
    ChainError,
    ChainUnavailable,
    ConfigError,
    ContentNotFound,
    DecentralMLError,
    DigestMismatch,
    ExtrinsicFailed,
    IpfsUnavailable,
    ServiceUnavailable,
    StorageError,
)

__version__ = "0.1.0"

__all__ = [
    "AccountError",
    "ArchiveRefused",
    "ChainError",
    "ChainUnavailable",
    "ConfigError",
    "ContentNotFound",
    "DecentralMLError",
    "DigestMismatch",
    "ExtrinsicFailed",
    "IpfsUnavailable",
    "ServiceUnavailable",
    "StorageError",
    "__version__",
]
