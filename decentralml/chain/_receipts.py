"""What an included transaction did: its events, its fee, and its failure as the pallet
names it."""

from __future__ import annotations

import logging
from typing import Any

from substrateinterface import ExtrinsicReceipt, SubstrateInterface

from decentralml.chain._connection import Connection
from decentralml.chain._types import ChainEvent, Receipt
from decentralml.errors import ExtrinsicFailed

log = logging.getLogger(__name__)


def _to_event(record: Any) -> ChainEvent:
    value = record.value.get("event", record.value)
    attributes = value.get("attributes") or {}
    if not isinstance(attributes, dict):
        attributes = {"value": attributes}
    return ChainEvent(pallet=value["module_id"], name=value["event_id"], attributes=attributes)


def _error_pallet(substrate: SubstrateInterface, events: tuple[ChainEvent, ...]) -> str | None:
    for event in events:
        if event.pallet == "System" and event.name == "ExtrinsicFailed":
            module = event.attributes.get("dispatch_error", {}).get("Module")
            if isinstance(module, dict):
                index = module.get("index")
                for pallet in substrate.metadata.pallets:
                    if pallet.value["index"] == index:
                        return str(pallet.name)
    return None


def failure(
    substrate: SubstrateInterface,
    what: str,
    error: dict[str, Any] | None,
    events: tuple[ChainEvent, ...],
    tx_hash: str,
    fee: int,
) -> ExtrinsicFailed:
    """The `ExtrinsicFailed` for an included transaction whose call failed."""
    error = error or {}
    name = error.get("name")
    docs = error.get("docs")
    doc_text = " ".join(docs) if isinstance(docs, list) else (docs or "")
    error_pallet = _error_pallet(substrate, events) if error.get("type") == "Module" else None
    where = f"{error_pallet}.{name}" if error_pallet else str(name)
    message = f"{what} failed: {where}" + (f" ({doc_text})" if doc_text else "")
    return ExtrinsicFailed(
        message, pallet=error_pallet, name=name, docs=doc_text or None, tx_hash=tx_hash, fee=fee
    )


def read_receipt(
    conn: Connection, what: str, tx_hash: str, where: tuple[str, int, int], nonce: int | None = None
) -> Receipt:
    """The receipt of the included extrinsic at `where`; raises `ExtrinsicFailed` when its
    call failed."""
    block_hash, number, index = where

    def build(substrate: SubstrateInterface) -> tuple[Any, ...]:
        receipt = ExtrinsicReceipt(
            substrate=substrate,
            extrinsic_hash=tx_hash,
            block_hash=block_hash,
            block_number=number,
            extrinsic_idx=index,
        )
        events = tuple(_to_event(r) for r in receipt.triggered_events)
        return events, receipt.is_success, receipt.error_message, receipt.total_fee_amount

    events, success, error, fee = conn.read(build)
    fee = int(fee or 0)
    log.debug("%s included in #%d %s (fee %d)", what, number, block_hash, fee)
    if not success:
        raise failure(conn.substrate, what, error, events, tx_hash, fee)
    return Receipt(
        extrinsic_hash=tx_hash,
        block_hash=block_hash,
        fee=fee,
        events=events,
        block_number=number,
        nonce=nonce,
    )
