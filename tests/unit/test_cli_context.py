"""The common options and the error-to-exit-code mapping every command relies on."""

from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner

from decentralml import errors
from decentralml.cli import cli
from decentralml.cli.context import AppContext, common_options


def make_command(exc: Exception | None = None) -> click.Command:
    @click.command()
    @common_options
    def probe(app: AppContext) -> None:
        if exc is not None:
            raise exc
        app.emit("decentralml.probe/v1", {"url": app.settings.url, "yes": app.settings.yes})

    return probe


def test_common_options_are_accepted_after_the_command() -> None:
    result = CliRunner().invoke(
        make_command(),
        ["--json", "--yes", "--account", "//Bob", "--url", "ws://x:1", "--ipfs-api", "http://y:2"],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {
        "schema": "decentralml.probe/v1",
        "url": "ws://x:1",
        "yes": True,
    }


def test_json_from_the_environment() -> None:
    result = CliRunner().invoke(make_command(), [], env={"DECENTRALML_JSON": "1"})
    assert json.loads(result.output)["schema"] == "decentralml.probe/v1"


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (errors.ChainUnavailable("down", address="ws://127.0.0.1:9944"), 3),
        (errors.IpfsUnavailable("down", address="http://127.0.0.1:5001"), 3),
        (errors.ConfigError("bad"), 1),
        (errors.DigestMismatch("mismatch", expected="aa", got="bb"), 1),
        (errors.ExtrinsicFailed("failed", pallet="Decentralml", name="NotReviewer"), 1),
    ],
)
def test_library_errors_map_to_exit_codes(exc: errors.DecentralMLError, code: int) -> None:
    result = CliRunner().invoke(make_command(exc), [])
    assert result.exit_code == code
    assert "Traceback" not in result.output
    assert exc.message in result.output


def test_json_errors_are_one_document_with_details() -> None:
    exc = errors.DigestMismatch("digest mismatch", expected="aa", got="bb")
    result = CliRunner().invoke(make_command(exc), ["--json"])
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["schema"] == "decentralml.error/v1"
    assert document["error"] == {
        "type": "DigestMismatch",
        "message": "digest mismatch",
        "expected": "aa",
        "got": "bb",
    }


def test_unknown_option_is_a_usage_error() -> None:
    assert CliRunner().invoke(make_command(), ["--nope"]).exit_code == 2


def test_root_help_lists_the_command_groups() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    assert "devnet" in result.output and "assets" in result.output
