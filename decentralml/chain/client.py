"""A chain client over substrate-interface: connect, sign, submit, read events and state.

What it guarantees (docs/architecture.md, "Chain and client"): every transaction is mortal
(`era_period` blocks); nonces are counted per account, so transactions can be sent back to
back (`submit_nowait`); every answer is awaited at most `timeout` seconds and every inclusion
at most `inclusion_timeout`; a read whose connection dropped is retried once on a new one; a
transaction whose answer never came is looked up by hash, never signed again
(`OutcomeUnknown`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from substrateinterface import Keypair, SubstrateInterface

from decentralml.chain._connection import DEFAULT_TIMEOUT, Connection
from decentralml.chain._transactions import (
    DEFAULT_ERA_PERIOD,
    DEFAULT_INCLUSION_TIMEOUT,
    PendingExtrinsic,
    Transactions,
)
from decentralml.chain._types import ChainEvent, Receipt
from decentralml.errors import ChainError

log = logging.getLogger(__name__)

PALLET = "Decentralml"
# Why the marketplace holds funds (the pallet's `HoldReason`, in the runtime's hold reason as
# `Decentralml(...)`): the rewards of an open task's unpaid slots (from its creator), the
# storage deposit of a task record until it is removed (from its creator), and the bond of an
# assignment not yet submitted or committed (from its worker).
HOLD_REASONS = ("TaskEscrow", "TaskStorage", "AssignmentBond")

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
        value = self._conn.read(lambda s: s.get_constant(pallet, name))
        if value is None:
            raise ChainError(f"the chain has no constant {pallet}.{name}")
        return value.value

    def query(self, pallet: str, storage: str, params: list[Any] | None = None) -> Any:
        """The decoded value of a storage item, or None when absent."""
        result = self._conn.read(lambda s: s.query(pallet, storage, params or []))
        return result.value if result is not None else None

    def free_balance(self, address: str) -> int:
        account = self.query("System", "Account", [address])
        return int(account["data"]["free"])

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

        def read(substrate: SubstrateInterface) -> tuple[Any, ...]:
            block_hash = substrate.get_chain_head()
            number = substrate.get_block_number(block_hash)
            account = substrate.query("System", "Account", [address], block_hash=block_hash)
            holds = substrate.query("Balances", "Holds", [address], block_hash=block_hash)
            return block_hash, number, account, holds

        block_hash, number, account, holds = self._conn.read(read)
        data = account.value["data"]
        return AccountBalance(
            free=int(data["free"]),
            reserved=int(data["reserved"]),
            frozen=int(data.get("frozen", data.get("misc_frozen", 0))),
            holds=tuple((_reason(h["id"]), int(h["amount"])) for h in (holds.value or [])),
            block_number=int(number),
            block_hash=str(block_hash),
        )

    def holds(self, address: str) -> dict[str, int]:
        """What the marketplace holds from `address`, by reason (every one of `HOLD_REASONS`,
        zero when nothing is held under it)."""
        held = dict.fromkeys(HOLD_REASONS, 0)
        for hold in self.query("Balances", "Holds", [address]) or []:
            reason = hold["id"].get(PALLET) if isinstance(hold["id"], dict) else None
            if reason in held:
                held[reason] += int(hold["amount"])
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
