"""Bundles across nodes: pushed to one Kubo daemon, pulled and verified through another.

The two daemons have their own repositories and talk over loopback only (see
`tests.fixtures_kubo.launch_peer`): the bytes reach node B from node A by bitswap.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from decentralml.cli import cli
from decentralml.devnet._process import wait_until
from decentralml.errors import ContentNotFound
from decentralml.storage import IpfsStore
from tests.fixtures_kubo import KuboNode
from tests.integration.test_storage_kubo import snapshot

pytestmark = pytest.mark.integration

MB = 1_000_000


def big_bundle(root: Path, size: int = 20 * MB) -> Path:
    """A 20 MB bundle: random data over a few files and a subdirectory."""
    (root / "model").mkdir(parents=True)
    (root / "task.json").write_text('{"kind": "contribution"}\n')
    for i, share in enumerate((0.5, 0.3, 0.2)):
        (root / "model" / f"part-{i}.bin").write_bytes(os.urandom(int(size * share)))
    return root


def test_pushed_on_a_pulled_through_b(kubo_pair: tuple[KuboNode, KuboNode], tmp_path: Path) -> None:
    a, b = kubo_pair
    src = big_bundle(tmp_path / "src")
    with IpfsStore(a.api_url, timeout=30) as store_a:
        ref = store_a.push(src)
    assert ref.size > 20 * MB
    assert a.has_block(ref.cid) and not b.has_block(ref.cid), "B must not have it yet"
    with IpfsStore(b.api_url, timeout=30) as store_b:
        result = store_b.pull(ref.cid, tmp_path / "dest", sha256=ref.sha256, size=ref.size)
    assert result.ref == ref
    assert snapshot(tmp_path / "dest") == snapshot(src)
    assert b.has_block(ref.cid), "the bytes came through B"


def test_source_node_stopped_is_not_found_and_writes_nothing(
    kubo_pair: tuple[KuboNode, KuboNode], tmp_path: Path
) -> None:
    """A stopped before the transfer: B finds nobody holding the CID, exit 1 within N s."""
    a, b = kubo_pair
    with IpfsStore(a.api_url, timeout=30) as store_a:
        ref = store_a.push(big_bundle(tmp_path / "src", size=2 * MB))
    a.stop()
    # B notices the closed connection.
    assert wait_until(lambda: not b.is_connected(a), timeout=10)
    dest = tmp_path / "out" / "dest"
    started = time.monotonic()
    result = CliRunner().invoke(
        cli,
        ["assets", "pull", ref.cid, str(dest), "--sha256", ref.sha256, "--timeout", "3",
         "--json", "--ipfs-api", b.api_url],
        catch_exceptions=False,
    )  # fmt: skip
    elapsed = time.monotonic() - started
    assert result.exit_code == 1, result.output
    error = json.loads(result.stdout)["error"]
    assert error["type"] == "ContentNotFound" and error["cid"] == ref.cid
    assert error["message"].startswith("content not found within 3 s"), error
    assert "swarm peers" in error["hint"]
    assert 3 <= elapsed < 3 + 8, elapsed
    assert not (tmp_path / "out").exists(), "nothing may be written for a pull that failed"

    with IpfsStore(b.api_url, timeout=2) as store_b, pytest.raises(ContentNotFound) as info:
        store_b.pull(ref.cid, dest, sha256=ref.sha256)
    assert "within 2 s" in str(info.value)
    assert not (tmp_path / "out").exists()


def test_source_node_hung_mid_transfer_is_not_found(
    kubo_pair: tuple[KuboNode, KuboNode], tmp_path: Path
) -> None:
    """B has the first blocks, A freezes: B still answers, so the content is what is missing.

    B fetches the first 5 MB alone beforehand, so the pull's transfer stops at a known place
    once A is frozen (SIGSTOP, or a paused container).
    """
    a, b = kubo_pair
    with IpfsStore(a.api_url, timeout=30) as store_a:
        ref = store_a.push(big_bundle(tmp_path / "src"))
    assert len(b.rpc("cat", arg=ref.cid, length=str(5 * MB)).content) == 5 * MB
    a.pause()  # resumed and stopped by the fixture
    dest = tmp_path / "out" / "dest"
    received: list[int] = []
    started = time.monotonic()
    with IpfsStore(b.api_url, timeout=2) as store_b, pytest.raises(ContentNotFound) as info:
        store_b.pull(ref.cid, dest, sha256=ref.sha256, progress=lambda d, t: received.append(d))
    assert time.monotonic() - started < 2 * 3 + 5
    assert received and 0 < received[-1] < ref.size, "the transfer began, then stalled"
    assert "content not found within 2 s" in str(info.value)
    assert "no more of its blocks arrived" in str(info.value)
    assert b.api_url in str(info.value)
    assert not (tmp_path / "out").exists()
