"""Accounts move both ways between decentralml and polkadot.js (@polkadot/keyring 14).

The polkadot.js side runs in Node.js from `tests/polkadotjs/` (its npm packages are
installed by `tests/polkadotjs/ensure-deps` into the cache directory on first use).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from decentralml.accounts import Keystore, PasswordSource, keypair_from_uri, resolve_signer
from decentralml.cli import cli
from tests.unit.test_devnet_cli import validate

pytestmark = pytest.mark.integration

HELPERS = Path(__file__).resolve().parents[1] / "polkadotjs"
MNEMONIC = "legal winner thank year wave sausage worth useful legal winner thank yellow"
MESSAGE = "0x" + b"decentralml interop".hex()

Node = Callable[[dict[str, Any]], dict[str, Any]]


@pytest.fixture(scope="session")
def polkadotjs() -> Node:
    """Run one request through polkadot.js; installs its packages when missing."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed, so polkadot.js cannot run")
    installed = subprocess.run(
        ["bash", str(HELPERS / "ensure-deps")],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert installed.returncode == 0, f"installing polkadot.js failed: {installed.stderr}"
    script = Path(installed.stdout.strip()) / "keyring.mjs"

    def call(request: dict[str, Any]) -> dict[str, Any]:
        done = subprocess.run(
            [node, str(script)],
            input=json.dumps(request),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        answer: dict[str, Any] = json.loads(done.stdout or "{}")
        assert done.returncode == 0, answer.get("error") or done.stderr
        return answer

    return call


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "data"
    monkeypatch.setenv("DECENTRALML_DATA_DIR", str(path))
    return path


def account(*args: str, password: str) -> Result:
    result = CliRunner().invoke(
        cli, ["account", *args, "--json"], env={"DECENTRALML_PASSWORD": password}
    )
    assert result.exit_code == 0, result.output
    validate(json.loads(result.stdout))
    return result


@pytest.mark.parametrize("path", ["", "//hard/soft"])
def test_polkadot_js_keystore_imports_and_signs(
    polkadotjs: Node, data_dir: Path, tmp_path: Path, path: str
) -> None:
    """(a) keyring.addFromUri + pair.toJson -> account import --file -> a signature
    that signatureVerify accepts, from the same address."""
    # Prepare: a keystore written by polkadot.js (scrypt N = 2**17, its default)
    created = polkadotjs(
        {"op": "create", "uri": MNEMONIC + path, "password": "pj secret", "name": "from-pj"}
    )
    file = tmp_path / "from-polkadotjs.json"
    file.write_text(json.dumps(created["json"]))

    # Execute: import it with the CLI, sign with the stored keystore
    imported = account("import", "--name", "pj", "--file", str(file), password="pj secret")
    signer = resolve_signer("pj", PasswordSource(value="pj secret"), keystore=Keystore())
    signature = "0x" + signer.sign(MESSAGE).hex()

    # Assert
    assert json.loads(imported.stdout)["address"] == created["address"]
    assert signer.ss58_address == created["address"]
    verified = polkadotjs(
        {"op": "verify", "message": MESSAGE, "signature": signature, "address": created["address"]}
    )
    assert verified == {"isValid": True, "crypto": "sr25519"}


@pytest.mark.parametrize("unlock", [False, True], ids=["decodePkcs8", "unlock"])
def test_exported_file_loads_in_polkadot_js(
    polkadotjs: Node, data_dir: Path, tmp_path: Path, unlock: bool
) -> None:
    """(b) account export -> keyring.addFromJson + decodePkcs8/unlock with the export
    password -> a signature that verifies in Python."""
    # Prepare: an account stored from a mnemonic, exported under another password
    uri = MNEMONIC + "//0//stash"
    account("import", "--name", "mine", "--uri", uri, password="keystore pw")
    export_password = tmp_path / "export-pw"
    export_password.write_text("export pw\n")
    dest = tmp_path / "to-polkadotjs.json"
    account(
        "export", "--name", "mine", "--file", str(dest),
        "--export-password-file", str(export_password), password="keystore pw",
    )  # fmt: skip

    # Execute: polkadot.js loads and unlocks it, and signs
    signed = polkadotjs(
        {
            "op": "sign_json",
            "json": json.loads(dest.read_text()),
            "password": "export pw",
            "message": MESSAGE,
            "unlock": unlock,
        }
    )

    # Assert
    expected = keypair_from_uri(uri)
    assert signed["address"] == expected.ss58_address
    assert expected.verify(MESSAGE, signed["signature"])


def test_export_under_the_wrong_password_is_refused_by_polkadot_js(
    polkadotjs: Node, data_dir: Path, tmp_path: Path
) -> None:
    account("import", "--name", "mine", "--uri", "//Dave", password="pw")
    dest = tmp_path / "dave.json"
    account("export", "--name", "mine", "--file", str(dest), password="pw")
    with pytest.raises(AssertionError, match="Unable to decode"):
        polkadotjs(
            {"op": "sign_json", "json": json.loads(dest.read_text()), "password": "other",
             "message": MESSAGE, "unlock": False}
        )  # fmt: skip


def test_secret_uris_give_the_same_addresses(polkadotjs: Node) -> None:
    """Derivation paths, hex junctions, 0x seeds and ///password as keyring.createFromUri."""
    uris = [
        "//Alice",
        "//Alice/stash",
        "//0x0102//7/soft",
        "//" + "long" * 10,
        MNEMONIC,
        MNEMONIC + "//hard/soft",
        MNEMONIC + "///a password",
        MNEMONIC + "//1//0x00ff///pw",
        "0x" + "ab" * 32 + "//derived",
    ]
    expected = polkadotjs({"op": "addresses", "uris": uris})["addresses"]
    assert [keypair_from_uri(uri).ss58_address for uri in uris] == expected
