"""`decentralml devnet` commands that need no running chain: exit codes and JSON schemas."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from decentralml.cli import cli
from decentralml.devnet._process import free_port

SCHEMAS = Path(__file__).resolve().parents[2] / "decentralml" / "schemas"


def validate(document: dict[str, Any]) -> None:
    """Check a --json document against the schema it names."""
    name = document["schema"]
    schema = json.loads((SCHEMAS / (name.replace("/", ".") + ".json")).read_text())
    assert schema["$id"] == name
    jsonschema.validate(document, schema)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "data"
    monkeypatch.setenv("DECENTRALML_DATA_DIR", str(path))
    return path


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, ["devnet", *args], catch_exceptions=False)


@pytest.mark.parametrize("command", ["up", "down", "status", "advance"])
def test_schema_files_are_named_by_their_id(command: str) -> None:
    schema_file = SCHEMAS / f"decentralml.devnet.{command}.v1.json"
    schema = json.loads(schema_file.read_text())
    assert schema["$id"] == f"decentralml.devnet.{command}/v1"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_down_when_nothing_runs(data_dir: Path) -> None:
    result = run("down", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    validate(document)
    assert document["was_running"] is False


def test_status_when_nothing_runs(data_dir: Path) -> None:
    """The status document is printed, and the exit code says the service is down."""
    result = run("status", "--json")
    assert result.exit_code == 3, result.output
    document = json.loads(result.output)
    validate(document)
    assert document["running"] is False
    assert document["pallet"]["present"] is False


def test_status_human_output_says_how_to_start(data_dir: Path) -> None:
    result = run("status")
    assert result.exit_code == 3
    assert "devnet up" in result.output


def test_advance_without_devnet_exits_3(data_dir: Path) -> None:
    """Nothing to advance: an unreachable service, with a hint."""
    result = run("advance", "2", "--json")
    assert result.exit_code == 3
    error = json.loads(result.output)["error"]
    assert error["type"] == "ChainUnavailable"
    assert "devnet up" in error["hint"]


def test_advance_jump_without_devnet_exits_3(data_dir: Path) -> None:
    result = run("advance", "100", "--jump", "--json")
    assert result.exit_code == 3
    assert json.loads(result.output)["error"]["type"] == "ChainUnavailable"


def test_advance_help_explains_jump() -> None:
    result = run("advance", "--help")
    assert result.exit_code == 0
    assert "--jump" in result.output
    assert "current height + N" in result.output


@pytest.mark.parametrize("count", ["0", "-1", "x"])
def test_advance_needs_a_positive_count(data_dir: Path, count: str) -> None:
    assert run("advance", "--", count).exit_code == 2


def test_up_reports_a_port_in_use(data_dir: Path) -> None:
    """The port check runs before anything starts: exit 1, naming the port and the option."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        result = run("up", "--port", str(port), "--no-ipfs", "--json")
    assert result.exit_code == 1
    error = json.loads(result.output)["error"]
    assert str(port) in error["message"]
    assert "--port" in error["hint"]


def test_up_reports_an_ipfs_port_in_use(data_dir: Path) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        result = run("up", "--port", str(free_port()), "--ipfs-port", str(port))
    assert result.exit_code == 1
    assert str(port) in result.output
    assert "Traceback" not in result.output


def test_help_lists_the_commands() -> None:
    result = CliRunner().invoke(cli, ["devnet", "--help"])
    assert result.exit_code == 0
    for command in ("up", "down", "status", "advance"):
        assert command in result.output


def test_advance_at_a_url_refuses_a_chain_without_dev_blocks(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`advance --url` of a chain that is not a dev chain: exit 1, named, no block asked for."""
    from decentralml.devnet import network

    asked: list[str] = []

    def fake_rpc(url: str, method: str, params: Any = None, **_: Any) -> Any:
        asked.append(method)
        assert url == "ws://node.example:9944"
        return {"methods": ["chain_getHeader", "author_submitExtrinsic"]}

    monkeypatch.setattr(network, "rpc_call", fake_rpc)
    result = run("advance", "3", "--url", "ws://node.example:9944", "--json")
    assert result.exit_code == 1, result.output
    error = json.loads(result.stdout)["error"]
    assert "ws://node.example:9944" in error["message"] and "dev_newBlock" in error["message"]
    assert asked == ["rpc_methods"]


def test_advance_without_url_uses_the_local_record(data_dir: Path) -> None:
    """No --url and no devnet record: the local devnet is not running (exit 3)."""
    result = run("advance", "3", "--json")
    assert result.exit_code == 3, result.output
    assert "not running" in json.loads(result.stdout)["error"]["message"]
