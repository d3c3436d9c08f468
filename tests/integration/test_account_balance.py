"""`decentralml account balance` against the real dev chain."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from decentralml.chain import ChainClient, keypair_from_uri
from decentralml.cli import cli
from tests.fixtures_devnet import Devnet
from tests.integration.test_chain_flow import Account, create_task, fresh_account
from tests.unit.test_devnet_cli import validate

pytestmark = pytest.mark.integration

ALICE = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"


@pytest.fixture(scope="module")
def chain(devnet: Devnet) -> Iterator[ChainClient]:
    with ChainClient(devnet.url) as client:
        yield client


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "data"
    monkeypatch.setenv("DECENTRALML_DATA_DIR", str(path))
    return path


def balance(devnet: Devnet, account: str, *flags: str) -> Result:
    return CliRunner().invoke(
        cli, ["account", "balance", "--account", account, "--url", devnet.url, *flags]
    )


def balance_json(devnet: Devnet, account: str) -> dict[str, Any]:
    result = balance(devnet, account, "--json")
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    validate(document)
    return document


def test_alice_balance_in_tokens_and_planck(devnet: Devnet, chain: ChainClient) -> None:
    """//Alice's free balance, the chain's symbol and decimals, at the best block."""
    document = balance_json(devnet, "//Alice")
    account = chain.query("System", "Account", [ALICE])

    assert document["account"] == "//Alice"
    assert document["address"] == ALICE
    assert document["token"] == {"symbol": "DML", "decimals": 12}
    assert document["free"] == int(account["data"]["free"]) > 0
    assert document["reserved"] == int(account["data"]["reserved"])
    assert document["frozen"] == int(account["data"]["frozen"])
    assert document["block"]["number"] == devnet.height()
    whole, _, fraction = document["tokens"]["free"].partition(".")
    assert int(whole) == document["free"] // 10**12
    assert (fraction or "0").ljust(12, "0") == f"{document['free'] % 10**12:012d}"


def test_human_output_shows_tokens(devnet: Devnet) -> None:
    # Wide enough that the address is not folded, whatever holds earlier tests left on Alice.
    result = CliRunner().invoke(
        cli,
        ["account", "balance", "--account", "//Alice", "--url", devnet.url],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert ALICE in result.stdout and "DML" in result.stdout
    assert "transferable" in result.stdout


def test_keystore_name_and_address_read_the_same_account(devnet: Devnet, data_dir: Path) -> None:
    """A keystore name needs no password to show a balance; an address works as well."""
    imported = CliRunner().invoke(
        cli,
        ["account", "import", "--name", "alice", "--uri", "//Alice"],
        env={"DECENTRALML_PASSWORD": "pw"},
    )
    assert imported.exit_code == 0, imported.output
    by_name = balance_json(devnet, "alice")
    by_address = balance_json(devnet, ALICE)
    assert by_name["address"] == by_address["address"] == ALICE
    assert by_name["free"] == by_address["free"]


def test_holds_are_listed_by_reason(devnet: Devnet, chain: ChainClient) -> None:
    """A task's escrow shows as a hold under Decentralml.TaskEscrow, inside reserved."""
    creator = fresh_account(chain, Account(keypair_from_uri("//Alice")))
    before = balance_json(devnet, creator.address)
    assert before["holds"] == [] and before["reserved"] == 0

    _, receipt = create_task(chain, creator, slots=2)
    (event,) = receipt.find("Decentralml", "TaskCreated")

    after = balance_json(devnet, creator.address)
    escrow = [h for h in after["holds"] if h["reason"] == "Decentralml.TaskEscrow"]
    assert escrow == [
        {"reason": "Decentralml.TaskEscrow", "amount": int(event.attributes["escrow"])}
    ]
    assert after["reserved"] == sum(h["amount"] for h in after["holds"])
    assert after["transferable"] == after["free"]
