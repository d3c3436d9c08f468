"""A resumed devnet keeps a usable chain: signed transactions after `down` then `up`."""

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
from decentralml.devnet import chopsticks, network
from decentralml.devnet._process import free_port, port_in_use
from decentralml.devnet._rpc import rpc_call
from decentralml.errors import DevnetError
from tests.backend import chopsticks_only
from tests.fixtures_devnet import devnet_prerequisites_missing
from tests.integration.test_devnet import free_balance
from tests.unit.test_devnet_cli import validate

pytestmark = [
    pytest.mark.integration,
    chopsticks_only(
        "tests the Chopsticks launcher (its database, resume and faults); "
        "test_omni_node.py tests the omni-node launcher"
    ),
]

UNIT = 10**12
ALICE = Keypair.create_from_uri("//Alice")


@pytest.fixture
def paths(tmp_path: Path) -> Iterator[network.DevnetPaths]:
    reason = devnet_prerequisites_missing()
    if reason is not None:
        pytest.skip(reason)
    paths = network.DevnetPaths(tmp_path / "devnet")
    yield paths
    network.down(paths=paths)


def transfer(url: str, dest: str, value: int) -> int:
    """A signed transfer from //Alice; returns the block number that included it."""
    substrate = SubstrateInterface(url=url)
    try:
        call = substrate.compose_call(
            "Balances", "transfer_keep_alive", {"dest": dest, "value": value}
        )
        extrinsic = substrate.create_signed_extrinsic(call=call, keypair=ALICE)
        receipt = substrate.submit_extrinsic(extrinsic, wait_for_inclusion=True)
        assert receipt.is_success, receipt.error_message
        header = substrate.get_block_header(receipt.block_hash)["header"]
        return int(header["number"])
    finally:
        substrate.close()


def new_address() -> str:
    return Keypair.create_from_mnemonic(Keypair.generate_mnemonic()).ss58_address


def test_signed_transaction_after_resume(paths: network.DevnetPaths) -> None:
    """Resuming at block 2 or later used to rebuild block #1, so every signature was refused."""
    port = free_port()
    dest = new_address()
    url = network.up(port=port, ipfs=False, fresh=True, paths=paths).state.chain.url
    genesis = rpc_call(url, "chain_getBlockHash", [0])
    block1 = rpc_call(url, "chain_getBlockHash", [1])
    assert transfer(url, dest, 3 * UNIT) == 2
    network.down(paths=paths)

    resumed = network.up(port=port, ipfs=False, paths=paths)

    assert (resumed.resumed, resumed.height) == (True, 2)
    assert rpc_call(url, "chain_getBlockHash", [0]) == genesis
    assert rpc_call(url, "chain_getBlockHash", [1]) == block1
    assert transfer(url, dest, 4 * UNIT) == 3
    assert free_balance(url, dest) == 7 * UNIT


def devnet_cli(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["devnet", *args, "--json"])
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.output)
    return document


@pytest.mark.slow
def test_ten_resumes_with_transactions_on_a_long_chain(
    paths: network.DevnetPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`devnet down` then `devnet up` ten times, a few hundred blocks in, with a transaction
    before each: every transaction after every resume is included, and balances are kept."""
    monkeypatch.setenv("DECENTRALML_DATA_DIR", str(paths.root.parent))
    port = str(free_port())
    dest = new_address()
    url = devnet_cli("up", "--port", port, "--no-ipfs", "--fresh")["url"]
    assert devnet_cli("advance", "300")["to_height"] == 301
    expected = 0
    timings: list[float] = []
    for cycle in range(10):
        height = transfer(url, dest, (cycle + 1) * UNIT)
        expected += (cycle + 1) * UNIT
        assert devnet_cli("down")["chain_stopped"] is True
        started = time.monotonic()
        up = devnet_cli("up", "--port", port, "--no-ipfs")
        timings.append(time.monotonic() - started)
        assert (up["status"], up["resumed"], up["height"]) == ("started", True, height)
        assert free_balance(url, dest) == expected
    assert transfer(url, dest, UNIT) == height + 1
    assert free_balance(url, dest) == expected + UNIT
    print(f"10 resumes at ~#{height}: {sum(timings):.1f} s, slowest {max(timings):.1f} s")


def database_without_its_genesis_timestamp(
    paths: network.DevnetPaths, dest: str
) -> tuple[int, str]:
    """A stopped devnet at block #4 (a transfer in #2) whose `chain.meta.json` lost its
    genesis timestamp. Returns the RPC port and block #1's hash."""
    port = free_port()
    url = network.up(port=port, ipfs=False, paths=paths).state.chain.url
    block1 = rpc_call(url, "chain_getBlockHash", [1])
    assert transfer(url, dest, 2 * UNIT) == 2
    rpc_call(url, "dev_newBlock", [{"count": 2}])
    network.down(paths=paths)
    meta = json.loads(paths.db_meta.read_text())
    del meta["genesis_timestamp_ms"]
    paths.db_meta.write_text(json.dumps(meta) + "\n")
    return port, block1


def test_a_database_whose_record_lost_its_genesis_timestamp_resumes(
    paths: network.DevnetPaths,
) -> None:
    """Block #1's own timestamp gives the genesis timestamp back: the chain resumes with the
    same block #1 and accepts signed transactions."""
    dest = new_address()
    port, block1 = database_without_its_genesis_timestamp(paths, dest)

    result = network.up(port=port, ipfs=False, paths=paths)

    url = result.state.chain.url
    assert (result.resumed, result.height) == (True, 4)
    assert rpc_call(url, "chain_getBlockHash", [1]) == block1
    assert transfer(url, dest, 3 * UNIT) == 5
    assert free_balance(url, dest) == 5 * UNIT
    assert isinstance(json.loads(paths.db_meta.read_text())["genesis_timestamp_ms"], int)


def timestamp_now(url: str) -> int:
    """`Timestamp::Now` at the best block, in milliseconds."""
    raw = rpc_call(url, "state_getStorage", [chopsticks.TIMESTAMP_NOW_KEY])
    return int.from_bytes(bytes.fromhex(raw[2:]), "little")


def test_a_jump_survives_down_and_up(
    paths: network.DevnetPaths, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`advance N --jump` makes one block N heights ahead; transactions keep working, a plain
    `advance` continues from there, and `down` then `up` resumes at the jumped height."""
    monkeypatch.setenv("DECENTRALML_DATA_DIR", str(paths.root.parent))
    port = str(free_port())
    dest = new_address()
    url = devnet_cli("up", "--port", port, "--no-ipfs", "--fresh")["url"]
    assert transfer(url, dest, UNIT) == 2
    before = timestamp_now(url)

    result = CliRunner().invoke(cli, ["devnet", "advance", "201600", "--jump", "--json"])
    assert result.exit_code == 0, result.output
    jumped = json.loads(result.output)
    validate(jumped)
    assert (jumped["count"], jumped["from_height"], jumped["to_height"], jumped["jumped"]) == (
        201_600,
        2,
        201_602,
        True,
    )
    # One block was built: its parent is block #2, and the clock moved by one slot only.
    header = rpc_call(url, "chain_getHeader")
    assert int(header["number"], 16) == 201_602
    assert header["parentHash"] == rpc_call(url, "chain_getBlockHash", [2])
    assert 0 < timestamp_now(url) - before <= chopsticks.DEFAULT_SLOT_MS

    assert transfer(url, dest, 2 * UNIT) == 201_603
    advanced = devnet_cli("advance", "2")
    validate(advanced)
    assert (advanced["from_height"], advanced["to_height"], advanced["jumped"]) == (
        201_603,
        201_605,
        False,
    )

    assert devnet_cli("down")["chain_stopped"] is True
    up = devnet_cli("up", "--port", port, "--no-ipfs")
    assert (up["status"], up["resumed"], up["height"]) == ("started", True, 201_605)
    assert free_balance(url, dest) == 3 * UNIT
    assert transfer(url, dest, UNIT) == 201_606
    assert devnet_cli("advance", "1")["to_height"] == 201_607
    assert devnet_cli("advance", "10", "--jump")["to_height"] == 201_617
    assert free_balance(url, dest) == 4 * UNIT


def test_database_from_another_runtime_asks_for_fresh(
    paths: network.DevnetPaths, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After the shipped runtime changes, a database made with the previous one is refused
    with a request for --fresh, whether or not chain.meta.json says which spec made it;
    without chain.meta.json, a database of the current spec still resumes."""
    port = free_port()
    url = network.up(port=port, ipfs=False, fresh=True, paths=paths).state.chain.url
    dest = new_address()
    assert transfer(url, dest, UNIT) == 2
    network.down(paths=paths)
    assert json.loads(paths.db_meta.read_text())["spec_version"] == network.shipped_spec_version()

    # The package now ships a spec with another runtime (it is never started here).
    shipped = network.chain_spec_path()
    spec = json.loads(shipped.read_text())
    code = spec["genesis"]["raw"]["top"][chopsticks.CODE_KEY]
    spec["genesis"]["raw"]["top"][chopsticks.CODE_KEY] = code + "00"
    newer = tmp_path / "newer.raw.json"
    newer.write_text(json.dumps(spec))
    monkeypatch.setattr(network, "chain_spec_path", lambda: newer)

    for meta in ("recorded", "missing"):
        if meta == "missing":
            paths.db_meta.unlink()
        with pytest.raises(DevnetError) as info:
            network.up(port=port, ipfs=False, paths=paths)
        assert "another version of the chain spec" in info.value.message, meta
        assert "--fresh" in (info.value.hint or ""), meta
        assert network.read_state(paths) is None
        assert not port_in_use(port)

    monkeypatch.setattr(network, "chain_spec_path", lambda: shipped)
    resumed = network.up(port=port, ipfs=False, paths=paths)
    assert (resumed.resumed, resumed.height) == (True, 2)
    assert free_balance(url, dest) == UNIT
