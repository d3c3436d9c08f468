"""A resumed devnet keeps a usable chain: signed transactions after `down` then `up`."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from substrateinterface import Keypair, SubstrateInterface

from decentralml.devnet import network
from decentralml.devnet._process import free_port
from decentralml.devnet._rpc import rpc_call
from tests.fixtures_devnet import devnet_prerequisites_missing

pytestmark = pytest.mark.integration

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


def free_balance(url: str, address: str) -> int:
    substrate = SubstrateInterface(url=url)
    try:
        return int(substrate.query("System", "Account", [address])["data"]["free"].value)
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


@pytest.mark.slow
def test_ten_resumes_with_transactions_on_a_long_chain(paths: network.DevnetPaths) -> None:
    """Down then up ten times, a few hundred blocks in: every transaction is included."""
    port = free_port()
    dest = new_address()
    url = network.up(port=port, ipfs=False, fresh=True, paths=paths).state.chain.url
    network.advance(300, paths=paths)
    expected = 0
    timings: list[float] = []
    for cycle in range(10):
        height = transfer(url, dest, (cycle + 1) * UNIT)
        expected += (cycle + 1) * UNIT
        network.down(paths=paths)
        started = time.monotonic()
        result = network.up(port=port, ipfs=False, paths=paths)
        timings.append(time.monotonic() - started)
        assert (result.resumed, result.height) == (True, height)
        assert free_balance(url, dest) == expected
    assert transfer(url, dest, UNIT) == height + 1
    assert free_balance(url, dest) == expected + UNIT
    print(f"10 resumes at ~#{height}: {sum(timings):.1f} s, slowest {max(timings):.1f} s")
