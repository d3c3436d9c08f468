"""Safe unpacking of bundle archives that strangers made.

Every entry is checked before anything is written: no absolute paths, no ``..``, no path
through a symbolic link, links only to places inside the destination, no devices, FIFOs or
other special entries, no duplicates, and bounds on the entry count and the unpacked size.
The archive is then unpacked into a fresh temporary directory beside the destination, the
links are checked once more as the kernel resolves them, and only then is the result moved
into place. A refused archive leaves the destination as it was.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from decentralml.errors import ArchiveRefused, DestinationNotEmpty, StorageError
from decentralml.storage._types import MIB, Limits, UnpackResult

_COPY_CHUNK = 8 * MIB
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
    order: list[tuple[tuple[str, ...], tarfile.TarInfo]] = field(default_factory=list)
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
        if not member.isdir():
            self.order.append((parts, member))

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


def _is_empty_dir(path: Path) -> bool:
    with os.scandir(path) as it:
        return next(it, None) is None


def check_destination(dest: Path, *, force: bool) -> None:
    """Refuse a destination that is not a directory, or is not empty unless `force`."""
    if dest.is_symlink() or (dest.exists() and not dest.is_dir()):
        raise StorageError(f"destination {dest} exists and is not a directory")
    if dest.is_dir() and not force and not _is_empty_dir(dest):
        raise DestinationNotEmpty(
            f"destination {dest} is not empty",
            hint="choose an empty or new directory, or pass --force to unpack over it",
        )


def unpack_archive(
    archive: str | os.PathLike[str],
    dest: str | os.PathLike[str],
    *,
    limits: Limits | None = None,
    force: bool = False,
) -> UnpackResult:
    """Unpack a bundle archive into `dest`, refusing anything unsafe.

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
    with open(archive, "rb") as raw, _open_tar(raw) as tar:
        plan = _plan(tar, limits)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.partial-", dir=dest.parent))
        try:
            _write(raw.fileno(), plan, tmp)
            _check_resolved_links(plan, tmp)
            os.chmod(tmp, 0o755)
            _move_into_place(tmp, dest)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return UnpackResult(
        dest=dest,
        files=len(plan.files),
        directories=len(plan.dirs),
        links=len(plan.links),
        unpacked_bytes=plan.unpacked,
    )


def _open_tar(raw: BinaryIO) -> tarfile.TarFile:
    try:
        return tarfile.open(fileobj=raw, mode="r:", tarinfo=_BoundedTarInfo)
    except tarfile.TarError as exc:
        raise ArchiveRefused(
            f"not a bundle archive (uncompressed tar): {exc}",
            entry="<archive>",
            reason="not a tar archive",
        ) from exc


def _plan(tar: tarfile.TarFile, limits: Limits) -> _Plan:
    plan = _Plan()
    count = 0
    try:
        for member in tar:
            count += 1
            if count > limits.max_entries:
                raise _refuse(member.name, f"more than {limits.max_entries} entries")
            plan.check(member, limits)
    except tarfile.TarError as exc:
        raise ArchiveRefused(
            f"corrupt archive after {count} entries: {exc}",
            entry="<archive>",
            reason="corrupt archive",
        ) from exc
    return plan


def _write(src_fd: int, plan: _Plan, root: Path) -> None:
    for parts in sorted(plan.dirs, key=len):
        os.mkdir(root.joinpath(*parts), 0o700)
    for parts, member in plan.order:
        path = root.joinpath(*parts)
        if member.isreg():
            mode = 0o755 if member.mode & 0o111 else 0o644
            _copy_range(src_fd, member, path, mode)
        elif member.issym():
            os.symlink(member.linkname, path)
        else:
            target = root.joinpath(*_parts(member.linkname, member.name))
            os.link(target, path, follow_symlinks=False)
    for parts in plan.dirs:
        os.chmod(root.joinpath(*parts), 0o755)


def _copy_range(src_fd: int, member: tarfile.TarInfo, path: Path, mode: int) -> None:
    offset, size = member.offset_data, member.size
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, 0o600)
    try:
        remaining = size
        use_range = hasattr(os, "copy_file_range")
        while remaining:
            n = 0
            if use_range:
                try:
                    n = os.copy_file_range(src_fd, fd, min(remaining, _COPY_CHUNK), offset)
                except OSError:
                    use_range = False
            if not use_range:
                data = os.pread(src_fd, min(remaining, _COPY_CHUNK), offset)
                n = os.write(fd, data)
            if n <= 0:
                raise _refuse(member.name, "the archive ends inside this entry")
            offset += n
            remaining -= n
        os.fchmod(fd, mode)
    finally:
        os.close(fd)


def _check_resolved_links(plan: _Plan, root: Path) -> None:
    real_root = os.path.realpath(root)
    for parts, member in plan.order:
        if member.issym():
            resolved = os.path.realpath(root.joinpath(*parts))
            if resolved != real_root and not resolved.startswith(real_root + os.sep):
                raise _refuse(
                    member.name,
                    f"symbolic link to {member.linkname!r} resolves outside the destination "
                    "through other links",
                )


def _move_into_place(tmp: Path, dest: Path) -> None:
    if not dest.exists() or _is_empty_dir(dest):
        os.replace(tmp, dest)
        return
    _merge(tmp, dest)


def _merge(src: Path, dst: Path) -> None:
    """Move the contents of `src` into the real directory `dst`, replacing what is in the way."""
    with os.scandir(src) as it:
        children = list(it)
    for child in children:
        target = dst / child.name
        if child.is_dir(follow_symlinks=False) and target.is_dir() and not target.is_symlink():
            _merge(Path(child.path), target)
            continue
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        elif target.is_symlink() or target.exists():
            target.unlink()
        os.replace(child.path, target)
