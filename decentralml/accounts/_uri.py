"""Secret URIs as polkadot.js reads them: ``<mnemonic or 0x seed>[/soft][//hard][///password]``.

substrate-interface's `Keypair.create_from_uri` covers mnemonics and string junctions but
refuses a ``///password`` with an exception outside our error tree, reads ``0x`` junctions
as text and cannot take a hex seed. polkadot.js (`keyExtractSuri`, `DeriveJunction`,
`Keyring.createFromUri`) does all three, so the same URI gives the same account on both
sides; this module follows polkadot.js and uses the sr25519 primitives directly.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

import sr25519
from bip39 import bip39_generate, bip39_to_mini_secret, bip39_validate
from substrateinterface import Keypair, KeypairType

from decentralml.errors import AccountError

SS58_FORMAT = 42
# The well-known phrase behind //Alice, //Bob, ... (public: anyone can sign with these keys).
DEV_PHRASE = "bottom drive obey lake curtain smoke basket hold race lonely fit walk"
MNEMONIC_WORD_COUNTS = (12, 15, 18, 21, 24)

# polkadot.js: /^((0x[a-fA-F0-9]+|[\p{L}\d]+(?: [\p{L}\d]+)*))((\/\/?[^/]+)*)(\/\/\/(.*))?$/u
_SURI = re.compile(
    r"^(?P<phrase>0x[a-fA-F0-9]+|[^\W_]+(?: [^\W_]+)*)"
    r"(?P<path>(?://?[^/]+)*)"
    r"(?:///(?P<password>.*))?$",
    re.DOTALL,
)
_JUNCTION = re.compile(r"(//?)([^/]+)")
_HEX_SEED = re.compile(r"^0x[0-9a-fA-F]{64}$")
_JUNCTION_ID_LEN = 32
_BAD_URI_HINT = "use a dev URI such as //Alice, a 12-24 word mnemonic, or a 0x seed of 32 bytes"


@dataclass(frozen=True)
class Junction:
    """One step of a derivation path: a 32-byte chain code, hard (``//``) or soft (``/``)."""

    chain_code: bytes
    hard: bool


def is_dev_uri(text: str) -> bool:
    """Whether `text` derives from the public dev phrase (``//Alice``)."""
    stripped = text.strip()
    return stripped.startswith("//") or stripped.startswith(DEV_PHRASE)


def generate_mnemonic(words: int = 12) -> str:
    """A fresh English BIP-39 mnemonic of `words` words (12, 15, 18, 21 or 24)."""
    if words not in MNEMONIC_WORD_COUNTS:
        raise AccountError(f"a mnemonic has 12, 15, 18, 21 or 24 words, not {words}")
    return str(bip39_generate(words, "en"))


def parse_path(path: str) -> list[Junction]:
    """The junctions of a derivation path such as ``//hard/soft//0x00ff/7``.

    Raises
    ------
    AccountError
        When the text is not a sequence of ``/soft`` and ``//hard`` junctions.
    """
    junctions: list[Junction] = []
    rebuilt = ""
    for separator, value in _JUNCTION.findall(path):
        rebuilt += separator + value
        junctions.append(Junction(_chain_code(value), hard=separator == "//"))
    if rebuilt != path:
        raise AccountError(
            "not a derivation path", hint="write it as //hard/soft (for example //0//stash)"
        )
    return junctions


def _chain_code(value: str) -> bytes:
    """polkadot.js `DeriveJunction.from`: numbers, 0x bytes, or SCALE-encoded text."""
    if re.fullmatch(r"\d+", value):
        number = int(value)
        if number >= 1 << 256:
            raise AccountError("a numeric junction must fit in 256 bits")
        data = number.to_bytes(32, "little")
    elif value == "0x" or (re.fullmatch(r"0x[0-9a-fA-F]+", value) and len(value) % 2 == 0):
        data = bytes.fromhex(value[2:])
    else:
        text = value.encode()
        data = _compact_length(len(text)) + text
    if len(data) > _JUNCTION_ID_LEN:
        return hashlib.blake2b(data, digest_size=32).digest()
    return data.ljust(_JUNCTION_ID_LEN, b"\x00")


def _compact_length(n: int) -> bytes:
    """SCALE compact encoding of a length (the prefix polkadot.js `compactAddLength` adds)."""
    if n < 1 << 6:
        return bytes([n << 2])
    if n < 1 << 14:
        return ((n << 2) | 1).to_bytes(2, "little")
    if n < 1 << 30:
        return ((n << 2) | 2).to_bytes(4, "little")
    body = n.to_bytes((n.bit_length() + 7) // 8, "little")
    return bytes([((len(body) - 4) << 2) | 3]) + body


def derive(keypair: Keypair, junctions: list[Junction]) -> Keypair:
    """`keypair` derived along `junctions` (sr25519 hard and soft derivation)."""
    public, secret = keypair.public_key, keypair.private_key
    for junction in junctions:
        step = sr25519.hard_derive_keypair if junction.hard else sr25519.derive_keypair
        _, public, secret = step((junction.chain_code, public, secret), b"")
    return Keypair(
        public_key=public,
        private_key=secret,
        ss58_format=keypair.ss58_format,
        crypto_type=KeypairType.SR25519,
    )


def _seed(phrase: str, password: str | None) -> bytes:
    if _HEX_SEED.match(phrase):
        if password:
            raise AccountError("a ///password applies to a mnemonic, not to a hex seed")
        return bytes.fromhex(phrase[2:])
    if phrase.startswith("0x"):
        raise AccountError("a hex seed has 32 bytes (0x and 64 hex digits)", hint=_BAD_URI_HINT)
    words = phrase.split(" ")
    if len(words) not in MNEMONIC_WORD_COUNTS or not bip39_validate(phrase, "en"):
        raise AccountError("not a valid mnemonic", hint=_BAD_URI_HINT)
    return bytes(bip39_to_mini_secret(phrase, password or "", "en"))


def keypair_from_uri(uri: str, *, ss58_format: int = SS58_FORMAT) -> Keypair:
    """An sr25519 keypair from a dev URI (``//Alice``), a secret URI or a mnemonic.

    Parameters
    ----------
    uri:
        ``//Name`` derivation from the dev phrase, ``<mnemonic>//hard/soft``, a bare
        mnemonic, a ``0x`` seed of 32 bytes, each optionally followed by ``///password``
        (mnemonics only), read as polkadot.js's ``keyring.addFromUri`` reads it.
    ss58_format:
        The address format of the chain (42 for the dev chain).

    Raises
    ------
    AccountError
        When the text is neither a valid URI nor a valid mnemonic. The message never
        repeats the text, which may be a secret.
    """
    text = unicodedata.normalize("NFC", uri.strip())
    if not text:
        raise AccountError("empty account", hint="pass --account //Alice, a mnemonic or a name")
    if text.startswith("//"):
        text = DEV_PHRASE + text
    match = _SURI.match(text)
    if match is None:
        raise AccountError("not a valid account URI or mnemonic", hint=_BAD_URI_HINT)
    seed = _seed(match["phrase"], match["password"])
    public, secret = sr25519.pair_from_seed(seed)
    root = Keypair(
        public_key=public,
        private_key=secret,
        ss58_format=ss58_format,
        crypto_type=KeypairType.SR25519,
    )
    return derive(root, parse_path(match["path"]))
