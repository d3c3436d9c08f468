"""The account actions behind ``decentralml account new|import``: sources into keystores."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from decentralml.accounts._password import PasswordSource, new_password
from decentralml.accounts._store import AccountEntry, Keystore, read_keystore_file
from decentralml.accounts._uri import generate_mnemonic, is_dev_uri, keypair_from_uri, parse_path

DEV_KEY_WARNING = (
    "dev keys are public: anyone can sign with a key derived from the dev phrase "
    "(//Alice, //Bob, ...); use them only on a dev chain"
)


@dataclass(frozen=True)
class NewAccount:
    """A freshly generated account: where it is stored, and its mnemonic (shown once)."""

    entry: AccountEntry
    mnemonic: str
    derivation_path: str | None


@dataclass(frozen=True)
class ImportedAccount:
    """An account stored from another source, and what the user should know about it."""

    entry: AccountEntry
    source: str
    warnings: tuple[str, ...] = ()


def new_account(
    name: str,
    passwords: PasswordSource,
    *,
    words: int = 12,
    derivation_path: str | None = None,
    force: bool = False,
    keystore: Keystore | None = None,
) -> NewAccount:
    """Generate a mnemonic, derive `derivation_path` from it, and store the key as `name`.

    The password is asked twice when it is prompted for, and may not be empty.
    """
    store = keystore or Keystore()
    store.check_free(name, force=force)
    if derivation_path:
        parse_path(derivation_path)
    mnemonic = generate_mnemonic(words)
    keypair = keypair_from_uri(mnemonic + (derivation_path or ""), ss58_format=store.ss58_format)
    password = new_password(passwords, f"the new account '{name}'", account=name)
    entry = store.add(name, keypair, password, force=force)
    return NewAccount(entry=entry, mnemonic=mnemonic, derivation_path=derivation_path or None)


def import_uri(
    name: str,
    uri: str,
    passwords: PasswordSource,
    *,
    derivation_path: str | None = None,
    force: bool = False,
    keystore: Keystore | None = None,
) -> ImportedAccount:
    """Store the key of a mnemonic, ``0x`` seed or dev URI (plus `derivation_path`) as `name`."""
    store = keystore or Keystore()
    store.check_free(name, force=force)
    text = uri.strip() + (derivation_path or "")
    keypair = keypair_from_uri(text, ss58_format=store.ss58_format)
    warnings: tuple[str, ...] = ()
    if is_dev_uri(text):
        source, warnings = "dev", (DEV_KEY_WARNING,)
    elif text.startswith("0x"):
        source = "seed"
    else:
        source = "mnemonic"
    password = new_password(passwords, f"the new account '{name}'", account=name)
    entry = store.add(name, keypair, password, force=force)
    return ImportedAccount(entry=entry, source=source, warnings=warnings)


def import_json(
    name: str,
    file: Path,
    passwords: PasswordSource,
    *,
    force: bool = False,
    keystore: Keystore | None = None,
) -> ImportedAccount:
    """Store a polkadot.js JSON keystore file as `name`; it keeps the file's password."""
    store = keystore or Keystore()
    store.check_free(name, force=force)
    document = read_keystore_file(file)
    password = passwords.get(f"the keystore file {file.name}", account=name)
    entry = store.add_json(name, document, password, force=force)
    return ImportedAccount(entry=entry, source="json")
