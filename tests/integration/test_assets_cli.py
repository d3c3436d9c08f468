"""`decentralml assets push|pull` against a real Kubo: output schemas, exit codes, errors."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner, Result

from decentralml.cli import cli
from decentralml.devnet.kubo import KuboDaemon, stop_kubo
from tests.fixtures_kubo import launch_kubo
from tests.integration.test_storage_kubo import make_bundle_dir, random_cid, snapshot

pytestmark = pytest.mark.integration


def schema(name: str) -> dict[str, Any]:
    text = resources.files("decentralml.schemas").joinpath(f"{name}.json").read_text()
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def json_doc(result: Result, schema_name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(result.stdout)
    jsonschema.validate(document, schema(schema_name))
    return document


def push_json(kubo: KuboDaemon, directory: Path) -> dict[str, Any]:
    result = run("assets", "push", str(directory), "--json", "--ipfs-api", kubo.api_url)
    assert result.exit_code == 0, result.output
    return json_doc(result, "decentralml.assets.push.v1")


def test_schemas_name_themselves() -> None:
    for name in ("push", "pull"):
        assert schema(f"decentralml.assets.{name}.v1")["$id"] == f"decentralml.assets.{name}/v1"


def test_push_then_pull_json(kubo: KuboDaemon, tmp_path: Path) -> None:
    """--json prints one document per command, valid against the shipped schema."""
    src = make_bundle_dir(tmp_path / "src")
    pushed = push_json(kubo, src)
    assert pushed["schema"] == "decentralml.assets.push/v1"
    dest = tmp_path / "dest"
    result = run(
        "assets", "pull", pushed["cid"], str(dest),
        "--sha256", pushed["sha256"], "--size", str(pushed["size"]),
        "--json", "--ipfs-api", kubo.api_url, "--yes", "--account", "//Alice",
        "--url", "ws://127.0.0.1:1",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    pulled = json_doc(result, "decentralml.assets.pull.v1")
    assert (pulled["cid"], pulled["sha256"], pulled["size"]) == (
        pushed["cid"],
        pushed["sha256"],
        pushed["size"],
    )
    assert snapshot(dest) == snapshot(src)


def test_human_output_is_a_table(kubo: KuboDaemon, tmp_path: Path) -> None:
    result = run(
        "assets", "push", str(make_bundle_dir(tmp_path / "src")), "--ipfs-api", kubo.api_url
    )
    assert result.exit_code == 0, result.output
    assert "Bundle pushed" in result.stdout
    assert "sha256" in result.stdout and "baf" in result.stdout


def test_api_address_from_env_and_config_file(kubo: KuboDaemon, tmp_path: Path) -> None:
    """DECENTRALML_IPFS_API and the config file's ipfs_api are honoured."""
    src = make_bundle_dir(tmp_path / "src")
    by_env = run("assets", "push", str(src), "--json", env={"DECENTRALML_IPFS_API": kubo.api_url})
    assert by_env.exit_code == 0, by_env.output
    config = tmp_path / "config" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f'ipfs_api = "{kubo.api_url}"\n')
    by_file = run("assets", "push", str(src), "--json")
    assert by_file.exit_code == 0, by_file.output
    assert json.loads(by_env.stdout)["cid"] == json.loads(by_file.stdout)["cid"]


def test_digest_mismatch_exits_1_and_writes_nothing(kubo: KuboDaemon, tmp_path: Path) -> None:
    a = push_json(kubo, make_bundle_dir(tmp_path / "a", seed=b"a"))
    b = push_json(kubo, make_bundle_dir(tmp_path / "b", seed=b"b"))
    dest = tmp_path / "dest"
    result = run(
        "assets", "pull", a["cid"], str(dest), "--sha256", b["sha256"],
        "--json", "--ipfs-api", kubo.api_url,
    )  # fmt: skip
    assert result.exit_code == 1
    error = json.loads(result.stdout)["error"]
    assert error["type"] == "DigestMismatch"
    assert (error["expected"], error["got"]) == (b["sha256"], a["sha256"])
    assert not dest.exists()
    human = run(
        "assets", "pull", a["cid"], str(dest), "--sha256", b["sha256"], "--ipfs-api", kubo.api_url
    )
    assert human.exit_code == 1
    assert "sha256 mismatch" in human.stderr and "Traceback" not in human.output


def test_non_empty_destination_and_force(kubo: KuboDaemon, tmp_path: Path) -> None:
    src = make_bundle_dir(tmp_path / "src")
    pushed = push_json(kubo, src)
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "other.txt").write_text("mine")
    args = ["assets", "pull", pushed["cid"], str(dest), "--sha256", pushed["sha256"]]
    refused = run(*args, "--ipfs-api", kubo.api_url)
    assert refused.exit_code == 1
    assert "not empty" in refused.stderr and "--force" in refused.stderr
    forced = run(*args, "--force", "--ipfs-api", kubo.api_url)
    assert forced.exit_code == 0, forced.output
    assert (dest / "other.txt").read_text() == "mine"
    assert (dest / "train.sh").exists()


def test_size_over_max_size_is_refused(kubo: KuboDaemon, tmp_path: Path) -> None:
    pushed = push_json(kubo, make_bundle_dir(tmp_path / "src"))
    result = run(
        "assets", "pull", pushed["cid"], str(tmp_path / "dest"), "--sha256", pushed["sha256"],
        "--max-size", "10KiB", "--json", "--ipfs-api", kubo.api_url,
    )  # fmt: skip
    assert result.exit_code == 1
    assert json.loads(result.stdout)["error"]["type"] == "ContentTooLarge"
    assert not (tmp_path / "dest").exists()


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    no_sha = run("assets", "pull", "bafyx", str(tmp_path / "d"))
    assert no_sha.exit_code == 2
    bad_sha = run("assets", "pull", "bafyx", str(tmp_path / "d"), "--sha256", "abc")
    assert bad_sha.exit_code == 2 and "64 hexadecimal" in bad_sha.stderr
    bad_size = run(
        "assets", "pull", "bafyx", str(tmp_path / "d"), "--sha256", "0" * 64, "--size", "big"
    )
    assert bad_size.exit_code == 2


def test_stopped_daemon_exits_3(kubo_bin: Path, tmp_path: Path) -> None:
    """With the daemon stopped, push and pull exit 3 with the address and a way out."""
    daemon = launch_kubo(tmp_path / "short-lived")
    src = make_bundle_dir(tmp_path / "src")
    assert push_json(daemon, src)["cid"]
    assert stop_kubo(daemon.pid)
    result = run("assets", "push", str(src), "--ipfs-api", daemon.api_url)
    assert result.exit_code == 3
    assert f"cannot reach the IPFS daemon at {daemon.api_url}" in result.stderr
    assert "devnet up" in result.stderr
    assert "Traceback" not in result.output
    as_json = run(
        "assets", "pull", random_cid(), str(tmp_path / "d"), "--sha256", "0" * 64,
        "--json", "--ipfs-api", daemon.api_url,
    )  # fmt: skip
    assert as_json.exit_code == 3
    error = json.loads(as_json.stdout)["error"]
    assert error["type"] == "IpfsUnavailable" and error["address"] == daemon.api_url
