"""The chain client when the chain stops answering or goes away, against a dev chain of its
own that these tests freeze (SIGSTOP), resume, kill and restart: reads reconnect, every wait
is bounded, and a transaction whose answer never came is never sent twice."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest

from decentralml.chain import ChainClient, keypair_from_uri
from decentralml.chain._connection import Connection
from decentralml.devnet import network
from decentralml.devnet._process import pid_alive, wait_until
from decentralml.errors import ChainUnavailable, OutcomeUnknown, TransactionDropped
from tests.backend import ENGINE
from tests.fixtures_devnet import Devnet, devnet_prerequisites_missing, start_devnet
from tests.integration.test_chain_flow import REWARD, content

pytestmark = pytest.mark.integration

TIMEOUT = 2.0
ALICE = keypair_from_uri("//Alice")


@pytest.fixture(scope="module")
def chain_to_break(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    """A dev chain only these tests use, so freezing and killing it disturbs no one else."""
    reason = devnet_prerequisites_missing()
    if reason is not None:
        pytest.skip(reason)
    chain = start_devnet(tmp_path_factory.mktemp("breakable"))
    try:
        yield chain
    finally:
        resume(chain.pid)
        network.down(paths=chain.paths)


def resume(pid: int) -> None:
    with suppress(ProcessLookupError):
        os.kill(pid, signal.SIGCONT)


def kill(devnet: Devnet) -> None:
    """SIGKILL the chain (even a stopped one) without waiting for it to go."""
    os.kill(devnet.pid, signal.SIGKILL)


def restart(devnet: Devnet) -> None:
    """Start the killed chain again on its port, resuming its saved blocks."""
    assert wait_until(lambda: not pid_alive(devnet.pid), timeout=10), "the chain did not die"
    result = network.up(port=devnet.port, ipfs=False, paths=devnet.paths, engine=ENGINE)
    devnet.pid = result.state.chain.pid


@contextmanager
def frozen(devnet: Devnet) -> Iterator[None]:
    os.kill(devnet.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        resume(devnet.pid)


@contextmanager
def on_submit(client: ChainClient, action: Callable[[], None]) -> Iterator[None]:
    """Run `action` at the moment the client writes a transaction to the socket (after it
    signed it, before the chain can read it)."""
    conn: Connection = client._conn
    original = conn.send

    def send(method: str, params: list[Any]) -> int:
        if method == "author_submitExtrinsic":
            action()
        return original(method, params)

    conn.send = send  # type: ignore[method-assign]
    try:
        yield
    finally:
        conn.send = original  # type: ignore[method-assign]


def create_task_params(client: ChainClient) -> dict[str, Any]:
    return {
        "kind": "ModelContribution",
        "policy": "ManualAccept",
        "submission": "Plain",
        "bundle": content(f"faults-{time.monotonic_ns()}"),
        "metadata": "0x",
        "reward": REWARD,
        "slots": 1,
        "deadline": client.block_number() + 1000,
        "review_period": 5,
        "work_period": 10,
        "validator": None,
    }


def test_a_read_reconnects_after_the_chain_restarts(chain_to_break: Devnet) -> None:
    with ChainClient(chain_to_break.url, timeout=TIMEOUT) as client:
        height = client.block_number()
        kill(chain_to_break)
        restart(chain_to_break)
        # The old connection is gone; the read notices, reconnects once and answers.
        assert client.block_number() == height
        assert client.chain_name()
        assert list(client.list_tasks()) == list(client.list_tasks())


def test_a_frozen_chain_fails_a_read_within_the_timeout(chain_to_break: Devnet) -> None:
    with ChainClient(chain_to_break.url, timeout=TIMEOUT) as client:
        height = client.block_number()
        with frozen(chain_to_break):
            started = time.monotonic()
            with pytest.raises(ChainUnavailable, match=f"did not answer within {TIMEOUT:g} s"):
                client.block_number()
            elapsed = time.monotonic() - started
        print(f"read of a frozen chain failed after {elapsed:.2f} s (timeout {TIMEOUT} s)")
        assert elapsed < TIMEOUT + 1
        # Resumed: the next read opens a new connection.
        assert client.block_number() == height


def test_a_frozen_chain_never_hangs_a_new_client(chain_to_break: Devnet) -> None:
    with frozen(chain_to_break):
        started = time.monotonic()
        with pytest.raises(ChainUnavailable):
            ChainClient(chain_to_break.url, timeout=TIMEOUT)
        assert time.monotonic() - started < TIMEOUT + 1


def test_a_write_frozen_after_sending_is_unknown_then_found_once(chain_to_break: Devnet) -> None:
    """The chain freezes as the transaction is written: the client says the outcome is
    unknown (with the hash) within its timeout, and does not send it again; once the chain
    resumes, the same transaction is found included, once."""
    with ChainClient(chain_to_break.url, timeout=TIMEOUT) as client:
        nonce = client.account_nonce(ALICE.ss58_address)
        next_id = client.next_task_id()
        params = create_task_params(client)
        try:
            with on_submit(client, lambda: os.kill(chain_to_break.pid, signal.SIGSTOP)):
                started = time.monotonic()
                with pytest.raises(OutcomeUnknown) as unknown:
                    client.submit(ALICE, "Decentralml", "create_task", params)
                elapsed = time.monotonic() - started
        finally:
            resume(chain_to_break.pid)
        err = unknown.value
        print(f"write to a frozen chain: outcome unknown after {elapsed:.2f} s")
        assert elapsed < TIMEOUT + 1.5
        assert err.tx_hash in err.message and err.tx_hash in (err.hint or "")
        assert isinstance(err, ChainUnavailable)  # the CLI's exit 3

        assert err.pending is not None
        receipt = err.pending.wait()
        assert receipt.extrinsic_hash == err.tx_hash
        assert client.account_nonce(ALICE.ss58_address) == nonce + 1
        assert client.next_task_id() == next_id + 1
        assert len(receipt.find("Decentralml", "TaskCreated")) == 1
        found = client.find_extrinsic(err.tx_hash)
        assert found is not None and found.block_hash == receipt.block_hash
        # The client asks the chain for the nonce again: the next transaction just works.
        again = client.submit(ALICE, "Decentralml", "create_task", create_task_params(client))
        assert again.nonce == nonce + 1


def test_a_write_lost_with_the_chain_is_dropped_and_never_sent_again(
    chain_to_break: Devnet, tmp_path: Path
) -> None:
    """The chain dies as the transaction is written, before reading it: the client says the
    outcome is unknown; after a restart nothing has it, and once its era is over the client
    says it was dropped. The account's nonce never moved, and sending again works once."""
    with ChainClient(chain_to_break.url, timeout=TIMEOUT, era_period=16) as client:
        nonce = client.account_nonce(ALICE.ss58_address)
        next_id = client.next_task_id()
        params = create_task_params(client)

        def die() -> None:
            os.kill(chain_to_break.pid, signal.SIGSTOP)
            kill(chain_to_break)

        with on_submit(client, die), pytest.raises(OutcomeUnknown) as unknown:
            client.submit(ALICE, "Decentralml", "create_task", params)
        pending = unknown.value.pending
        assert pending is not None
        restart(chain_to_break)

        assert pending.poll() is None  # not included, and it may still be, until its era ends
        assert client.account_nonce(ALICE.ss58_address) == nonce
        network.advance(16, paths=chain_to_break.paths)
        with pytest.raises(TransactionDropped) as dropped:
            pending.wait()
        assert dropped.value.reason == "expired"
        assert client.account_nonce(ALICE.ss58_address) == nonce
        assert client.next_task_id() == next_id
        assert client.find_extrinsic(pending.extrinsic_hash) is None

        receipt = client.submit(ALICE, "Decentralml", "create_task", create_task_params(client))
        assert receipt.nonce == nonce
        assert client.account_nonce(ALICE.ss58_address) == nonce + 1
        assert client.next_task_id() == next_id + 1
