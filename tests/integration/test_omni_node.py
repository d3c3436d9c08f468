"""The devnet on polkadot-omni-node, a real Substrate node: its launcher, restarts and crashes.

Each test runs a node of its own through `decentralml devnet` (the CLI, as a user would),
with its database under the test's data directory. They skip, saying why, when the binary is
not installed (scripts/install-omni-node); `scripts/test --engine omni-node` requires them.
The rest of the integration suite runs on this engine too with DECENTRALML_TEST_ENGINE.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from substrateinterface import Keypair

from decentralml.chain import ChainClient, keypair_from_uri
from decentralml.cli import cli
from decentralml.devnet import _process, omni_node
from decentralml.devnet._process import free_port
from tests.fixtures_devnet import devnet_prerequisites_missing
from tests.integration.test_chain_flow import Account, create_task
from tests.integration.test_devnet import free_balance
from tests.unit.test_devnet_cli import validate

pytestmark = [pytest.mark.integration, pytest.mark.omni_node]

UNIT = 10**12


def devnet_cli(*args: str) -> tuple[Any, Any]:
    result = CliRunner().invoke(cli, ["devnet", *args, "--json"], catch_exceptions=False)
    out = result.stdout.strip()
    return (json.loads(out) if out else None), result


@pytest.fixture
def node_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A data directory of its own; the devnet in it is stopped at the end."""
    reason = devnet_prerequisites_missing("omni-node")
    if reason is not None:
        pytest.skip(reason)
    path = tmp_path / "data"
    monkeypatch.setenv("DECENTRALML_DATA_DIR", str(path))
    yield path
    devnet_cli("down")


def up(port: int, *extra: str) -> dict[str, Any]:
    document, result = devnet_cli(
        "up", "--engine", "omni-node", "--port", str(port), "--no-ipfs", *extra
    )
    assert result.exit_code == 0, result.output
    validate(document)
    return dict(document)


def transfer_included(url: str, dest: str, value: int) -> int:
    """Send `value` from //Bob to `dest`; returns the block number that included it."""
    with ChainClient(url) as chain:
        receipt = chain.submit(
            keypair_from_uri("//Bob"),
            "Balances",
            "transfer_keep_alive",
            {"dest": dest, "value": value},
        )
        header = chain.substrate.get_block_header(receipt.block_hash)["header"]
        return int(header["number"])


def test_status_names_the_engine_binary_and_version(node_dir: Path) -> None:
    port = free_port()
    started = up(port, "--fresh")
    assert started["engine"]["name"] == "omni-node"
    assert started["engine"]["binary"] == str(omni_node.omni_node_binary())
    assert started["engine"]["version"] == omni_node.binary_version(omni_node.omni_node_binary())
    assert started["resumed"] is False and started["height"] == 0
    assert started["db"] == str(node_dir / "devnet" / "omni-node")

    status, result = devnet_cli("status")
    assert result.exit_code == 0, result.output
    validate(status)
    assert status["engine"] == started["engine"]
    assert status["chain"] == "decentralml Development"  # a node names its chain spec's name
    assert status["pallet"]["present"] is True
    # Loopback only: the RPC port and the p2p port are bound to 127.0.0.1.
    ports = _process.listening_ports(started["pid"])
    assert ports is not None and port in ports

    human = CliRunner().invoke(cli, ["devnet", "status"], catch_exceptions=False)
    assert "omni-node" in human.output and started["engine"]["version"] in human.output


def test_ten_down_up_cycles_each_followed_by_an_included_transaction(node_dir: Path) -> None:
    port = free_port()
    url = up(port, "--fresh")["url"]
    dest = Keypair.create_from_mnemonic(Keypair.generate_mnemonic()).ss58_address
    expected, last_block, seconds = 0, 0, []
    for cycle in range(10):
        value = UNIT + cycle
        block = transfer_included(url, dest, value)
        expected += value
        assert block > last_block, "each transaction lands in a new block after the restart"
        last_block = block
        assert free_balance(url, dest) == expected

        down, result = devnet_cli("down")
        assert result.exit_code == 0 and down["chain_stopped"] is True, result.output
        began = time.monotonic()
        resumed = up(port)
        seconds.append(time.monotonic() - began)
        assert resumed["resumed"] is True and resumed["status"] == "started"
        assert resumed["height"] == last_block, "the node came back at its best block"
    assert transfer_included(url, dest, 1) == last_block + 1
    assert free_balance(url, dest) == expected + 1
    print(f"omni-node up after down: {min(seconds):.1f}-{max(seconds):.1f} s over 10 cycles")


def test_a_sigkilled_node_restarts_with_every_task(node_dir: Path) -> None:
    """SIGKILL gives the node no chance to close its database: every task survives anyway."""
    port = free_port()
    url = up(port, "--fresh")["url"]
    with ChainClient(url) as chain:
        creator = Account(keypair_from_uri("//Charlie"))
        tasks = [create_task(chain, creator, deadline_in=400)[0] for _ in range(3)]
        before = {task_id: chain.task(task_id) for task_id in tasks}
        height = chain.block_number()
        escrow = chain.held_balance(creator.address)
    assert all(info is not None for info in before.values())

    status, _ = devnet_cli("status")
    os.kill(status["pid"], signal.SIGKILL)
    assert _process.wait_until(lambda: not _process.pid_alive(status["pid"]), timeout=10)
    crashed, result = devnet_cli("status")
    assert result.exit_code == 3 and crashed["state"] == "crashed"

    restarted = up(port)
    assert restarted["resumed"] is True and restarted["height"] == height
    with ChainClient(url) as chain:
        assert {task_id: chain.task(task_id) for task_id in tasks} == before
        assert chain.held_balance(creator.address) == escrow
        # And the chain goes on: a new task is accepted after the crash.
        after, _ = create_task(chain, creator, deadline_in=400)
        assert after == max(tasks) + 1


def test_a_chopsticks_directory_is_refused_not_mixed(node_dir: Path) -> None:
    if devnet_prerequisites_missing("chopsticks") is not None:
        pytest.skip("Chopsticks cannot run here")
    port = free_port()
    _, result = devnet_cli("up", "--port", str(port), "--no-ipfs", "--fresh")
    assert result.exit_code == 0, result.output
    devnet_cli("down")
    document, result = devnet_cli("up", "--engine", "omni-node", "--port", str(port), "--no-ipfs")
    assert result.exit_code == 1
    assert "made by chopsticks" in document["error"]["message"]
    assert not (node_dir / "devnet" / "omni-node").exists()
    # The chopsticks chain is still there and resumes on its own engine.
    document, result = devnet_cli("up", "--port", str(port), "--no-ipfs")
    assert result.exit_code == 0 and document["resumed"] is True


def test_advance_makes_blocks_and_refuses_a_jump(node_dir: Path) -> None:
    port = free_port()
    start = up(port, "--fresh")["height"]
    advanced, result = devnet_cli("advance", "5")
    assert result.exit_code == 0, result.output
    validate(advanced)
    assert (advanced["from_height"], advanced["to_height"]) == (start, start + 5)
    refused, result = devnet_cli("advance", "100", "--jump")
    assert (
        result.exit_code == 1
        and "--jump needs the chopsticks engine" in refused["error"]["message"]
    )
