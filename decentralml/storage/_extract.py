"""Safe unpacking of bundle archives that strangers made, while their bytes stream in.

The archive is read once, front to back, from any `readinto`-style source (a download or a
file) through a `ByteSource` that hashes and counts every byte. Each entry is checked before
it is written: no absolute paths, no ``..``, no path through a symbolic link or a file,
links only to places inside the destination, no devices, FIFOs or other special entries, no
duplicates, and bounds on the entry count and the unpacked size. Entries are written into a
staging directory beside the destination (see `_staging`); symbolic links are created last,
after the archive's digest has been checked, and checked once more as the kernel resolves
them. Only then does the tree move into the destination. A refused or mismatching archive
leaves the destination as it was.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from decentralml.errors import ArchiveRefused, ContentTooLarge
from decentralml.storage._staging import Staging, check_destination
from decentralml.storage._types import MIB, Limits, UnpackResult

READ_BUFFER = 1 * MIB
MAX_EXTENDED_HEADER = 1 * MIB
_EXTENDED = (
    tarfile.XHDTYPE,
    tarfile.XGLTYPE,
    tarfile.SOLARIS_XHDTYPE,
    tarfile.GNUTYPE_LONGNAME,
    tarfile.GNUTYPE_LONGLINK,
)


def _refuse(entry: str, reason: str) -> ArchiveRefused:
    return ArchiveRefused(f"archive entry {entry!r} refused: {reason}", entry=entry, reason=reason)


def _parts(name: str, entry: str, what: str = "path") -> tuple[str, ...]:
    if "\0" in name:
        raise _refuse(entry, f"NUL byte in the {what}")
    if name.startswith("/"):
        raise _refuse(entry, f"absolute {what}")
    parts = tuple(p for p in name.split("/") if p not in ("", "."))
    if ".." in parts:
        raise _refuse(entry, f"parent directory reference (..) in the {what}")
    return parts


@dataclass
class _Plan:
    """The checked entries of an archive, in archive order."""

    dirs: set[tuple[str, ...]] = field(default_factory=set)
    files: dict[tuple[str, ...], tarfile.TarInfo] = field(default_factory=dict)
    links: dict[tuple[str, ...], tarfile.TarInfo] = field(default_factory=dict)
    unpacked: int = 0

    def check(self, member: tarfile.TarInfo, limits: Limits) -> None:
        entry = member.name
        parts = _parts(member.name, entry)
        if not parts:
            if member.isdir():
                return
            raise _refuse(entry, "empty name")
        self._check_place(parts, entry, member.isdir())
        if member.isdir():
            pass
        elif member.issparse():
            raise _refuse(entry, "sparse file")
        elif member.isreg():
            self.unpacked += member.size
            if self.unpacked > limits.max_unpacked_size:
                raise _refuse(
                    entry,
                    f"total unpacked size over the {limits.max_unpacked_size}-byte limit",
                )
            self.files[parts] = member
        elif member.issym():
            self._check_symlink(parts, member)
            self.links[parts] = member
        elif member.islnk():
            target = _parts(member.linkname, entry, "hard link target")
            if target not in self.files:
                raise _refuse(
                    entry,
                    f"hard link to {member.linkname!r}, which is not an earlier file "
                    "of the archive (it would point outside the destination)",
                )
            self.links[parts] = member
        elif member.ischr() or member.isblk():
            raise _refuse(entry, "device file")
        elif member.isfifo():
            raise _refuse(entry, "FIFO (named pipe)")
        else:
            raise _refuse(entry, f"unsupported entry type {member.type!r}")
        for i in range(1, len(parts) + (1 if member.isdir() else 0)):
            self.dirs.add(parts[:i])

    def _check_place(self, parts: tuple[str, ...], entry: str, is_dir: bool) -> None:
        for i in range(1, len(parts)):
            prefix = parts[:i]
            if prefix in self.links:
                raise _refuse(entry, f"path passes through the link {'/'.join(prefix)!r}")
            if prefix in self.files:
                raise _refuse(entry, f"path passes through the file {'/'.join(prefix)!r}")
        if parts in self.files or parts in self.links:
            raise _refuse(entry, "duplicate entry")
        if parts in self.dirs and not is_dir:
            raise _refuse(entry, "conflicts with a directory of the same name")

    @staticmethod
    def _check_symlink(parts: tuple[str, ...], member: tarfile.TarInfo) -> None:
        target = member.linkname
        if not target or "\0" in target:
            raise _refuse(member.name, "empty or invalid symbolic link target")
        if target.startswith("/"):
            raise _refuse(member.name, f"symbolic link to the absolute path {target!r}")
        resolved = posixpath.normpath(posixpath.join(*parts[:-1], target) if parts[:-1] else target)
        if resolved == ".." or resolved.startswith("../"):
            raise _refuse(
                member.name, f"symbolic link to {target!r} points outside the destination"
            )


class _BoundedTarInfo(tarfile.TarInfo):
    """A `TarInfo` that refuses oversized PAX or GNU long-name headers before reading them.

    `tarfile` reads such headers whole into memory; a crafted archive could otherwise make
    it allocate up to the archive's size.
    """

    def _proc_member(self, tar: tarfile.TarFile) -> tarfile.TarInfo:
        if self.type in _EXTENDED and self.size > MAX_EXTENDED_HEADER:
            raise _refuse(
                self.name,
                f"extended header of {self.size} bytes (limit {MAX_EXTENDED_HEADER})",
            )
        member: tarfile.TarInfo = super()._proc_member(tar)  # type: ignore[misc]
        return member


class ByteSource:
    """A forward-only byte stream that hashes and counts every byte passing through.

    `tarfile` reads headers through `read`, `seek` and `tell` (forward seeks only); file
    contents go straight from the buffer to the output file with `copy_to`, so each byte is
    copied once from the socket into the buffer and once into the page cache.

    Parameters
    ----------
    readinto:
        Fills a buffer with the next bytes and returns how many, 0 at the end.
    limit:
        Most bytes accepted; one more raises `ContentTooLarge`.
    what:
        What the bytes are, for messages (a CID or a file name).
    progress:
        Called with the running byte count after each read.
    """

    def __init__(
        self,
        readinto: Callable[[memoryview], int],
        *,
        limit: int | None = None,
        what: str = "the archive",
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self._readinto = readinto
        self._limit = limit
        self._what = what
        self._progress = progress
        self._buffer = memoryview(bytearray(READ_BUFFER))
        self._start = 0  # unread bytes are _buffer[_start:_end]
        self._end = 0
        self._offset = 0  # stream offset of _buffer[_start]
        self._digest = hashlib.sha256()
        self.received = 0
        self.finished = False

    def hexdigest(self) -> str:
        """The sha256 of every byte received so far."""
        return self._digest.hexdigest()

    def _fill(self) -> bool:
        """Refill the empty buffer; False at the end of the stream."""
        if self.finished:
            return False
        n = self._readinto(self._buffer)
        if not n:
            self.finished = True
            return False
        self._start, self._end = 0, n
        self.received += n
        if self._limit is not None and self.received > self._limit:
            raise ContentTooLarge(
                f"{self._what} sent more than the {self._limit} bytes allowed",
                size=self.received,
                limit=self._limit,
            )
        self._digest.update(self._buffer[:n])
        if self._progress is not None:
            self._progress(self.received)
        return True

    def tell(self) -> int:
        return self._offset

    def read(self, size: int = -1) -> bytes:
        parts: list[bytes] = []
        want = size if size >= 0 else -1
        while want != 0:
            if self._start == self._end and not self._fill():
                break
            take = self._end - self._start if want < 0 else min(want, self._end - self._start)
            parts.append(bytes(self._buffer[self._start : self._start + take]))
            self._start += take
            self._offset += take
            if want > 0:
                want -= take
        return b"".join(parts)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        target = offset if whence == os.SEEK_SET else self._offset + offset
        if whence not in (os.SEEK_SET, os.SEEK_CUR) or target < self._offset:
            raise OSError(f"cannot seek backwards in a stream (to {target})")
        self.skip(target - self._offset)
        return self._offset

    def skip(self, size: int) -> int:
        """Discard (but hash) `size` bytes; return how many there were."""
        left = size
        while left:
            if self._start == self._end and not self._fill():
                break
            take = min(left, self._end - self._start)
            self._start += take
            self._offset += take
            left -= take
        return size - left

    def drain(self) -> None:
        """Read (and hash) everything that is left."""
        while True:
            self._offset += self._end - self._start
            self._start = self._end
            if not self._fill():
                return

    def copy_to(self, fd: int, size: int) -> int:
        """Write the next `size` bytes to `fd`; return how many the stream had."""
        left = size
        while left:
            if self._start == self._end and not self._fill():
                break
            take = min(left, self._end - self._start)
            written = 0
            while written < take:
                written += os.write(fd, self._buffer[self._start + written : self._start + take])
            self._start += take
            self._offset += take
            left -= take
        return size - left


class _Writer:
    """Writes checked entries under `root`, a fresh directory nobody else writes to."""

    def __init__(self, root: Path, limits: Limits) -> None:
        self.root = root
        self.limits = limits
        self.plan = _Plan()
        self._made: set[tuple[str, ...]] = set()
        self._symlinks: list[tuple[tuple[str, ...], tarfile.TarInfo]] = []
        self.count = 0

    def add(self, member: tarfile.TarInfo, source: ByteSource) -> None:
        self.count += 1
        if self.count > self.limits.max_entries:
            raise _refuse(member.name, f"more than {self.limits.max_entries} entries")
        self.plan.check(member, self.limits)
        parts = _parts(member.name, member.name)
        if not parts:
            return
        self._make_dirs(parts if member.isdir() else parts[:-1])
        if member.isdir():
            return
        path = self.root.joinpath(*parts)
        if member.isreg():
            mode = 0o755 if member.mode & 0o111 else 0o644
            self._write_file(member, path, mode, source)
        elif member.issym():
            # Created after every file is written and the digest is checked, so nothing is
            # ever written through a link.
            self._symlinks.append((parts, member))
        else:
            target = self.root.joinpath(*_parts(member.linkname, member.name))
            os.link(target, path, follow_symlinks=False)

    def _make_dirs(self, parts: tuple[str, ...]) -> None:
        for i in range(1, len(parts) + 1):
            prefix = parts[:i]
            if prefix not in self._made:
                os.mkdir(self.root.joinpath(*prefix), 0o700)
                self._made.add(prefix)

    @staticmethod
    def _write_file(member: tarfile.TarInfo, path: Path, mode: int, source: ByteSource) -> None:
        if source.tell() != member.offset_data:
            source.seek(member.offset_data)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(path, flags, 0o600)
        try:
            if source.copy_to(fd, member.size) != member.size:
                raise _refuse(member.name, "the archive ends inside this entry")
            os.fchmod(fd, mode)
        finally:
            os.close(fd)

    def finish(self) -> UnpackResult:
        """Create the symbolic links, check where they lead, and open up the modes."""
        for parts, member in self._symlinks:
            os.symlink(member.linkname, self.root.joinpath(*parts))
        real_root = os.path.realpath(self.root)
        for parts, member in self._symlinks:
            resolved = os.path.realpath(self.root.joinpath(*parts))
            if resolved != real_root and not resolved.startswith(real_root + os.sep):
                raise _refuse(
                    member.name,
                    f"symbolic link to {member.linkname!r} resolves outside the destination "
                    "through other links",
                )
        for parts in self._made:
            os.chmod(self.root.joinpath(*parts), 0o755)
        return UnpackResult(
            dest=self.root,
            files=len(self.plan.files),
            directories=len(self.plan.dirs),
            links=len(self.plan.links),
            unpacked_bytes=self.plan.unpacked,
        )


def extract_stream(
    source: ByteSource,
    root: Path,
    *,
    limits: Limits,
    verify: Callable[[ByteSource], None] | None = None,
) -> UnpackResult:
    """Unpack the archive streaming from `source` into the empty directory `root`.

    `verify` is called once the whole stream has been read and hashed, before any symbolic
    link is created; it raises if the bytes are not the expected ones. When an entry is
    refused, the rest of the stream is still read and verified first, so bytes that are not
    the expected ones are reported as such rather than as a bad entry.

    Raises
    ------
    ArchiveRefused
        An entry is unsafe, or the bytes are not a tar archive.
    """
    writer = _Writer(root, limits)
    try:
        _read_entries(source, writer)
    except ArchiveRefused:
        if verify is not None:
            source.drain()
            verify(source)
        raise
    source.drain()
    if verify is not None:
        verify(source)
    return writer.finish()


def _read_entries(source: ByteSource, writer: _Writer) -> None:
    # Random-access mode ("r:") over a forward-only source: tarfile only ever seeks forward
    # while reading members in order, and reads member data nowhere (we copy it ourselves).
    try:
        tar = tarfile.open(fileobj=source, mode="r:", tarinfo=_BoundedTarInfo)  # type: ignore[call-overload]  # noqa: SIM115
    except tarfile.TarError as exc:
        raise ArchiveRefused(
            f"not a bundle archive (uncompressed tar): {exc}",
            entry="<archive>",
            reason="not a tar archive",
        ) from exc
    try:
        for member in tar:
            writer.add(member, source)
    except tarfile.TarError as exc:
        raise ArchiveRefused(
            f"corrupt archive after {writer.count} entries: {exc}",
            entry="<archive>",
            reason="corrupt archive",
        ) from exc


def unpack_archive(
    archive: str | os.PathLike[str],
    dest: str | os.PathLike[str],
    *,
    limits: Limits | None = None,
    force: bool = False,
) -> UnpackResult:
    """Unpack a bundle archive file into `dest`, refusing anything unsafe.

    Parameters
    ----------
    archive:
        Path of an uncompressed tar archive (already verified against its digest).
    dest:
        The destination directory; created if missing.
    limits:
        Bounds on entry count and unpacked size (defaults: `Limits()`).
    force:
        Unpack into a non-empty `dest`: entries of the archive replace what has the same
        name there (a link or file in the way is replaced, never followed); other files stay.
        If replacing fails part-way, every change is undone.

    Returns
    -------
    UnpackResult
        Counts of what was unpacked.

    Raises
    ------
    ArchiveRefused
        An entry is unsafe; nothing was written to `dest`.
    DestinationNotEmpty
        `dest` has files and `force` is false.
    """
    limits = limits or Limits()
    dest = Path(os.path.abspath(dest))
    check_destination(dest, force=force)
    with open(archive, "rb", buffering=0) as raw, Staging(dest) as staging:
        source = ByteSource(raw.readinto, what=os.fspath(archive))
        result = extract_stream(source, staging.tree, limits=limits)
        staging.commit(force=force)
    return UnpackResult(
        dest=dest,
        files=result.files,
        directories=result.directories,
        links=result.links,
        unpacked_bytes=result.unpacked_bytes,
    )
