"""Process, port and state helpers of the devnet launcher (no chain needed)."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from decentralml.devnet import _process, _state, chopsticks, network
from decentralml.errors import DevnetError

# A child that idles until a signal ends it.
SLEEPER = [sys.executable, "-c", "import signal; signal.pause()"]


def test_port_in_use_sees_a_listener() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert _process.port_in_use(port)
    assert not _process.port_in_use(port)


def test_free_port_is_free() -> None:
    port = _process.free_port()
    assert 0 < port < 65536
    assert not _process.port_in_use(port)


def test_terminate_stops_a_child_and_reports_it() -> None:
    """A running process is stopped (and reaped); a second attempt reports nothing to stop."""
    # Prepare
    child = subprocess.Popen(SLEEPER)
    start_time = _process.process_start_time(child.pid)
    # Until the child has exec'd, /proc shows the parent's command line.
    assert _process.wait_until(
        lambda: _process.is_same_process(child.pid, start_time=start_time, marker="signal.pause"),
        timeout=10,
    )
    # Execute
    stopped = _process.terminate(child.pid, timeout=10)
    # Assert
    assert stopped
    assert not _process.pid_alive(child.pid)
    assert not _process.terminate(child.pid, timeout=1)


def test_identity_check_refuses_another_program() -> None:
    """A recorded pid that now runs something else is not ours to stop."""
    child = subprocess.Popen(SLEEPER)
    try:
        assert not _process.is_same_process(child.pid, start_time=None, marker="chopsticks")
        assert not _process.is_same_process(child.pid, start_time=1, marker=None)
        assert not chopsticks.stop_chopsticks(child.pid, start_time=None)
        assert _process.pid_alive(child.pid)
    finally:
        child.kill()
        child.wait()


def test_wait_until_returns_value_or_none() -> None:
    calls = iter([0, 0, 5])
    assert _process.wait_until(lambda: next(calls), timeout=5, interval=0.01) == 5
    assert _process.wait_until(lambda: False, timeout=0.05, interval=0.01) is None


def test_tail_reads_last_lines(tmp_path: Path) -> None:
    log = tmp_path / "x.log"
    log.write_text("".join(f"line {i}\n" for i in range(100)))
    assert _process.tail(log, lines=2) == "line 98\nline 99"
    assert _process.tail(tmp_path / "missing.log") == ""


def test_chopsticks_config_is_valid_yaml_json(tmp_path: Path) -> None:
    """The config holds what Chopsticks needs to resume on loopback in Instant mode."""
    config = tmp_path / "chopsticks.yml"
    chopsticks.write_config(
        config, genesis=tmp_path / "spec.json", db=tmp_path / "db.sqlite", port=9999, resume=True
    )
    data = json.loads(config.read_text())
    assert data == {
        "genesis": str(tmp_path / "spec.json"),
        "db": str(tmp_path / "db.sqlite"),
        "host": "127.0.0.1",
        "port": 9999,
        "build-block-mode": "Instant",
        "resume": True,
    }


def test_state_round_trips(tmp_path: Path) -> None:
    paths = network.DevnetPaths(tmp_path)
    state = network.DevnetState(
        started_at="2026-01-01T00:00:00+0000",
        chain=network.ChainRecord(
            pid=1,
            start_time=2,
            port=9944,
            url="ws://127.0.0.1:9944",
            db="db",
            log="log",
            chain_spec_sha256="0" * 64,
        ),
        ipfs=network.IpfsRecord(
            pid=3,
            start_time=None,
            api_url="http://127.0.0.1:5001",
            gateway_url="http://127.0.0.1:8080",
            repo="ipfs",
            log="kubo.log",
        ),
    )
    _state.write_state(paths, state)
    assert network.read_state(paths) == state


def test_stale_state_is_reported_as_crashed_and_cleared_by_down(tmp_path: Path) -> None:
    """A record whose process is gone (a crash, a reboot): `status` says so and only looks;
    `down` clears the record."""
    # Prepare
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    paths = network.DevnetPaths(tmp_path)
    paths.root.mkdir(parents=True, exist_ok=True)
    record = {
        "started_at": "x",
        "chain": {
            "pid": child.pid,
            "start_time": None,
            "port": 1,
            "url": "ws://127.0.0.1:1",
            "db": "db",
            "log": "log",
            "chain_spec_sha256": "",
        },
        "ipfs": None,
    }
    paths.state_file.write_text(json.dumps(record))
    # Execute
    result = network.status(paths=paths)
    # Assert
    assert not result.running
    assert result.condition == "crashed"
    assert str(child.pid) in (result.problem or "")
    assert "devnet up" in (result.hint or "")
    assert paths.state_file.exists()
    down = network.down(paths=paths)
    assert down.chain_had_stopped
    assert not down.was_running
    assert not paths.state_file.exists()


def test_unreadable_state_is_ignored(tmp_path: Path) -> None:
    paths = network.DevnetPaths(tmp_path)
    paths.state_file.write_text("{not json")
    assert network.read_state(paths) is None


def test_saved_height_of_missing_or_foreign_db(tmp_path: Path) -> None:
    assert network.saved_height(tmp_path / "none.sqlite") is None
    foreign = tmp_path / "foreign.sqlite"
    foreign.write_bytes(b"not a database")
    assert network.saved_height(foreign) is None


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_start_time_of_self() -> None:
    assert _process.process_start_time(os.getpid()) is not None


def test_database_of_another_chain_spec_is_not_resumed(tmp_path: Path) -> None:
    """After a runtime change, `up` asks for --fresh instead of resuming the old chain."""
    # Prepare
    paths = network.DevnetPaths(tmp_path)
    paths.root.mkdir(parents=True, exist_ok=True)
    paths.db.write_bytes(b"")
    paths.db_meta.write_text(json.dumps({"chain_spec_sha256": "0" * 64}))
    # Execute
    with pytest.raises(DevnetError) as info:
        network.up(port=_process.free_port(), ipfs=False, paths=paths)
    # Assert
    assert "--fresh" in (info.value.hint or "")
    assert not paths.state_file.exists()


def test_database_running_another_runtime_is_not_resumed_without_its_record(
    tmp_path: Path,
) -> None:
    """With chain.meta.json missing, the runtime the database cached from its genesis tells
    that it was made from another chain spec (Chopsticks would keep running that runtime)."""
    paths = network.DevnetPaths(tmp_path)
    paths.root.mkdir(parents=True, exist_ok=True)
    with contextlib.closing(sqlite3.connect(paths.db)) as conn, conn:
        conn.execute(
            'CREATE TABLE "key_value_pair" ("blockHash" varchar NOT NULL, "key" varchar NOT NULL, '
            '"value" text, PRIMARY KEY ("blockHash", "key"))'
        )
        conn.execute(
            "INSERT INTO key_value_pair VALUES (?, ?, ?)",
            (chopsticks.GENESIS_HASH, chopsticks.CODE_KEY, "0x0061736d01000000"),
        )
    assert chopsticks.cached_genesis_value(paths.db, chopsticks.CODE_KEY) == "0x0061736d01000000"

    with pytest.raises(DevnetError) as info:
        network.up(port=_process.free_port(), ipfs=False, paths=paths)

    assert "another version of the chain spec" in info.value.message
    assert "--fresh" in (info.value.hint or "")
    assert not paths.state_file.exists()
    assert chopsticks.cached_genesis_value(tmp_path / "none.sqlite", chopsticks.CODE_KEY) is None
