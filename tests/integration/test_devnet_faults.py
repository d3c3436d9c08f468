"""The devnet and its commands the way users break them, against real Chopsticks and Kubo:
lost records, signals, a damaged database, crashed and stopped processes, concurrent runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from decentralml.cli import cli
from decentralml.devnet import _process, chopsticks, network
from decentralml.devnet.kubo import kubo_alive
from decentralml.errors import DevnetError
from tests.backend import chopsticks_only
from tests.fixtures_devnet import Devnet, devnet_prerequisites_missing
from tests.processes import default_signal_handling
from tests.unit.test_devnet_cli import validate

pytestmark = [
    pytest.mark.integration,
    chopsticks_only(
        "tests the Chopsticks launcher (its database, resume and faults); "
        "test_omni_node.py tests the omni-node launcher"
    ),
]

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-c", "from decentralml.cli import main; main()"]


def devnet_cli(*args: str) -> tuple[Any, int]:
    """`decentralml devnet ... --json`: the parsed document and the exit code."""
    result = CliRunner().invoke(cli, ["devnet", *args, "--json"])
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) <= 1, result.output
    return (json.loads(lines[0]) if lines else None), result.exit_code


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    reason = devnet_prerequisites_missing()
    if reason is not None:
        pytest.skip(reason)
    data = tmp_path / "data"
    monkeypatch.setenv("DECENTRALML_DATA_DIR", str(data))
    yield data
    network.down(paths=network.DevnetPaths(data / "devnet"))


def devnet_paths(data: Path) -> network.DevnetPaths:
    return network.DevnetPaths(data / "devnet")


def processes_in(cwd: Path, marker: str) -> list[int]:
    """Live processes working in `cwd` with `marker` in their command line, read from /proc
    here rather than through the code under test."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            here = Path(os.readlink(entry / "cwd"))
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            # A zombie main thread with live threads still holds the process's resources.
            alive = (
                stat_state(int(entry.name)) not in ("Z", "X") or len(os.listdir(entry / "task")) > 1
            )
        except OSError:
            continue
        if alive and here == cwd.resolve() and any(marker.encode() in part for part in cmdline):
            found.append(int(entry.name))
    return sorted(found)


def stat_state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def chain_pids(paths: network.DevnetPaths) -> list[int]:
    return processes_in(paths.root, "chopsticks")


def kubo_pids(paths: network.DevnetPaths) -> list[int]:
    return processes_in(paths.ipfs_repo, "daemon")


def nothing_runs(paths: network.DevnetPaths) -> bool:
    return not chain_pids(paths) and not kubo_pids(paths)


def ports(n: int) -> list[str]:
    return [str(_process.free_port()) for _ in range(n)]


def up_with_ipfs(port: str, api: str, gateway: str, *extra: str) -> dict[str, Any]:
    document, code = devnet_cli(
        "up", "--port", port, "--ipfs-port", api, "--ipfs-gateway-port", gateway, *extra
    )
    assert code == 0, document
    return dict(document)


# -- finding 2: processes the CLI could no longer see or stop --------------------------------


def test_truncated_record_is_seen_and_stopped(data_dir: Path, kubo_bin: Path) -> None:
    """devnet.json cut short while chain and IPFS run: status and up say so, down stops both."""
    paths = devnet_paths(data_dir)
    port, api, gateway = ports(3)
    up = up_with_ipfs(port, api, gateway, "--fresh")
    text = paths.state_file.read_text()
    paths.state_file.write_text(text[: len(text) // 2])

    status, code = devnet_cli("status")
    assert code == 1
    assert str(up["pid"]) in status["error"]["message"]
    assert str(up["ipfs"]["pid"]) in status["error"]["message"]
    assert "devnet down" in status["error"]["hint"]

    again, code = devnet_cli("up", "--port", str(_process.free_port()), "--no-ipfs")
    assert code == 1
    assert "devnet down" in again["error"]["hint"]
    assert chain_pids(paths) == [up["pid"]]  # no second writer on chain.sqlite

    down, code = devnet_cli("down")
    assert code == 0
    validate(down)
    assert sorted(down["unrecorded_stopped"]) == sorted([up["pid"], up["ipfs"]["pid"]])
    assert nothing_runs(paths)
    assert not _process.port_in_use(int(port))
    assert not kubo_alive(up["ipfs"]["api_url"])


def test_lost_record_with_an_orphan_blocks_a_second_chain(data_dir: Path, kubo_bin: Path) -> None:
    """An orphan on the default ports: `up` elsewhere neither starts a second Chopsticks on
    the same database nor rewrites the running Kubo's configuration."""
    paths = devnet_paths(data_dir)
    port, api, gateway = ports(3)
    up = up_with_ipfs(port, api, gateway, "--fresh")
    paths.state_file.unlink()
    config = (paths.ipfs_repo / "config").read_bytes()

    other = ports(3)
    document, code = devnet_cli(
        "up", "--port", other[0], "--ipfs-port", other[1], "--ipfs-gateway-port", other[2]
    )

    assert code == 1
    assert str(up["pid"]) in document["error"]["message"]
    assert chain_pids(paths) == [up["pid"]]
    assert kubo_pids(paths) == [up["ipfs"]["pid"]]
    assert (paths.ipfs_repo / "config").read_bytes() == config
    assert not _process.port_in_use(int(other[0]))
    assert devnet_cli("down")[1] == 0
    assert nothing_runs(paths)


def test_state_write_failure_stops_what_started(data_dir: Path, kubo_bin: Path) -> None:
    """devnet.json cannot be written after both processes started: both are stopped again."""
    paths = devnet_paths(data_dir)
    paths.root.mkdir(parents=True)
    paths.state_file.mkdir()  # os.replace onto a directory fails
    port, api, gateway = ports(3)

    document, code = devnet_cli(
        "up", "--port", port, "--ipfs-port", api, "--ipfs-gateway-port", gateway
    )

    assert code == 1
    assert "devnet.json" in document["error"]["message"]
    assert nothing_runs(paths)
    assert not _process.port_in_use(int(port))
    assert not _process.port_in_use(int(api))
    paths.state_file.rmdir()


def start_up_process(data: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "DECENTRALML_DATA_DIR": str(data)}
    return subprocess.Popen(
        [*CLI, "devnet", "up", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=default_signal_handling,
    )


def read_until(proc: subprocess.Popen[str], text: str) -> str:
    """What the process printed up to and including the first line containing `text`."""
    assert proc.stdout is not None
    seen = ""
    for line in proc.stdout:
        seen += line
        if text in line:
            return seen
    raise AssertionError(f"the process ended without printing {text!r}:\n{seen}")


@pytest.mark.parametrize(
    "signum",
    [signal.SIGTERM, signal.SIGINT, signal.SIGHUP],  # a supervisor, Ctrl-C, a closed terminal
)
def test_interrupted_up_leaves_nothing_running(data_dir: Path, kubo_bin: Path, signum: int) -> None:
    paths = devnet_paths(data_dir)
    port, api, gateway = ports(3)
    proc = start_up_process(
        data_dir, "--port", port, "--ipfs-port", api, "--ipfs-gateway-port", gateway, "--fresh"
    )
    try:
        if signum == signal.SIGTERM:
            # While Chopsticks starts: it takes seconds to answer.
            assert _process.wait_until(lambda: chain_pids(paths), timeout=120), "no chain"
            printed = ""
        else:
            # Just after "Starting IPFS": the chain runs, Kubo is being set up.
            printed = read_until(proc, "Starting IPFS")
            assert chain_pids(paths)
        proc.send_signal(signum)
        output, _ = proc.communicate(timeout=60)
        output = printed + output
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, output
    assert "Traceback" not in output
    assert "interrupted" in output
    assert _process.wait_until(lambda: nothing_runs(paths), timeout=10)
    assert devnet_cli("status")[1] == 3
    assert not _process.port_in_use(int(port))


def test_killed_up_leaves_processes_that_status_sees_and_down_stops(
    data_dir: Path, kubo_bin: Path
) -> None:
    """SIGKILL cannot be handled: what `up` had started is then found without a record."""
    paths = devnet_paths(data_dir)
    port, api, gateway = ports(3)
    proc = start_up_process(
        data_dir, "--port", port, "--ipfs-port", api, "--ipfs-gateway-port", gateway, "--fresh"
    )
    try:
        read_until(proc, "Starting IPFS")
        proc.kill()
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    left = chain_pids(paths) + kubo_pids(paths)
    assert left

    status, code = devnet_cli("status")
    assert code == 1
    for pid in left:
        assert str(pid) in status["error"]["message"]

    down, code = devnet_cli("down")
    assert code == 0
    assert sorted(down["unrecorded_stopped"]) == sorted(left)
    assert _process.wait_until(lambda: nothing_runs(paths), timeout=10)
    assert not _process.port_in_use(int(port))


def test_kubo_through_a_symlink_is_recognised(
    data_dir: Path, kubo_bin: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    link = tmp_path / "bin" / "kubo"
    link.parent.mkdir()
    link.symlink_to(kubo_bin)
    monkeypatch.setenv("DECENTRALML_KUBO_BIN", str(link))
    paths = devnet_paths(data_dir)
    up = up_with_ipfs(*ports(3), "--fresh")

    status, code = devnet_cli("status")
    assert code == 0, status
    assert status["ipfs"]["running"] is True

    down, _ = devnet_cli("down")
    assert down["ipfs_stopped"] is True
    assert nothing_runs(paths)
    assert not kubo_alive(up["ipfs"]["api_url"])


def test_moved_port_is_caught_even_with_another_chains_log_line(
    devnet: Devnet, tmp_path: Path
) -> None:
    """Chopsticks moves to another port when its own is taken. Another process's "listening"
    line in the log (as an orphan sharing the log wrote) must not make that look fine."""
    paths = network.DevnetPaths(tmp_path / "devnet")
    log_path = paths.chopsticks_log
    stop = threading.Event()

    def orphan_writes() -> None:
        while not stop.is_set():
            log_path.parent.mkdir(parents=True, exist_ok=True)
            with log_path.open("a") as fh:
                fh.write(f"INFO: RPC listening on ws://127.0.0.1:{devnet.port}\n")
            stop.wait(0.05)  # write again soon, as a live orphan would; end once told to

    writer = threading.Thread(target=orphan_writes)
    writer.start()
    try:
        with pytest.raises(DevnetError) as info:
            chopsticks.start_chopsticks(
                genesis=network.chain_spec_path(),
                db=paths.db,
                port=devnet.port,
                config_path=paths.chopsticks_config,
                log_path=log_path,
                resume=False,
                genesis_timestamp_ms=1_700_000_000_000,
            )
    finally:
        stop.set()
        writer.join()
    assert "moved" in info.value.message
    assert _process.wait_until(lambda: not chain_pids(paths), timeout=10)


# -- finding 5: a damaged chain database ---------------------------------------------------


def test_damaged_database_gives_a_fresh_hint_and_leaves_nothing(data_dir: Path) -> None:
    paths = devnet_paths(data_dir)
    port = str(_process.free_port())
    assert devnet_cli("up", "--port", port, "--no-ipfs", "--fresh")[1] == 0
    assert devnet_cli("advance", "400")[1] == 0
    assert devnet_cli("down")[1] == 0
    size = paths.db.stat().st_size
    assert size > 100_000
    with paths.db.open("r+b") as fh:
        fh.truncate(size // 2)

    document, code = devnet_cli("up", "--port", port, "--no-ipfs")

    assert code == 1
    assert "damaged" in document["error"]["message"]
    assert "--fresh" in document["error"]["hint"]
    assert nothing_runs(paths)
    status, code = devnet_cli("status")
    assert (code, status["state"]) == (3, "stopped")
    fresh, code = devnet_cli("up", "--port", port, "--no-ipfs", "--fresh")
    assert (code, fresh["height"]) == (0, 1)


# -- finding 8: status, down and up around dead, stopped and busy processes ----------------


def test_status_with_ipfs_dead_exits_3_and_up_repairs_it(data_dir: Path, kubo_bin: Path) -> None:
    port, api, gateway = ports(3)
    up = up_with_ipfs(port, api, gateway, "--fresh")
    os.kill(up["ipfs"]["pid"], signal.SIGKILL)
    assert _process.wait_until(lambda: not kubo_alive(up["ipfs"]["api_url"]), timeout=10)

    status, code = devnet_cli("status")
    assert code == 3
    validate(status)
    assert (status["running"], status["state"]) == (True, "degraded")
    assert "devnet up" in status["hint"]

    up_with_ipfs(port, api, gateway)
    status, code = devnet_cli("status")
    assert (code, status["state"], status["ipfs"]["running"]) == (0, "running", True)


def test_status_after_a_chain_crash_says_so_and_stops_nothing(
    data_dir: Path, kubo_bin: Path
) -> None:
    paths = devnet_paths(data_dir)
    up = up_with_ipfs(*ports(3), "--fresh")
    os.kill(up["pid"], signal.SIGKILL)
    assert _process.wait_until(lambda: not chain_pids(paths), timeout=10)

    status, code = devnet_cli("status")
    assert code == 3
    validate(status)
    assert status["state"] == "crashed"
    assert str(up["pid"]) in status["problem"]
    assert "devnet up" in status["hint"]
    assert kubo_alive(up["ipfs"]["api_url"])  # status only looks

    down, code = devnet_cli("down")
    assert code == 0
    assert (down["chain_had_stopped"], down["ipfs_stopped"]) == (True, True)
    assert nothing_runs(paths)


def test_up_with_another_ipfs_port_is_refused(data_dir: Path, kubo_bin: Path) -> None:
    port, api, gateway = ports(3)
    up = up_with_ipfs(port, api, gateway, "--fresh")

    document, code = devnet_cli(
        "up",
        "--port",
        port,
        "--ipfs-port",
        str(_process.free_port()),
        "--ipfs-gateway-port",
        gateway,
    )

    assert code == 1
    assert up["ipfs"]["api_url"] in document["error"]["message"]
    assert "devnet down" in document["error"]["hint"]


def test_down_of_a_stopped_chain_is_quick(data_dir: Path) -> None:
    paths = devnet_paths(data_dir)
    up, code = devnet_cli("up", "--port", str(_process.free_port()), "--no-ipfs", "--fresh")
    assert code == 0
    os.kill(up["pid"], signal.SIGSTOP)
    assert _process.wait_until(lambda: stat_state(up["pid"]) in ("T", "t"), timeout=5)
    started = time.monotonic()

    down, code = devnet_cli("down")

    elapsed = time.monotonic() - started
    print(f"down of a SIGSTOPped chain: {elapsed:.1f} s")
    assert code == 0
    assert down["chain_stopped"] is True
    assert elapsed < 10
    assert nothing_runs(paths)


def test_status_and_down_while_up_is_in_progress(data_dir: Path) -> None:
    paths = devnet_paths(data_dir)
    port = str(_process.free_port())
    proc = start_up_process(data_dir, "--port", port, "--no-ipfs", "--fresh")
    try:
        # `up` names itself in the lock file while it works.
        assert _process.wait_until(
            lambda: (paths.root / ".lock").is_file() and (paths.root / ".lock").read_text().strip(),
            timeout=60,
        )
        status, code = devnet_cli("status")
        assert code == 3
        assert status["state"] == "starting"
        assert str(proc.pid) in status["problem"]

        result = CliRunner().invoke(cli, ["devnet", "down"])
        assert result.exit_code == 0, result.output
        assert f"pid {proc.pid}" in result.output  # it said whom it waited for
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert nothing_runs(paths)
    assert devnet_cli("status")[0]["state"] == "stopped"


def test_kubo_start_error_quotes_only_this_run(kubo_bin: Path, tmp_path: Path) -> None:
    from decentralml.devnet.kubo import start_kubo, stop_kubo

    repo, log = tmp_path / "repo", tmp_path / "kubo.log"
    daemon = start_kubo(
        repo, api_port=_process.free_port(), gateway_port=_process.free_port(), log_path=log
    )
    stop_kubo(daemon.pid)
    log.write_text("OLD RUN LINE\n" * 500)
    config = json.loads((repo / "config").read_text())
    config["Datastore"]["Spec"] = {"type": "no-such-datastore"}
    (repo / "config").write_text(json.dumps(config))

    with pytest.raises(DevnetError) as info:
        start_kubo(
            repo, api_port=_process.free_port(), gateway_port=_process.free_port(), log_path=log
        )

    assert "OLD RUN LINE" not in info.value.message
    assert len(info.value.message) < 1500
    assert not processes_in(repo, "daemon")
