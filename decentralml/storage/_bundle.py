"""Deterministic bundle archives: the same directory always gives the same bytes.

A bundle is an uncompressed POSIX tar archive (PAX format, so long and non-ASCII names are
kept exactly). Entries are sorted depth-first by name (UTF-8 byte order); every entry has
mtime 0, uid/gid 0 and empty owner names; directories are 0755, files 0644 or, when any
execute bit is set, 0755. Nothing else about the source tree (timestamps, owners, umask,
directory order, hard links between files) reaches the archive.

The archive is produced as a stream of chunks and its exact size is known before the first
byte, so it can be hashed and uploaded in one pass without a temporary file.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

from decentralml.errors import ContentTooLarge, StorageError
from decentralml.storage._types import (
    MIB,
    Limits,
    PackResult,
    ProgressCallback,
)

BLOCK = tarfile.BLOCKSIZE
RECORD = tarfile.RECORDSIZE
CHUNK = 1 * MIB
_FORMAT: Literal[2] = tarfile.PAX_FORMAT


@dataclass(frozen=True)
class _Entry:
    name: str
    path: str
    size: int
    header: bytes


def _header(name: str, *, is_dir: bool, size: int, executable: bool) -> bytes:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE if is_dir else tarfile.REGTYPE
    info.mode = 0o755 if (is_dir or executable) else 0o644
    info.size = 0 if is_dir else size
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info.tobuf(_FORMAT, "utf-8", "strict")


def _padding(size: int) -> int:
    return -size % BLOCK


def _checked_name(rel: str, path: str) -> str:
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        raise StorageError(
            f"file name is not valid UTF-8: {path!r}",
            hint="rename the file; bundle names must be UTF-8 to unpack the same everywhere",
        ) from None
    return rel


class Bundle:
    """A directory planned as a deterministic archive.

    Build one with `Bundle.from_directory`; `size` is the exact archive size and
    `iter_bytes` yields the archive. Files are read only while iterating.
    """

    def __init__(self, root: Path, entries: list[_Entry]) -> None:
        self.root = root
        self._entries = entries
        data = sum(len(e.header) + e.size + _padding(e.size) for e in entries)
        end = data + 2 * BLOCK
        self.size: int = end + (-end % RECORD)
        self.files: int = sum(1 for e in entries if not e.name.endswith("/"))
        self.directories: int = len(entries) - self.files

    @classmethod
    def from_directory(
        cls, directory: str | os.PathLike[str], *, limits: Limits | None = None
    ) -> Bundle:
        """Scan `directory` and plan its archive.

        Parameters
        ----------
        directory:
            The directory to pack; its contents become the archive's top level.
        limits:
            Bounds on entries and archive size (defaults: `Limits()`).

        Returns
        -------
        Bundle
            The plan, with its exact `size`.

        Raises
        ------
        StorageError
            The directory is missing, or holds a symbolic link, a device, a FIFO or a socket.
        ContentTooLarge
            The archive would exceed `limits.max_size` or `limits.max_entries`.
        """
        limits = limits or Limits()
        root = Path(directory)
        if not root.is_dir():
            raise StorageError(f"not a directory: {root}", hint="give the bundle's directory")
        entries: list[_Entry] = []
        total = 0
        stack: list[tuple[str, str]] = [(os.fspath(root), "")]
        while stack:
            dir_path, prefix = stack.pop()
            children = cls._sorted_children(dir_path)
            subdirs: list[tuple[str, str]] = []  # visited later; entries are sorted at the end
            for child_name in children:
                path = os.path.join(dir_path, child_name)
                rel = _checked_name(prefix + child_name, path)
                st = os.lstat(path)
                if stat.S_ISDIR(st.st_mode):
                    entry = _Entry(
                        rel + "/", path, 0, _header(rel, is_dir=True, size=0, executable=True)
                    )
                    subdirs.append((path, rel + "/"))
                elif stat.S_ISREG(st.st_mode):
                    executable = bool(st.st_mode & 0o111)
                    header = _header(rel, is_dir=False, size=st.st_size, executable=executable)
                    entry = _Entry(rel, path, st.st_size, header)
                elif stat.S_ISLNK(st.st_mode):
                    raise StorageError(
                        f"bundles cannot hold symbolic links: {path} -> {os.readlink(path)}",
                        hint="replace the link with a copy of the file or directory",
                    )
                else:
                    raise StorageError(
                        f"bundles hold only files and directories: {path} is a special file",
                        hint="remove devices, FIFOs and sockets from the bundle directory",
                    )
                entries.append(entry)
                total += len(entry.header) + entry.size + _padding(entry.size)
                if len(entries) > limits.max_entries:
                    raise ContentTooLarge(
                        f"{root} has more than {limits.max_entries} entries",
                        size=len(entries),
                        limit=limits.max_entries,
                    )
                if total > limits.max_size:
                    raise ContentTooLarge(
                        f"{root} packs to more than the {limits.max_size}-byte limit",
                        size=total,
                        limit=limits.max_size,
                    )
            stack.extend(subdirs)
        bundle = cls(root, _depth_first(entries))
        if bundle.size > limits.max_size:
            raise ContentTooLarge(
                f"{root} packs to {bundle.size} bytes, over the {limits.max_size}-byte limit",
                size=bundle.size,
                limit=limits.max_size,
            )
        return bundle

    @staticmethod
    def _sorted_children(dir_path: str) -> list[str]:
        try:
            with os.scandir(dir_path) as it:
                names = [e.name for e in it]
        except OSError as exc:
            raise StorageError(f"cannot read directory {dir_path}: {exc.strerror}") from exc
        return sorted(names, key=os.fsencode)

    def iter_bytes(self, *, progress: ProgressCallback | None = None) -> Iterator[bytes]:
        """Yield the archive in chunks of at most 1 MiB.

        Parameters
        ----------
        progress:
            Called with ``(bytes_yielded, size)`` after each chunk.

        Raises
        ------
        StorageError
            A file changed size or type since the directory was scanned.
        """
        done = 0
        for entry in self._entries:
            yield entry.header
            done += len(entry.header)
            if entry.size:
                for chunk in _read_exact(entry):
                    yield chunk
                    done += len(chunk)
                    if progress is not None:
                        progress(done, self.size)
                pad = _padding(entry.size)
                if pad:
                    yield b"\0" * pad
                    done += pad
        yield b"\0" * (self.size - done)
        if progress is not None:
            progress(self.size, self.size)


def _depth_first(entries: list[_Entry]) -> list[_Entry]:
    """Order entries so each directory's contents follow it, siblings by UTF-8 name."""

    def key(entry: _Entry) -> list[bytes]:
        return [part.encode("utf-8") for part in entry.name.rstrip("/").split("/")]

    return sorted(entries, key=key)


def _read_exact(entry: _Entry) -> Iterator[bytes]:
    changed = StorageError(
        f"{entry.path} changed while it was being packed",
        hint="do not modify the bundle directory while pushing it; try again",
    )
    try:
        fd = os.open(entry.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        raise changed from exc
    with os.fdopen(fd, "rb", buffering=0) as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode) or st.st_size != entry.size:
            raise changed
        remaining = entry.size
        while remaining:
            try:
                chunk = fh.read(min(CHUNK, remaining))
            except OSError as exc:
                raise StorageError(f"cannot read {entry.path}: {exc.strerror}") from exc
            if not chunk:
                raise changed
            remaining -= len(chunk)
            yield chunk
        if fh.read(1):
            raise changed


def pack_directory(
    directory: str | os.PathLike[str],
    out: str | os.PathLike[str] | BinaryIO,
    *,
    limits: Limits | None = None,
    progress: ProgressCallback | None = None,
) -> PackResult:
    """Write `directory` as a deterministic bundle archive.

    Parameters
    ----------
    directory:
        The directory to pack.
    out:
        A path to create (or overwrite), or a binary file object to write to.
    limits:
        Bounds on entries and archive size (defaults: `Limits()`).
    progress:
        Called with ``(bytes_written, size)`` while writing.

    Returns
    -------
    PackResult
        The archive's sha256, size and entry counts.
    """
    bundle = Bundle.from_directory(directory, limits=limits)
    digest = hashlib.sha256()
    if isinstance(out, (str, os.PathLike)):
        with open(out, "wb") as fh:
            _write(bundle, fh, digest, progress)
    else:
        _write(bundle, out, digest, progress)
    return PackResult(
        sha256=digest.hexdigest(),
        size=bundle.size,
        files=bundle.files,
        directories=bundle.directories,
    )


def _write(
    bundle: Bundle, fh: BinaryIO, digest: hashlib._Hash, progress: ProgressCallback | None
) -> None:
    for chunk in bundle.iter_bytes(progress=progress):
        digest.update(chunk)
        fh.write(chunk)
