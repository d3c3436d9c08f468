"""The exception tree of decentralml.

Every error the library raises derives from `DecentralMLError`::

    DecentralMLError
      ConfigError            bad or missing configuration
      InvalidInput           a malformed amount, duration or other value a user typed
      AccountError           bad account URI, keystore or password
        KeystoreNotFound     no keystore of that name
        KeystoreExists       a keystore of that name exists and replacing it was not asked for
        KeystoreFormatError  a file that is not a keystore this package can read
        WrongPassword        the password does not unlock the keystore
        PasswordRequired     a keystore needs a password and none can be asked for
        ReadOnlyAccount      an address was given where a signing account is needed
      ServiceUnavailable     a service could not be reached (CLI exit 3)
        ChainUnavailable     the chain's RPC endpoint
          OutcomeUnknown     a transaction was sent; whether it lands cannot be told yet
        IpfsUnavailable      the IPFS daemon's RPC API
        SandboxUnavailable   the Docker engine a sandboxed kit run needs
        EngineUnavailable    the devnet engine's binary (polkadot-omni-node) is missing
      DevnetError            the local dev network could not be started or stopped
      ChainError             the chain refused or failed a request
        TransactionRejected  the transaction pool refused a transaction (fees, nonce)
          TransactionDropped a sent transaction can no longer be included (era over, nonce used)
        ExtrinsicFailed      a transaction was included but its call failed
      StorageError           a bundle could not be stored, fetched or unpacked
        ContentNotFound      no content for a CID within the timeout
        ContentTooLarge      a declared or actual size over the limit
        DigestMismatch       fetched bytes do not match the expected sha256
        ArchiveRefused       an archive entry is unsafe (escapes, link, device, limits)
        DestinationNotEmpty  refusing to unpack over existing files
      MarketplaceError       a marketplace operation cannot go ahead
        UnknownTask          no task has that id
        JournalError         a send-result journal disagrees with the directory or the chain
      KitError               a task kit cannot be run (no entry point, no sandbox image)
        KitFailed            an entry point of the kit exited with a non-zero status
      ValidationError        a result cannot be validated or aggregated: defined, with its
                             subclasses, in `decentralml.validation`

The CLI maps `ServiceUnavailable` to exit code 3 and every other `DecentralMLError`
to exit code 1.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from decentralml.chain import PendingExtrinsic


class DecentralMLError(Exception):
    """Base class of every error decentralml raises."""

    hint: str | None = None

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if hint is not None:
            self.hint = hint

    def __str__(self) -> str:
        return self.message


class ConfigError(DecentralMLError):
    """The configuration (flags, environment or config file) is invalid."""


class InvalidInput(DecentralMLError):
    """A value the user typed (an amount, a duration, a kind) is malformed."""


class AccountError(DecentralMLError):
    """An account could not be loaded: bad URI, mnemonic, keystore or password."""

    def __init__(
        self, message: str, *, account: str | None = None, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        # The keystore name or address concerned; never a secret.
        self.account = account


class KeystoreNotFound(AccountError):
    """No keystore has the name that was given."""


class KeystoreExists(AccountError):
    """A keystore (or export file) of that name exists and replacing it was not asked for."""


class KeystoreFormatError(AccountError):
    """A file is not a polkadot.js JSON keystore this package can read."""


class WrongPassword(AccountError):
    """The password does not unlock the keystore."""


class PasswordRequired(AccountError):
    """A keystore needs a password and none was given or can be asked for."""


class ReadOnlyAccount(AccountError):
    """An address was given where a signing account is needed."""


class ServiceUnavailable(DecentralMLError):
    """A service the command needs could not be reached."""

    def __init__(self, message: str, *, address: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.address = address


class ChainUnavailable(ServiceUnavailable):
    """The chain's RPC endpoint did not answer."""


class OutcomeUnknown(ChainUnavailable):
    """A transaction was sent, but whether it was (or will be) included cannot be told now.

    Never sign the same action again on this error: the transaction may still land. Look it
    up by `tx_hash` (`ChainClient.find_extrinsic`, or `pending.wait()` once the chain
    answers): it is included by block `valid_until` or never.
    """

    def __init__(
        self,
        message: str,
        *,
        address: str,
        tx_hash: str,
        valid_until: int | None = None,
        pending: PendingExtrinsic | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, address=address, hint=hint)
        self.tx_hash = tx_hash
        # The last block that can include the transaction (its era's end), when known.
        self.valid_until = valid_until
        # The `PendingExtrinsic` to wait on again, when the client has one.
        self.pending = pending


class IpfsUnavailable(ServiceUnavailable):
    """The IPFS daemon's RPC API did not answer."""


class SandboxUnavailable(ServiceUnavailable):
    """No Docker engine answers (or no docker client is installed) for a sandboxed kit run."""


class EngineUnavailable(ServiceUnavailable):
    """The devnet's chain engine (the polkadot-omni-node binary) is missing or does not run."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message, address="polkadot-omni-node", hint=hint)


class DevnetError(DecentralMLError):
    """The local dev network could not be started, stopped or driven."""


class ChainError(DecentralMLError):
    """The chain refused or failed a request."""


class TransactionRejected(ChainError):
    """The chain refused a transaction before including it (e.g. it cannot pay its fee)."""


class TransactionDropped(TransactionRejected):
    """A sent transaction was not included and never will be: its era ended, or another
    transaction used its nonce. Nothing it asked for happened; it is safe to send again."""

    def __init__(self, message: str, *, tx_hash: str, reason: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.tx_hash = tx_hash
        # "expired" (the era ended) or "nonce used" (another transaction took its nonce).
        self.reason = reason


class ExtrinsicFailed(ChainError):
    """A transaction was included in a block but its call failed."""

    def __init__(
        self,
        message: str,
        *,
        pallet: str | None,
        name: str | None,
        docs: str | None = None,
        tx_hash: str | None = None,
        fee: int | None = None,
    ) -> None:
        super().__init__(message)
        self.pallet = pallet
        self.name = name
        self.docs = docs
        self.tx_hash = tx_hash
        # A failed call still pays its transaction fee.
        self.fee = fee


class StorageError(DecentralMLError):
    """A bundle could not be stored, fetched or unpacked."""


class ContentNotFound(StorageError):
    """The IPFS daemon found no content for a CID within the timeout."""

    def __init__(self, message: str, *, cid: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.cid = cid


class ContentTooLarge(StorageError):
    """Content is larger than the declared size or the configured limit."""

    def __init__(self, message: str, *, size: int, limit: int) -> None:
        super().__init__(message)
        self.size = size
        self.limit = limit


class DigestMismatch(StorageError):
    """Fetched bytes do not have the expected sha256 digest."""

    def __init__(self, message: str, *, expected: str, got: str) -> None:
        super().__init__(message)
        self.expected = expected
        self.got = got


class ArchiveRefused(StorageError):
    """An archive entry is unsafe to unpack and nothing was written."""

    def __init__(self, message: str, *, entry: str, reason: str) -> None:
        super().__init__(message)
        self.entry = entry
        self.reason = reason


class DestinationNotEmpty(StorageError):
    """The destination directory has files and overwriting was not asked for."""


class MarketplaceError(DecentralMLError):
    """A marketplace operation cannot go ahead (the task's state does not allow it)."""

    def __init__(
        self, message: str, *, task_id: int | None = None, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.task_id = task_id


class UnknownTask(MarketplaceError):
    """No task has this id (never created, or removed after its retention period)."""


class JournalError(MarketplaceError):
    """A send-result journal disagrees with the result directory or with the chain."""


class KitError(DecentralMLError):
    """A task kit cannot be run: it has no entry point, or the sandbox image is missing."""


class KitFailed(KitError):
    """An entry point of a task kit exited with a non-zero status."""

    def __init__(self, message: str, *, script: str, status: int, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        # The entry point (setup.sh or start_task.sh) and its exit status.
        self.script = script
        self.status = status
