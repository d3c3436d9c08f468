"""Bundles as they travel: a user's directory plus files the client adds (a result's worker,
a task's minimal task.json), packed from a temporary copy so the user's directory is never
written to."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path


def _link_or_copy(source: str, destination: str) -> None:
    try:
        os.link(source, destination)
    except OSError:  # another file system, or links not allowed: copy
        shutil.copy2(source, destination)


@contextmanager
def with_files(directory: Path, files: Mapping[str, bytes]) -> Iterator[Path]:
    """A temporary copy of `directory` (hard links where possible) with `files` added at its
    top level, replacing any of the same name in the copy; removed on exit.

    Links are copied as links, so packing the copy refuses what packing the original would.
    """
    with tempfile.TemporaryDirectory(prefix="decentralml-bundle-") as tmp:
        staged = Path(tmp) / "bundle"
        shutil.copytree(directory, staged, symlinks=True, copy_function=_link_or_copy)
        for name, data in files.items():
            target = staged / name
            if target.is_symlink() or target.is_file():
                target.unlink()  # a hard link: unlinking leaves the user's file alone
            elif target.exists():
                shutil.rmtree(target)
            target.write_bytes(data)
        yield staged
