"""Sealed submissions: the commitment matches the vector shared with the pallet's tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from decentralml.chain import commitment_preimage, new_salt, result_commitment
from decentralml.chain.sealed import COMMITMENT_DOMAIN, SALT_LEN

VECTOR = Path(__file__).parents[2] / "pallet/pallets/decentralml/test-vectors/commitment.json"


@pytest.fixture(scope="module")
def vector() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(VECTOR.read_text())
    return data


def inputs(vector: dict[str, Any]) -> dict[str, Any]:
    """The vector's inputs as the Python API takes them (raw bytes where bytes are meant)."""
    return {
        "task_id": vector["task_id"],
        "worker": bytes.fromhex(vector["worker"][2:]),
        "cid": vector["result"]["cid"],
        "sha256": bytes.fromhex(vector["result"]["sha256"][2:]),
        "size": vector["result"]["size"],
        "salt": bytes.fromhex(vector["salt"][2:]),
    }


def test_the_shared_vector_byte_for_byte(vector: dict[str, Any]) -> None:
    assert vector["domain"].encode() == COMMITMENT_DOMAIN
    preimage = commitment_preimage(**inputs(vector))
    assert "0x" + preimage.hex() == vector["preimage"]
    commitment = result_commitment(**inputs(vector))
    assert len(commitment) == 32
    assert "0x" + commitment.hex() == vector["commitment"]


def test_the_worker_as_ss58_and_the_rest_as_hex_give_the_same_commitment(
    vector: dict[str, Any],
) -> None:
    as_text = {
        "task_id": vector["task_id"],
        "worker": vector["worker_ss58"],
        "cid": vector["result"]["cid"].encode(),
        "sha256": vector["result"]["sha256"],
        "size": vector["result"]["size"],
        "salt": vector["salt"],
    }
    assert "0x" + result_commitment(**as_text).hex() == vector["commitment"]
    as_text["worker"] = vector["worker"]
    assert "0x" + result_commitment(**as_text).hex() == vector["commitment"]


def flip_last_byte(value: bytes) -> bytes:
    return value[:-1] + bytes([value[-1] ^ 1])


CHANGES = {
    "task_id": lambda v: v + 1,
    "worker": flip_last_byte,
    "cid": lambda v: v[:-1] + ("a" if v[-1] != "a" else "b"),
    "sha256": flip_last_byte,
    "size": lambda v: v + 1,
    "salt": flip_last_byte,
}


@pytest.mark.parametrize("field", sorted(CHANGES))
def test_changing_any_one_input_changes_the_commitment(vector: dict[str, Any], field: str) -> None:
    changed = inputs(vector)
    changed[field] = CHANGES[field](changed[field])
    assert result_commitment(**changed) != bytes.fromhex(vector["commitment"][2:])


def test_the_cid_length_prefix_is_compact() -> None:
    """A CID of 64 bytes or more takes a two-byte compact length (MaxCidLen is 128)."""
    worker, digest, salt = bytes(32), bytes(32), bytes(32)
    for length, prefix in ((63, bytes([63 << 2])), (64, (64 << 2 | 1).to_bytes(2, "little"))):
        preimage = commitment_preimage(0, worker, "b" * length, digest, 0, salt)
        offset = len(COMMITMENT_DOMAIN) + 4 + 32
        assert preimage[offset : offset + len(prefix)] == prefix
        assert len(preimage) == offset + len(prefix) + length + 32 + 8 + 32


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("task_id", -1, "task_id"),
        ("task_id", 2**32, "task_id"),
        ("size", 2**64, "size"),
        ("worker", bytes(31), "worker"),
        ("worker", "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQX", "SS58"),
        ("cid", "", "cid"),
        ("sha256", "0x1234", "sha256"),
        ("salt", "not hex", "salt"),
    ],
)
def test_bad_inputs_are_refused_by_name(
    vector: dict[str, Any], field: str, value: object, message: str
) -> None:
    bad = inputs(vector)
    bad[field] = value
    with pytest.raises(ValueError, match=message):
        result_commitment(**bad)


def test_salts_are_fresh_32_bytes() -> None:
    salts = {new_salt() for _ in range(100)}
    assert len(salts) == 100
    assert all(len(salt) == SALT_LEN == 32 for salt in salts)
