"""The polkadot.js JSON keystore: an sr25519 pair in PKCS#8, scrypt + xsalsa20-poly1305.

The document, as `@polkadot/keyring` writes it with ``pair.toJson(password)``::

    {"encoded": "<base64: salt(32) N p r (u32 LE each) nonce(24) ciphertext>",
     "encoding": {"content": ["pkcs8", "sr25519"],
                  "type": ["scrypt", "xsalsa20-poly1305"], "version": "3"},
     "address": "<SS58>",
     "meta": {"name": "...", "whenCreated": <milliseconds>, ...}}

The plaintext is ``PKCS8_HEADER + secret(64) + PKCS8_DIVIDER + public(32)`` with the secret
in the "ed25519-expanded" form polkadot.js uses (older files hold a 32-byte seed instead).

substrate-interface 1.8.1 implements this format in `Keypair.create_from_encrypted_json` and
`export_to_encrypted_json`, with gaps against polkadot.js 14 that this module closes:

- it cannot read what polkadot.js writes today: scrypt N = 2**17 needs 128 MiB and the
  library caps scrypt at 64 MiB (``nacl ValueError: Memory limit would be exceeded``);
- it accepts any scrypt parameters a file declares, where polkadot.js accepts only a fixed
  list (a file is not a way to make us spend unbounded memory or time);
- it reads neither hex ``encoded`` values nor old files holding a 32-byte seed, and checks
  the public key with ``assert`` (skipped under ``python -O``);
- it writes scrypt N = 2**15 (polkadot.js's old default, still accepted) and
  ``whenCreated`` in seconds where polkadot.js uses milliseconds.
"""

from __future__ import annotations

import base64
import binascii
import copy
import os
import time
from typing import Any

import sr25519
from nacl.exceptions import CryptoError
from nacl.hashlib import scrypt
from nacl.secret import SecretBox
from substrateinterface import Keypair, KeypairType
from substrateinterface.utils.ss58 import ss58_decode, ss58_encode

from decentralml.errors import KeystoreFormatError, WrongPassword

ENCODING: dict[str, Any] = {
    "content": ["pkcs8", "sr25519"],
    "type": ["scrypt", "xsalsa20-poly1305"],
    "version": "3",
}
PKCS8_HEADER = bytes([48, 83, 2, 1, 1, 48, 5, 6, 3, 43, 101, 112, 4, 34, 4, 32])
PKCS8_DIVIDER = bytes([161, 35, 3, 33, 0])
SALT_LENGTH = 32
NONCE_LENGTH = 24
SCRYPT_HEADER_LENGTH = SALT_LENGTH + 3 * 4
SECRET_LENGTH = 64
SEED_LENGTH = 32
PUBLIC_LENGTH = 32

# (N, p, r) as polkadot.js `ALLOWED_PARAMS` (util-crypto/scrypt/defaults.js); it refuses others.
ALLOWED_SCRYPT_PARAMS = frozenset(
    {(1 << 13, 10, 8), (1 << 14, 5, 8), (1 << 15, 3, 8), (1 << 15, 1, 8), (1 << 16, 2, 8)}
    | {(1 << 17, 1, 8)}
)
# polkadot.js `DEFAULT_PARAMS`: what it writes, and what we write.
SCRYPT_PARAMS = (1 << 17, 1, 8)


def _scrypt_key(password: str, salt: bytes, n: int, p: int, r: int) -> bytes:
    # scrypt needs 128 * r * N bytes (plus p blocks of 128 * r); leave room above that.
    maxmem = 128 * r * (n + p + 2) + (16 << 20)
    return bytes(scrypt(password.encode(), salt, n=n, r=r, p=p, dklen=32, maxmem=maxmem))


def encrypt(
    keypair: Keypair,
    password: str,
    *,
    meta: dict[str, Any] | None = None,
    ss58_format: int = 42,
) -> dict[str, Any]:
    """The polkadot.js JSON keystore of an sr25519 `keypair`, encrypted with `password`.

    `meta` is stored as given, with ``whenCreated`` (milliseconds, as polkadot.js) added
    when missing.
    """
    if keypair.crypto_type != KeypairType.SR25519 or not keypair.private_key:
        raise KeystoreFormatError("only sr25519 keypairs with a secret key can be stored")
    secret = bytes(sr25519.convert_secret_key_to_ed25519(keypair.private_key))
    plaintext = PKCS8_HEADER + secret + PKCS8_DIVIDER + bytes(keypair.public_key)
    n, p, r = SCRYPT_PARAMS
    salt = os.urandom(SALT_LENGTH)
    key = _scrypt_key(password, salt, n, p, r)
    nonce = os.urandom(NONCE_LENGTH)
    ciphertext = SecretBox(key).encrypt(plaintext, nonce).ciphertext
    header = salt + b"".join(v.to_bytes(4, "little") for v in (n, p, r))
    meta = dict(meta or {})
    meta.setdefault("whenCreated", int(time.time() * 1000))
    return {
        "encoded": base64.b64encode(header + nonce + ciphertext).decode(),
        "encoding": copy.deepcopy(ENCODING),
        "address": ss58_encode(keypair.public_key, ss58_format),
        "meta": meta,
    }


def check_document(document: Any) -> None:
    """Refuse, with the reason, anything but an encrypted sr25519 polkadot.js keystore."""
    if not isinstance(document, dict):
        raise KeystoreFormatError("not a polkadot.js JSON keystore (expected a JSON object)")
    encoding = document.get("encoding")
    if not isinstance(encoding, dict) or not isinstance(document.get("encoded"), str):
        raise KeystoreFormatError("not a polkadot.js JSON keystore (no encoded/encoding)")
    version = encoding.get("version")
    content = encoding.get("content")
    types = encoding.get("type")
    types = types if isinstance(types, list) else [types]
    if version != "3" or not isinstance(content, list) or content[:1] != ["pkcs8"]:
        raise KeystoreFormatError(
            f"unsupported keystore encoding (version {version!r}, content {content!r})",
            hint="export the account again from a current polkadot.js",
        )
    if content[1:2] != ["sr25519"]:
        raise KeystoreFormatError(
            f"only sr25519 accounts are supported, this file holds {content[1:2] or 'no'} key",
        )
    if "xsalsa20-poly1305" not in types:
        raise KeystoreFormatError(
            "the keystore is not encrypted",
            hint="export it from polkadot.js with a password",
        )
    address = document.get("address")
    if not isinstance(address, str):
        raise KeystoreFormatError("the keystore has no address")
    try:
        ss58_decode(address)
    except ValueError as exc:
        raise KeystoreFormatError("the keystore's address is not an SS58 address") from exc


def _encoded_bytes(encoded: str) -> bytes:
    try:
        if encoded.startswith("0x"):
            return bytes.fromhex(encoded[2:])
        return base64.b64decode(encoded, validate=True)
    except (ValueError, binascii.Error) as exc:
        raise KeystoreFormatError("the keystore's encoded field is neither base64 nor hex") from exc


def _key(encrypted: bytes, password: str, types: list[Any]) -> tuple[bytes, bytes]:
    """The secretbox key and what follows the scrypt header."""
    if "scrypt" not in types:
        # polkadot.js pads a bare password with zeros at the end to 32 bytes.
        return password.encode()[:32].ljust(32, b"\x00"), encrypted
    if len(encrypted) < SCRYPT_HEADER_LENGTH:
        raise KeystoreFormatError("the keystore's encoded field is too short")
    salt = encrypted[:SALT_LENGTH]
    n, p, r = (
        int.from_bytes(encrypted[SALT_LENGTH + 4 * i : SALT_LENGTH + 4 * i + 4], "little")
        for i in range(3)
    )
    if (n, p, r) not in ALLOWED_SCRYPT_PARAMS:
        raise KeystoreFormatError(
            f"unsupported scrypt parameters N={n} p={p} r={r}",
            hint="polkadot.js refuses them too; export the account again",
        )
    return _scrypt_key(password, salt, n, p, r), encrypted[SCRYPT_HEADER_LENGTH:]


def _split_pkcs8(plaintext: bytes) -> tuple[bytes, bytes]:
    """(secret or seed, public key) from the decrypted PKCS#8 body."""
    if plaintext[: len(PKCS8_HEADER)] != PKCS8_HEADER:
        raise KeystoreFormatError("the keystore's PKCS#8 header is not the one polkadot.js writes")
    start = len(PKCS8_HEADER)
    for length in (SECRET_LENGTH, SEED_LENGTH):
        divider_at = start + length
        if plaintext[divider_at : divider_at + len(PKCS8_DIVIDER)] == PKCS8_DIVIDER:
            public_at = divider_at + len(PKCS8_DIVIDER)
            return plaintext[start:divider_at], plaintext[public_at : public_at + PUBLIC_LENGTH]
    raise KeystoreFormatError("the keystore's PKCS#8 body has no divider where expected")


def decrypt(document: dict[str, Any], password: str, *, ss58_format: int = 42) -> Keypair:
    """The sr25519 keypair in a polkadot.js JSON keystore.

    Raises
    ------
    WrongPassword
        The password does not decrypt the keystore.
    KeystoreFormatError
        The document is not a keystore we can read, or its key does not match its address.
    """
    check_document(document)
    types = document["encoding"]["type"]
    types = types if isinstance(types, list) else [types]
    encrypted = _encoded_bytes(document["encoded"])
    key, rest = _key(encrypted, password, types)
    if len(rest) <= NONCE_LENGTH:
        raise KeystoreFormatError("the keystore's encoded field is too short")
    try:
        plaintext = SecretBox(key).decrypt(rest[NONCE_LENGTH:], rest[:NONCE_LENGTH])
    except CryptoError:
        raise WrongPassword("wrong password: it does not unlock the keystore") from None
    secret, public = _split_pkcs8(plaintext)
    if len(secret) == SEED_LENGTH:
        derived_public, private = sr25519.pair_from_seed(secret)
    else:
        derived_public, private = sr25519.pair_from_ed25519_secret_key(secret)
    address_public = ss58_decode(document["address"])
    if bytes(derived_public) != public or public.hex() != address_public:
        raise KeystoreFormatError("the keystore's secret key does not match its address")
    return Keypair(
        public_key=public,
        private_key=bytes(private),
        ss58_format=ss58_format,
        crypto_type=KeypairType.SR25519,
    )
