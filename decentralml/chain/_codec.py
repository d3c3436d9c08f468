"""A SCALE decoder compiled from the runtime's own type registry (metadata v14+).

scalecodec builds an object per field for every value it decodes; listing thousands of tasks
spends most of its time there. This module turns each type of the portable registry into a
plain Python function once, and decodes values with it: composites become dicts (a composite
with one unnamed field is that field's value), variants their name (or ``{name: fields}``),
``Option`` None or the value, byte sequences and byte arrays `bytes`, integers `int`.
The types come from the chain's metadata, so a runtime that changes a layout changes the
decoder with it; there is no hand-written layout to fall out of step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

#: A decoder: (data, offset) -> (value, offset after it).
Decoder = Callable[[bytes, int], tuple[Any, int]]


class CodecError(ValueError):
    """Bytes that do not decode as the type says, or a type this decoder does not handle."""


_INTS = {
    "u8": (1, False),
    "u16": (2, False),
    "u32": (4, False),
    "u64": (8, False),
    "u128": (16, False),
    "u256": (32, False),
    "i8": (1, True),
    "i16": (2, True),
    "i32": (4, True),
    "i64": (8, True),
    "i128": (16, True),
    "i256": (32, True),
}


def _take(data: bytes, offset: int, size: int) -> int:
    end = offset + size
    if end > len(data):
        raise CodecError(f"needs {size} bytes at offset {offset}, only {len(data) - offset} left")
    return end


def decode_compact(data: bytes, offset: int) -> tuple[int, int]:
    """A SCALE compact integer at `offset`."""
    _take(data, offset, 1)
    first = data[offset]
    mode = first & 0b11
    if mode == 0:
        return first >> 2, offset + 1
    if mode == 1:
        end = _take(data, offset, 2)
        return int.from_bytes(data[offset:end], "little") >> 2, end
    if mode == 2:
        end = _take(data, offset, 4)
        return int.from_bytes(data[offset:end], "little") >> 2, end
    size = (first >> 2) + 4
    end = _take(data, offset + 1, size)
    return int.from_bytes(data[offset + 1 : end], "little"), end


def _int(size: int, signed: bool) -> Decoder:
    def decode(data: bytes, offset: int) -> tuple[int, int]:
        end = _take(data, offset, size)
        return int.from_bytes(data[offset:end], "little", signed=signed), end

    return decode


def _bool(data: bytes, offset: int) -> tuple[bool, int]:
    end = _take(data, offset, 1)
    if data[offset] > 1:
        raise CodecError(f"a bool is 0 or 1, got {data[offset]} at offset {offset}")
    return data[offset] == 1, end


def _str(data: bytes, offset: int) -> tuple[str, int]:
    length, offset = decode_compact(data, offset)
    end = _take(data, offset, length)
    return data[offset:end].decode("utf-8"), end


def _byte_sequence(data: bytes, offset: int) -> tuple[bytes, int]:
    length, offset = decode_compact(data, offset)
    end = _take(data, offset, length)
    return bytes(data[offset:end]), end


class Registry:
    """The decoders of a runtime's portable type registry, built on first use per type.

    `types` is the registry as substrate-interface shows it
    (``metadata.portable_registry.value["types"]``): ``{"id": n, "type": {"def": ...}}``.
    """

    def __init__(self, types: Sequence[Mapping[str, Any]]) -> None:
        self._defs: dict[int, Mapping[str, Any]] = {int(t["id"]): t["type"] for t in types}
        self._decoders: dict[int, Decoder] = {}

    def decode(self, type_id: int, data: bytes) -> Any:
        """The value of type `type_id` that `data` holds, all of it."""
        value, end = self.decoder(type_id)(data, 0)
        if end != len(data):
            raise CodecError(f"{len(data) - end} bytes left over after type {type_id}")
        return value

    def decoder(self, type_id: int) -> Decoder:
        decoder = self._decoders.get(type_id)
        if decoder is None:
            # Recursive types refer to themselves: resolve through the table at call time.
            self._decoders[type_id] = lambda data, offset: self._decoders[type_id](data, offset)
            decoder = self._build(type_id)
            self._decoders[type_id] = decoder
        return decoder

    def _is_u8(self, type_id: int) -> bool:
        definition = self._defs[type_id]["def"]
        return definition.get("primitive") == "u8"

    def _build(self, type_id: int) -> Decoder:
        try:
            definition = self._defs[type_id]["def"]
        except KeyError:
            raise CodecError(f"type {type_id} is not in the registry") from None
        path = list(self._defs[type_id].get("path") or [])
        ((kind, body),) = definition.items()
        if kind == "primitive":
            return self._primitive(str(body))
        if kind == "compact":
            return decode_compact
        if kind == "sequence":
            if self._is_u8(body["type"]):
                return _byte_sequence
            return self._sequence(self.decoder(body["type"]))
        if kind == "array":
            return self._array(int(body["len"]), body["type"])
        if kind == "tuple":
            return self._tuple([self.decoder(t) for t in body])
        if kind == "composite":
            return self._composite(body["fields"])
        if kind == "variant":
            if path == ["Option"]:
                return self._option(body["variants"])
            return self._variant(body["variants"])
        raise CodecError(f"type {type_id} ({kind}) is not supported")

    @staticmethod
    def _primitive(name: str) -> Decoder:
        if name in _INTS:
            return _int(*_INTS[name])
        if name == "bool":
            return _bool
        if name == "str":
            return _str
        if name == "char":
            return _int(4, False)
        raise CodecError(f"primitive {name} is not supported")

    @staticmethod
    def _sequence(item: Decoder) -> Decoder:
        def decode(data: bytes, offset: int) -> tuple[list[Any], int]:
            length, offset = decode_compact(data, offset)
            out = []
            for _ in range(length):
                value, offset = item(data, offset)
                out.append(value)
            return out, offset

        return decode

    def _array(self, length: int, item_type: int) -> Decoder:
        if self._is_u8(item_type):

            def decode_bytes(data: bytes, offset: int) -> tuple[bytes, int]:
                end = _take(data, offset, length)
                return bytes(data[offset:end]), end

            return decode_bytes
        item = self.decoder(item_type)

        def decode(data: bytes, offset: int) -> tuple[list[Any], int]:
            out = []
            for _ in range(length):
                value, offset = item(data, offset)
                out.append(value)
            return out, offset

        return decode

    @staticmethod
    def _tuple(items: list[Decoder]) -> Decoder:
        def decode(data: bytes, offset: int) -> tuple[tuple[Any, ...], int]:
            out = []
            for item in items:
                value, offset = item(data, offset)
                out.append(value)
            return tuple(out), offset

        return decode

    def _fields(self, fields: Sequence[Mapping[str, Any]]) -> Decoder:
        """A composite's (or a variant's) fields: a dict when named, the value when there is
        one unnamed field, a tuple of several unnamed ones."""
        decoders = [self.decoder(f["type"]) for f in fields]
        names = [f.get("name") for f in fields]
        if len(fields) == 1 and names[0] is None:
            return decoders[0]
        if any(name is None for name in names):
            return self._tuple(decoders)
        named = [(str(name), item) for name, item in zip(names, decoders, strict=True)]

        def decode(data: bytes, offset: int) -> tuple[dict[str, Any], int]:
            out: dict[str, Any] = {}
            for name, item in named:
                out[name], offset = item(data, offset)
            return out, offset

        return decode

    def _composite(self, fields: Sequence[Mapping[str, Any]]) -> Decoder:
        if not fields:
            return lambda data, offset: (None, offset)
        return self._fields(fields)

    def _variant(self, variants: Sequence[Mapping[str, Any]]) -> Decoder:
        table: dict[int, tuple[str, Decoder | None]] = {}
        for v in variants:
            table[int(v["index"])] = (
                str(v["name"]),
                self._fields(v["fields"]) if v["fields"] else None,
            )

        def decode(data: bytes, offset: int) -> tuple[Any, int]:
            _take(data, offset, 1)
            try:
                name, fields = table[data[offset]]
            except KeyError:
                raise CodecError(f"no variant {data[offset]} at offset {offset}") from None
            if fields is None:
                return name, offset + 1
            value, offset = fields(data, offset + 1)
            return {name: value}, offset

        return decode

    def _option(self, variants: Sequence[Mapping[str, Any]]) -> Decoder:
        (some,) = [v for v in variants if v["name"] == "Some"]
        inner = self.decoder(some["fields"][0]["type"])

        def decode(data: bytes, offset: int) -> tuple[Any, int]:
            _take(data, offset, 1)
            tag = data[offset]
            if tag == 0:
                return None, offset + 1
            if tag != 1:
                raise CodecError(f"an Option is 0 or 1, got {tag} at offset {offset}")
            return inner(data, offset + 1)

        return decode
