"""Deterministic bundle archives: same directory, same bytes, whatever the file system says."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import stat
import tarfile
from pathlib import Path

import pytest

from decentralml.errors import ContentTooLarge, StorageError
from decentralml.storage import Bundle, Limits, pack_directory

# The sha256 of `_make_tree(…, variant=0)` packed. If this changes, every CID and digest
# recorded on-chain for an identical directory changes with it: treat it as a format change.
KNOWN_SHA256 = "b1abd602ba1304d8368494eb29c1caeac58bd6182227a838f50ad99dbfc1be1f"

FILES = {
    "README.md": b"# task\n",
    "run.sh": b"#!/bin/sh\necho run\n",
    "model/weights.bin": bytes(range(256)) * 40,
    "model/config/settings.json": b'{"epochs": 3}\n',
    "données/über-naïve ✓.txt": b"non-ASCII names\n",
    "a" * 120 + "/" + "b" * 150 + ".txt": b"long path\n",
}
EMPTY_DIRS = ["empty", "model/empty-too"]


def _make_tree(root: Path, *, reverse: bool = False, umask: int = 0o022) -> Path:
    """Create the sample tree; `reverse` creates entries in the opposite order."""
    old = os.umask(umask)
    try:
        root.mkdir(parents=True)
        items = sorted(FILES.items(), reverse=reverse)
        for name, data in items:
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        for name in sorted(EMPTY_DIRS, reverse=reverse):
            (root / name).mkdir(parents=True, exist_ok=True)
        (root / "run.sh").chmod(0o755 & ~umask | 0o100)
    finally:
        os.umask(old)
    return root


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_same_directory_same_bytes(tmp_path: Path) -> None:
    """Packing twice gives identical archives, with the planned size."""
    tree = _make_tree(tmp_path / "src")
    first = pack_directory(tree, tmp_path / "a.tar")
    second = pack_directory(tree, tmp_path / "b.tar")
    assert first == second
    assert (tmp_path / "a.tar").read_bytes() == (tmp_path / "b.tar").read_bytes()
    assert first.size == (tmp_path / "a.tar").stat().st_size == Bundle.from_directory(tree).size
    assert first.sha256 == _sha(tmp_path / "a.tar")
    assert first.size % tarfile.RECORDSIZE == 0


def test_independent_of_mtimes_modes_umask_and_creation_order(tmp_path: Path) -> None:
    """Timestamps, owner modes, umask and directory order do not reach the archive."""
    reference = pack_directory(_make_tree(tmp_path / "one"), tmp_path / "one.tar")
    other = _make_tree(tmp_path / "two", reverse=True, umask=0o077)
    for path in other.rglob("*"):
        os.utime(path, (1_000_000_000, 1_234_567_890), follow_symlinks=False)
    (other / "README.md").chmod(0o600)
    (other / "model").chmod(0o700)
    assert pack_directory(other, tmp_path / "two.tar").sha256 == reference.sha256


def test_executable_bit_changes_the_digest(tmp_path: Path) -> None:
    """Only the executable bit of a file's mode is kept, so flipping it matters."""
    tree = _make_tree(tmp_path / "src")
    before = pack_directory(tree, io.BytesIO()).sha256
    (tree / "README.md").chmod(0o744)
    assert pack_directory(tree, io.BytesIO()).sha256 != before


def test_headers_are_normalised_and_sorted(tmp_path: Path) -> None:
    """Entries are sorted depth-first; mtime, owners and modes are fixed."""
    tree = _make_tree(tmp_path / "src")
    (tree / "model" / "weights.bin").chmod(0o4711)
    pack_directory(tree, tmp_path / "a.tar")
    with tarfile.open(tmp_path / "a.tar") as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    assert names == sorted(names, key=lambda n: [p.encode() for p in n.split("/")])
    assert "données/über-naïve ✓.txt" in names
    assert "a" * 120 + "/" + "b" * 150 + ".txt" in names
    assert {"empty", "model/empty-too"} <= {m.name for m in members if m.isdir()}
    for m in members:
        assert (m.mtime, m.uid, m.gid, m.uname, m.gname) == (0, 0, 0, "", "")
        assert m.isdir() or m.isreg()
    modes = {m.name: m.mode for m in members}
    assert modes["run.sh"] == 0o755
    assert modes["model/weights.bin"] == 0o755
    assert modes["README.md"] == 0o644
    assert modes["model"] == 0o755


def test_known_answer(tmp_path: Path) -> None:
    """The archive format is pinned: a fixed tree has a fixed sha256."""
    tree = _make_tree(tmp_path / "src")
    assert pack_directory(tree, io.BytesIO()).sha256 == KNOWN_SHA256


def test_refuses_symlinks_and_special_files(tmp_path: Path) -> None:
    """Links and special files are refused with the path named."""
    tree = _make_tree(tmp_path / "src")
    (tree / "link").symlink_to("README.md")
    with pytest.raises(StorageError, match="symbolic link"):
        Bundle.from_directory(tree)
    (tree / "link").unlink()
    os.mkfifo(tree / "pipe")
    with pytest.raises(StorageError, match="special file"):
        Bundle.from_directory(tree)


def test_limits(tmp_path: Path) -> None:
    """Too many entries, or too many bytes, are refused before reading any file."""
    tree = _make_tree(tmp_path / "src")
    with pytest.raises(ContentTooLarge) as info:
        Bundle.from_directory(tree, limits=Limits(max_entries=3))
    assert info.value.limit == 3
    with pytest.raises(ContentTooLarge, match="limit"):
        Bundle.from_directory(tree, limits=Limits(max_size=8192))


def test_file_changed_while_packing(tmp_path: Path) -> None:
    """A file that grows or shrinks between scan and read fails loudly."""
    tree = _make_tree(tmp_path / "src")
    bundle = Bundle.from_directory(tree)
    (tree / "model" / "weights.bin").write_bytes(b"shorter")
    with pytest.raises(StorageError, match="changed while it was being packed"):
        b"".join(bundle.iter_bytes())


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="not a directory"):
        Bundle.from_directory(tmp_path / "nope")


def test_progress_reaches_the_total(tmp_path: Path) -> None:
    tree = _make_tree(tmp_path / "src")
    seen: list[tuple[int, int | None]] = []
    result = pack_directory(tree, io.BytesIO(), progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (result.size, result.size)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


@pytest.mark.skipif(shutil.which("tar") is None, reason="no tar command to cross-check with")
def test_readable_by_system_tar(tmp_path: Path) -> None:
    """The archive is plain POSIX tar: the system's tar lists and unpacks it."""
    import subprocess

    tree = _make_tree(tmp_path / "src")
    pack_directory(tree, tmp_path / "a.tar")
    out = tmp_path / "out"
    out.mkdir()
    subprocess.run(["tar", "-xf", str(tmp_path / "a.tar"), "-C", str(out)], check=True)
    for name, data in FILES.items():
        assert (out / name).read_bytes() == data
    assert (out / "run.sh").stat().st_mode & stat.S_IXUSR


def test_public_surface() -> None:
    """The storage package's exported names are deliberate; changing them is an API change."""
    import decentralml.storage as storage

    assert set(storage.__all__) == {
        "GIB",
        "MIB",
        "Bundle",
        "ContentRef",
        "IpfsStore",
        "KuboClient",
        "Limits",
        "PackResult",
        "ProgressCallback",
        "PullResult",
        "UnpackResult",
        "normalise_api_url",
        "pack_directory",
        "pull_bundle",
        "push_bundle",
        "unpack_archive",
    }
    for name in storage.__all__:
        assert hasattr(storage, name)
