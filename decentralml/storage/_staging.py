"""Where a pull writes before the destination sees anything, and how it gets there.

A pull unpacks into a staging directory beside the destination, ``.DEST.pull-XXXXXXXX``,
and holds an exclusive `flock` on it while it lives. Only a verified, fully checked tree is
moved into the destination, by `Staging.commit`:

- a missing destination is one ``rename`` (atomic);
- an empty destination receives the tree's top-level entries (keeping the directory itself,
  which may be a shell's working directory);
- a non-empty destination is refused unless forced, checked again at that moment, so two
  pulls racing for one destination never both land;
- a forced merge moves every replaced entry aside and keeps a journal; if any step fails,
  the journal is undone, so the destination ends either fully updated or as it was.

Every final move, every staging creation and every clean-up of stale staging directories
runs under an exclusive `flock` on the destination's parent directory, so concurrent pulls
(threads or processes) see each other's moves as atomic. A staging directory whose `flock`
can be taken belongs to a process that died (locks die with their process, whatever reuses
its pid), and is removed by the next pull to the same destination.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from decentralml.errors import DestinationNotEmpty, StorageError

_PULL = ".pull-"
# Names earlier versions used for their temporary files; they carry no owner to ask, so
# only ones untouched for this long are taken as abandoned.
_LEGACY = (".download-", ".partial-")
_LEGACY_AGE = 3600.0
TREE = "tree"
REPLACED = "replaced"


@contextmanager
def dir_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive `flock` on the directory `path` (blocking)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _is_empty_dir(path: Path) -> bool:
    with os.scandir(path) as it:
        return next(it, None) is None


def check_destination(dest: Path, *, force: bool) -> None:
    """Refuse a destination that is not a directory, or is not empty unless `force`."""
    if dest.is_symlink() or (dest.exists() and not dest.is_dir()):
        raise StorageError(
            f"destination {dest} exists and is not a directory",
            hint="choose a directory (new or empty) as the destination",
        )
    if dest.is_dir() and not force and not _is_empty_dir(dest):
        raise DestinationNotEmpty(
            f"destination {dest} is not empty",
            hint="choose an empty or new directory, or pass --force to unpack over it",
        )


def _make_parents(parent: Path) -> list[Path]:
    """Create `parent` and missing ancestors; return those created, deepest first."""
    missing: list[Path] = []
    probe = parent
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    created: list[Path] = []
    for path in reversed(missing):
        try:
            os.mkdir(path)
        except FileExistsError:
            continue  # made by a concurrent pull: it is not ours to remove
        created.append(path)
    return list(reversed(created))


def remove_stale(parent: Path, name: str) -> list[str]:
    """Remove staging directories of pulls to `name` whose process is gone.

    Must be called with the parent's lock held. Returns the names removed. A staging
    directory holding entries a killed forced merge had moved aside is kept: they may be the
    only copy of what the destination held.
    """
    removed: list[str] = []
    now = time.time()
    prefix = f".{name}"
    with os.scandir(parent) as it:
        candidates = [e for e in it if e.name.startswith(prefix)]
    for entry in candidates:
        rest = entry.name[len(prefix) :]
        if rest.startswith(_PULL) and entry.is_dir(follow_symlinks=False):
            try:
                fd = os.open(entry.path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
            except OSError:
                continue
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # a live pull owns it
                replaced = Path(entry.path, REPLACED)
                if replaced.is_dir() and not _is_empty_dir(replaced):
                    continue
                shutil.rmtree(entry.path, ignore_errors=True)
                removed.append(entry.name)
            finally:
                os.close(fd)
        elif rest.startswith(_LEGACY):
            try:
                age = now - entry.stat(follow_symlinks=False).st_mtime
            except OSError:
                continue
            if age < _LEGACY_AGE:
                continue
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                with suppress(FileNotFoundError):
                    os.unlink(entry.path)
            removed.append(entry.name)
    return removed


class _Journal:
    """Renames done so far, to be undone in reverse order if a later one fails."""

    def __init__(self, backups: Path) -> None:
        self.backups = backups
        self.done: list[tuple[str, str]] = []

    def move(self, src: str, dst: str) -> None:
        os.rename(src, dst)
        self.done.append((src, dst))

    def set_aside(self, path: str) -> None:
        if not self.backups.exists():
            os.mkdir(self.backups, 0o700)
        self.move(path, os.path.join(self.backups, str(len(self.done))))

    def undo(self) -> list[tuple[str, str, OSError]]:
        """Undo every rename; return the ones that could not be undone."""
        failed: list[tuple[str, str, OSError]] = []
        for src, dst in reversed(self.done):
            try:
                os.rename(dst, src)
            except OSError as exc:
                failed.append((src, dst, exc))
        self.done.clear()
        return failed


def _merge(src: str, dst: str, journal: _Journal) -> None:
    """Move the entries of `src` into the real directory `dst`, setting aside what is in the way.

    Directories present on both sides are merged; anything else of the same name (file,
    link, or a directory where the bundle has a file) is replaced. Links are never followed.
    """
    with os.scandir(src) as it:
        children = sorted(it, key=lambda e: e.name)
    for child in children:
        target = os.path.join(dst, child.name)
        if (
            child.is_dir(follow_symlinks=False)
            and os.path.isdir(target)
            and not os.path.islink(target)
        ):
            _merge(child.path, target, journal)
            continue
        if os.path.lexists(target):
            journal.set_aside(target)
        journal.move(child.path, target)


class Staging:
    """A locked temporary directory beside `dest`, and the move of its tree into `dest`.

    Use as a context manager. On an exception (including KeyboardInterrupt and SystemExit)
    everything it created is removed: the staging directory and any parent directories of
    `dest` it had to create. After `commit`, leaving the block removes what remains (the
    entries a forced merge replaced).
    """

    def __init__(self, dest: Path) -> None:
        self.dest = dest
        self.parent = dest.parent
        self.path = Path()
        self.tree = Path()
        self._fd = -1
        self._created: list[Path] = []
        self.committed = False
        self._keep = False

    def __enter__(self) -> Staging:
        for attempt in range(3):
            self._created += _make_parents(self.parent)
            try:
                with dir_lock(self.parent):
                    remove_stale(self.parent, self.dest.name)
                    path = tempfile.mkdtemp(prefix=f".{self.dest.name}{_PULL}", dir=self.parent)
                    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except FileNotFoundError:
                # A concurrent pull that failed removed a parent it had created: retry.
                if attempt == 2:
                    raise
        self._fd = fd
        self.path = Path(path)
        self.tree = self.path / TREE
        os.mkdir(self.tree, 0o700)
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if not self._keep:
            shutil.rmtree(self.path, ignore_errors=True)
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        if not self.committed:
            for path in self._created:  # deepest first; stops at one that is in use
                try:
                    os.rmdir(path)
                except OSError:
                    break

    def commit(self, *, force: bool) -> None:
        """Move the staged tree into `dest`, atomically as seen by other pulls.

        Raises
        ------
        DestinationNotEmpty
            `dest` gained entries since the pull started and `force` is false.
        StorageError
            A move failed; the message says the state `dest` is in (as it was, unless it
            says otherwise).
        """
        dest = self.dest
        os.chmod(self.tree, 0o755)
        with dir_lock(self.parent):
            if dest.is_symlink() or (dest.exists() and not dest.is_dir()):
                raise StorageError(
                    f"destination {dest} is no longer a directory (something replaced it "
                    "while this pull was downloading); nothing was written to it",
                    hint="choose a directory (new or empty) as the destination",
                )
            if not dest.exists():
                try:
                    os.rename(self.tree, dest)
                except OSError as exc:
                    raise StorageError(
                        f"cannot create {dest}: {exc.strerror or exc}; nothing was written",
                        hint="check permissions and free space of the destination's parent",
                    ) from exc
                self.committed = True
                return
            if not force and not _is_empty_dir(dest):
                raise DestinationNotEmpty(
                    f"destination {dest} is no longer empty: something (another pull?) wrote "
                    "to it while this pull was downloading; nothing of this bundle was written",
                    hint="choose an empty or new directory, or pass --force to unpack over it",
                )
            self._merge_into(dest)
            self.committed = True

    def _merge_into(self, dest: Path) -> None:
        journal = _Journal(self.path / REPLACED)
        try:
            _merge(os.fspath(self.tree), os.fspath(dest), journal)
        except BaseException as exc:
            failed = journal.undo()
            if not isinstance(exc, OSError):
                raise  # interrupted: undone, let the interruption through
            raise self._merge_error(dest, exc, failed) from exc

    def _merge_error(
        self, dest: Path, exc: OSError, failed: list[tuple[str, str, OSError]]
    ) -> StorageError:
        where = exc.filename or dest
        reason = exc.strerror or str(exc)
        if exc.errno == errno.EXDEV:
            reason += " (a mount point inside or at the destination)"
        if not failed:
            return StorageError(
                f"cannot update {dest}: {reason} for {where}; every change was undone, "
                f"{dest} is as it was before this pull",
                hint="fix what is in the way (permissions, immutable or busy files), or pull "
                "into a new directory",
            )
        lost = "; ".join(f"{src} (now at {dst})" for src, dst, _ in failed)
        self._keep = True  # it holds what could not go back
        self.committed = True  # and the parents it lives in
        return StorageError(
            f"cannot update {dest}: {reason} for {where}, and undoing failed: {dest} is "
            f"partly updated. Entries not restored: {lost}",
            hint=f"restore those entries by hand from {self.path}, which is kept",
        )
