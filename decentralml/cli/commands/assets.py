"""`decentralml assets`: push a directory as a bundle to IPFS, pull one back, verified."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from decentralml.cli.context import (
    AppContext,
    MappedError,
    common_options,
    key_value_table,
    sigterm_as_interrupt,
)
from decentralml.errors import StorageError
from decentralml.storage import GIB, IpfsStore, Limits

PUSH_SCHEMA = "decentralml.assets.push/v1"
PULL_SCHEMA = "decentralml.assets.pull/v1"

_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9, "gb": 10**9}
_UNITS.update({"kib": 2**10, "mib": 2**20, "gib": 2**30})
_SIZE_RE = re.compile(r"^\s*(\d+)\s*([a-zA-Z]*)\s*$")


class ByteSize(click.ParamType):
    """A byte count: ``1048576``, ``100MB``, ``2GiB``."""

    name = "bytes"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        match = _SIZE_RE.match(str(value))
        unit = match[2].lower() if match else ""
        if not match or unit not in _UNITS:
            self.fail(f"{value!r} is not a size (examples: 1048576, 100MB, 2GiB)", param, ctx)
        return int(match[1]) * _UNITS[unit]


class Sha256(click.ParamType):
    """64 hexadecimal digits."""

    name = "sha256"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value).strip().lower()
        if not re.fullmatch(r"[0-9a-f]{64}", text):
            self.fail(f"{value!r} is not a sha256 digest (64 hexadecimal digits)", param, ctx)
        return text


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit} ({size} B)"
        value /= 1024
    return f"{size} B"  # pragma: no cover


_timeout_option = click.option(
    "--timeout",
    type=click.FloatRange(min=0.1),
    default=None,
    metavar="SECONDS",
    help="How long to wait for the IPFS daemon to answer, and for the content to be found "
    "or to keep arriving [env DECENTRALML_IPFS_TIMEOUT, config ipfs_timeout; default 60].",
)


@contextmanager
def _interruptible(app: AppContext, message: str) -> Iterator[None]:
    """Ctrl-C or SIGTERM: temporary files are removed either way, and one error is shown."""
    try:
        with sigterm_as_interrupt():
            yield
    except KeyboardInterrupt:
        raise MappedError(
            StorageError(message),
            as_json=app.json,
        ) from None


_max_size_option = click.option(
    "--max-size",
    type=ByteSize(),
    default=2 * GIB,
    show_default="2GiB",
    help="Largest bundle accepted (archive bytes; also bounds the unpacked size).",
)


@click.group()
def assets() -> None:
    """Push and pull asset bundles (task and result directories) on IPFS."""


@assets.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@_timeout_option
@_max_size_option
@common_options
def push(app: AppContext, directory: Path, timeout: float | None, max_size: int) -> None:
    """Pack DIRECTORY into a deterministic bundle, add and pin it on IPFS.

    Prints the CID, sha256 and size that a task or result records on-chain. The same
    directory always gives the same three values.
    """
    limits = Limits(max_size=max_size, max_unpacked_size=max_size)
    seconds = app.settings.ipfs_timeout if timeout is None else timeout
    with (
        _interruptible(app, "push interrupted: the bundle may or may not be on the daemon"),
        IpfsStore(app.settings.ipfs_api, timeout=seconds, limits=limits) as store,
    ):
        with app.transfer_progress(f"Uploading {directory.name or directory}") as progress:
            ref = store.push(directory, progress=progress)
        api_url = store.api_url

    def render(console: Console) -> None:
        console.print(
            key_value_table(
                "Bundle pushed",
                [
                    ("CID", ref.cid),
                    ("sha256", ref.sha256),
                    ("size", _human(ref.size)),
                    ("directory", str(directory)),
                    ("IPFS API", api_url),
                ],
            )
        )
        console.print(
            f"Pull it with: decentralml assets pull {ref.cid} --sha256 {ref.sha256} "
            f"--size {ref.size} DEST",
            highlight=False,
            soft_wrap=True,
        )

    payload = {**ref.as_dict(), "directory": str(directory), "ipfs_api": api_url}
    app.emit(PUSH_SCHEMA, payload, render)


@assets.command()
@click.argument("cid")
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--sha256", "sha256", type=Sha256(), required=True, help="Expected sha256 of the bundle."
)
@click.option("--size", type=ByteSize(), default=None, help="Expected bundle size in bytes.")
@click.option("--force", is_flag=True, help="Unpack into DEST even if it is not empty.")
@_timeout_option
@_max_size_option
@common_options
def pull(
    app: AppContext,
    cid: str,
    dest: Path,
    sha256: str,
    size: int | None,
    force: bool,
    timeout: float | None,
    max_size: int,
) -> None:
    """Fetch the bundle CID, verify its sha256, and unpack it safely into DEST.

    Nothing is written to DEST unless the bytes match --sha256 and every archive entry is
    safe. A size over --size or --max-size is refused before fetching. Without --force,
    DEST must be missing or empty, and still be when the bundle is ready (a concurrent pull
    into the same DEST makes one of them fail). With --force, entries of the bundle replace
    those of the same name in DEST; if that fails part-way, DEST is put back as it was.
    """
    limits = Limits(max_size=max_size, max_unpacked_size=max_size)
    seconds = app.settings.ipfs_timeout if timeout is None else timeout
    with (
        _interruptible(app, f"pull interrupted: {dest} is as it was, temporary files removed"),
        IpfsStore(app.settings.ipfs_api, timeout=seconds, limits=limits) as store,
        app.transfer_progress(f"Downloading {cid[:16]}…") as progress,
    ):
        result = store.pull(cid, dest, sha256=sha256, size=size, force=force, progress=progress)

    def render(console: Console) -> None:
        console.print(
            key_value_table(
                "Bundle pulled and verified",
                [
                    ("CID", result.ref.cid),
                    ("sha256", f"{result.ref.sha256} (verified)"),
                    ("size", _human(result.ref.size)),
                    ("destination", str(result.dest)),
                    ("unpacked", f"{result.files} files, {result.directories} directories"),
                ],
            )
        )

    payload = {
        **result.ref.as_dict(),
        "dest": str(result.dest),
        "files": result.files,
        "directories": result.directories,
        "links": result.links,
        "unpacked_bytes": result.unpacked_bytes,
    }
    app.emit(PULL_SCHEMA, payload, render)
