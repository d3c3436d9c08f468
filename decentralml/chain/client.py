"""A chain client over substrate-interface: connect, sign, submit, read events and state.

What it guarantees (docs/architecture.md, "Chain and client"): every transaction is mortal
(`era_period` blocks); nonces are counted per account, so transactions can be sent back to
back (`submit_nowait`); every answer is awaited at most `timeout` seconds and every inclusion
at most `inclusion_timeout`; a read whose connection dropped is retried once on a new one; a
transaction whose answer never came is looked up by hash, never signed again
(`OutcomeUnknown`); tasks are listed by computed keys in batches (`list_tasks`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from scalecodec.utils.ss58 import ss58_decode, ss58_encode
from substrateinterface import Keypair, SubstrateInterface

from decentralml.chain import _codec, _listing
from decentralml.chain._connection import DEFAULT_TIMEOUT, Connection
from decentralml.chain._records import Assignment, TaskInfo, TaskKind
from decentralml.chain._transactions import (
    DEFAULT_ERA_PERIOD,
    DEFAULT_INCLUSION_TIMEOUT,
    PendingExtrinsic,
    Transactions,
)
from decentralml.chain._types import ChainEvent, Receipt
from decentralml.errors import ChainError

PALLET = "Decentralml"
# Why the marketplace holds funds (the pallet's `HoldReason`, in the runtime's hold reason as
# `Decentralml(...)`): the rewards of an open task's unpaid slots (from its creator), the
# storage deposit of a task record until it is removed (from its creator), and the bond of an
# assignment not yet submitted or committed (from its worker).
HOLD_REASONS = ("TaskEscrow", "TaskStorage", "AssignmentBond")
# Keys per page when iterating a prefix (the most a node returns per page).
_KEYS_PAGE = 1000

__all__ = [
    "DEFAULT_ERA_PERIOD",
    "DEFAULT_INCLUSION_TIMEOUT",
    "DEFAULT_TIMEOUT",
    "HOLD_REASONS",
    "AccountBalance",
    "ChainClient",
    "ChainEvent",
    "PendingExtrinsic",
    "Receipt",
    "TokenInfo",
]


@dataclass(frozen=True)
class TokenInfo:
    """The chain's native token, from its properties (``system_properties``)."""

    symbol: str
    decimals: int


@dataclass(frozen=True)
class AccountBalance:
    """An account's native balance in planck, read at one block.

    `reserved` includes everything on hold; `holds` breaks the holds down by reason
    (``"Decentralml.TaskEscrow"``); `frozen` is the amount locks and freezes keep.
    """

    free: int
    reserved: int
    frozen: int
    holds: tuple[tuple[str, int], ...] = ()
    block_number: int | None = None
    block_hash: str | None = None

    @property
    def transferable(self) -> int:
        """What can leave the account: free less the part of frozen not covered by holds."""
        return max(self.free - max(self.frozen - self.reserved, 0), 0)


def _reason(hold_id: Any) -> str:
    """``{"Decentralml": "TaskEscrow"}`` as ``"Decentralml.TaskEscrow"``."""
    if isinstance(hold_id, dict) and len(hold_id) == 1:
        ((pallet, reason),) = hold_id.items()
        if isinstance(reason, str):
            return f"{pallet}.{reason}"
    return str(hold_id)


@dataclass(frozen=True)
class _StorageType:
    """A storage item's value type: its id in the runtime's type registry."""

    registry: _codec.Registry
    type_id: int


def _load_runtime(substrate: SubstrateInterface, block_hash: str | None) -> None:
    """Make the runtime (metadata, types) of `block_hash` the one substrate-interface decodes
    with.

    For the best block, one ``state_getRuntimeVersion`` says whether the loaded runtime is
    still the chain's, where substrate-interface's own check costs three round trips. When
    the version is the loaded one, the best block's parent runs it too (a new runtime is
    first reported at the block that stored it, which the loaded one cannot predate).
    """
    if block_hash is None and substrate.runtime_version is not None and substrate.metadata:
        version = substrate.rpc_request("state_getRuntimeVersion", [])["result"] or {}
        if version.get("specVersion") == substrate.runtime_version:
            return
    substrate.init_runtime(block_hash=block_hash)


def _at(params: list[Any], block_hash: str | None) -> list[Any]:
    """RPC parameters with the block to read at, when one is given (else the best block)."""
    return [*params, block_hash] if block_hash is not None else params


class ChainClient:
    """A connection to a decentralml chain.

    Use as a context manager; `close()` ends the websocket.

    Parameters
    ----------
    url:
        The chain's websocket RPC endpoint (``ws://`` or ``wss://``).
    timeout:
        Seconds any one answer may take (connecting included) before the call fails with
        `ChainUnavailable`.
    era_period:
        Blocks each transaction stays valid for after the block it names (a power of two).
    inclusion_timeout:
        Seconds `submit` (and `PendingExtrinsic.wait` by default) waits for inclusion before
        `OutcomeUnknown`.
    max_pending:
        Transactions of one account sent and not yet included before `submit_nowait` waits
        for the chain to catch up (default: half of `era_period`).
    substrate:
        An existing substrate-interface object to use instead of connecting.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        era_period: int = DEFAULT_ERA_PERIOD,
        inclusion_timeout: float = DEFAULT_INCLUSION_TIMEOUT,
        max_pending: int | None = None,
        substrate: SubstrateInterface | None = None,
    ) -> None:
        self.url = url
        self._conn = Connection(url, timeout=timeout, substrate=substrate)
        self._tx = Transactions(
            self._conn,
            era_period=era_period,
            inclusion_timeout=inclusion_timeout,
            max_pending=max_pending,
        )
        self._storage_types: dict[tuple[int | None, str], tuple[_StorageType, list[str]]] = {}
        self._registries: dict[int | None, _codec.Registry] = {}
        self._constants: dict[tuple[int | None, str], Any] = {}

    def __enter__(self) -> ChainClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._conn.close()

    @property
    def substrate(self) -> SubstrateInterface:
        """The underlying substrate-interface object, for what this client does not wrap."""
        return self._conn.substrate

    @property
    def timeout(self) -> float:
        """Seconds any one answer from the chain may take."""
        return self._conn.timeout

    @property
    def era_period(self) -> int:
        """Blocks a transaction stays valid for after the block it names."""
        return self._tx.era_period

    @property
    def ss58_format(self) -> int:
        """The chain's address prefix (read once from its properties)."""
        return self._conn.read(lambda s: int(s.ss58_format or 42))

    # -- reads (retried once on a new connection when the old one dropped) -------------------

    def chain_name(self) -> str:
        return str(self._conn.rpc("system_chain", []))

    def block_number(self) -> int:
        header = self._conn.rpc("chain_getHeader", [])
        return int(header["number"], 16)

    def constant(self, pallet: str, name: str) -> Any:
        """A constant of the runtime (read from its metadata, once per runtime version)."""

        def read(substrate: SubstrateInterface) -> Any:
            _load_runtime(substrate, None)
            cache_key = (substrate.runtime_version, f"{pallet}.{name}")
            if cache_key not in self._constants:
                value = substrate.get_constant(pallet, name, block_hash=substrate.block_hash)
                if value is None:
                    raise ChainError(f"the chain has no constant {pallet}.{name}")
                self._constants[cache_key] = value.value
            return self._constants[cache_key]

        return self._conn.read(read)

    def query(self, pallet: str, storage: str, params: list[Any] | None = None) -> Any:
        """The decoded value of a storage item, or None when absent."""
        result = self._conn.read(lambda s: s.query(pallet, storage, params or []))
        return result.value if result is not None else None

    def free_balance(self, address: str) -> int:
        return self.account_balance(address).free

    def token(self) -> TokenInfo:
        """The native token's symbol and decimals, from the chain's properties."""
        properties = self._conn.rpc("system_properties", []) or {}
        symbol = properties.get("tokenSymbol") or "UNIT"
        decimals = properties.get("tokenDecimals")
        # Multi-token chains list several; the first is the native one.
        symbol = symbol[0] if isinstance(symbol, list) else symbol
        decimals = decimals[0] if isinstance(decimals, list) else decimals
        return TokenInfo(symbol=str(symbol), decimals=int(decimals or 0))

    def account_balance(self, address: str) -> AccountBalance:
        """Free, reserved (held) and frozen balance of `address`, read at the best block."""
        at = str(self._conn.rpc("chain_getBlockHash", []))
        account_type, account_hashers = self._storage_type("Account", at, pallet="System")
        holds_type, holds_hashers = self._storage_type("Holds", at, pallet="Balances")
        account_id = ss58_decode(address)
        keys = [
            _listing.account_key("System", "Account", account_hashers[0], account_id),
            _listing.account_key("Balances", "Holds", holds_hashers[0], account_id),
        ]
        values = self.read_many(keys, at)
        header = self._conn.rpc("chain_getHeader", [at])
        raw_account, raw_holds = values.get(keys[0]), values.get(keys[1])
        if raw_account is None:  # never funded, or reaped: the storage default
            data: dict[str, Any] = {"free": 0, "reserved": 0, "frozen": 0}
        else:
            data = self._decode(account_type, raw_account)["data"]
        holds = self._decode(holds_type, raw_holds) if raw_holds is not None else []
        return AccountBalance(
            free=int(data["free"]),
            reserved=int(data["reserved"]),
            frozen=int(data.get("frozen", data.get("misc_frozen", 0))),
            holds=tuple((_reason(h["id"]), int(h["amount"])) for h in (holds or [])),
            block_number=int(header["number"], 16),
            block_hash=at,
        )

    def holds(self, address: str) -> dict[str, int]:
        """What the marketplace holds from `address`, by reason (every one of `HOLD_REASONS`,
        zero when nothing is held under it)."""
        held = dict.fromkeys(HOLD_REASONS, 0)
        for name, amount in self.account_balance(address).holds:
            pallet, _, reason = name.partition(".")
            if pallet == PALLET and reason in held:
                held[reason] += amount
        return held

    def held_balance(self, address: str, reason: str | None = "TaskEscrow") -> int:
        """What the marketplace holds from `address` under `reason` (one of `HOLD_REASONS`;
        task escrow by default), or under all of them with ``reason=None``."""
        if reason is not None and reason not in HOLD_REASONS:
            raise ValueError(f"unknown hold reason {reason!r}; one of {', '.join(HOLD_REASONS)}")
        held = self.holds(address)
        return sum(held.values()) if reason is None else held[reason]

    def account_nonce(self, address: str) -> int:
        """How many transactions of `address` the best block includes (its on-chain nonce)."""
        return self._tx.account_nonce(address)

    # -- transactions -------------------------------------------------------------------------

    def submit(
        self,
        signer: Keypair,
        pallet: str,
        call: str,
        params: dict[str, Any],
        *,
        timeout: float | None = None,
    ) -> Receipt:
        """Sign, submit and wait for inclusion; raise `ExtrinsicFailed` if the call failed.

        The transaction is mortal (`era_period`) and takes the account's next nonce from this
        client's counter. `timeout` overrides the client's `inclusion_timeout`.

        Raises
        ------
        ExtrinsicFailed
            The transaction was included and its call failed (`name` is the pallet error).
        TransactionRejected
            The chain refused the transaction (e.g. it cannot pay the fee).
        TransactionDropped
            It was accepted, then can no longer be included (era over, nonce used).
        OutcomeUnknown
            It was sent, and whether it is included cannot be told (the chain stopped
            answering, or did not include it in time); it carries the hash to look for.
        ChainUnavailable
            The chain could not be reached before anything was sent.
        """
        return self._tx.submit(signer, pallet, call, params, timeout=timeout)

    def submit_nowait(
        self, signer: Keypair, pallet: str, call: str, params: dict[str, Any]
    ) -> PendingExtrinsic:
        """Sign and submit without waiting for inclusion; `.wait()` on the result later.

        Returns as soon as the chain's pool accepted the transaction, so one account can send
        many in a row: each takes the next nonce of this client's counter. At most
        `max_pending` of an account wait for inclusion at a time; the next call waits for
        the chain to include one (so a burst stays within its era on a chain that makes a
        block per transaction).

        Raises
        ------
        TransactionRejected
            The pool refused the transaction.
        OutcomeUnknown
            It was sent and the answer never came, and it is not seen on the chain yet.
        ChainUnavailable
            The chain could not be reached before anything was sent.
        """
        return self._tx.submit_nowait(signer, pallet, call, params)

    def find_extrinsic(self, tx_hash: str, *, since_block: int | None = None) -> Receipt | None:
        """The receipt of extrinsic `tx_hash` if a block after `since_block` (default: the last
        `era_period` blocks) on the best chain includes it, else None.

        Raises `ExtrinsicFailed` when it is included and its call failed.
        """
        tx_hash = tx_hash.lower() if tx_hash.startswith("0x") else "0x" + tx_hash.lower()
        if since_block is None:
            since_block = max(self.block_number() - self.era_period, -1)
        where = self._tx.find(tx_hash, since_block)
        if where is None:
            return None
        return self._tx.receipt("extrinsic", tx_hash, where)

    # -- marketplace records ------------------------------------------------------------------

    def next_task_id(self, *, block_hash: str | None = None) -> int:
        """The id the next task will get: every task ever created has a smaller one."""
        key = "0x" + _listing.storage_prefix(PALLET, "NextTaskId").hex()
        raw = self._conn.rpc("state_getStorage", _at([key], block_hash))
        return int.from_bytes(bytes.fromhex(raw[2:]), "little") if raw else 0

    def task(self, task_id: int, *, block_hash: str | None = None) -> TaskInfo | None:
        """Task `task_id` as stored, or None when there is no such task (or it was removed)."""
        type_string, hashers = self._storage_type("Tasks", block_hash)
        key = _listing.u32_key(_listing.storage_prefix(PALLET, "Tasks"), hashers[0], task_id)
        raw = self._conn.rpc("state_getStorage", _at([key], block_hash))
        return None if raw is None else self._decode_task(type_string, task_id, raw)

    def list_tasks(
        self,
        *,
        open_only: bool = False,
        kind: TaskKind | str | None = None,
        creator: str | None = None,
        limit: int | None = None,
        newest_first: bool = False,
        batch_size: int = _listing.DEFAULT_BATCH_SIZE,
        block_hash: str | None = None,
    ) -> Iterator[TaskInfo]:
        """Tasks in id order (or newest first), read lazily in batches at one block.

        The keys of task ids ``0 .. NextTaskId - 1`` are computed here and their values read
        `batch_size` per request (``state_queryStorageAt``), all at the best block when the
        iteration starts (or `block_hash`); removed tasks are skipped. Memory stays that of
        one batch however many tasks there are.

        Parameters
        ----------
        open_only:
            Only tasks whose status is ``Open``.
        kind:
            Only tasks of this `TaskKind` (or its name, ``"DataAnnotation"``).
        creator:
            Only tasks created by this SS58 address (any network prefix).
        limit:
            Yield at most this many tasks (and read no batch past the last one).
        newest_first:
            Highest ids first.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        keep = _listing.task_filter(
            open_only=open_only,
            kind=kind,
            creator=creator,
            ss58_format=self.ss58_format if creator is not None else 42,
        )
        return self._iter_tasks(keep, limit, newest_first, batch_size, block_hash)

    def _iter_tasks(
        self,
        keep: Any,
        limit: int | None,
        newest_first: bool,
        batch_size: int,
        block_hash: str | None,
    ) -> Iterator[TaskInfo]:
        at = block_hash or str(self._conn.rpc("chain_getBlockHash", []))
        type_string, hashers = self._storage_type("Tasks", at)
        yield from _listing.iter_tasks(
            self,
            lambda task_id, raw: self._decode_task(type_string, task_id, raw),
            prefix=_listing.storage_prefix(PALLET, "Tasks"),
            hasher=hashers[0],
            next_id=self.next_task_id(block_hash=at),
            block_hash=at,
            batch_size=batch_size,
            newest_first=newest_first,
            keep=keep,
            limit=limit,
        )

    def read_many(self, keys: list[str], block_hash: str) -> dict[str, str | None]:
        """Raw values (hex) of `keys` at `block_hash` in one request; None where absent."""
        answer = self._conn.rpc("state_queryStorageAt", [keys, block_hash]) or []
        values: dict[str, str | None] = {}
        for change_set in answer:
            for key, value in change_set["changes"]:
                values[str(key)] = value
        return values

    def assignment(
        self, task_id: int, worker: str, *, block_hash: str | None = None
    ) -> Assignment | None:
        """`worker`'s assignment record on task `task_id`, or None when it never took one."""
        type_string, hashers = self._storage_type("Assignments", block_hash)
        key = (
            "0x"
            + (
                _listing.storage_prefix(PALLET, "Assignments")
                + _listing.hash_key(hashers[0], task_id.to_bytes(4, "little"))
                + _listing.hash_key(hashers[1], bytes.fromhex(ss58_decode(worker)))
            ).hex()
        )
        raw = self._conn.rpc("state_getStorage", _at([key], block_hash))
        if raw is None:
            return None
        address = ss58_encode(ss58_decode(worker), ss58_format=self.ss58_format)
        return _listing.assignment_from_value(task_id, address, self._decode(type_string, raw))

    def assignments(self, task_id: int, *, block_hash: str | None = None) -> list[Assignment]:
        """Every assignment record of task `task_id` (at most `MaxAssignmentsPerTask`), in
        storage order: live ones and the paid, rejected and released ones kept with it."""
        at = block_hash or str(self._conn.rpc("chain_getBlockHash", []))
        type_string, hashers = self._storage_type("Assignments", at)
        prefix = _listing.storage_prefix(PALLET, "Assignments") + _listing.hash_key(
            hashers[0], task_id.to_bytes(4, "little")
        )
        keys: list[str] = []
        while True:
            start = keys[-1] if keys else None
            page = self._conn.rpc(
                "state_getKeysPaged", ["0x" + prefix.hex(), _KEYS_PAGE, start, at]
            )
            keys.extend(str(k) for k in page or [])
            if not page or len(page) < _KEYS_PAGE:
                break
        values = self.read_many(keys, at) if keys else {}
        result = []
        for key in keys:
            raw = values.get(key)
            if raw is None:
                continue
            # The worker is the key's tail: blake2_128 (16 bytes) then the 32-byte account.
            worker = ss58_encode(bytes.fromhex(key[2:])[-32:], ss58_format=self.ss58_format)
            value = self._decode(type_string, raw)
            result.append(_listing.assignment_from_value(task_id, worker, value))
        return result

    def _storage_type(
        self, item: str, block_hash: str | None, pallet: str = PALLET
    ) -> tuple[_StorageType, list[str]]:
        """How to decode ``<pallet>.<item>`` (its value type in the runtime at `block_hash`,
        the best block's by default) and its key hashers."""

        def read(substrate: SubstrateInterface) -> tuple[_StorageType, list[str]]:
            _load_runtime(substrate, block_hash)
            version = substrate.runtime_version
            cache_key = (version, f"{pallet}.{item}")
            if cache_key not in self._storage_types:
                function = substrate.get_metadata_storage_function(pallet, item)
                if function is None:
                    raise ChainError(f"the chain has no storage {pallet}.{item}")
                kind = function.value["type"]
                hashers = list(kind["Map"]["hashers"]) if "Map" in kind else []
                type_id = kind["Map"]["value"] if "Map" in kind else kind["Plain"]
                registry = self._registries.get(version)
                if registry is None:
                    registry = _codec.Registry(substrate.metadata.portable_registry.value["types"])
                    self._registries[version] = registry
                self._storage_types[cache_key] = (_StorageType(registry, int(type_id)), hashers)
            return self._storage_types[cache_key]

        return self._conn.read(read)

    @staticmethod
    def _decode(storage_type: _StorageType, raw: str) -> Any:
        try:
            return storage_type.registry.decode(storage_type.type_id, bytes.fromhex(raw[2:]))
        except _codec.CodecError as exc:
            raise ChainError(f"a stored value does not decode as its type says: {exc}") from exc

    def _decode_task(self, storage_type: _StorageType, task_id: int, raw: str) -> TaskInfo:
        value = self._decode(storage_type, raw)
        return _listing.task_from_value(task_id, value, self.ss58_format)
