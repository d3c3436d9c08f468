"""A small chain client over substrate-interface: connect, sign, submit, read events and state."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from substrateinterface import Keypair, SubstrateInterface

from decentralml.chain._errors import translate
from decentralml.errors import ChainError, ExtrinsicFailed

log = logging.getLogger(__name__)

PALLET = "Decentralml"
# Why the marketplace holds funds (the pallet's `HoldReason`, in the runtime's hold reason as
# `Decentralml(...)`): the rewards of an open task's unpaid slots (from its creator), the
# storage deposit of a task record until it is removed (from its creator), and the bond of an
# assignment not yet submitted or committed (from its worker).
HOLD_REASONS = ("TaskEscrow", "TaskStorage", "AssignmentBond")


@dataclass(frozen=True)
class ChainEvent:
    """One event from a receipt: `pallet`, `name` and its named fields."""

    pallet: str
    name: str
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Receipt:
    """What an included transaction did."""

    extrinsic_hash: str
    block_hash: str
    fee: int
    events: tuple[ChainEvent, ...]

    def find(self, pallet: str, name: str) -> list[ChainEvent]:
        """The events of this transaction named `pallet.name`, in order."""
        return [e for e in self.events if e.pallet == pallet and e.name == name]


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


def _to_event(record: Any) -> ChainEvent:
    value = record.value.get("event", record.value)
    attributes = value.get("attributes") or {}
    if not isinstance(attributes, dict):
        attributes = {"value": attributes}
    return ChainEvent(pallet=value["module_id"], name=value["event_id"], attributes=attributes)


class ChainClient:
    """A connection to a decentralml chain.

    Use as a context manager; `close()` ends the websocket.
    """

    def __init__(self, url: str, *, substrate: SubstrateInterface | None = None) -> None:
        self.url = url
        if substrate is None:
            with translate(url):
                substrate = SubstrateInterface(url=url, auto_reconnect=False)
        self._substrate = substrate

    def __enter__(self) -> ChainClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._substrate.close()

    @property
    def substrate(self) -> SubstrateInterface:
        """The underlying substrate-interface object, for what this client does not wrap."""
        return self._substrate

    @property
    def ss58_format(self) -> int:
        return int(self._substrate.ss58_format or 42)

    def chain_name(self) -> str:
        with translate(self.url):
            return str(self._substrate.rpc_request("system_chain", [])["result"])

    def block_number(self) -> int:
        with translate(self.url):
            header = self._substrate.rpc_request("chain_getHeader", [])["result"]
        return int(header["number"], 16)

    def constant(self, pallet: str, name: str) -> Any:
        with translate(self.url):
            value = self._substrate.get_constant(pallet, name)
        if value is None:
            raise ChainError(f"the chain has no constant {pallet}.{name}")
        return value.value

    def query(self, pallet: str, storage: str, params: list[Any] | None = None) -> Any:
        """The decoded value of a storage item, or None when absent."""
        with translate(self.url):
            result = self._substrate.query(pallet, storage, params or [])
        return result.value if result is not None else None

    def free_balance(self, address: str) -> int:
        account = self.query("System", "Account", [address])
        return int(account["data"]["free"])

    def token(self) -> TokenInfo:
        """The native token's symbol and decimals, from the chain's properties."""
        with translate(self.url):
            properties = self._substrate.rpc_request("system_properties", [])["result"] or {}
        symbol = properties.get("tokenSymbol") or "UNIT"
        decimals = properties.get("tokenDecimals")
        # Multi-token chains list several; the first is the native one.
        symbol = symbol[0] if isinstance(symbol, list) else symbol
        decimals = decimals[0] if isinstance(decimals, list) else decimals
        return TokenInfo(symbol=str(symbol), decimals=int(decimals or 0))

    def account_balance(self, address: str) -> AccountBalance:
        """Free, reserved (held) and frozen balance of `address`, read at the best block."""
        with translate(self.url):
            block_hash = self._substrate.get_chain_head()
            number = self._substrate.get_block_number(block_hash)
            account = self._substrate.query("System", "Account", [address], block_hash=block_hash)
            holds = self._substrate.query("Balances", "Holds", [address], block_hash=block_hash)
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

    def submit(
        self,
        signer: Keypair,
        pallet: str,
        call: str,
        params: dict[str, Any],
    ) -> Receipt:
        """Sign, submit and wait for inclusion; raise `ExtrinsicFailed` if the call failed.

        Raises
        ------
        ExtrinsicFailed
            The transaction was included and its call failed (`name` is the pallet error).
        TransactionRejected
            The chain refused the transaction (e.g. it cannot pay the fee).
        ChainUnavailable
            The chain could not be reached.
        """
        with translate(self.url):
            composed = self._substrate.compose_call(
                call_module=pallet, call_function=call, call_params=params
            )
            extrinsic = self._substrate.create_signed_extrinsic(call=composed, keypair=signer)
            receipt = self._substrate.submit_extrinsic(extrinsic, wait_for_inclusion=True)
            events = tuple(_to_event(r) for r in receipt.triggered_events)
            success = receipt.is_success
            error = receipt.error_message
            fee = int(receipt.total_fee_amount or 0)
        tx_hash = str(receipt.extrinsic_hash)
        log.debug("%s.%s included in %s (fee %d)", pallet, call, receipt.block_hash, fee)
        if not success:
            raise self._failure(pallet, call, error, events, tx_hash, fee)
        return Receipt(
            extrinsic_hash=tx_hash, block_hash=str(receipt.block_hash), fee=fee, events=events
        )

    def _failure(
        self,
        pallet: str,
        call: str,
        error: dict[str, Any] | None,
        events: tuple[ChainEvent, ...],
        tx_hash: str,
        fee: int,
    ) -> ExtrinsicFailed:
        error = error or {}
        name = error.get("name")
        docs = error.get("docs")
        doc_text = " ".join(docs) if isinstance(docs, list) else (docs or "")
        error_pallet = self._error_pallet(events) if error.get("type") == "Module" else None
        where = f"{error_pallet}.{name}" if error_pallet else str(name)
        message = f"{pallet}.{call} failed: {where}" + (f" ({doc_text})" if doc_text else "")
        return ExtrinsicFailed(
            message,
            pallet=error_pallet,
            name=name,
            docs=doc_text or None,
            tx_hash=tx_hash,
            fee=fee,
        )

    def _error_pallet(self, events: tuple[ChainEvent, ...]) -> str | None:
        for event in events:
            if event.pallet == "System" and event.name == "ExtrinsicFailed":
                module = event.attributes.get("dispatch_error", {}).get("Module")
                if isinstance(module, dict):
                    index = module.get("index")
                    for pallet in self._substrate.metadata.pallets:
                        if pallet.value["index"] == index:
                            return str(pallet.name)
        return None
