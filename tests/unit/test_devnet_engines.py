"""Choosing the devnet's engine: bad names, a missing omni-node binary, mixed data directories.

None of these start a chain: each is refused before anything runs, with one clear line and a
documented exit code (1 for bad input, 3 for a missing engine, as for any unavailable service).
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from decentralml.cli import cli
from decentralml.config import resolve_settings
from decentralml.devnet import _engine, network, omni_node
from decentralml.devnet._engine import StartedChain
from decentralml.devnet._process import LOOPBACK, free_port
from decentralml.devnet._state import ENGINES, ChainRecord, DevnetPaths, write_meta
from decentralml.errors import ConfigError, DevnetError, EngineUnavailable

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "data"
    monkeypatch.setenv("DECENTRALML_DATA_DIR", str(path))
    monkeypatch.setenv("DECENTRALML_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("DECENTRALML_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.delenv("DECENTRALML_OMNI_NODE_BIN", raising=False)
    monkeypatch.delenv("DECENTRALML_DEVNET_ENGINE", raising=False)
    return path


def run(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(cli, ["devnet", *args], env=env, catch_exceptions=False)


def test_unknown_engine_flag_is_a_usage_error(data_dir: Path) -> None:
    result = run("up", "--engine", "geth", "--no-ipfs")
    assert result.exit_code == 2
    assert "chopsticks" in result.output and "omni-node" in result.output
    assert not (data_dir / "devnet" / "devnet.json").exists()


def test_unknown_engine_from_the_environment_names_the_variable(data_dir: Path) -> None:
    result = run("up", "--no-ipfs", "--json", env={"DECENTRALML_DEVNET_ENGINE": "parity"})
    assert result.exit_code == 1, result.output
    error = json.loads(result.stdout)["error"]
    assert "DECENTRALML_DEVNET_ENGINE" in error["message"] and "'parity'" in error["message"]


def test_engine_from_the_config_file(data_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('devnet_engine = "omni-node"\n')
    settings = resolve_settings({}, environ={})
    assert settings.devnet_engine == "omni-node"
    assert settings.sources["devnet_engine"] == "config"
    (tmp_path / "config.toml").write_text('devnet_engine = "substrate"\n')
    with pytest.raises(ConfigError, match="devnet_engine in"):
        resolve_settings({}, environ={})


def test_missing_omni_node_is_one_line_naming_the_install_script(data_dir: Path) -> None:
    """Exit 3, the script and its expected time named, nothing recorded or started."""
    result = run("up", "--engine", "omni-node", "--port", str(free_port()), "--no-ipfs")
    assert result.exit_code == 3, result.output
    first = result.output.strip().splitlines()[0]
    assert "scripts/install-omni-node" in first and "80 minutes" in first
    assert "Traceback" not in result.output
    assert not (data_dir / "devnet" / "devnet.json").exists()
    assert not (data_dir / "devnet" / "omni-node").exists()


def test_missing_engine_is_checked_before_fresh_discards_anything(data_dir: Path) -> None:
    paths = DevnetPaths(data_dir / "devnet")
    paths.root.mkdir(parents=True)
    paths.db.write_bytes(b"chopsticks chain state")
    result = run("up", "--engine", "omni-node", "--fresh", "--no-ipfs", "--port", str(free_port()))
    assert result.exit_code == 3
    assert paths.db.read_bytes() == b"chopsticks chain state"


def test_binary_override_must_be_executable(data_dir: Path, tmp_path: Path) -> None:
    plain = tmp_path / "not-a-node"
    plain.write_text("")
    os.environ["DECENTRALML_OMNI_NODE_BIN"] = str(plain)
    try:
        with pytest.raises(EngineUnavailable, match="not an executable"):
            omni_node.omni_node_binary()
        plain.chmod(plain.stat().st_mode | stat.S_IXUSR)
        assert omni_node.omni_node_binary() == plain
    finally:
        del os.environ["DECENTRALML_OMNI_NODE_BIN"]


def test_block_time_needs_the_omni_node_engine(data_dir: Path) -> None:
    result = run("up", "--block-time", "6000", "--no-ipfs", "--port", str(free_port()))
    assert result.exit_code == 1
    assert "--engine omni-node" in result.output


@pytest.mark.parametrize(
    ("made_by", "asked"), [("chopsticks", "omni-node"), ("omni-node", "chopsticks")]
)
def test_a_directory_made_by_the_other_engine_is_refused(
    data_dir: Path, made_by: str, asked: str
) -> None:
    """Never mixed: the other engine's state stays as it was, and the hint says both ways out."""
    paths = DevnetPaths(data_dir / "devnet")
    paths.root.mkdir(parents=True)
    if made_by == "chopsticks":
        paths.db.write_bytes(b"state")
    else:
        (paths.omni_node_base / "chains").mkdir(parents=True)
    write_meta(paths, {"engine": made_by})
    with pytest.raises(DevnetError) as caught:
        network._check_same_engine(paths, asked)
    assert f"made by {made_by}" in caught.value.message
    assert f"--engine {made_by}" in (caught.value.hint or "")
    assert "--fresh" in (caught.value.hint or "")
    network._check_same_engine(paths, made_by)  # the engine that made it may open it


def test_fresh_discards_both_engines_state(tmp_path: Path) -> None:
    paths = DevnetPaths(tmp_path / "devnet")
    (paths.omni_node_base / "chains").mkdir(parents=True)
    paths.db.write_bytes(b"state")
    network._reset(paths)
    assert not paths.omni_node_base.exists() and not paths.db.exists()
    network._check_same_engine(paths, "omni-node")


def test_node_listens_on_loopback_only(tmp_path: Path) -> None:
    argv = omni_node.node_argv(
        Path("/bin/polkadot-omni-node"),
        spec=tmp_path / "spec.json",
        base_path=tmp_path / "base",
        port=9944,
        p2p_port=30555,
        block_time_ms=None,
    )
    assert "--rpc-external" not in argv and "--unsafe-rpc-external" not in argv
    assert argv[argv.index("--listen-addr") + 1] == f"/ip4/{LOOPBACK}/tcp/30555"
    assert "--instant-seal" in argv and "--dev-block-time" not in argv
    timed = omni_node.node_argv(
        Path("/bin/polkadot-omni-node"),
        spec=tmp_path / "spec.json",
        base_path=tmp_path / "base",
        port=9944,
        p2p_port=30555,
        block_time_ms=6000,
    )
    assert timed[timed.index("--dev-block-time") + 1] == "6000"
    assert "--instant-seal" not in timed


def test_install_script_builds_the_pinned_version() -> None:
    script = (ROOT / "scripts" / "install-omni-node").read_text()
    assert "OMNI_NODE_VERSION" in script and "omni_node.py" in script
    assert "SKIP_WASM_BUILD=1" in script and "--locked" in script
    source = (ROOT / "decentralml" / "devnet" / "omni_node.py").read_text()
    assert f'OMNI_NODE_VERSION = "{omni_node.OMNI_NODE_VERSION}"' in source


def test_config_set_refuses_an_unknown_engine_and_keeps_the_file(
    data_dir: Path, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    ok = CliRunner().invoke(cli, ["config", "set", "devnet_engine", "omni-node"])
    assert ok.exit_code == 0, ok.output
    before = config.read_text()
    bad = CliRunner().invoke(cli, ["config", "set", "devnet_engine", "geth"])
    assert bad.exit_code == 1 and "'geth'" in bad.output
    assert config.read_text() == before


class RecordingEngine:
    """A chain engine the launcher has never heard of, which starts nothing: it records what
    the orchestration asks of it."""

    name = "recording"
    marker = "no-such-process-marker"

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.running = False

    def state_path(self, paths: DevnetPaths) -> Path:
        return paths.root / "recording-state"

    def log_path(self, paths: DevnetPaths) -> Path:
        return paths.root / "logs" / "recording.log"

    def label(self, block_time_ms: int | None) -> str:
        return self.name

    def check_options(self, block_time_ms: int | None) -> None:
        self.calls.append("check_options")

    def check_installed(self) -> None:
        self.calls.append("check_installed")

    def has_state(self, paths: DevnetPaths) -> bool:
        return self.state_path(paths).exists()

    def state_from_other_spec(self, paths: DevnetPaths, spec: Path) -> bool:
        return False

    def reset(self, paths: DevnetPaths) -> None:
        self.calls.append("reset")
        self.state_path(paths).unlink(missing_ok=True)

    def start(self, paths: DevnetPaths, **kwargs: Any) -> StartedChain:
        self.calls.append("start")
        resumed = self.has_state(paths)
        self.state_path(paths).write_text("state")
        self.running = True
        record = ChainRecord(
            pid=os.getpid(),
            start_time=None,
            port=kwargs["port"],
            url=f"ws://{LOOPBACK}:{kwargs['port']}",
            db=str(self.state_path(paths)),
            log=str(self.log_path(paths)),
            chain_spec_sha256=kwargs["spec_sha"],
            engine=self.name,
        )
        return StartedChain(record=record, resumed=resumed, height=7, meta={"kept": 1})

    def is_alive(self, record: ChainRecord) -> bool:
        return self.running

    def stop(self, record: ChainRecord, *, timeout: float) -> bool:
        self.calls.append("stop")
        was, self.running = self.running, False
        return was

    def make_blocks(self, record: ChainRecord, count: int, *, jump: bool) -> None:
        self.calls.append(f"make_blocks {count}")


def test_a_new_engine_runs_through_the_launcher_with_no_branch_for_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The launcher asks an engine only through `ChainEngine`: one it has never heard of is
    started, recorded, kept apart from the others' state, stopped and resumed."""
    engine = RecordingEngine()
    engines = {**{name: _engine.chain_engine(name) for name in ENGINES}, engine.name: engine}
    monkeypatch.setattr(network, "ENGINES", tuple(engines))
    monkeypatch.setattr(network, "chain_engine", engines.__getitem__)
    monkeypatch.setattr(network, "all_engines", lambda: list(engines.values()))
    paths = DevnetPaths(tmp_path / "devnet")
    port = free_port()

    first = network.up(port=port, ipfs=False, paths=paths, engine=engine.name)

    assert (first.resumed, first.height) == (False, 7)
    assert engine.calls == ["check_options", "check_installed", "start"]
    recorded = network.read_state(paths)
    assert recorded is not None and recorded.chain.engine == engine.name
    meta = json.loads(paths.db_meta.read_text())
    assert (meta["engine"], meta["kept"]) == (engine.name, 1)

    assert network.down(paths=paths).chain_stopped is True
    assert engine.calls[-1] == "stop" and network.read_state(paths) is None
    with pytest.raises(DevnetError, match="made by recording"):
        network.up(port=free_port(), ipfs=False, paths=paths, engine="chopsticks")
    again = network.up(port=port, ipfs=False, paths=paths, engine=engine.name)
    assert again.resumed is True
    network.down(paths=paths)
