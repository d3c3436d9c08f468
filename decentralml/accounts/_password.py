"""Where a keystore password comes from: a value, a file, an environment variable, a prompt."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from decentralml.errors import AccountError, PasswordRequired

PASSWORD_ENV = "DECENTRALML_PASSWORD"
PASSWORD_FILE_ENV = "DECENTRALML_PASSWORD_FILE"

# prompt(question, confirm) -> the password typed (hidden); confirm asks a second time.
Prompt = Callable[[str, bool], str]


def read_password_file(path: Path) -> str:
    """The first line of `path`, without its line ending.

    Raises
    ------
    AccountError
        When the file cannot be read (the message names the file, never its content).
    """
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            line = fh.readline()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "unreadable"
        raise AccountError(f"cannot read password file {path}: {reason}") from None
    return line.rstrip("\r\n")


@dataclass(frozen=True)
class PasswordSource:
    """How to obtain a keystore password, tried in this order.

    Parameters
    ----------
    value:
        A password given by the caller (library use).
    file:
        A file whose first line is the password (``--password-file``).
    env:
        The environment variable holding the password (``DECENTRALML_PASSWORD``); the
        variable named by `file_env` may name a password file instead.
    prompt:
        Asks the user (hidden input); None where nobody can answer (``--json``, no terminal).
    """

    value: str | None = None
    file: Path | None = None
    env: str | None = PASSWORD_ENV
    file_env: str | None = PASSWORD_FILE_ENV
    prompt: Prompt | None = None
    environ: Mapping[str, str] | None = None

    def given(self) -> str | None:
        """The password if one was given without asking, else None."""
        environ = os.environ if self.environ is None else self.environ
        if self.value is not None:
            return self.value
        if self.file is not None:
            return read_password_file(self.file)
        if self.env and self.env in environ:
            return environ[self.env]
        if self.file_env and environ.get(self.file_env):
            return read_password_file(Path(environ[self.file_env]))
        return None

    def get(self, purpose: str, *, confirm: bool = False, account: str | None = None) -> str:
        """The password for `purpose` (e.g. "keystore 'alice'"), asking if nothing was given.

        Raises
        ------
        PasswordRequired
            Nothing was given and no prompt is available.
        """
        password = self.given()
        if password is not None:
            return password
        if self.prompt is None:
            how = f"set {self.env}" if self.env else "pass the password"
            raise PasswordRequired(
                f"a password is needed for {purpose}",
                account=account,
                hint=f"{how}, pass --password-file PATH, or run it in a terminal to be asked "
                "(--json never asks)",
            )
        return self.prompt(f"Password for {purpose}", confirm)


def new_password(source: PasswordSource, purpose: str, *, account: str | None = None) -> str:
    """A password for a keystore about to be written: asked twice, never empty."""
    password = source.get(purpose, confirm=True, account=account)
    if not password:
        raise AccountError("refusing an empty password for a keystore", account=account)
    return password
