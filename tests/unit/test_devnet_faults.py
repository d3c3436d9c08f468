"""The devnet launcher under faults that need no chain: damaged files, unusable directories,
signals, stopped processes and concurrent commands."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from decentralml.cli import cli
from decentralml.devnet import _process, _state, network
from decentralml.errors import DevnetError

ROOT = Path(__file__).resolve().parents[2]
# A child that idles until a signal ends it.
SLEEPER = [sys.executable, "-c", "import signal; signal.pause()"]


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["devnet", *args])
    return result.exit_code, result.output


def assert_one_error(output: str, words: list[str]) -> dict[str, str]:
    """A --json error document: one line, no traceback, naming `words`."""
    assert "Traceback" not in output
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    error: dict[str, str] = json.loads(lines[0])["error"]
    text = error["message"] + " " + error.get("hint", "")
    for word in words:
        assert word in text, error
    return error


@pytest.mark.parametrize("command", [["up", "--no-ipfs"], ["down"], ["status"]])
def test_data_dir_that_is_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    """A file where the data directory should be: exit 1 and one line, not a traceback."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "devnet").write_text("not a directory")
    monkeypatch.setenv("DECENTRALML_DATA_DIR", str(data))

    code, output = run(*command, "--json")

    assert code == 1, output
    assert_one_error(output, ["not a directory", "DECENTRALML_DATA_DIR"])
    code, human = run(*command)
    assert code == 1
    assert "Traceback" not in human
    assert "Error:" in human


def test_data_dir_that_cannot_be_created(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A parent that is a file: `up` cannot create its directory."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("DECENTRALML_DATA_DIR", str(blocker / "data"))

    code, output = run("up", "--no-ipfs", "--json")

    assert code == 1, output
    assert_one_error(output, ["cannot be written", "DECENTRALML_DATA_DIR"])


def read_only_dir() -> Path:
    """A directory nobody can write to, not even root (sysfs refuses new files)."""
    path = Path("/sys/kernel")
    try:
        (path / "decentralml-probe").write_text("")
    except OSError:
        return path
    pytest.skip("no read-only directory available")


def test_read_only_data_dir() -> None:
    paths = network.DevnetPaths(read_only_dir())

    with pytest.raises(DevnetError) as info:
        network.up(port=_process.free_port(), ipfs=False, paths=paths)

    assert "cannot be written" in info.value.message
    assert "DECENTRALML_DATA_DIR" in (info.value.hint or "")


def make_chain_db(path: Path, blocks: int) -> None:
    """A database shaped like Chopsticks' own, big enough to span many pages."""
    with sqlite3.connect(path) as conn:
        conn.execute(
            'CREATE TABLE "block" ("hash" varchar PRIMARY KEY NOT NULL, "number" integer '
            'NOT NULL, "header" text NOT NULL, "parentHash" varchar, "extrinsics" text NOT '
            'NULL, "storageDiff" text)'
        )
        conn.executemany(
            "INSERT INTO block VALUES (?, ?, ?, ?, ?, ?)",
            [(f"0x{n:064x}", n, "0x" + "ab" * 500, None, "", "{}") for n in range(1, blocks)],
        )
    conn.close()


def test_damaged_database_is_refused_before_anything_starts(tmp_path: Path) -> None:
    """A truncated chain.sqlite: a clear error naming --fresh, and nothing left running."""
    paths = network.DevnetPaths(tmp_path / "devnet")
    paths.root.mkdir()
    make_chain_db(paths.db, 2000)
    size = paths.db.stat().st_size
    with paths.db.open("r+b") as fh:
        fh.truncate(size // 2)

    with pytest.raises(DevnetError) as info:
        network.up(port=_process.free_port(), ipfs=False, paths=paths)

    assert "damaged" in info.value.message
    assert "--fresh" in (info.value.hint or "")
    assert network.read_state(paths) is None
    assert _process.find_processes(cwd=paths.root, marker="chopsticks") == []


def test_database_damage_check(tmp_path: Path) -> None:
    good = tmp_path / "good.sqlite"
    make_chain_db(good, 50)
    assert _state.database_damage(good) is None
    assert _state.database_damage(tmp_path / "missing.sqlite") is None
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"x" * 10_000)
    assert _state.database_damage(garbage) is not None


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    child = subprocess.Popen(SLEEPER)
    assert _process.wait_until(
        lambda: _process.is_same_process(child.pid, start_time=None, marker="signal.pause"),
        timeout=10,
    )
    yield child
    child.kill()
    child.wait()


def test_terminate_ends_a_stopped_process_at_once(sleeper: subprocess.Popen[bytes]) -> None:
    """SIGTERM waits in a stopped process's queue; `terminate` continues it so it acts."""
    os.kill(sleeper.pid, signal.SIGSTOP)
    assert _process.wait_until(lambda: _process.is_stopped(sleeper.pid), timeout=5)
    started = time.monotonic()

    assert _process.terminate(sleeper.pid, timeout=20)

    assert time.monotonic() - started < 5
    assert not _process.pid_alive(sleeper.pid)


def test_signals_interrupt_the_block_and_handlers_come_back() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt), _process.interrupt_on_signals():
        os.kill(os.getpid(), signal.SIGTERM)
        _process.wait_until(lambda: False, timeout=5)
    assert signal.getsignal(signal.SIGTERM) == before


def test_ignored_signals_stay_ignored() -> None:
    """Under `nohup`, SIGHUP is ignored; a closed terminal must not interrupt `up` then."""
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        with _process.interrupt_on_signals():
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
            os.kill(os.getpid(), signal.SIGHUP)
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, previous)


def test_processes_are_found_by_directory_and_marker(tmp_path: Path) -> None:
    """What a devnet started is found even without a record: by its directory and command."""
    child = subprocess.Popen([*SLEEPER, "chopsticks-marker"], cwd=tmp_path)
    try:
        assert _process.wait_until(
            lambda: _process.find_processes(cwd=tmp_path, marker="chopsticks-marker"), timeout=10
        ) == [child.pid]
        assert _process.find_processes(cwd=tmp_path, marker="other") == []
        assert _process.find_processes(cwd=tmp_path.parent, marker="chopsticks-marker") == []
        assert _process.is_same_process(child.pid, start_time=None, cwd=tmp_path)
        assert not _process.is_same_process(child.pid, start_time=None, cwd=tmp_path.parent)
    finally:
        child.kill()
        child.wait()


def test_listening_ports_of_a_process() -> None:
    code = (
        "import socket, signal; s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(); "
        "print(s.getsockname()[1], flush=True); signal.pause()"
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    try:
        assert child.stdout is not None
        port = int(child.stdout.readline())
        assert _process.listening_ports(child.pid) == {port}
        assert _process.listening_ports(os.getpid()) == set()
    finally:
        child.kill()
        child.wait()


HOLD_LOCK = """
import signal, sys
from pathlib import Path
from decentralml.devnet import _state
paths = _state.DevnetPaths(Path(sys.argv[1]))
with _state.locked(paths, label="up"):
    print("locked", flush=True)
    signal.pause()
"""


@pytest.fixture
def up_in_progress(tmp_path: Path) -> Iterator[tuple[network.DevnetPaths, int]]:
    """Another process holding the devnet's lock the way a running `up` does."""
    paths = network.DevnetPaths(tmp_path / "devnet")
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(paths.root)], stdout=subprocess.PIPE, cwd=ROOT
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == b"locked"
    yield paths, child.pid
    child.kill()
    child.wait()


def test_status_during_up_says_starting(
    up_in_progress: tuple[network.DevnetPaths, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    paths, pid = up_in_progress
    monkeypatch.setenv("DECENTRALML_DATA_DIR", str(paths.root.parent))

    code, output = run("status", "--json")

    assert code == 3, output
    document = json.loads(output)
    assert (document["running"], document["state"]) == (False, "starting")
    assert f"pid {pid}" in document["problem"]


def test_down_during_up_waits_and_says_so(up_in_progress: tuple[network.DevnetPaths, int]) -> None:
    paths, pid = up_in_progress
    notes: list[str] = []
    started = time.monotonic()

    with pytest.raises(DevnetError) as info:
        network.down(paths=paths, log=notes.append, lock_timeout=1.0)

    assert time.monotonic() - started >= 1.0
    assert len(notes) == 1
    assert f"pid {pid}" in notes[0]
    assert "devnet up" in notes[0]
    assert f"pid {pid}" in info.value.message


def test_state_write_failure_is_one_clear_error(tmp_path: Path) -> None:
    """`devnet.json` that cannot be written: a `DevnetError`, not an OSError."""
    paths = network.DevnetPaths(tmp_path)
    paths.state_file.mkdir()
    state = network.DevnetState(
        started_at="x",
        chain=network.ChainRecord(
            pid=1, start_time=None, port=1, url="ws://x", db="d", log="l", chain_spec_sha256=""
        ),
    )
    with pytest.raises(DevnetError) as info:
        network._record(paths, state)
    assert "devnet.json" in info.value.message
