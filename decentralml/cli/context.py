"""The CLI's context object and the common options every command takes."""

from __future__ import annotations

import functools
import json
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from decentralml.config import Settings, resolve_settings
from decentralml.errors import DecentralMLError, ServiceUnavailable

F = TypeVar("F", bound=Callable[..., Any])

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3

ProgressCallback = Callable[[int, int | None], None]

if TYPE_CHECKING:
    from substrateinterface import Keypair

    from decentralml.accounts import PasswordSource

ACCOUNT_KINDS = "a keystore name, a dev URI such as //Alice, a mnemonic or an SS58 address"


def stdin_is_interactive() -> bool:
    """Whether someone can answer a prompt (standard input is a terminal)."""
    return sys.stdin.isatty()


def _hidden_prompt(question: str, confirm: bool) -> str:
    answer = click.prompt(
        question,
        hide_input=True,
        confirmation_prompt=confirm,
        err=True,
        show_default=False,
    )
    return str(answer)


@dataclass
class AppContext:
    """What one command invocation works with: settings and consoles."""

    settings: Settings
    console: Console = field(default_factory=lambda: Console())
    err_console: Console = field(default_factory=lambda: Console(stderr=True))

    @property
    def json(self) -> bool:
        return self.settings.json

    def emit(
        self,
        schema: str,
        payload: dict[str, Any],
        render: Callable[[Console], None] | None = None,
    ) -> None:
        """Print the command's result: one JSON document, or human output."""
        if self.json:
            document = {"schema": schema, **payload}
            click.echo(json.dumps(document, sort_keys=False))
        elif render is not None:
            render(self.console)

    def info(self, message: str) -> None:
        """A human-facing note on stderr; silent under --json."""
        if not self.json:
            self.err_console.print(message)

    @property
    def can_prompt(self) -> bool:
        """Whether the command may ask the user something (never under --json)."""
        return not self.json and stdin_is_interactive()

    def passwords(self, password_file: Path | None = None, **kwargs: Any) -> PasswordSource:
        """Where keystore passwords come from: the file, the environment, else a prompt."""
        # Imported here: the accounts layer brings substrate-interface, which commands that
        # never touch an account (devnet, assets) should not pay for.
        from decentralml.accounts import PasswordSource

        prompt = _hidden_prompt if self.can_prompt else None
        return PasswordSource(file=password_file, prompt=prompt, **kwargs)

    def _account_text(self) -> str:
        account = self.settings.account
        if account is None or not account.strip():
            raise click.UsageError(
                f"no account given: pass --account ({ACCOUNT_KINDS}) or set DECENTRALML_ACCOUNT"
            )
        return account

    def signer(self, password_file: Path | None = None) -> Keypair:
        """The keypair that --account names; an SS58 address cannot sign (one clear error)."""
        from decentralml.accounts import Keystore, resolve_signer

        return resolve_signer(
            self._account_text(), self.passwords(password_file), keystore=Keystore()
        )

    def address(self) -> str:
        """The address --account names, for commands that only read; asks no password."""
        from decentralml.accounts import Keystore, resolve_address

        return resolve_address(self._account_text(), keystore=Keystore())

    def confirm(self, question: str) -> None:
        """Ask before a paid or destructive action, unless --yes or --json."""
        if self.settings.yes:
            return
        if self.json:
            raise click.UsageError(f"{question} Pass --yes to confirm when using --json.")
        if not stdin_is_interactive():
            raise click.UsageError(f"{question} Pass --yes to confirm non-interactively.")
        click.confirm(question, abort=True)

    @contextmanager
    def transfer_progress(self, description: str) -> Iterator[ProgressCallback]:
        """A byte progress bar on stderr; yields a `callback(done, total)`."""
        progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=self.err_console,
            transient=True,
            disable=not self.err_console.is_terminal,
        )
        task_id = progress.add_task(description, total=None)

        def update(done: int, total: int | None) -> None:
            progress.update(task_id, completed=done, total=total)

        with progress:
            yield update


def _error_document(exc: DecentralMLError) -> dict[str, Any]:
    detail: dict[str, Any] = {"type": type(exc).__name__, "message": exc.message}
    if exc.hint:
        detail["hint"] = exc.hint
    for attr in (
        "account",
        "address",
        "cid",
        "expected",
        "got",
        "entry",
        "reason",
        "pallet",
        "name",
        "tx_hash",
        "valid_until",
        "script",
        "status",
    ):
        value = getattr(exc, attr, None)
        if value is not None:
            detail[attr] = value
    return {"schema": "decentralml.error/v1", "error": detail}


class MappedError(click.ClickException):
    """A library error carried to click with the exit code it maps to."""

    def __init__(self, exc: DecentralMLError, *, as_json: bool) -> None:
        super().__init__(exc.message)
        self.exc = exc
        self.as_json = as_json
        self.exit_code = (  # type: ignore[misc]  # click declares it on the class
            EXIT_UNAVAILABLE if isinstance(exc, ServiceUnavailable) else EXIT_FAILURE
        )

    def show(self, file: Any = None) -> None:
        if self.as_json:
            click.echo(json.dumps(_error_document(self.exc)))
            return
        # soft_wrap: the terminal wraps long lines; rich would break them into several.
        console = Console(stderr=True, soft_wrap=True)
        console.print(f"[bold red]Error:[/] {escape(self.exc.message)}", highlight=False)
        if self.exc.hint:
            console.print(f"[dim]Hint:[/] {escape(self.exc.hint)}", highlight=False)


def password_file_option(func: F) -> F:
    """``--password-file PATH``: a keystore's password is the first line of PATH."""
    return click.option(
        "--password-file",
        "password_file",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        metavar="PATH",
        help="Read the keystore password from the first line of PATH "
        "[env DECENTRALML_PASSWORD, DECENTRALML_PASSWORD_FILE; default: ask].",
    )(func)


def chain_timeout_option(func: F) -> F:
    """``--timeout SECONDS``: how long any one answer from the chain may take."""
    return click.option(
        "--timeout",
        type=click.FloatRange(min=0.1),
        default=None,
        metavar="SECONDS",
        help="How long to wait for each answer from the chain before giving up (exit 3) "
        "[env DECENTRALML_CHAIN_TIMEOUT, config chain_timeout; default 30].",
    )(func)


def key_value_table(title: str, rows: list[tuple[str, str]]) -> Table:
    """Two columns, a bold key and its value (folded when long), under `title`."""
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for key, value in rows:
        table.add_row(key, value)
    return table


def common_options(func: F) -> F:
    """Add --json, --yes, --account, --url and --ipfs-api and pass an `AppContext` first.

    Options that a command does not use are accepted and ignored, so scripts can pass the
    same set to every command. Library errors become exit code 1, or 3 for an unreachable
    service.
    """

    @click.option(
        "--ipfs-api",
        "ipfs_api",
        metavar="URL",
        help="IPFS daemon RPC API [env DECENTRALML_IPFS_API; default the devnet's].",
    )
    @click.option(
        "--url",
        metavar="URL",
        help="Chain RPC endpoint [env DECENTRALML_URL; default the devnet's].",
    )
    @click.option(
        "--account",
        metavar="ACCOUNT",
        help="Account: keystore name, dev URI (//Alice), mnemonic, or an SS58 address "
        "for commands that only read [env DECENTRALML_ACCOUNT].",
    )
    @click.option("--yes", "-y", is_flag=True, default=None, help="Do not ask for confirmation.")
    @click.option(
        "--json",
        "as_json",
        is_flag=True,
        default=None,
        help="Print one JSON document on stdout; never prompt [env DECENTRALML_JSON].",
    )
    @functools.wraps(func)
    def wrapper(
        *args: Any,
        as_json: bool | None,
        yes: bool | None,
        account: str | None,
        url: str | None,
        ipfs_api: str | None,
        **kwargs: Any,
    ) -> Any:
        try:
            settings = resolve_settings(
                {"json": as_json, "yes": yes, "account": account, "url": url, "ipfs_api": ipfs_api}
            )
        except DecentralMLError as exc:
            raise MappedError(exc, as_json=bool(as_json)) from exc
        app = AppContext(settings=settings)
        try:
            return func(app, *args, **kwargs)
        except DecentralMLError as exc:
            raise MappedError(exc, as_json=settings.json) from exc

    return wrapper  # type: ignore[return-value]


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Let SIGTERM unwind like Ctrl-C (a KeyboardInterrupt), so `finally` blocks run.

    Python's default for SIGTERM is to die on the spot, skipping every `finally`: temporary
    files would stay, and a sandboxed kit's container would run on.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_term(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
