"""Named keystores: one polkadot.js JSON file per account, private to the user.

Files live in ``<data dir>/accounts/<name>.json`` (the data directory honours
``DECENTRALML_DATA_DIR``, as the devnet's does). The directory is 0700 and every file 0600;
a file is written to a temporary sibling, synced, then linked or renamed into place, so a
reader never sees half a keystore and a name is never replaced unless asked.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from substrateinterface import Keypair
from substrateinterface.utils.ss58 import is_valid_ss58_address, ss58_decode, ss58_encode

from decentralml.accounts import _format
from decentralml.accounts._password import PasswordSource, new_password
from decentralml.config import data_dir
from decentralml.errors import (
    AccountError,
    KeystoreExists,
    KeystoreFormatError,
    KeystoreNotFound,
)

NAME_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$")
NAME_RULE = "letters, digits, '.', '_' and '-', at most 64, not starting with '.' or '-'"
SS58_FORMAT = 42


def keystore_dir() -> Path:
    """Where named keystores live: ``<data dir>/accounts``."""
    return data_dir() / "accounts"


def is_valid_name(name: str) -> bool:
    """Whether `name` can name a keystore (a file name that is no path and no address)."""
    return bool(NAME_PATTERN.match(name)) and not is_valid_ss58_address(name)


def check_name(name: str) -> str:
    """`name` if it is a valid keystore name; the message never repeats an invalid one."""
    if not NAME_PATTERN.match(name):
        raise AccountError(f"invalid account name: use {NAME_RULE}")
    if is_valid_ss58_address(name):
        raise AccountError("invalid account name: it reads as an SS58 address")
    return name


def write_private_file(path: Path, data: bytes, *, replace: bool) -> None:
    """Write `data` to `path` with mode 0600, atomically; refuse an existing file unless `replace`.

    Raises
    ------
    KeystoreExists
        `path` exists and `replace` is false.
    """
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), 0o600)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if replace:
            os.replace(tmp, path)
        else:
            _link_new(tmp, path)
        _sync_dir(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


def _link_new(tmp: Path, path: Path) -> None:
    """Give `tmp` the name `path` only if no such file exists (atomic where links exist)."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise KeystoreExists(f"{path} exists", hint="pass --force to replace it") from None
    except OSError:  # a filesystem without hard links: check, then rename
        if path.exists():
            raise KeystoreExists(f"{path} exists", hint="pass --force to replace it") from None
        os.rename(tmp, path)


def _sync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def read_keystore_file(path: Path) -> dict[str, Any]:
    """A polkadot.js JSON keystore read from `path` and checked (not decrypted)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise KeystoreFormatError(f"no such file: {path}") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise KeystoreFormatError(f"cannot read {path} as JSON: {exc}") from None
    _format.check_document(document)
    assert isinstance(document, dict)
    return document


def _created(meta: Any) -> str | None:
    """``meta.whenCreated`` as ISO 8601 UTC (polkadot.js writes ms; some tools seconds)."""
    when = meta.get("whenCreated") if isinstance(meta, dict) else None
    if not isinstance(when, (int, float)) or isinstance(when, bool) or when <= 0:
        return None
    seconds = when / 1000 if when > 10**11 else when
    try:
        moment = datetime.fromtimestamp(seconds, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class AccountEntry:
    """A stored account, as far as it can be read without its password."""

    name: str
    address: str | None
    path: Path
    created: str | None = None
    problem: str | None = None
    meta: dict[str, Any] = field(default_factory=dict, compare=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "address": self.address,
            "path": str(self.path),
            "created": self.created,
            "problem": self.problem,
        }


class Keystore:
    """The directory of named keystores.

    Parameters
    ----------
    directory:
        Where the files are; ``<data dir>/accounts`` by default.
    ss58_format:
        The address format used for the addresses this object returns.
    """

    def __init__(self, directory: Path | None = None, *, ss58_format: int = SS58_FORMAT) -> None:
        self.directory = directory if directory is not None else keystore_dir()
        self.ss58_format = ss58_format

    def path(self, name: str) -> Path:
        return self.directory / f"{check_name(name)}.json"

    def exists(self, name: str) -> bool:
        return is_valid_name(name) and self.path(name).is_file()

    def check_free(self, name: str, *, force: bool = False) -> None:
        """Refuse early (before asking any password) to store over an existing `name`."""
        if self.path(name).exists() and not force:
            raise KeystoreExists(
                f"an account named {name!r} exists",
                account=name,
                hint="choose another --name, or pass --force to replace it",
            )

    def _ensure_directory(self) -> None:
        self.directory.parent.mkdir(parents=True, exist_ok=True)
        self.directory.mkdir(mode=0o700, exist_ok=True)
        os.chmod(self.directory, 0o700)

    def document(self, name: str) -> dict[str, Any]:
        """The stored JSON of `name`, checked but not decrypted."""
        path = self.path(name)
        if not path.is_file():
            raise KeystoreNotFound(
                f"no account named {name!r}",
                account=name,
                hint="`decentralml account list` shows the stored names",
            )
        return read_keystore_file(path)

    def entry(self, name: str) -> AccountEntry:
        document = self.document(name)
        return self._entry(name, self.path(name), document)

    def _entry(self, name: str, path: Path, document: dict[str, Any]) -> AccountEntry:
        public = ss58_decode(document["address"])
        meta = document.get("meta") if isinstance(document.get("meta"), dict) else {}
        return AccountEntry(
            name=name,
            address=ss58_encode(public, self.ss58_format),
            path=path,
            created=_created(meta),
            meta=dict(meta or {}),
        )

    def entries(self) -> list[AccountEntry]:
        """Every stored account, sorted by name; unreadable files are listed with the problem."""
        if not self.directory.is_dir():
            return []
        result = []
        for path in sorted(self.directory.glob("*.json")):
            name = path.name[: -len(".json")]
            if not is_valid_name(name):
                continue
            try:
                result.append(self._entry(name, path, read_keystore_file(path)))
            except AccountError as exc:
                result.append(AccountEntry(name=name, address=None, path=path, problem=exc.message))
        return result

    def unlock(self, name: str, passwords: PasswordSource) -> Keypair:
        """The keypair stored as `name`, decrypted with a password from `passwords`.

        Raises
        ------
        KeystoreNotFound, WrongPassword, PasswordRequired, KeystoreFormatError
        """
        return self._unlock(name, passwords)[0]

    def _unlock(self, name: str, passwords: PasswordSource) -> tuple[Keypair, str]:
        document = self.document(name)
        password = passwords.get(f"account '{name}'", account=name)
        try:
            return _format.decrypt(document, password, ss58_format=self.ss58_format), password
        except AccountError as exc:
            exc.account = name
            raise

    def add(
        self,
        name: str,
        keypair: Keypair,
        password: str,
        *,
        force: bool = False,
        meta: dict[str, Any] | None = None,
    ) -> AccountEntry:
        """Store `keypair` as `name`, encrypted with `password`.

        Raises
        ------
        KeystoreExists
            `name` is taken and `force` is false.
        """
        path = self.path(name)
        self.check_free(name, force=force)
        meta = {**(meta or {}), "name": name}
        document = _format.encrypt(keypair, password, meta=meta, ss58_format=self.ss58_format)
        self._ensure_directory()
        try:
            write_private_file(path, _dumps(document), replace=force)
        except KeystoreExists as exc:
            exc.account = name
            raise
        return self._entry(name, path, document)

    def add_json(
        self, name: str, document: dict[str, Any], password: str, *, force: bool = False
    ) -> AccountEntry:
        """Store a polkadot.js JSON keystore as `name`, keeping its password and its meta."""
        keypair = _format.decrypt(document, password, ss58_format=self.ss58_format)
        meta = document.get("meta") if isinstance(document.get("meta"), dict) else {}
        return self.add(name, keypair, password, force=force, meta=dict(meta or {}))

    def export(
        self,
        name: str,
        dest: Path,
        passwords: PasswordSource,
        *,
        export_passwords: PasswordSource | None = None,
        force: bool = False,
    ) -> Path:
        """Write `name` to `dest` as a polkadot.js JSON keystore.

        The keystore is unlocked with a password from `passwords`; the file is encrypted
        with one from `export_passwords` (asked twice when prompted), or with the
        keystore's own password when that is None.
        """
        entry = self.entry(name)
        if dest.exists() and not force:
            raise KeystoreExists(f"{dest} exists", hint="pass --force to replace it")
        if not dest.parent.is_dir():
            raise AccountError(f"no such directory: {dest.parent}")
        keypair, password = self._unlock(name, passwords)
        if export_passwords is not None:
            password = new_password(export_passwords, f"the exported file {dest.name}")
        document = _format.encrypt(keypair, password, meta=entry.meta, ss58_format=self.ss58_format)
        write_private_file(dest, _dumps(document), replace=force)
        return dest

    def remove(self, name: str) -> AccountEntry:
        """Delete the keystore `name`; returns what it was."""
        path = self.path(name)
        try:
            entry = self.entry(name)
        except KeystoreFormatError as exc:
            entry = AccountEntry(name=name, address=None, path=path, problem=exc.message)
        path.unlink()
        _sync_dir(self.directory)
        return entry


def _dumps(document: dict[str, Any]) -> bytes:
    return (json.dumps(document, indent=2) + "\n").encode()
