"""Bundles through a real Kubo daemon: round trips, determinism, verification, refusals."""

from __future__ import annotations

import base64
import hashlib
import os
import tarfile
import time
from pathlib import Path

import httpx
import pytest

from decentralml.devnet.kubo import KuboDaemon
from decentralml.errors import (
    ArchiveRefused,
    ContentNotFound,
    ContentTooLarge,
    DigestMismatch,
    IpfsUnavailable,
    StorageError,
)
from decentralml.storage import ContentRef, IpfsStore, KuboClient, Limits
from tests.fixtures_kubo import free_port
from tests.unit.test_extract import Spec, _craft, _file

pytestmark = pytest.mark.integration


def make_bundle_dir(root: Path, *, seed: bytes = b"seed") -> Path:
    """A nested directory: files, subdirectories, an empty one, non-ASCII names, a script."""
    (root / "model" / "layers").mkdir(parents=True)
    (root / "empty").mkdir()
    (root / "README.md").write_text("# a task bundle\n")
    (root / "model" / "weights.bin").write_bytes(hashlib.sha256(seed).digest() * 5000)
    (root / "model" / "layers" / "dense-1.json").write_text('{"units": 10}\n')
    (root / "données ✓").mkdir()
    (root / "données ✓" / "étiquettes.csv").write_text("id,label\n1,chat\n")
    (root / "train.sh").write_text("#!/bin/sh\necho training\n")
    (root / "train.sh").chmod(0o755)
    return root


def snapshot(root: Path) -> dict[str, tuple[str, bytes | None, bool]]:
    """Relative path -> (kind, content, executable) for every entry under `root`."""
    result: dict[str, tuple[str, bytes | None, bool]] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_dir():
            result[rel] = ("dir", None, False)
        else:
            result[rel] = ("file", path.read_bytes(), bool(path.stat().st_mode & 0o100))
    return result


def random_cid() -> str:
    """A well-formed CIDv1 (raw, sha2-256) of bytes nobody has."""
    digest = hashlib.sha256(os.urandom(32)).digest()
    return "b" + base64.b32encode(b"\x01\x55\x12\x20" + digest).decode().lower().rstrip("=")


def add_raw(kubo: KuboDaemon, path: Path) -> ContentRef:
    """Add a file's bytes as they are (for crafted archives), like a hostile uploader."""
    data = path.read_bytes()
    with KuboClient(kubo.api_url) as client:
        cid = client.add([data], len(data))
    return ContentRef(cid, hashlib.sha256(data).hexdigest(), len(data))


@pytest.fixture
def store(kubo: KuboDaemon) -> IpfsStore:
    with IpfsStore(kubo.api_url, timeout=20) as s:
        yield s  # type: ignore[misc]


def test_round_trip_is_identical(store: IpfsStore, kubo: KuboDaemon, tmp_path: Path) -> None:
    """Push then pull gives back the same tree, executable bit and empty directory included."""
    src = make_bundle_dir(tmp_path / "src")
    ref = store.push(src)
    assert ref.cid.startswith("baf")  # CIDv1: bafk… (one raw block) or bafy… (a DAG)
    result = store.pull(ref.cid, tmp_path / "dest", sha256=ref.sha256, size=ref.size)
    assert snapshot(tmp_path / "dest") == snapshot(src)
    assert (tmp_path / "dest" / "train.sh").stat().st_mode & 0o111 == 0o111
    assert result.ref == ref
    assert (result.files, result.directories) == (5, 4)
    pins = httpx.post(f"{kubo.api_url}/api/v0/pin/ls", params={"arg": ref.cid}).json()
    assert ref.cid in pins["Keys"], "push must pin the bundle"


def test_same_directory_same_cid(store: IpfsStore, tmp_path: Path) -> None:
    """Pushing twice, and again after touching every file, gives the same CID and sha256."""
    src = make_bundle_dir(tmp_path / "src")
    first = store.push(src)
    assert store.push(src) == first
    later = time.time() + 3600
    for path in src.rglob("*"):
        os.utime(path, (later, later))
    assert store.push(src) == first


def test_digest_mismatch_leaves_dest_untouched(store: IpfsStore, tmp_path: Path) -> None:
    """One bundle's CID with another's sha256 fails before anything is written."""
    ref_a = store.push(make_bundle_dir(tmp_path / "a", seed=b"a"))
    ref_b = store.push(make_bundle_dir(tmp_path / "b", seed=b"b"))
    parent = tmp_path / "out"
    parent.mkdir()
    (parent / "dest").mkdir()
    with pytest.raises(DigestMismatch) as info:
        store.pull(ref_a.cid, parent / "dest", sha256=ref_b.sha256)
    assert (info.value.expected, info.value.got) == (ref_b.sha256, ref_a.sha256)
    assert ref_b.sha256 in str(info.value) and ref_a.sha256 in str(info.value)
    assert list(parent.iterdir()) == [parent / "dest"]
    assert list((parent / "dest").iterdir()) == []


CRAFTED: list[tuple[str, list[Spec], str]] = [
    ("dotdot", [_file("fine.txt"), _file("../x")], "../x"),
    ("absolute", [_file("/etc/x")], "/etc/x"),
    ("symlink-root", [("rootlink", "/", tarfile.SYMTYPE)], "rootlink"),
    ("symlink-up", [("d/up", "../../x", tarfile.SYMTYPE)], "d/up"),
    ("symlink-via-link", [("s", ".", tarfile.SYMTYPE), ("a", "s/../x", tarfile.SYMTYPE)], "a"),
    ("through-link", [("l", "sub", tarfile.SYMTYPE), _file("l/x")], "l/x"),
    ("hardlink-out", [("hl", "../../etc/passwd", tarfile.LNKTYPE)], "hl"),
    ("hardlink-abs", [("hl", "/etc/passwd", tarfile.LNKTYPE)], "hl"),
    ("fifo", [("pipe", None, tarfile.FIFOTYPE)], "pipe"),
    ("device", [("tty", None, tarfile.CHRTYPE)], "tty"),
    ("duplicate", [_file("same"), _file("same", b"y")], "same"),
    ("too-many", [_file(f"f{i}") for i in range(6)], "f5"),
    ("too-big", [_file("a", b"1" * 3000), _file("b", b"2" * 3000)], "b"),
]


@pytest.mark.parametrize(("label", "members", "entry"), CRAFTED, ids=[c[0] for c in CRAFTED])
def test_crafted_archives_are_refused_by_name(
    kubo: KuboDaemon, tmp_path: Path, label: str, members: list[Spec], entry: str
) -> None:
    """A hostile uploader's archive, with a correct digest, is refused entry by name.

    Even with --force over an existing DEST, nothing of it lands there, and nothing is left
    beside it.
    """
    ref = add_raw(kubo, _craft(tmp_path / f"{label}.tar", *members))
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "mine.txt").write_text("user file\n")
    limits = Limits(max_entries=5, max_unpacked_size=5000)
    with IpfsStore(kubo.api_url, limits=limits) as store, pytest.raises(ArchiveRefused) as info:
        store.pull(ref.cid, dest, sha256=ref.sha256, size=ref.size, force=True)
    assert info.value.entry == entry
    assert snapshot(dest) == {"mine.txt": ("file", b"user file\n", False)}
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["dest", f"{label}.tar"])


def test_bundle_over_the_limit_is_refused_before_fetching(kubo: KuboDaemon, tmp_path: Path) -> None:
    """The daemon-reported size is checked against the limit before any byte is fetched."""
    with IpfsStore(kubo.api_url) as store:
        ref = store.push(make_bundle_dir(tmp_path / "src"))
    with IpfsStore(kubo.api_url, limits=Limits(max_size=ref.size - 1)) as small:
        with pytest.raises(ContentTooLarge) as info:
            small.pull(ref.cid, tmp_path / "dest", sha256=ref.sha256)
        assert (info.value.size, info.value.limit) == (ref.size, ref.size - 1)
        with pytest.raises(ContentTooLarge, match="limit"):
            small.push(tmp_path / "src")
    with IpfsStore(kubo.api_url) as store, pytest.raises(ContentTooLarge, match="declared size"):
        store.pull(ref.cid, tmp_path / "dest", sha256=ref.sha256, size=ref.size - 512)
    assert not (tmp_path / "dest").exists()


def test_declared_size_over_limit_needs_no_daemon(tmp_path: Path) -> None:
    """A declared size over the limit is refused before any request is made."""
    limits = Limits(max_size=1000)
    with (
        IpfsStore(f"http://127.0.0.1:{free_port()}", limits=limits) as store,
        pytest.raises(ContentTooLarge, match="declared size 5000"),
    ):
        store.pull(random_cid(), tmp_path / "dest", sha256="0" * 64, size=5000)


def test_unknown_cid_is_not_found(kubo: KuboDaemon, tmp_path: Path) -> None:
    """Nobody has the CID: not found within the timeout, exit-1 class, nothing written."""
    cid = random_cid()
    started = time.monotonic()
    with IpfsStore(kubo.api_url, timeout=2) as store, pytest.raises(ContentNotFound) as info:
        store.pull(cid, tmp_path / "dest", sha256="0" * 64)
    assert info.value.cid == cid
    assert str(info.value).startswith("content not found within 2 s")
    assert time.monotonic() - started < 2 + 5
    assert list(tmp_path.iterdir()) == []


def test_malformed_cid(store: IpfsStore, tmp_path: Path) -> None:
    for bad in ("not-a-cid", "bafyinvalid", f"{random_cid()}/sub", "/ipfs/Qm"):
        with pytest.raises(StorageError, match="not a CID"):
            store.pull(bad, tmp_path / "dest", sha256="0" * 64)


def test_unreachable_daemon(tmp_path: Path) -> None:
    """A closed port gives IpfsUnavailable naming the address and how to start a daemon."""
    url = f"http://127.0.0.1:{free_port()}"
    with IpfsStore(url) as store, pytest.raises(IpfsUnavailable) as info:
        store.push(make_bundle_dir(tmp_path / "src"))
    assert info.value.address == url
    assert f"cannot reach the IPFS daemon at {url}" in str(info.value)
    assert info.value.hint and "devnet up" in info.value.hint


def test_multiaddr_api_and_progress(kubo: KuboDaemon, tmp_path: Path) -> None:
    """The API may be given as a multiaddr; progress callbacks reach the total."""
    port = kubo.api_url.rsplit(":", 1)[1]
    sent: list[tuple[int, int | None]] = []
    received: list[tuple[int, int | None]] = []
    with IpfsStore(f"/ip4/127.0.0.1/tcp/{port}") as store:
        assert store.version()
        ref = store.push(
            make_bundle_dir(tmp_path / "src"), progress=lambda d, t: sent.append((d, t))
        )
        store.pull(
            ref.cid,
            tmp_path / "dest",
            sha256=ref.sha256,
            progress=lambda d, t: received.append((d, t)),
        )
    assert sent[-1] == (ref.size, ref.size)
    assert received[-1] == (ref.size, ref.size)
