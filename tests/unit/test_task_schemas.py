"""The task commands' JSON Schemas are shipped, generated from the document models, and
the commands exit with the documented codes when nothing is running."""

from __future__ import annotations

import json
import runpy
import socket
from importlib import resources
from pathlib import Path

from click.testing import CliRunner

from decentralml.cli import cli
from decentralml.cli._market import DOCUMENTS

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_schemas_are_the_generated_ones() -> None:
    """Fails when a document model changed and `scripts/gen_schemas.py` was not run."""
    rendered = runpy.run_path(str(ROOT / "scripts" / "gen_schemas.py"))["rendered"]()
    assert len(rendered) == len(DOCUMENTS)
    shipped = resources.files("decentralml.schemas")
    for name, text in rendered.items():
        assert shipped.joinpath(name).read_text() == text, f"{name} is stale"
        schema = json.loads(text)
        command = name.removeprefix("decentralml.").removesuffix(".v1.json")
        assert schema["$id"] == f"decentralml.{command}/v1"
        assert schema["properties"]["schema"] == {"const": f"decentralml.{command}/v1"}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_no_devnet_is_exit_3_with_one_json_error() -> None:
    url = f"ws://127.0.0.1:{_closed_port()}"
    for args in (["list-tasks"], ["show-task", "1"], ["list-results", "1"]):
        result = CliRunner().invoke(cli, [*args, "--json", "--url", url])
        assert result.exit_code == 3, result.output
        document = json.loads(result.stdout)
        assert document["schema"] == "decentralml.error/v1"
        assert document["error"]["type"] == "ChainUnavailable"


def test_usage_errors_are_exit_2() -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["set-validator", "1", "--account", "//Alice"]).exit_code == 2
    assert runner.invoke(cli, ["show-task", "-1"]).exit_code == 2
    assert runner.invoke(cli, ["create-task", "--kind", "poetry"]).exit_code == 2
    no_account = runner.invoke(cli, ["cancel-task", "1", "--yes"])
    assert no_account.exit_code == 2 and "--account" in no_account.output


def test_config_set_then_show(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["config", "set", "url", "ws://127.0.0.1:1234", "--json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(runner.invoke(cli, ["config", "show", "--json"]).stdout)
    assert shown["schema"] == "decentralml.config.show/v1"
    assert shown["settings"]["url"] == "ws://127.0.0.1:1234"
    assert shown["sources"]["url"] == "config"
