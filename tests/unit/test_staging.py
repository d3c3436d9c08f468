"""Staging beside the destination: atomic landing, rollback of forced merges, stale clean-up."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from decentralml.errors import DestinationNotEmpty, StorageError
from decentralml.storage import unpack_archive
from decentralml.storage._staging import Staging, remove_stale
from tests.unit.test_extract import _craft, _file


def _tree(root: Path) -> dict[str, bytes | None]:
    return {
        p.relative_to(root).as_posix(): (None if p.is_dir() else p.read_bytes())
        for p in sorted(root.rglob("*"))
    }


def _stage(staging: Staging, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        path = staging.tree / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def test_two_commits_into_one_destination_never_merge(tmp_path: Path) -> None:
    """Both pulls passed the emptiness check; at the final move only one may land."""
    dest = tmp_path / "dest"
    barrier = threading.Barrier(2)
    outcomes: dict[str, BaseException | None] = {}

    def pull(label: str) -> None:
        try:
            with Staging(dest) as staging:
                _stage(staging, {"model.bin": label.encode(), f"only-{label}.txt": b"x"})
                barrier.wait(timeout=10)
                staging.commit(force=False)
            outcomes[label] = None
        except BaseException as exc:
            outcomes[label] = exc

    for _ in range(20):
        shutil.rmtree(dest, ignore_errors=True)
        outcomes.clear()
        threads = [threading.Thread(target=pull, args=(label,)) for label in ("a", "b")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=20)
        winners = [label for label, exc in outcomes.items() if exc is None]
        assert len(winners) == 1, outcomes
        loser = "b" if winners == ["a"] else "a"
        assert isinstance(outcomes[loser], DestinationNotEmpty)
        assert "no longer empty" in str(outcomes[loser])
        won = winners[0]
        assert _tree(dest) == {"model.bin": won.encode(), f"only-{won}.txt": b"x"}
        assert sorted(p.name for p in tmp_path.iterdir()) == ["dest"]


def test_empty_destination_keeps_its_directory(tmp_path: Path) -> None:
    """An existing empty DEST (maybe a shell's working directory) is filled, not replaced."""
    dest = tmp_path / "dest"
    dest.mkdir()
    inode = dest.stat().st_ino
    with Staging(dest) as staging:
        _stage(staging, {"a/b.txt": b"b"})
        staging.commit(force=False)
    assert dest.stat().st_ino == inode
    assert (dest / "a" / "b.txt").read_bytes() == b"b"


def test_forced_merge_that_fails_is_undone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A rename failing part-way through a forced merge puts every moved entry back."""
    dest = tmp_path / "dest"
    (dest / "model").mkdir(parents=True)
    (dest / "a.txt").write_bytes(b"old a")
    (dest / "model" / "w.bin").write_bytes(b"old w")
    (dest / "mine.txt").write_bytes(b"user file")
    before = _tree(dest)
    real_rename = os.rename
    calls = {"n": 0}

    def flaky_rename(src: str, dst: str) -> None:
        calls["n"] += 1
        if calls["n"] == 4:  # after a.txt was replaced and model/w.bin set aside
            raise OSError(1, "Operation not permitted", dst)
        real_rename(src, dst)

    with Staging(dest) as staging:
        _stage(staging, {"a.txt": b"new a", "model/w.bin": b"new w", "z.txt": b"new z"})
        monkeypatch.setattr(os, "rename", flaky_rename)
        with pytest.raises(StorageError) as info:
            staging.commit(force=True)
        monkeypatch.setattr(os, "rename", real_rename)
    assert _tree(dest) == before
    assert f"{dest} is as it was before this pull" in str(info.value)
    assert "Operation not permitted" in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dest"]


@pytest.mark.skipif(
    shutil.which("chattr") is None or os.geteuid() != 0, reason="needs chattr and root"
)
def test_forced_merge_blocked_by_an_immutable_file_is_undone(tmp_path: Path) -> None:
    """A real refusal by the file system: an immutable file among those to replace."""
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "a.txt").write_bytes(b"old a")
    (dest / "zz-locked.txt").write_bytes(b"locked")
    archive = _craft(
        tmp_path / "b.tar",
        _file("a.txt", b"new a"),
        _file("new.txt", b"new"),
        _file("zz-locked.txt", b"new"),
    )
    before = _tree(dest)
    locked = dest / "zz-locked.txt"
    if subprocess.run(["chattr", "+i", str(locked)], check=False).returncode != 0:
        pytest.skip("this file system does not support the immutable attribute")
    try:
        with pytest.raises(StorageError, match="is as it was before this pull"):
            unpack_archive(archive, dest, force=True)
    finally:
        subprocess.run(["chattr", "-i", str(locked)], check=True)
    assert _tree(dest) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.tar", "dest"]


def test_failure_removes_the_parents_it_created(tmp_path: Path) -> None:
    """A pull into new/nested/dest that fails leaves no new/ behind; existing parents stay."""
    dest = tmp_path / "new" / "nested" / "dest"
    with pytest.raises(RuntimeError), Staging(dest) as staging:
        _stage(staging, {"f": b"x"})
        raise RuntimeError("verification failed")
    assert list(tmp_path.iterdir()) == []


_HOLDER = """
import signal, sys
from pathlib import Path
from decentralml.storage._staging import Staging
with Staging(Path(sys.argv[1])) as staging:
    (staging.tree / "partial.bin").write_bytes(b"x" * 1000)
    print(staging.path, flush=True)
    signal.pause()  # hold the staging until the test kills this process
"""


def _holder(dest: Path) -> tuple[subprocess.Popen[str], Path]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(dest)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    assert line, "the holder process did not start"
    return proc, Path(line)


def test_stale_staging_of_a_killed_process_is_removed(tmp_path: Path) -> None:
    """SIGKILL skips every clean-up; the next pull to the same DEST removes the leftovers."""
    dest = tmp_path / "dest"
    proc, stale = _holder(dest)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert (stale / "tree" / "partial.bin").exists()
    with Staging(dest) as staging:
        assert not stale.exists()
        _stage(staging, {"f": b"x"})
        staging.commit(force=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dest"]


def test_staging_of_a_live_pull_is_kept(tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    proc, live = _holder(dest)
    try:
        (tmp_path / "other").mkdir()  # the parent lock is free: only the staging lock holds
        assert remove_stale(tmp_path, "dest") == []
        assert (live / "tree" / "partial.bin").exists()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_legacy_download_files_are_removed_only_when_old(tmp_path: Path) -> None:
    old = tmp_path / ".dest.download-abc123"
    old.write_bytes(b"partial")
    os.utime(old, (1, 1))
    recent = tmp_path / ".dest.download-def456"
    recent.write_bytes(b"partial")
    unrelated = tmp_path / ".other.download-abc123"
    unrelated.write_bytes(b"x")
    os.utime(unrelated, (1, 1))
    assert remove_stale(tmp_path, "dest") == [old.name]
    assert recent.exists() and unrelated.exists() and not old.exists()
