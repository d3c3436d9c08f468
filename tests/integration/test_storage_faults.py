"""Pulls under faults, against real Kubo daemons: races, a hung daemon, signals, failed merges."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from decentralml.devnet._process import wait_until
from decentralml.devnet.kubo import KuboDaemon, stop_kubo
from decentralml.errors import DigestMismatch, StorageError
from decentralml.storage import ContentRef, IpfsStore
from tests.fixtures_kubo import launch_kubo
from tests.integration.test_storage_kubo import make_bundle_dir, snapshot
from tests.processes import default_signal_handling

pytestmark = pytest.mark.integration

CLI = str(Path(sys.executable).with_name("decentralml"))


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DECENTRALML_")}
    for keep in ("DECENTRALML_CACHE_DIR", "DECENTRALML_DATA_DIR", "DECENTRALML_CONFIG_DIR"):
        if keep in os.environ:
            env[keep] = os.environ[keep]
    return {**env, **extra}


def same_names_bundle(root: Path, seed: bytes) -> Path:
    """A bundle whose file names are those of every other seed; only the contents differ."""
    make_bundle_dir(root, seed=seed)
    (root / "model" / "big.bin").write_bytes(os.urandom(4 << 20))
    return root


@pytest.fixture
def own_kubo(kubo_bin: Path, tmp_path: Path) -> Iterator[KuboDaemon]:
    """A daemon of the test's own, free to be stopped with SIGSTOP (resumed before stopping)."""
    daemon = launch_kubo(tmp_path / "own-kubo")
    try:
        yield daemon
    finally:
        os.kill(daemon.pid, signal.SIGCONT)
        stop_kubo(daemon.pid)


def test_concurrent_pulls_into_one_dest_never_merge(kubo: KuboDaemon, tmp_path: Path) -> None:
    """Two processes pull two bundles with the same file names into one new DEST at once.

    Both pass the emptiness check before either lands; exactly one must succeed, and DEST
    must hold exactly its bundle.
    """
    with IpfsStore(kubo.api_url) as store:
        sources = {
            label: same_names_bundle(tmp_path / f"src-{label}", label.encode())
            for label in ("a", "b")
        }
        refs = {label: store.push(src) for label, src in sources.items()}
    for run in range(10):
        dest = tmp_path / f"dest-{run}"
        procs = {
            label: subprocess.Popen(
                [
                    CLI,
                    "assets",
                    "pull",
                    ref.cid,
                    str(dest),
                    "--sha256",
                    ref.sha256,
                    "--json",
                    "--ipfs-api",
                    kubo.api_url,
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=cli_env(),
            )
            for label, ref in refs.items()
        }
        results = {label: (*p.communicate(timeout=60), p.returncode) for label, p in procs.items()}
        winners = [label for label, (_, _, code) in results.items() if code == 0]
        assert len(winners) == 1, f"run {run}: {results}"
        loser = "b" if winners == ["a"] else "a"
        out, err, code = results[loser]
        assert code == 1, f"run {run}: {results[loser]}"
        error = json.loads(out)["error"]
        assert error["type"] == "DestinationNotEmpty", error
        assert "Traceback" not in err
        assert snapshot(dest) == snapshot(sources[winners[0]]), f"run {run}: DEST is merged"
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_digest_mismatch_removes_the_parents_it_created(kubo: KuboDaemon, tmp_path: Path) -> None:
    with IpfsStore(kubo.api_url) as store:
        ref = store.push(make_bundle_dir(tmp_path / "src"))
        with pytest.raises(DigestMismatch):
            store.pull(ref.cid, tmp_path / "new" / "nested" / "dest", sha256="0" * 64)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src"]


def test_hung_daemon_is_unreachable_within_the_timeout(
    own_kubo: KuboDaemon, tmp_path: Path
) -> None:
    """SIGSTOP: the daemon accepts connections and never answers. Exit 3, not 'not found'."""
    with IpfsStore(own_kubo.api_url) as store:
        ref = store.push(make_bundle_dir(tmp_path / "src"))
    os.kill(own_kubo.pid, signal.SIGSTOP)
    config = Path(os.environ["DECENTRALML_CONFIG_DIR"]) / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("ipfs_timeout = 2\n")
    dest = tmp_path / "new" / "dest"
    for how, extra_env, extra_args in [
        ("flag", {}, ["--timeout", "1.5"]),
        ("env", {"DECENTRALML_IPFS_TIMEOUT": "1"}, []),
        ("config", {}, []),
    ]:
        started = time.monotonic()
        done = subprocess.run(
            [CLI, "assets", "pull", ref.cid, str(dest), "--sha256", ref.sha256,
             "--json", "--ipfs-api", own_kubo.api_url, *extra_args],
            capture_output=True, text=True, env=cli_env(**extra_env), timeout=60,
        )  # fmt: skip
        elapsed = time.monotonic() - started
        assert done.returncode == 3, (how, done.stdout, done.stderr)
        error = json.loads(done.stdout)["error"]
        assert error["type"] == "IpfsUnavailable", (how, error)
        assert error["address"] == own_kubo.api_url
        waited = {"flag": "1.5", "env": "1", "config": "2"}[how]
        assert f"did not answer within {waited} s" in error["message"], (how, error)
        # The configured timeout, plus the interpreter's start-up, not a minute.
        assert elapsed < float(waited) + 5, (how, elapsed)
        assert not (tmp_path / "new").exists()
    push = subprocess.run(
        [CLI, "assets", "push", str(tmp_path / "src"), "--timeout", "1",
         "--ipfs-api", own_kubo.api_url],
        capture_output=True, text=True, env=cli_env(), timeout=60,
    )  # fmt: skip
    assert push.returncode == 3, push.stderr
    assert "did not answer within 1 s" in push.stderr and "Traceback" not in push.stderr


def start_blocked_pull(daemon: KuboDaemon, ref: ContentRef, dest: Path) -> subprocess.Popen[str]:
    """A CLI pull into `dest`, against a daemon stopped with SIGSTOP: it waits on the daemon.

    Returns once the pull's staging directory exists beside `dest`.
    """
    proc = subprocess.Popen(
        [CLI, "assets", "pull", ref.cid, str(dest), "--sha256", ref.sha256,
         "--timeout", "60", "--ipfs-api", daemon.api_url],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env(),
        preexec_fn=default_signal_handling,
    )  # fmt: skip
    wait_until(lambda: proc.poll() is not None or staging_dirs(dest), timeout=30, interval=0.02)
    if not staging_dirs(dest):
        proc.kill()
        raise AssertionError(f"the pull never created its staging: {proc.communicate()}")
    return proc


def staging_dirs(dest: Path) -> list[Path]:
    if not dest.parent.exists():
        return []
    return [p for p in dest.parent.iterdir() if p.name.startswith(f".{dest.name}.pull-")]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_interrupted_pull_removes_its_staging_directory(
    own_kubo: KuboDaemon, tmp_path: Path, signum: int
) -> None:
    """A pull stopped by SIGTERM or Ctrl-C while waiting on the daemon leaves nothing behind."""
    with IpfsStore(own_kubo.api_url) as store:
        ref = store.push(make_bundle_dir(tmp_path / "src"))
    os.kill(own_kubo.pid, signal.SIGSTOP)
    parent = tmp_path / "new"
    proc = start_blocked_pull(own_kubo, ref, parent / "dest")
    try:
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, err
    assert "pull interrupted" in err and "Traceback" not in err
    assert not parent.exists(), list(parent.iterdir())


def test_next_pull_removes_what_a_killed_pull_left(own_kubo: KuboDaemon, tmp_path: Path) -> None:
    """SIGKILL skips all clean-up; the next pull to the same DEST removes the leftovers."""
    with IpfsStore(own_kubo.api_url) as store:
        ref = store.push(make_bundle_dir(tmp_path / "src"))
    os.kill(own_kubo.pid, signal.SIGSTOP)
    dest = tmp_path / "dest"
    proc = start_blocked_pull(own_kubo, ref, dest)
    proc.kill()
    proc.communicate(timeout=20)
    left = staging_dirs(dest)
    assert len(left) == 1
    os.kill(own_kubo.pid, signal.SIGCONT)
    done = subprocess.run(
        [CLI, "assets", "pull", ref.cid, str(dest), "--sha256", ref.sha256,
         "--ipfs-api", own_kubo.api_url],
        capture_output=True, text=True, env=cli_env(), timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert staging_dirs(dest) == []
    assert snapshot(dest) == snapshot(tmp_path / "src")


@pytest.mark.skipif(
    shutil.which("chattr") is None or os.geteuid() != 0, reason="needs chattr and root"
)
def test_failed_forced_pull_leaves_dest_as_it_was(kubo: KuboDaemon, tmp_path: Path) -> None:
    """--force over a DEST where one file to replace cannot be: DEST unchanged, and says so."""
    src = make_bundle_dir(tmp_path / "src")
    with IpfsStore(kubo.api_url) as store:
        ref: ContentRef = store.push(src)
        dest = tmp_path / "dest"
        store.pull(ref.cid, dest, sha256=ref.sha256)
        (dest / "README.md").write_text("edited\n")
        (dest / "model" / "weights.bin").write_bytes(b"edited")
        (dest / "mine.txt").write_text("user file\n")
        locked = dest / "train.sh"  # after README.md and model/ in the merge order
        before = snapshot(dest)
        if subprocess.run(["chattr", "+i", str(locked)], check=False).returncode != 0:
            pytest.skip("this file system does not support the immutable attribute")
        try:
            with pytest.raises(StorageError) as info:
                store.pull(ref.cid, dest, sha256=ref.sha256, force=True)
        finally:
            subprocess.run(["chattr", "-i", str(locked)], check=True)
    assert snapshot(dest) == before
    assert f"{dest} is as it was before this pull" in str(info.value)
    assert str(locked) in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dest", "src"]
