"""The polkadot.js JSON keystore format: what polkadot.js writes, what we write, what we refuse."""

from __future__ import annotations

import base64
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
import sr25519
from nacl.secret import SecretBox
from substrateinterface import Keypair

from decentralml.accounts import _format, keypair_from_uri
from decentralml.errors import KeystoreFormatError, WrongPassword

DATA = Path(__file__).parent / "data"
# tests/unit/data/polkadotjs-keystore.json: written by @polkadot/keyring 14.0.3,
# `keyring.addFromUri(VECTOR_URI).toJson(VECTOR_PASSWORD)` (scrypt N = 2**17).
VECTOR_URI = (
    "legal winner thank year wave sausage worth useful legal winner thank yellow//hard/soft"
)
VECTOR_PASSWORD = "correct horse"
VECTOR_ADDRESS = "5EErfH2p8CS2q2vBe3pmkrM4RSiNVgwXij1hzJtjUgGuCyqB"
FAST_SCRYPT = (1 << 15, 1, 8)  # allowed by polkadot.js; a quarter of the default's cost


@pytest.fixture
def fast_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_format, "SCRYPT_PARAMS", FAST_SCRYPT)


def vector() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((DATA / "polkadotjs-keystore.json").read_text())
    return loaded


def craft(plaintext: bytes, password: str, *, params: tuple[int, int, int] = FAST_SCRYPT) -> str:
    """An `encoded` field around `plaintext`, laid out as polkadot.js lays it out."""
    n, p, r = params
    salt = os.urandom(32)
    key = _format._scrypt_key(password, salt, n, p, r)
    nonce = os.urandom(24)
    box = SecretBox(key).encrypt(plaintext, nonce).ciphertext
    header = salt + b"".join(v.to_bytes(4, "little") for v in params)
    return base64.b64encode(header + nonce + box).decode()


def test_reads_what_polkadot_js_14_writes() -> None:
    """The vector uses scrypt N = 2**17, which substrate-interface 1.8.1 cannot read."""
    keypair = _format.decrypt(vector(), VECTOR_PASSWORD)
    assert keypair.ss58_address == VECTOR_ADDRESS
    assert keypair.public_key == keypair_from_uri(VECTOR_URI).public_key
    message = b"decentralml"
    assert keypair_from_uri(VECTOR_URI).verify(message, keypair.sign(message))


def test_substrate_interface_cannot_read_it() -> None:
    """The gap this module closes (if the library ever fixes it, this test says so)."""
    with pytest.raises(Exception, match="Memory limit"):
        Keypair.create_from_encrypted_json(vector(), VECTOR_PASSWORD)


def test_wrong_password_is_one_clear_error() -> None:
    with pytest.raises(WrongPassword) as err:
        _format.decrypt(vector(), "horse battery")
    assert err.value.message == "wrong password: it does not unlock the keystore"
    assert "horse" not in err.value.message


def test_writes_the_polkadot_js_document() -> None:
    before = int(time.time() * 1000)
    document = _format.encrypt(keypair_from_uri("//Alice"), "pw", meta={"name": "alice"})
    assert set(document) == {"encoded", "encoding", "address", "meta"}
    assert document["encoding"] == {
        "content": ["pkcs8", "sr25519"],
        "type": ["scrypt", "xsalsa20-poly1305"],
        "version": "3",
    }
    assert document["address"] == "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
    assert document["meta"]["name"] == "alice"
    # milliseconds, as polkadot.js (substrate-interface writes seconds)
    assert before <= document["meta"]["whenCreated"] <= int(time.time() * 1000)
    raw = base64.b64decode(document["encoded"])
    n, p, r = (int.from_bytes(raw[32 + 4 * i : 36 + 4 * i], "little") for i in range(3))
    assert (n, p, r) == (1 << 17, 1, 8)  # polkadot.js DEFAULT_PARAMS
    assert _format.decrypt(document, "pw").ss58_address == document["address"]


def test_substrate_interface_reads_ours_and_we_read_its(fast_scrypt: None) -> None:
    keypair = keypair_from_uri("//Bob")
    ours = _format.encrypt(keypair, "pw")
    assert Keypair.create_from_encrypted_json(ours, "pw").public_key == keypair.public_key
    theirs = keypair.export_to_encrypted_json("pw2", name="bob")
    assert _format.decrypt(theirs, "pw2").private_key == keypair.private_key


def test_hex_encoded_and_seed_only_files_are_read() -> None:
    """polkadot.js reads hex `encoded` values and old PKCS#8 bodies holding a 32-byte seed."""
    seed = bytes(range(32))
    public, _ = sr25519.pair_from_seed(seed)
    plaintext = _format.PKCS8_HEADER + seed + _format.PKCS8_DIVIDER + public
    encoded = base64.b64decode(craft(plaintext, "pw"))
    document = {
        **vector(),
        "encoded": "0x" + encoded.hex(),
        "address": keypair_from_uri("0x" + seed.hex()).ss58_address,
    }
    assert _format.decrypt(document, "pw").public_key == public


def test_unlisted_scrypt_parameters_are_refused_before_hashing() -> None:
    """A file cannot make us spend unbounded memory: polkadot.js's list only."""
    raw = bytearray(base64.b64decode(vector()["encoded"]))
    raw[32:36] = (1 << 24).to_bytes(4, "little")
    document = {**vector(), "encoded": base64.b64encode(bytes(raw)).decode()}
    started = time.monotonic()
    with pytest.raises(KeystoreFormatError, match="scrypt parameters N=16777216"):
        _format.decrypt(document, VECTOR_PASSWORD)
    assert time.monotonic() - started < 1


def test_a_key_that_does_not_match_its_address_is_refused() -> None:
    document = {**vector(), "address": "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"}
    with pytest.raises(KeystoreFormatError, match="does not match its address"):
        _format.decrypt(document, VECTOR_PASSWORD)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"encoding": {"content": ["pkcs8", "ed25519"], "type": ["scrypt"], "version": "3"}},
         "only sr25519"),
        ({"encoding": {"content": ["pkcs8", "sr25519"], "type": ["none"], "version": "3"}},
         "not encrypted"),
        ({"encoding": {"content": ["pkcs8", "sr25519"], "type": ["scrypt"], "version": "2"}},
         "unsupported keystore encoding"),
        ({"encoded": 7}, "not a polkadot.js JSON keystore"),
        ({"address": "not-an-address"}, "not an SS58 address"),
        ({"encoded": "***"}, "neither base64 nor hex"),
    ],
)  # fmt: skip
def test_other_documents_are_refused_with_the_reason(change: dict[str, Any], message: str) -> None:
    with pytest.raises(KeystoreFormatError, match=message):
        _format.decrypt({**vector(), **change}, VECTOR_PASSWORD)


def test_not_an_object_is_refused() -> None:
    with pytest.raises(KeystoreFormatError, match="expected a JSON object"):
        _format.check_document(["encoded"])
