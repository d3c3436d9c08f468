"""The SCALE decoder compiled from a type registry, on a hand-made registry in the shape of
the runtime's metadata (the devnet tests compare it with scalecodec on real storage)."""

from __future__ import annotations

from typing import Any

import pytest
from scalecodec.types import CompactU32

from decentralml.chain._codec import CodecError, Registry, decode_compact


def enum(*variants: dict[str, Any]) -> dict[str, Any]:
    return {"variant": {"variants": list(variants)}}


def t(type_id: int, definition: dict[str, Any], path: list[str] | None = None) -> dict[str, Any]:
    return {"id": type_id, "type": {"path": path or [], "params": [], "def": definition}}


def field(name: str | None, type_id: int) -> dict[str, Any]:
    return {"name": name, "type": type_id, "typeName": None, "docs": []}


def variant(name: str, index: int, *fields: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "fields": list(fields), "index": index, "docs": []}


TYPES = [
    t(0, {"primitive": "u8"}),
    t(1, {"array": {"len": 4, "type": 0}}),
    t(2, {"primitive": "u32"}),
    t(3, {"primitive": "u128"}),
    t(4, {"sequence": {"type": 0}}),
    t(5, {"composite": {"fields": [field(None, 4)]}}, ["BoundedVec"]),
    t(6, enum(variant("Plain", 0), variant("Sealed", 1, field("period", 2)))),
    t(7, enum(variant("None", 0), variant("Some", 1, field(None, 2))), ["Option"]),
    t(8, {"composite": {"fields": [field("id", 1), field("data", 5), field("mode", 6),
                                   field("ended", 7), field("amount", 3)]}}),
    t(9, {"sequence": {"type": 8}}),
    t(10, {"compact": {"type": 3}}),
    t(11, {"tuple": [2, 0]}),
    t(12, {"primitive": "bool"}),
    t(13, {"primitive": "i16"}),
    t(14, {"primitive": "str"}),
    # A recursive type: a list node that may point to another.
    t(15, {"composite": {"fields": [field("value", 2), field("next", 16)]}}),
    t(16, enum(variant("None", 0), variant("Some", 1, field(None, 15))), ["Option"]),
    t(17, {"sequence": {"type": 2}}),
]  # fmt: skip


def record(amount: int, *, sealed: int | None, ended: int | None, data: bytes) -> bytes:
    out = b"\x01\x02\x03\x04" + bytes(CompactU32().encode(len(data)).data) + data
    out += b"\x00" if sealed is None else b"\x01" + sealed.to_bytes(4, "little")
    out += b"\x00" if ended is None else b"\x01" + ended.to_bytes(4, "little")
    return out + amount.to_bytes(16, "little")


def test_a_composite_decodes_to_named_fields() -> None:
    registry = Registry(TYPES)
    value = registry.decode(8, record(10**30, sealed=7, ended=None, data=b"meta"))
    assert value == {
        "id": b"\x01\x02\x03\x04",
        "data": b"meta",
        "mode": {"Sealed": {"period": 7}},
        "ended": None,
        "amount": 10**30,
    }
    plain = registry.decode(8, record(1, sealed=None, ended=99, data=b""))
    assert plain["mode"] == "Plain" and plain["ended"] == 99 and plain["data"] == b""


def test_sequences_tuples_and_primitives() -> None:
    registry = Registry(TYPES)
    items = [record(n, sealed=None, ended=n, data=bytes([n])) for n in range(3)]
    decoded = registry.decode(9, b"\x0c" + b"".join(items))
    assert [d["amount"] for d in decoded] == [0, 1, 2]
    assert registry.decode(11, (5).to_bytes(4, "little") + b"\xff") == (5, 255)
    assert registry.decode(12, b"\x01") is True
    assert registry.decode(13, (-2).to_bytes(2, "little", signed=True)) == -2
    assert registry.decode(14, b"\x0cabc") == "abc"
    assert registry.decode(17, b"\x08" + (1).to_bytes(4, "little") * 2) == [1, 1]


@pytest.mark.parametrize("number", [0, 63, 64, 16383, 16384, 2**30 - 1, 2**30, 2**64, 2**128 - 1])
def test_compact_integers_in_every_mode(number: int) -> None:
    from scalecodec.types import Compact

    encoded = bytes(Compact().encode(number).data)
    assert decode_compact(encoded, 0) == (number, len(encoded))
    assert Registry(TYPES).decode(10, encoded) == number


def test_a_recursive_type() -> None:
    registry = Registry(TYPES)
    data = (1).to_bytes(4, "little") + b"\x01" + (2).to_bytes(4, "little") + b"\x00"
    assert registry.decode(15, data) == {"value": 1, "next": {"value": 2, "next": None}}


@pytest.mark.parametrize(
    ("type_id", "data", "message"),
    [
        (8, record(1, sealed=None, ended=None, data=b"x")[:-1], "needs 16 bytes"),
        (2, b"\x01\x00\x00\x00\x00", "1 bytes left over"),
        (6, b"\x05", "no variant 5"),
        (7, b"\x02", "an Option is 0 or 1"),
        (12, b"\x02", "a bool is 0 or 1"),
        (4, b"\x10ab", "needs 4 bytes"),
        (99, b"", "not in the registry"),
    ],
)
def test_malformed_bytes_are_refused_with_a_reason(type_id: int, data: bytes, message: str) -> None:
    with pytest.raises(CodecError, match=message):
        Registry(TYPES).decode(type_id, data)


def test_an_unsupported_type_is_named() -> None:
    registry = Registry([t(0, {"bitsequence": {"bit_store_type": 1, "bit_order_type": 2}})])
    with pytest.raises(CodecError, match="bitsequence"):
        registry.decode(0, b"\x00")
