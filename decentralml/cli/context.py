"""The CLI's context object and the common options every command takes."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from decentralml.config import Settings, resolve_settings
from decentralml.errors import DecentralMLError, ServiceUnavailable

F = TypeVar("F", bound=Callable[..., Any])

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3

ProgressCallback = Callable[[int, int | None], None]


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

    def confirm(self, question: str) -> None:
        """Ask before a paid or destructive action, unless --yes or --json."""
        if self.settings.yes:
            return
        if self.json:
            raise click.UsageError(f"{question} Pass --yes to confirm when using --json.")
        if not sys.stdin.isatty():
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
    for attr in ("address", "cid", "expected", "got", "entry", "reason", "pallet", "name"):
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
        console = Console(stderr=True)
        console.print(f"[bold red]Error:[/] {self.exc.message}", highlight=False)
        if self.exc.hint:
            console.print(f"[dim]Hint:[/] {self.exc.hint}", highlight=False)


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
        help="Signing account: dev URI, mnemonic or keystore name [env DECENTRALML_ACCOUNT].",
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
