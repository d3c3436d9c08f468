"""Safe unpacking: crafted archives are refused by entry name, and nothing is written."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from decentralml.errors import (
    ArchiveRefused,
    ContentTooLarge,
    DestinationNotEmpty,
    DigestMismatch,
    StorageError,
)
from decentralml.storage import Limits, pack_directory, unpack_archive
from decentralml.storage._extract import ByteSource, extract_stream

Spec = tuple[str, bytes | str | None, bytes]  # (name, payload or link target, type)


def _craft(path: Path, *members: Spec, mode: int = 0o644) -> Path:
    """Write a tar archive holding exactly the given members."""
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for name, payload, kind in members:
            info = tarfile.TarInfo(name)
            info.type = kind
            info.mode = 0o755 if kind == tarfile.DIRTYPE else mode
            if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE):
                assert isinstance(payload, str)
                info.linkname = payload
                tar.addfile(info)
            elif kind == tarfile.REGTYPE:
                assert isinstance(payload, bytes)
                info.size = len(payload)
                tar.addfile(info, io.BytesIO(payload))
            else:
                tar.addfile(info)
    return path


def _file(name: str, data: bytes = b"x") -> Spec:
    return (name, data, tarfile.REGTYPE)


def _assert_refused(tmp_path: Path, archive: Path, entry: str, reason: str) -> None:
    dest = tmp_path / "dest"
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(ArchiveRefused) as info:
        unpack_archive(archive, dest)
    assert info.value.entry == entry
    assert reason in info.value.reason
    assert entry in str(info.value)
    assert not dest.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == before, "temporary files left behind"


@pytest.mark.parametrize(
    ("members", "entry", "reason"),
    [
        ([_file("ok.txt"), _file("../x")], "../x", "parent directory reference"),
        ([_file("a/../../x")], "a/../../x", "parent directory reference"),
        ([_file("/etc/x")], "/etc/x", "absolute path"),
        ([("root", "/", tarfile.SYMTYPE)], "root", "symbolic link to the absolute path"),
        ([("up", "../outside", tarfile.SYMTYPE)], "up", "points outside the destination"),
        ([("d/up", "../../x", tarfile.SYMTYPE)], "d/up", "points outside the destination"),
        ([("hl", "/etc/passwd", tarfile.LNKTYPE)], "hl", "absolute hard link target"),
        ([("hl", "../x", tarfile.LNKTYPE)], "hl", "parent directory reference"),
        ([("hl", "later.txt", tarfile.LNKTYPE), _file("later.txt")], "hl", "not an earlier file"),
        ([("fifo", None, tarfile.FIFOTYPE)], "fifo", "FIFO"),
        ([("tty", None, tarfile.CHRTYPE)], "tty", "device file"),
        ([("sda", None, tarfile.BLKTYPE)], "sda", "device file"),
        (
            [("link", "sub", tarfile.SYMTYPE), _file("link/x")],
            "link/x",
            "passes through the link",
        ),
        ([_file("a"), _file("a/b")], "a/b", "passes through the file"),
        ([_file("same"), _file("same")], "same", "duplicate entry"),
        ([_file("d/f"), _file("d")], "d", "conflicts with a directory"),
    ],
)
def test_crafted_archives_are_refused(
    tmp_path: Path, members: list[Spec], entry: str, reason: str
) -> None:
    """Each unsafe entry is refused by name with its reason, and nothing is written."""
    archive = _craft(tmp_path / "evil.tar", *members)
    _assert_refused(tmp_path, archive, entry, reason)


def test_symlink_escaping_through_another_link_is_refused(tmp_path: Path) -> None:
    """`s -> .` is harmless alone, but `a -> s/../x` then resolves outside: refused."""
    archive = _craft(
        tmp_path / "evil.tar",
        ("s", ".", tarfile.SYMTYPE),
        ("a", "s/../x", tarfile.SYMTYPE),
    )
    _assert_refused(tmp_path, archive, "a", "resolves outside the destination")


def test_entry_count_limit(tmp_path: Path) -> None:
    archive = _craft(tmp_path / "many.tar", *[_file(f"f{i}") for i in range(5)])
    with pytest.raises(ArchiveRefused) as info:
        unpack_archive(archive, tmp_path / "dest", limits=Limits(max_entries=4))
    assert info.value.entry == "f4"
    assert "more than 4 entries" in info.value.reason
    assert not (tmp_path / "dest").exists()


def test_unpacked_size_limit(tmp_path: Path) -> None:
    archive = _craft(tmp_path / "big.tar", _file("a", b"1" * 600), _file("b", b"2" * 600))
    with pytest.raises(ArchiveRefused) as info:
        unpack_archive(archive, tmp_path / "dest", limits=Limits(max_unpacked_size=1000))
    assert info.value.entry == "b"
    assert "1000-byte limit" in info.value.reason


def test_not_a_tar(tmp_path: Path) -> None:
    junk = tmp_path / "junk.tar"
    junk.write_bytes(os.urandom(4096))
    with pytest.raises(ArchiveRefused, match="not a bundle archive"):
        unpack_archive(junk, tmp_path / "dest")


def test_safe_links_inside_are_kept(tmp_path: Path) -> None:
    """Links that stay inside the destination unpack as links."""
    archive = _craft(
        tmp_path / "ok.tar",
        _file("data/a.txt", b"hello"),
        ("data/alias", "a.txt", tarfile.SYMTYPE),
        ("top", "data", tarfile.SYMTYPE),
        ("hard", "data/a.txt", tarfile.LNKTYPE),
    )
    result = unpack_archive(archive, tmp_path / "dest")
    dest = tmp_path / "dest"
    assert os.readlink(dest / "data" / "alias") == "a.txt"
    assert (dest / "top" / "a.txt").read_bytes() == b"hello"
    assert (dest / "hard").stat().st_ino == (dest / "data" / "a.txt").stat().st_ino
    assert (result.files, result.links, result.directories) == (1, 3, 1)


def test_modes_are_normalised(tmp_path: Path) -> None:
    """setuid and group/other write bits never survive; the executable bit does."""
    archive = _craft(tmp_path / "m.tar", _file("tool"), mode=0o4777)
    unpack_archive(archive, tmp_path / "dest")
    assert (tmp_path / "dest" / "tool").stat().st_mode & 0o7777 == 0o755


def test_roundtrip_of_a_packed_directory(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "sub" / "empty").mkdir(parents=True)
    (src / "sub" / "ü.txt").write_text("ü")
    (src / "x.sh").write_text("#!/bin/sh\n")
    (src / "x.sh").chmod(0o755)
    pack_directory(src, tmp_path / "b.tar")
    unpack_archive(tmp_path / "b.tar", tmp_path / "out")
    assert (tmp_path / "out" / "sub" / "ü.txt").read_text() == "ü"
    assert (tmp_path / "out" / "sub" / "empty").is_dir()
    assert (tmp_path / "out" / "x.sh").stat().st_mode & 0o111 == 0o111


def test_non_empty_destination_needs_force(tmp_path: Path) -> None:
    """Unpacking over files is refused unless forced; forcing replaces, never follows links."""
    archive = _craft(tmp_path / "a.tar", _file("keep/new.txt", b"new"), _file("f.txt", b"new"))
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "f.txt").write_bytes(b"old")
    outside = tmp_path / "outside"
    outside.mkdir()
    (dest / "keep").symlink_to(outside)
    with pytest.raises(DestinationNotEmpty, match="not empty"):
        unpack_archive(archive, dest)
    assert (dest / "f.txt").read_bytes() == b"old"

    unpack_archive(archive, dest, force=True)
    assert (dest / "f.txt").read_bytes() == b"new"
    assert not (dest / "keep").is_symlink()
    assert (dest / "keep" / "new.txt").read_bytes() == b"new"
    assert list(outside.iterdir()) == []


def test_empty_existing_destination_is_fine(tmp_path: Path) -> None:
    archive = _craft(tmp_path / "a.tar", _file("f.txt"))
    (tmp_path / "dest").mkdir()
    unpack_archive(archive, tmp_path / "dest")
    assert (tmp_path / "dest" / "f.txt").exists()


def test_destination_is_a_file(tmp_path: Path) -> None:
    archive = _craft(tmp_path / "a.tar", _file("f.txt"))
    (tmp_path / "dest").write_text("")
    with pytest.raises(StorageError, match="not a directory"):
        unpack_archive(archive, tmp_path / "dest")


def test_current_directory_as_destination(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """DEST may be `.` (an empty working directory); temporary files go beside it."""
    archive = _craft(tmp_path / "a.tar", _file("f.txt", b"here"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    unpack_archive(archive, ".")
    assert (work / "f.txt").read_bytes() == b"here"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.tar", "work"]


def test_oversized_extended_header_is_refused_before_reading(tmp_path: Path) -> None:
    """A PAX header of megabytes is refused instead of being read into memory."""
    archive = tmp_path / "pax.tar"
    with tarfile.open(archive, "w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("f.txt")
        info.pax_headers = {"comment": "x" * (2 * 1024 * 1024)}
        tar.addfile(info, io.BytesIO(b""))
    with pytest.raises(ArchiveRefused) as refused:
        unpack_archive(archive, tmp_path / "dest")
    assert "extended header" in refused.value.reason
    assert not (tmp_path / "dest").exists()


def _odd_reader(data: bytes, step: int) -> Callable[[memoryview], int]:
    """A `readinto` that hands out at most `step` bytes at a time, like a slow socket."""
    position = 0

    def readinto(buffer: memoryview) -> int:
        nonlocal position
        n = min(step, len(buffer), len(data) - position)
        buffer[:n] = data[position : position + n]
        position += n
        return n

    return readinto


@pytest.mark.parametrize("step", [1, 511, 512, 513, 4096, 1 << 20])
def test_streamed_unpack_matches_whatever_the_read_sizes(tmp_path: Path, step: int) -> None:
    """Headers, data and padding may straddle reads anywhere; the tree and digest are exact."""
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "a.bin").write_bytes(os.urandom(70_000))
    (src / "b.txt").write_bytes(b"b" * 513)
    (src / "empty.txt").write_bytes(b"")
    (src / ("ü" * 60)).write_bytes(b"long name")  # a PAX header
    packed = pack_directory(src, tmp_path / "b.tar")
    data = (tmp_path / "b.tar").read_bytes()
    root = tmp_path / "out"
    root.mkdir()
    source = ByteSource(_odd_reader(data, step))
    result = extract_stream(source, root, limits=Limits())
    assert source.hexdigest() == packed.sha256 and source.received == packed.size
    assert (root / "sub" / "a.bin").read_bytes() == (src / "sub" / "a.bin").read_bytes()
    assert (root / "b.txt").read_bytes() == b"b" * 513
    assert (root / ("ü" * 60)).read_bytes() == b"long name"
    assert (result.files, result.directories) == (4, 1)


def test_refused_entry_with_wrong_bytes_is_reported_as_a_digest_mismatch(tmp_path: Path) -> None:
    """Bytes that are not the expected ones say so, whatever they contain."""
    data = _craft(tmp_path / "evil.tar", _file("ok.txt"), _file("../x")).read_bytes()
    root = tmp_path / "out"
    root.mkdir()

    def verify(source: ByteSource) -> None:
        raise DigestMismatch("mismatch", expected="0" * 64, got=source.hexdigest())

    with pytest.raises(DigestMismatch) as info:
        extract_stream(ByteSource(_odd_reader(data, 4096)), root, limits=Limits(), verify=verify)
    assert info.value.got == hashlib.sha256(data).hexdigest(), "the whole stream was hashed"


def test_symlinks_wait_for_verification(tmp_path: Path) -> None:
    """No link exists in the staging tree until the digest has been checked."""
    data = _craft(
        tmp_path / "l.tar", _file("a.txt", b"a"), ("alias", "a.txt", tarfile.SYMTYPE)
    ).read_bytes()
    root = tmp_path / "out"
    root.mkdir()
    seen: list[bool] = []

    def verify(source: ByteSource) -> None:
        seen.append(os.path.lexists(root / "alias"))
        raise DigestMismatch("mismatch", expected="0" * 64, got=source.hexdigest())

    with pytest.raises(DigestMismatch):
        extract_stream(ByteSource(_odd_reader(data, 100)), root, limits=Limits(), verify=verify)
    assert seen == [False]


def test_stream_over_its_limit_is_cut(tmp_path: Path) -> None:
    data = _craft(tmp_path / "a.tar", _file("a", b"x" * 5000)).read_bytes()
    root = tmp_path / "out"
    root.mkdir()
    with pytest.raises(ContentTooLarge):
        extract_stream(ByteSource(_odd_reader(data, 1024), limit=4096), root, limits=Limits())


def test_truncated_archive_is_refused(tmp_path: Path) -> None:
    archive = _craft(tmp_path / "a.tar", _file("big.bin", b"x" * 10_000))
    archive.write_bytes(archive.read_bytes()[:4096])
    with pytest.raises(ArchiveRefused) as info:
        unpack_archive(archive, tmp_path / "dest")
    assert info.value.entry == "big.bin" and "ends inside" in info.value.reason
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.tar"]
