"""What a transaction's inclusion tells: its receipt and its events."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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
    # The block's number and the transaction's nonce, when known.
    block_number: int | None = None
    nonce: int | None = None

    def find(self, pallet: str, name: str) -> list[ChainEvent]:
        """The events of this transaction named `pallet.name`, in order."""
        return [e for e in self.events if e.pallet == pallet and e.name == name]
