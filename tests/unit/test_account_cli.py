"""`decentralml account` without a chain: JSON schemas, prompts, exit codes, messages."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import click
import jsonschema
import pytest
from click.testing import CliRunner, Result

from decentralml.accounts import _format, keypair_from_uri
from decentralml.cli import cli, context
from decentralml.cli.commands.account import format_tokens
from decentralml.cli.context import AppContext, common_options, password_file_option
from tests.unit.test_devnet_cli import SCHEMAS, validate
from tests.unit.test_keystore_format import DATA, FAST_SCRYPT, VECTOR_ADDRESS, VECTOR_PASSWORD

ALICE = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
BOB = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"
VERBS = ["new", "import", "export", "list", "balance", "remove"]


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(_format, "SCRYPT_PARAMS", FAST_SCRYPT)
    path = tmp_path / "data"
    monkeypatch.setenv("DECENTRALML_DATA_DIR", str(path))
    return path


@pytest.fixture
def tty(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend a person is at the terminal, so prompts are allowed."""
    monkeypatch.setattr(context, "stdin_is_interactive", lambda: True)


def run(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, ["account", *args], env=env, input=input)


def doc(result: Result) -> dict[str, Any]:
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    validate(document)
    return document


def add(name: str, uri: str, password: str = "pw") -> None:
    result = run("import", "--name", name, "--uri", uri, env={"DECENTRALML_PASSWORD": password})
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("verb", VERBS)
def test_schema_files_are_named_by_their_id(verb: str) -> None:
    schema = json.loads((SCHEMAS / f"decentralml.account.{verb}.v1.json").read_text())
    assert schema["$id"] == f"decentralml.account.{verb}/v1"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_root_help_lists_account() -> None:
    result = CliRunner().invoke(cli, ["account", "--help"])
    assert result.exit_code == 0
    for verb in VERBS:
        assert verb in result.output


def test_new_json_carries_the_mnemonic_once(data_dir: Path) -> None:
    result = run("new", "--name", "fresh", "--path", "//0", "--json",
                 env={"DECENTRALML_PASSWORD": "pw"})  # fmt: skip
    document = doc(result)
    assert document["schema"] == "decentralml.account.new/v1"
    assert len(document["mnemonic"].split()) == 12
    assert keypair_from_uri(document["mnemonic"] + "//0").ss58_address == document["address"]
    assert result.stderr == ""
    keystore = Path(document["path"])
    assert keystore.parent == data_dir / "accounts"
    assert document["mnemonic"] not in keystore.read_text()


def test_new_prompts_twice_and_shows_the_mnemonic_with_a_warning(tty: None) -> None:
    result = run("new", "--name", "fresh", input="secret\nsecret\n")
    assert result.exit_code == 0, result.output
    assert "Repeat for confirmation" in result.stderr
    assert "secret" not in result.stdout
    assert "shown once" in result.stdout and "write it down" in result.stdout


def test_new_prompt_mismatch_asks_again(tty: None) -> None:
    result = run("new", "--name", "fresh", input="one\ntwo\nthree\nthree\n")
    assert result.exit_code == 0, result.output
    assert "do not match" in result.stderr


def test_without_terminal_or_password_one_clear_line() -> None:
    result = run("new", "--name", "fresh")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: a password is needed for the new account 'fresh'")
    assert "Traceback" not in result.output


def test_import_dev_uri_warns_on_stderr() -> None:
    result = run("import", "--name", "alice", "--uri", "//Alice",
                 env={"DECENTRALML_PASSWORD": "pw"})  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "dev keys are public" in result.stderr
    assert ALICE in result.stdout


def test_import_json_lists_warnings() -> None:
    document = doc(run("import", "--name", "alice", "--uri", "//Alice", "--json",
                       env={"DECENTRALML_PASSWORD": "pw"}))  # fmt: skip
    assert document["source"] == "dev" and document["address"] == ALICE
    assert any("public" in w for w in document["warnings"])


def test_import_mnemonic_from_stdin_with_path(tmp_path: Path) -> None:
    password_file = tmp_path / "pw"
    password_file.write_text("pw\n")
    result = run(
        "import", "--name", "m", "--uri", "-", "--path", "//hard/soft",
        "--password-file", str(password_file), "--json",
        input="legal winner thank year wave sausage worth useful legal winner thank yellow\n",
    )  # fmt: skip
    document = doc(result)
    assert document["source"] == "mnemonic" and document["warnings"] == []
    assert document["address"] == VECTOR_ADDRESS


def test_import_mnemonic_on_the_command_line_is_warned_about() -> None:
    phrase = "legal winner thank year wave sausage worth useful legal winner thank yellow"
    result = run("import", "--name", "m", "--uri", phrase, env={"DECENTRALML_PASSWORD": "pw"})
    assert result.exit_code == 0
    assert "shell history" in result.stderr
    assert phrase not in result.output


def test_import_secret_prompt(tty: None) -> None:
    result = run("import", "--name", "m", input="//Dave\npw\npw\n")
    assert result.exit_code == 0, result.output
    dave = keypair_from_uri("//Dave").ss58_address
    assert dave in result.stdout and "//Dave" not in result.output


def test_import_polkadot_js_file() -> None:
    document = doc(run("import", "--name", "v", "--file", str(DATA / "polkadotjs-keystore.json"),
                       "--json", env={"DECENTRALML_PASSWORD": VECTOR_PASSWORD}))  # fmt: skip
    assert document["source"] == "json" and document["address"] == VECTOR_ADDRESS


def test_import_needs_a_source_without_terminal() -> None:
    result = run("import", "--name", "m", env={"DECENTRALML_PASSWORD": "pw"})
    assert result.exit_code == 2
    assert "--file" in result.output and "--uri" in result.output


def test_import_existing_name_exit_1_with_hint() -> None:
    add("alice", "//Alice")
    result = run("import", "--name", "alice", "--uri", "//Bob", "--json",
                 env={"DECENTRALML_PASSWORD": "pw"})  # fmt: skip
    assert result.exit_code == 1
    error = json.loads(result.stdout)["error"]
    assert error["type"] == "KeystoreExists" and error["account"] == "alice"
    assert "--force" in error["hint"]


def test_bad_name_is_one_line() -> None:
    result = run("import", "--name", "../etc/passwd", "--uri", "//Bob",
                 env={"DECENTRALML_PASSWORD": "pw"})  # fmt: skip
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: invalid account name")


def test_export_with_its_own_password(tmp_path: Path) -> None:
    add("alice", "//Alice", "first")
    second = tmp_path / "second"
    second.write_text("second\n")
    dest = tmp_path / "alice.json"
    document = doc(run("export", "--name", "alice", "--file", str(dest), "--json",
                       "--export-password-file", str(second),
                       env={"DECENTRALML_PASSWORD": "first"}))  # fmt: skip
    assert document == {
        "schema": "decentralml.account.export/v1",
        "name": "alice",
        "address": ALICE,
        "file": str(dest),
        "same_password": False,
    }
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600
    assert _format.decrypt(json.loads(dest.read_text()), "second").ss58_address == ALICE


def test_export_prompts_for_both_passwords(tty: None, tmp_path: Path) -> None:
    add("alice", "//Alice", "first")
    dest = tmp_path / "alice.json"
    result = run("export", "--name", "alice", "--file", str(dest), input="first\nnew\nnew\n")
    assert result.exit_code == 0, result.output
    assert _format.decrypt(json.loads(dest.read_text()), "new").ss58_address == ALICE


def test_export_without_terminal_keeps_the_password(tmp_path: Path) -> None:
    add("alice", "//Alice", "first")
    dest = tmp_path / "alice.json"
    document = doc(run("export", "--name", "alice", "--file", str(dest), "--json",
                       env={"DECENTRALML_PASSWORD": "first"}))  # fmt: skip
    assert document["same_password"] is True
    assert _format.decrypt(json.loads(dest.read_text()), "first").ss58_address == ALICE


def test_wrong_password_is_one_line_exit_1(tmp_path: Path) -> None:
    add("alice", "//Alice", "right")
    result = run("export", "--name", "alice", "--file", str(tmp_path / "x.json"),
                 env={"DECENTRALML_PASSWORD": "wrong-one"})  # fmt: skip
    assert result.exit_code == 1
    assert result.stderr.strip() == "Error: wrong password: it does not unlock the keystore"
    assert "wrong-one" not in result.output
    assert not (tmp_path / "x.json").exists()


def test_list_asks_no_password() -> None:
    add("b", "//Bob")
    add("a", "//Alice")
    document = doc(run("list", "--json"))
    assert [(a["name"], a["address"]) for a in document["accounts"]] == [("a", ALICE), ("b", BOB)]
    human = run("list")
    assert human.exit_code == 0 and ALICE in human.stdout and BOB in human.stdout


def test_list_empty() -> None:
    assert doc(run("list", "--json"))["accounts"] == []
    assert "account new" in run("list").stdout


def test_remove_asks_unless_yes(tty: None) -> None:
    add("a", "//Alice")
    assert run("remove", "--name", "a", "--json").exit_code == 2
    refused = run("remove", "--name", "a", input="n\n")
    assert refused.exit_code == 1 and "Aborted" in refused.output
    document = doc(run("remove", "--name", "a", "--yes", "--json"))
    assert document["name"] == "a" and document["address"] == ALICE
    assert doc(run("list", "--json"))["accounts"] == []


def test_remove_unknown_exit_1() -> None:
    result = run("remove", "--name", "ghost", "--yes")
    assert result.exit_code == 1 and "no account named 'ghost'" in result.stderr


def test_balance_without_account_is_usage() -> None:
    result = run("balance")
    assert result.exit_code == 2 and "--account" in result.output


def test_balance_unreachable_chain_exit_3() -> None:
    result = run("balance", "--account", BOB, "--url", "ws://127.0.0.1:1", "--json")
    assert result.exit_code == 3
    assert json.loads(result.stdout)["error"]["type"] == "ChainUnavailable"


@pytest.mark.parametrize("how", ["flag", "env"])
def test_balance_of_a_silent_chain_exit_3_within_the_timeout(how: str) -> None:
    import time

    from tests.unit.test_chain_connection import SilentServer

    server = SilentServer(answers={"system_chain": "Development"})
    try:
        args = ["balance", "--account", BOB, "--url", server.url, "--json"]
        env = {"DECENTRALML_CHAIN_TIMEOUT": "0.5"} if how == "env" else None
        started = time.monotonic()
        result = run(*args, *(["--timeout", "0.5"] if how == "flag" else []), env=env)
        elapsed = time.monotonic() - started
    finally:
        server.close()
    assert result.exit_code == 3, result.output
    error = json.loads(result.stdout)["error"]
    assert error["type"] == "ChainUnavailable"
    assert "did not answer within 0.5 s" in error["message"]
    assert elapsed < 4


@pytest.mark.parametrize(
    ("planck", "decimals", "text"),
    [(0, 12, "0"), (1, 12, "0.000000000001"), (1_500_000_000_000, 12, "1.5"),
     (10**30, 12, "1000000000000000000"), (7, 0, "7")],
)  # fmt: skip
def test_format_tokens(planck: int, decimals: int, text: str) -> None:
    assert format_tokens(planck, decimals) == text


# -- --account resolution as every command sees it -------------------------------------


def probe_command() -> click.Command:
    @click.command()
    @password_file_option
    @common_options
    def probe(app: AppContext, password_file: Path | None) -> None:
        app.emit("decentralml.probe/v1", {"signer": app.signer(password_file).ss58_address})

    return probe


def test_signing_with_an_address_is_one_clear_line() -> None:
    result = CliRunner().invoke(probe_command(), ["--account", BOB])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert lines[0] == f"Error: {BOB} is an address: it can be read, not sign"
    assert "keystore name" in result.stderr and "//Alice" in result.stderr


@pytest.mark.parametrize(
    ("account", "expected"),
    [("//Bob", BOB), ("stored", ALICE),
     ("legal winner thank year wave sausage worth useful legal winner thank yellow//hard/soft",
      VECTOR_ADDRESS)],
)  # fmt: skip
def test_every_signing_kind(account: str, expected: str) -> None:
    add("stored", "//Alice", "k")
    result = CliRunner().invoke(
        probe_command(), ["--json", "--account", account], env={"DECENTRALML_PASSWORD": "k"}
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["signer"] == expected


def test_account_from_the_environment_prompts_for_the_keystore(tty: None) -> None:
    add("stored", "//Alice", "k")
    result = CliRunner().invoke(
        probe_command(), [], env={"DECENTRALML_ACCOUNT": "stored"}, input="k\n"
    )
    assert result.exit_code == 0, result.output
    assert "Password for account 'stored'" in result.stderr


def test_json_never_prompts_for_a_keystore(tty: None) -> None:
    add("stored", "//Alice", "k")
    result = CliRunner().invoke(probe_command(), ["--json", "--account", "stored"], input="k\n")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["error"]["type"] == "PasswordRequired"


def test_mnemonic_never_appears_in_errors() -> None:
    phrase = "legal winner thank year wave sausage worth useful legal winner thank thank"
    result = CliRunner().invoke(probe_command(), ["--json", "--account", phrase])
    assert result.exit_code == 1
    assert "winner" not in result.output
