"""Sending transactions without a chain: nonces for back-to-back submissions, refusals,
answers that never come (never sent twice), and bounded waits for inclusion, against a
scripted fake connection and chain."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from substrateinterface.exceptions import SubstrateRequestException

from decentralml.chain._connection import NoAnswer, SendFailed
from decentralml.chain._nonces import Nonces
from decentralml.chain._transactions import PendingExtrinsic, Transactions
from decentralml.chain._types import Receipt
from decentralml.errors import (
    ChainUnavailable,
    OutcomeUnknown,
    TransactionDropped,
    TransactionRejected,
)

ALICE = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"


def tx_hash(data: str) -> str:
    return "0x" + hashlib.blake2b(bytes.fromhex(data[2:]), digest_size=32).hexdigest()


def block_hash(number: int) -> str:
    return "0x" + f"{number:064x}"


@dataclass
class FakeChain:
    """Blocks (each a list of extrinsics in hex), the account's nonce and its pool."""

    blocks: list[list[str]] = field(default_factory=lambda: [[]])
    nonce: int = 7
    next_index_calls: int = 0
    pool: list[str] = field(default_factory=list)
    # Called on every best-block read: lets a test make the chain progress while it waits.
    on_head: Callable[[FakeChain], None] | None = None

    @property
    def head(self) -> int:
        return len(self.blocks) - 1

    def include(self, *extrinsics: str, nonce_step: int = 1) -> None:
        self.blocks.append(list(extrinsics))
        self.nonce += nonce_step

    def rpc(self, method: str, params: list[Any]) -> Any:
        if method == "chain_getBlockHash":
            if self.on_head is not None:
                self.on_head(self)
            return block_hash(self.head)
        if method == "chain_getBlock":
            number = int(params[0], 16)
            return {
                "block": {
                    "header": {
                        "number": hex(number),
                        "parentHash": block_hash(max(number - 1, 0)),
                    },
                    "extrinsics": self.blocks[number],
                }
            }
        if method == "state_call":
            return "0x" + self.nonce.to_bytes(4, "little").hex()
        if method == "system_accountNextIndex":
            self.next_index_calls += 1
            return self.nonce + len(self.pool)
        if method == "author_pendingExtrinsics":
            return list(self.pool)
        raise AssertionError(f"unexpected RPC {method}")


class FakeConnection:
    """The `Connection` surface `Transactions` uses, with scripted answers to submissions."""

    url = "ws://fake:9944"
    timeout = 0.2

    def __init__(self, chain: FakeChain) -> None:
        self.chain = chain
        self.lock = threading.RLock()
        self.sent: list[str] = []
        self.reconnects = 0
        # What happens to each submission, in order: "ok", "timeout", "drop", "drop-included",
        # "send-fails", or an RPC error (dict) to answer with.
        self.script: list[Any] = []
        self._last = ""

    def rpc(self, method: str, params: list[Any]) -> Any:
        return self.chain.rpc(method, params)

    def reconnect(self) -> None:
        self.reconnects += 1

    def send(self, method: str, params: list[Any]) -> int:
        assert method == "author_submitExtrinsic"
        step = self.script[0] if self.script else "ok"
        if step == "send-fails":
            self.script.pop(0)
            raise SendFailed("socket is already closed")
        self.sent.append(params[0])
        self._last = params[0]
        return len(self.sent)

    def answer(self, request_id: int) -> Any:
        step = self.script.pop(0) if self.script else "ok"
        if step == "timeout":
            raise NoAnswer(TimeoutError("timed out"))
        if step == "drop":
            raise NoAnswer(ConnectionResetError("reset by peer"))
        if step == "drop-included":
            self.chain.include(self._last)
            raise NoAnswer(ConnectionResetError("reset by peer"))
        if isinstance(step, dict):
            raise SubstrateRequestException(step)
        self.chain.pool.append(self._last)
        return tx_hash(self._last)

    def unavailable(self, exc: BaseException) -> ChainUnavailable:
        return ChainUnavailable(str(exc), address=self.url)


class FakeExtrinsic:
    def __init__(self, data: str) -> None:
        self.data = data
        self.extrinsic_hash = bytes.fromhex(tx_hash(data)[2:])


class Sender(Transactions):
    """`Transactions` with signing and receipts replaced: an extrinsic is its nonce and a
    counter, and a receipt is built from where it was found."""

    def __init__(self, conn: FakeConnection, **options: Any) -> None:
        super().__init__(conn, **options)  # type: ignore[arg-type]
        self.signed: list[int] = []

    def _sign(self, signer: Any, pallet: str, call: str, params: Any, nonce: int) -> Any:
        self.signed.append(nonce)
        data = "0x" + f"{nonce:08x}{len(self.signed):08x}"
        return FakeExtrinsic(data), self.conn.chain.head  # type: ignore[attr-defined]

    def receipt(self, what: str, tx: str, where: Any, nonce: int | None = None) -> Receipt:
        return Receipt(tx, where[0], 1, (), block_number=where[1], nonce=nonce)


class Signer:
    ss58_address = ALICE


def make(**options: Any) -> tuple[FakeChain, FakeConnection, Sender]:
    chain = FakeChain()
    conn = FakeConnection(chain)
    return chain, conn, Sender(conn, **options)


def submit(sender: Sender) -> PendingExtrinsic:
    return sender.submit_nowait(Signer(), "Decentralml", "create_task", {})  # type: ignore[arg-type]


def test_nonces_count_locally_after_one_question() -> None:
    nonces = Nonces()
    asked = []

    def fetch() -> int:
        asked.append(1)
        return 5

    assert [nonces.take("a", fetch) for _ in range(3)] == [5, 6, 7]
    assert len(asked) == 1
    nonces.give_back("a", 7)
    assert nonces.take("a", fetch) == 7
    nonces.forget("a")
    assert nonces.take("a", fetch) == 5 and len(asked) == 2


def test_back_to_back_submissions_take_consecutive_nonces() -> None:
    chain, conn, sender = make()
    pending = [submit(sender) for _ in range(5)]
    assert [p.nonce for p in pending] == [7, 8, 9, 10, 11]
    assert chain.next_index_calls == 1
    assert len(conn.sent) == 5
    assert all(p.valid_until == p.birth + 63 for p in pending)


def test_refused_transaction_gives_its_nonce_back() -> None:
    _chain, conn, sender = make()
    conn.script = [{"code": 1010, "message": "Invalid Transaction", "data": "Inability to pay"}]
    with pytest.raises(TransactionRejected, match="Inability to pay"):
        submit(sender)
    assert submit(sender).nonce == 7


def test_stale_nonce_is_resynced_and_signed_once_more() -> None:
    chain, conn, sender = make()
    submit(sender)  # nonce 7 is included; another program uses 8 and 9 of this account
    chain.include(*chain.pool, nonce_step=3)
    chain.pool.clear()
    conn.script = [
        {"code": 1010, "message": "Invalid Transaction", "data": "Transaction is outdated"}
    ]
    pending = submit(sender)
    assert sender.signed == [7, 8, 10]
    assert pending.nonce == 10


def test_an_answer_that_never_comes_is_never_sent_again() -> None:
    chain, conn, sender = make()
    conn.script = ["timeout"]
    started = time.monotonic()
    with pytest.raises(OutcomeUnknown) as unknown:
        submit(sender)
    assert time.monotonic() - started < 1
    assert len(conn.sent) == 1
    err = unknown.value
    assert err.tx_hash == tx_hash(conn.sent[0])
    assert err.valid_until == chain.head + 63
    assert err.pending is not None and err.pending.extrinsic_hash == err.tx_hash
    assert str(err.valid_until) in (err.hint or "")
    # The nonce is unknown now: the next transaction asks the chain again.
    submit(sender)
    assert chain.next_index_calls == 2


def test_a_dropped_connection_looks_the_transaction_up() -> None:
    chain, conn, sender = make()
    conn.script = ["drop-included"]
    pending = submit(sender)
    assert conn.reconnects == 1 and len(conn.sent) == 1
    receipt = pending.wait()
    assert receipt.block_number == chain.head


def test_a_dropped_connection_and_no_trace_is_an_unknown_outcome() -> None:
    _chain, conn, sender = make()
    conn.script = ["drop"]
    with pytest.raises(OutcomeUnknown, match="not seen yet"):
        submit(sender)
    assert len(conn.sent) == 1


def test_nothing_written_is_written_once_more_on_a_new_connection() -> None:
    _chain, conn, sender = make()
    conn.script = ["send-fails", "ok"]
    pending = submit(sender)
    assert conn.reconnects == 1 and len(conn.sent) == 1
    assert pending.nonce == 7


def test_wait_returns_once_included() -> None:
    chain, conn, sender = make()
    pending = submit(sender)
    polls = []

    def progress(c: FakeChain) -> None:
        polls.append(1)
        if len(polls) == 3:
            c.include(conn.sent[0])

    chain.on_head = progress
    receipt = pending.wait(timeout=5)
    assert receipt.extrinsic_hash == pending.extrinsic_hash
    assert receipt.block_number == chain.head
    assert pending.done and pending.poll() is receipt


def test_wait_reports_an_expired_era() -> None:
    chain, _conn, sender = make(era_period=4)
    pending = submit(sender)
    for _ in range(4):
        chain.include(nonce_step=0)
    with pytest.raises(TransactionDropped) as dropped:
        pending.wait(timeout=5)
    assert dropped.value.reason == "expired"
    assert dropped.value.tx_hash == pending.extrinsic_hash


def test_wait_reports_a_nonce_used_by_another_transaction() -> None:
    chain, _conn, sender = make()
    pending = submit(sender)
    chain.include("0x00", nonce_step=1)  # another transaction with nonce 7
    with pytest.raises(TransactionDropped) as dropped:
        pending.wait(timeout=5)
    assert dropped.value.reason == "nonce used"


def test_wait_is_bounded() -> None:
    _chain, _conn, sender = make()
    pending = submit(sender)
    started = time.monotonic()
    with pytest.raises(OutcomeUnknown, match=r"not included after 0\.3 s"):
        pending.wait(timeout=0.3)
    assert time.monotonic() - started < 1.5


def test_too_many_pending_waits_for_inclusion() -> None:
    chain, conn, sender = make(max_pending=2)
    first, second = submit(sender), submit(sender)
    reads = []
    original = chain.rpc

    def rpc(method: str, params: list[Any]) -> Any:
        if method == "state_call":
            reads.append(1)
            if len(reads) == 3:
                chain.include(conn.sent[0])
        return original(method, params)

    chain.rpc = rpc  # type: ignore[method-assign]
    third = submit(sender)
    assert third.nonce == 9
    assert len(reads) >= 3  # it waited until the first was included
    assert first.nonce == 7 and second.nonce == 8


def test_too_many_pending_and_no_progress_fails_in_bounded_time() -> None:
    _chain, _conn, sender = make(max_pending=1, inclusion_timeout=0.3)
    submit(sender)
    started = time.monotonic()
    with pytest.raises(Exception, match="waiting for inclusion"):
        submit(sender)
    assert time.monotonic() - started < 1.5


# -- the era's birth block, reused across transactions ---------------------------------------


class FakeSubstrate:
    """The RPC surface `_era` reads, answering from a `FakeChain` (finality follows the best
    block unless `finalized` is set), counting the calls."""

    def __init__(self, chain: FakeChain, finalized: int | None = None) -> None:
        self.chain = chain
        self.finalized = finalized
        self.calls: list[str] = []

    def rpc_request(self, method: str, params: list[Any]) -> dict[str, Any]:
        self.calls.append(method)
        if method == "chain_getBlockHash":
            return {"result": block_hash(self.chain.head)}
        if method == "chain_getFinalizedHead":
            number = self.chain.head if self.finalized is None else self.finalized
            return {"result": block_hash(number)}
        if method == "chain_getHeader":
            return {"result": {"number": hex(int(params[0], 16))}}
        raise AssertionError(f"unexpected RPC {method}")


class EraSender(Sender):
    """A `Sender` whose signing takes its era birth as the real one does."""

    def __init__(self, conn: FakeConnection, substrate: FakeSubstrate, **options: Any) -> None:
        super().__init__(conn, **options)
        self.substrate = substrate
        self.births: list[int] = []

    def _sign(self, signer: Any, pallet: str, call: str, params: Any, nonce: int) -> Any:
        extrinsic, _ = super()._sign(signer, pallet, call, params, nonce)
        birth = self._era(self.substrate).birth  # type: ignore[arg-type]
        self.births.append(birth)
        return extrinsic, birth


def test_one_era_birth_serves_back_to_back_transactions() -> None:
    chain = FakeChain(blocks=[[] for _ in range(40)])
    substrate = FakeSubstrate(chain)
    sender = EraSender(FakeConnection(chain), substrate)
    pending = [submit(sender) for _ in range(5)]  # type: ignore[arg-type]
    assert sender.births == [39] * 5
    # Best hash, its header and the finalized head: asked once for all five.
    assert substrate.calls == ["chain_getBlockHash", "chain_getHeader", "chain_getFinalizedHead"]
    assert all(p.valid_until == 39 + 63 for p in pending)


def test_an_era_birth_is_renewed_once_the_chain_moved_a_quarter_period() -> None:
    chain = FakeChain(blocks=[[] for _ in range(40)])
    substrate = FakeSubstrate(chain)
    sender = EraSender(FakeConnection(chain), substrate)
    submit(sender)
    for _ in range(16):
        chain.include()
    sender._head()  # a wait saw block 55: 16 blocks past the birth, still reused
    submit(sender)
    chain.include()
    sender._head()  # block 56: 17 past it, renewed
    submit(sender)
    assert sender.births == [39, 39, 56]


def test_an_era_birth_is_not_kept_past_its_time(monkeypatch: pytest.MonkeyPatch) -> None:
    from decentralml.chain import _transactions

    chain = FakeChain(blocks=[[] for _ in range(10)])
    sender = EraSender(FakeConnection(chain), FakeSubstrate(chain))
    submit(sender)
    chain.include()
    monkeypatch.setattr(_transactions, "_ERA_REUSE_SECONDS", 0.0)
    submit(sender)
    assert sender.births == [9, 10]


def test_a_lagging_finality_gives_the_best_block_as_birth() -> None:
    chain = FakeChain(blocks=[[] for _ in range(100)])
    substrate = FakeSubstrate(chain, finalized=50)  # 49 behind: more than a quarter period
    sender = EraSender(FakeConnection(chain), substrate)
    submit(sender)
    assert sender.births == [99]
    near = FakeChain(blocks=[[] for _ in range(100)])
    sender = EraSender(FakeConnection(near), FakeSubstrate(near, finalized=90))
    submit(sender)
    assert sender.births == [90]


BAD_PROOF = {"code": 1010, "message": '{"invalid":{"badProof":null}}'}
# How a Substrate node's pool (polkadot-omni-node) answers the same.
BAD_SIGNATURE = {
    "code": 1010,
    "message": "Invalid Transaction",
    "data": "Transaction has a bad signature",
}


@pytest.mark.parametrize("answer", [BAD_PROOF, BAD_SIGNATURE], ids=["chopsticks", "node"])
def test_a_reused_birth_the_chain_moved_past_is_renewed_and_signed_once_more(
    answer: dict[str, object],
) -> None:
    """Someone else moved the chain a whole period on: the runtime resolves the reused birth
    to another block, the pool answers BadProof, and the transaction is signed again with the
    same nonce and a new birth."""
    chain = FakeChain(blocks=[[] for _ in range(10)])
    conn = FakeConnection(chain)
    sender = EraSender(conn, FakeSubstrate(chain))
    submit(sender)
    for _ in range(100):
        chain.include(nonce_step=0)
    conn.script = [answer]
    pending = submit(sender)
    assert sender.births == [9, 9, 109]
    assert sender.signed == [7, 8, 8]
    assert pending.birth == 109 and pending.nonce == 8


def test_a_bad_proof_on_a_fresh_birth_is_refused_not_retried() -> None:
    chain = FakeChain(blocks=[[] for _ in range(10)])
    conn = FakeConnection(chain)
    sender = EraSender(conn, FakeSubstrate(chain))
    conn.script = [BAD_PROOF]
    with pytest.raises(TransactionRejected, match="badProof"):
        submit(sender)
    assert sender.signed == [7]
