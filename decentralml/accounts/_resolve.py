"""What an ``--account`` value names, and the keypair or address it stands for."""

from __future__ import annotations

import enum

from substrateinterface import Keypair
from substrateinterface.utils.ss58 import is_valid_ss58_address, ss58_decode, ss58_encode

from decentralml.accounts._password import PasswordSource
from decentralml.accounts._store import Keystore, is_valid_name
from decentralml.accounts._uri import is_dev_uri, keypair_from_uri
from decentralml.errors import AccountError, KeystoreNotFound, ReadOnlyAccount

SIGNING_KINDS = (
    "a keystore name (decentralml account list), a dev URI such as //Alice, or a mnemonic"
)


class AccountKind(enum.Enum):
    """The four kinds of ``--account`` value."""

    KEYSTORE = "keystore"
    DEV_URI = "dev"
    SECRET_URI = "mnemonic"
    ADDRESS = "address"

    @property
    def can_sign(self) -> bool:
        return self is not AccountKind.ADDRESS


def classify(text: str, *, keystore: Keystore | None = None) -> AccountKind:
    """Which kind of account `text` is.

    Dev URIs (``//Alice``) first, then SS58 addresses, then names of stored keystores,
    then mnemonics and ``0x`` seeds. A single word that names no keystore is an error
    rather than a guess: it is almost always a mistyped name.

    Raises
    ------
    KeystoreNotFound
        `text` is a name but no keystore has it.
    """
    text = text.strip()
    if is_dev_uri(text):
        return AccountKind.DEV_URI
    if is_valid_ss58_address(text):
        return AccountKind.ADDRESS
    store = keystore or Keystore()
    if is_valid_name(text):
        if store.exists(text):
            return AccountKind.KEYSTORE
        if not text.startswith("0x"):
            raise KeystoreNotFound(
                f"no account named {text!r}",
                account=text,
                hint="`decentralml account list` shows the stored names; --account also "
                "takes an SS58 address, a dev URI such as //Alice, or a mnemonic",
            )
    return AccountKind.SECRET_URI


def resolve_signer(
    text: str,
    passwords: PasswordSource | None = None,
    *,
    keystore: Keystore | None = None,
    ss58_format: int = 42,
) -> Keypair:
    """The keypair that signs for `text`: a keystore name, a dev URI or a mnemonic.

    Parameters
    ----------
    text:
        The ``--account`` value.
    passwords:
        Where a keystore's password comes from (default: ``DECENTRALML_PASSWORD`` or
        ``DECENTRALML_PASSWORD_FILE``, never a prompt).
    keystore:
        The keystore directory (default: the user's).

    Raises
    ------
    ReadOnlyAccount
        `text` is an address, which cannot sign.
    AccountError
        An unknown name, a wrong password, or a malformed URI or mnemonic.
    """
    store = keystore or Keystore(ss58_format=ss58_format)
    kind = classify(text, keystore=store)
    if kind is AccountKind.ADDRESS:
        address = text.strip()
        raise ReadOnlyAccount(
            f"{address} is an address: it can be read, not sign",
            account=address,
            hint=f"to sign, pass {SIGNING_KINDS}",
        )
    if kind is AccountKind.KEYSTORE:
        return store.unlock(text.strip(), passwords or PasswordSource())
    return keypair_from_uri(text, ss58_format=ss58_format)


def resolve_address(text: str, *, keystore: Keystore | None = None, ss58_format: int = 42) -> str:
    """The SS58 address (in `ss58_format`) that `text` names; never asks for a password.

    Raises
    ------
    AccountError
        An unknown name or a malformed URI, mnemonic or address.
    """
    store = keystore or Keystore(ss58_format=ss58_format)
    kind = classify(text, keystore=store)
    if kind is AccountKind.ADDRESS:
        return str(ss58_encode(ss58_decode(text.strip()), ss58_format))
    if kind is AccountKind.KEYSTORE:
        address = store.entry(text.strip()).address
        if address is None:  # pragma: no cover - entry() raises for unreadable files
            raise AccountError("the keystore has no address", account=text.strip())
        return str(ss58_encode(ss58_decode(address), ss58_format))
    return str(keypair_from_uri(text, ss58_format=ss58_format).ss58_address)
