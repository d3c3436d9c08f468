"""The local devnet against a real Chopsticks: lifecycle, resume, blocks, metadata."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from substrateinterface import Keypair, SubstrateInterface

from decentralml.cli import cli
from decentralml.devnet._process import free_port, port_in_use, wait_until
from tests.backend import chopsticks_only
from tests.fixtures_devnet import Devnet, devnet_prerequisites_missing
from tests.unit.test_devnet_cli import validate

pytestmark = pytest.mark.integration

UNIT = 10**12
PALLET_CALLS = {
    "create_task",
    "set_validator",
    "assign_task",
    "submit_result",
    "accept_result",
    "reject_result",
    "claim_reward",
    "release_assignment",
    "cancel_task",
    "close_task",
    "publish_model",
    "force_close_task",
    "commit_result",
    "reveal_result",
    "remove_task",
}


def devnet_cli(*args: str) -> Any:
    """Run `decentralml devnet ...`; returns the parsed --json document and the result."""
    result = CliRunner().invoke(cli, ["devnet", *args, "--json"], catch_exceptions=False)
    document = json.loads(result.output) if result.output.strip() else None
    return document, result


def transfer(url: str, dest: str, value: int) -> None:
    substrate = SubstrateInterface(url=url)
    try:
        call = substrate.compose_call(
            "Balances", "transfer_keep_alive", {"dest": dest, "value": value}
        )
        extrinsic = substrate.create_signed_extrinsic(
            call=call, keypair=Keypair.create_from_uri("//Alice")
        )
        receipt = substrate.submit_extrinsic(extrinsic, wait_for_inclusion=True)
        assert receipt.is_success, receipt.error_message
    finally:
        substrate.close()


def free_balance(url: str, address: str) -> int:
    substrate = SubstrateInterface(url=url)
    try:
        return int(substrate.query("System", "Account", [address])["data"]["free"].value)
    finally:
        substrate.close()


@pytest.fixture
def own_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A data directory of its own for CLI-driven devnets; stopped again at the end."""
    reason = devnet_prerequisites_missing()
    if reason is not None:
        pytest.skip(reason)
    path = tmp_path / "data"
    monkeypatch.setenv("DECENTRALML_DATA_DIR", str(path))
    yield path
    devnet_cli("down")


@chopsticks_only("tests `devnet up` on its default engine; test_omni_node.py covers omni-node")
def test_lifecycle_resume_and_fresh(own_data_dir: Path) -> None:
    """up -> status -> advance -> transfer -> down -> up resumes -> --fresh starts over."""
    port = str(free_port())
    dest = Keypair.create_from_mnemonic(Keypair.generate_mnemonic()).ss58_address

    # A new chain: Chopsticks builds block #1 on top of genesis when it starts.
    up, result = devnet_cli("up", "--port", port, "--no-ipfs", "--fresh")
    assert result.exit_code == 0, result.output
    validate(up)
    assert (up["status"], up["resumed"], up["height"], up["ipfs"]) == ("started", False, 1, None)
    url = up["url"]
    assert url == f"ws://127.0.0.1:{port}"

    status, result = devnet_cli("status")
    assert result.exit_code == 0, result.output
    validate(status)
    assert status["running"] is True
    assert status["chain"] == "decentralml_dev"
    assert status["height"] == 1
    shipped = json.loads(
        (Path(__file__).parents[2] / "decentralml/devnet/data/chain-spec.meta.json").read_text()
    )
    assert status["runtime"] == {
        "spec_name": "decentralml-dev",
        "spec_version": shipped["spec_version"],
    }
    assert status["pallet"]["present"] is True
    assert set(status["pallet"]["calls"]) >= PALLET_CALLS

    # Blocks only when asked for.
    advanced, result = devnet_cli("advance", "3")
    assert result.exit_code == 0, result.output
    validate(advanced)
    assert advanced["to_height"] == advanced["from_height"] + 3 == 4

    transfer(url, dest, 7 * UNIT)
    assert free_balance(url, dest) == 7 * UNIT
    height = devnet_cli("status")[0]["height"]
    assert height == 5

    # down stops it and frees the port; the state stays on disk.
    down, result = devnet_cli("down")
    assert result.exit_code == 0, result.output
    validate(down)
    assert down["chain_stopped"] is True
    assert Path(down["db"]).is_file()
    assert wait_until(lambda: not port_in_use(int(port)), timeout=10)
    assert devnet_cli("status")[0]["running"] is False

    # up again resumes: same height, same balance.
    up, result = devnet_cli("up", "--port", port, "--no-ipfs")
    assert result.exit_code == 0, result.output
    assert (up["status"], up["resumed"], up["height"]) == ("started", True, height)
    assert free_balance(url, dest) == 7 * UNIT
    assert devnet_cli("advance", "1")[0]["to_height"] == height + 1
    assert devnet_cli("down")[0]["chain_stopped"] is True

    # --fresh starts over from genesis.
    up, result = devnet_cli("up", "--port", port, "--no-ipfs", "--fresh")
    assert result.exit_code == 0, result.output
    assert (up["resumed"], up["height"]) == (False, 1)
    assert free_balance(url, dest) == 0


@chopsticks_only("tests `devnet up` on its default engine; test_omni_node.py covers omni-node")
def test_second_up_says_already_running(own_data_dir: Path) -> None:
    """A second `up` reports the running devnet; conflicting requests are refused."""
    port = str(free_port())
    first, result = devnet_cli("up", "--port", port, "--no-ipfs", "--fresh")
    assert result.exit_code == 0, result.output

    again, result = devnet_cli("up", "--port", port, "--no-ipfs")
    assert result.exit_code == 0, result.output
    validate(again)
    assert again["status"] == "already-running"
    assert again["pid"] == first["pid"]

    human = CliRunner().invoke(cli, ["devnet", "up", "--port", port, "--no-ipfs"])
    assert "already running" in human.output

    other, result = devnet_cli("up", "--port", str(free_port()), "--no-ipfs")
    assert result.exit_code == 1
    assert "already running" in other["error"]["message"]

    fresh, result = devnet_cli("up", "--port", port, "--no-ipfs", "--fresh")
    assert result.exit_code == 1
    assert "devnet down" in fresh["error"]["hint"]


def test_port_in_use_by_the_devnet_is_reported(local_devnet: Devnet, own_data_dir: Path) -> None:
    """Another devnet on a port that a running chain holds: exit 1, nothing moved."""
    devnet = local_devnet
    document, result = devnet_cli("up", "--port", str(devnet.port), "--no-ipfs")
    assert result.exit_code == 1
    assert str(devnet.port) in document["error"]["message"]
    assert "--port" in document["error"]["hint"]
    assert devnet_cli("status")[0]["running"] is False


def test_advance_raises_height_by_exactly_n(devnet: Devnet) -> None:
    before = devnet.height()
    assert devnet.advance(3) == before + 3
    assert devnet.height() == before + 3


def test_metadata_lists_the_pallet_and_its_calls(devnet: Devnet) -> None:
    """The metadata decodes with substrate-interface and names every marketplace call."""
    substrate = SubstrateInterface(url=devnet.url)
    try:
        substrate.init_runtime()
        pallet = substrate.metadata.get_metadata_pallet("Decentralml")
        assert pallet is not None
        calls = {call.name for call in pallet.calls}
        assert calls >= PALLET_CALLS
        for name in PALLET_CALLS:
            assert substrate.get_metadata_call_function("Decentralml", name) is not None
        assert substrate.properties == {
            "ss58Format": 42,
            "tokenDecimals": 12,
            "tokenSymbol": "DML",
        }
    finally:
        substrate.close()


def test_dev_accounts_are_funded(devnet: Devnet) -> None:
    alice = Keypair.create_from_uri("//Alice").ss58_address
    ferdie = Keypair.create_from_uri("//Ferdie").ss58_address
    assert free_balance(devnet.url, alice) > 0
    assert free_balance(devnet.url, ferdie) > 0


def test_status_is_quick(local_devnet: Devnet, monkeypatch: pytest.MonkeyPatch) -> None:
    """`status` against the session chain answers within a few seconds."""
    devnet = local_devnet
    monkeypatch.setenv("DECENTRALML_DATA_DIR", str(devnet.data_dir))
    started = time.monotonic()
    document, result = devnet_cli("status")
    assert result.exit_code == 0, result.output
    assert document["url"] == devnet.url
    assert time.monotonic() - started < 15


@chopsticks_only("tests `devnet up` on its default engine; test_omni_node.py covers omni-node")
def test_ipfs_runs_beside_the_chain(own_data_dir: Path, kubo_bin: Path) -> None:
    """`up` adds Kubo to a chain started without it; `status` shows it; `down` stops both."""
    from decentralml.devnet.kubo import kubo_alive

    port = str(free_port())
    ipfs_ports = ["--ipfs-port", str(free_port()), "--ipfs-gateway-port", str(free_port())]
    up, result = devnet_cli("up", "--port", port, "--no-ipfs", "--fresh")
    assert result.exit_code == 0, result.output
    assert up["ipfs"] is None

    up, result = devnet_cli("up", "--port", port, *ipfs_ports)
    assert result.exit_code == 0, result.output
    validate(up)
    assert up["status"] == "already-running"
    api_url = up["ipfs"]["api_url"]
    assert kubo_alive(api_url)

    status, _ = devnet_cli("status")
    assert status["ipfs"]["running"] is True
    assert status["ipfs"]["api_url"] == api_url

    down, result = devnet_cli("down")
    assert result.exit_code == 0, result.output
    assert (down["chain_stopped"], down["ipfs_stopped"]) == (True, True)
    assert wait_until(lambda: not kubo_alive(api_url), timeout=10)
