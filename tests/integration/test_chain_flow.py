"""The marketplace's on-chain flow against the real dev chain (our runtime on Chopsticks).

Balances are checked exactly: every fee an account pays is tallied from the chain's
`TransactionFeePaid` events, and what the pallet holds is read per hold reason (task escrow,
the task's storage deposit, assignment bonds).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from substrateinterface import Keypair

from decentralml.chain import (
    HOLD_REASONS,
    ChainClient,
    Receipt,
    keypair_from_uri,
    new_salt,
    result_commitment,
)
from decentralml.errors import ExtrinsicFailed
from tests.fixtures_devnet import Devnet

pytestmark = pytest.mark.integration

REWARD = 2 * 10**12  # two tokens
METADATA = b'{"name":"digits"}'


@pytest.fixture(scope="module")
def chain(devnet: Devnet) -> Iterator[ChainClient]:
    with ChainClient(devnet.url) as client:
        yield client


@pytest.fixture(scope="module")
def bond(chain: ChainClient) -> int:
    """What taking a slot holds from a worker."""
    value = int(chain.constant("Decentralml", "AssignmentBond"))
    assert value > 0
    return value


@pytest.fixture(scope="module")
def deposit(chain: ChainClient) -> int:
    """The storage deposit of a task created by `create_task` (its metadata is METADATA)."""
    base = int(chain.constant("Decentralml", "TaskDepositBase"))
    per_byte = int(chain.constant("Decentralml", "TaskDepositPerByte"))
    return base + per_byte * len(METADATA)


def content(tag: str) -> dict[str, object]:
    """A content reference as the calls take it."""
    digest = hashlib.sha256(tag.encode()).hexdigest()
    cid = f"bafy{digest[:40]}"
    return {"cid": "0x" + cid.encode().hex(), "sha256": "0x" + digest, "size": 1024}


@dataclass
class Account:
    keypair: Keypair
    fees: int = 0

    @property
    def address(self) -> str:
        return str(self.keypair.ss58_address)


@dataclass(frozen=True)
class Balance:
    """An account's free balance and what the marketplace holds from it, by reason."""

    free: int
    held: dict[str, int]


def balance(chain: ChainClient, who: Account) -> Balance:
    return Balance(chain.free_balance(who.address), chain.holds(who.address))


def holds(escrow: int = 0, storage: int = 0, bond: int = 0) -> dict[str, int]:
    expected = {"TaskEscrow": escrow, "TaskStorage": storage, "AssignmentBond": bond}
    assert set(expected) == set(HOLD_REASONS)
    return expected


def fees_paid_by(receipt: Receipt, address: str) -> int:
    """The fee `address` paid for this transaction, from `TransactionFeePaid` events."""
    return sum(
        int(e.attributes["actual_fee"])
        for e in receipt.find("TransactionPayment", "TransactionFeePaid")
        if e.attributes["who"] == address
    )


def send(chain: ChainClient, who: Account, call: str, **params: object) -> Receipt:
    """Submit a marketplace call as `who`, adding the fee it paid to its tally."""
    try:
        receipt = chain.submit(who.keypair, "Decentralml", call, params)
    except ExtrinsicFailed as failed:
        # A failed call is still included and still charged.
        assert failed.fee is not None and failed.fee > 0
        who.fees += failed.fee
        raise
    who.fees += fees_paid_by(receipt, who.address)
    return receipt


def refused(chain: ChainClient, who: Account, call: str, **params: object) -> str:
    """Submit a call that must fail; returns the pallet error's name."""
    with pytest.raises(ExtrinsicFailed) as failed:
        send(chain, who, call, **params)
    return str(failed.value.name)


def fresh_account(chain: ChainClient, funder: Account, amount: int = 1_000 * 10**12) -> Account:
    """A new account funded by `funder`, so tests do not share balances."""
    keypair = Keypair.create_from_mnemonic(Keypair.generate_mnemonic(), ss58_format=42)
    receipt = chain.submit(
        funder.keypair,
        "Balances",
        "transfer_keep_alive",
        {"dest": keypair.ss58_address, "value": amount},
    )
    funder.fees += fees_paid_by(receipt, funder.address)
    return Account(keypair)


def create_task(
    chain: ChainClient,
    creator: Account,
    *,
    policy: str = "ManualAccept",
    reveal_period: int | None = None,
    slots: int = 2,
    deadline_in: int = 40,
    review_period: int = 5,
    work_period: int = 10,
    reward: int = REWARD,
) -> tuple[int, Receipt]:
    """Post a task: plain, or sealed with `reveal_period`."""
    deadline = chain.block_number() + deadline_in
    submission: object = (
        "Plain" if reveal_period is None else {"Sealed": {"reveal_period": reveal_period}}
    )
    receipt = send(
        chain,
        creator,
        "create_task",
        kind="ModelContribution",
        policy=policy,
        submission=submission,
        bundle=content(f"task-{secrets.token_hex(4)}"),
        metadata="0x" + METADATA.hex(),
        reward=reward,
        slots=slots,
        deadline=deadline,
        review_period=review_period,
        work_period=work_period,
        validator=None,
    )
    (created,) = receipt.find("Decentralml", "TaskCreated")
    return int(created.attributes["task_id"]), receipt


def advance_until(chain: ChainClient, devnet: Devnet, height: int) -> None:
    """Make blocks so that the next transaction is included at `height` or later."""
    missing = height - 1 - chain.block_number()
    if missing > 0:
        devnet.advance(missing)


@dataclass(frozen=True)
class Sealed:
    """A result as a worker keeps it between commit and reveal."""

    result: dict[str, object]
    salt: bytes
    commitment: bytes

    @property
    def salt_param(self) -> str:
        return "0x" + self.salt.hex()

    @property
    def commitment_param(self) -> str:
        return "0x" + self.commitment.hex()


def seal(task_id: int, worker: Account, tag: str, salt: bytes | None = None) -> Sealed:
    """Commit `worker` to the result named `tag` (with a fresh salt unless given)."""
    result = content(tag)
    salt = salt if salt is not None else new_salt()
    commitment = result_commitment(
        task_id,
        worker.address,
        bytes.fromhex(str(result["cid"])[2:]),
        str(result["sha256"]),
        int(str(result["size"])),
        salt,
    )
    return Sealed(result=result, salt=salt, commitment=commitment)


@pytest.fixture
def alice() -> Account:
    return Account(keypair_from_uri("//Alice"))


@pytest.fixture
def bob() -> Account:
    return Account(keypair_from_uri("//Bob"))


def test_manual_accept_pays_bob_exactly_the_reward(
    chain: ChainClient, devnet: Devnet, alice: Account, bob: Account, bond: int, deposit: int
) -> None:
    """create (Alice) -> assign, submit (Bob) -> accept (Alice) -> close: exact balances."""
    held_before = chain.held_balance(alice.address)
    storage_before = chain.held_balance(alice.address, "TaskStorage")
    alice_before = chain.free_balance(alice.address)
    bob_before = chain.free_balance(bob.address)

    task_id, created = create_task(chain, alice, slots=2, deadline_in=30)
    (event,) = created.find("Decentralml", "TaskCreated")
    escrow = int(event.attributes["escrow"])
    assert event.attributes["creator"] == alice.address
    assert event.attributes["submission"] == "Plain"
    assert escrow == 2 * REWARD
    assert int(event.attributes["deposit"]) == deposit
    assert chain.held_balance(alice.address) == held_before + escrow
    assert chain.held_balance(alice.address, "TaskStorage") == storage_before + deposit

    assigned = send(chain, bob, "assign_task", task_id=task_id)
    assert assigned.find("Decentralml", "TaskAssigned")[0].attributes == {
        "task_id": task_id,
        "worker": bob.address,
        "bond": bond,
    }
    assert chain.held_balance(bob.address, "AssignmentBond") == bond
    submitted = send(chain, bob, "submit_result", task_id=task_id, result=content("bob-1"))
    assert submitted.find("Decentralml", "ResultSubmitted")[0].attributes["worker"] == bob.address
    assert submitted.find("Decentralml", "BondReturned")[0].attributes == {
        "task_id": task_id,
        "worker": bob.address,
        "amount": bond,
    }
    assert chain.held_balance(bob.address, "AssignmentBond") == 0
    accepted = send(chain, alice, "accept_result", task_id=task_id, worker=bob.address)
    (paid,) = accepted.find("Decentralml", "RewardPaid")
    assert paid.attributes == {"task_id": task_id, "worker": bob.address, "amount": REWARD}
    assert accepted.find("Decentralml", "ResultAccepted")[0].attributes["by"] == alice.address

    assert bob.fees > 0
    assert chain.free_balance(bob.address) - bob_before == REWARD - bob.fees

    # After the deadline anyone may close; the unpaid slot goes back to Alice, the storage
    # deposit stays held until the record is removed.
    devnet.advance(30)
    closed = send(chain, bob, "close_task", task_id=task_id)
    (event,) = closed.find("Decentralml", "TaskClosed")
    assert int(event.attributes["refunded"]) == escrow - REWARD
    assert chain.held_balance(alice.address) == held_before
    assert chain.held_balance(alice.address, "TaskStorage") == storage_before + deposit
    assert chain.free_balance(alice.address) == alice_before - REWARD - deposit - alice.fees
    task = chain.query("Decentralml", "Tasks", [task_id])
    assert task["status"] == "Closed" and int(task["escrow"]) == 0
    assert int(task["deposit"]) == deposit


def test_plain_manual_accept_with_bonds_exact_balances_at_each_step(
    chain: ChainClient, devnet: Devnet, alice: Account, bob: Account, bond: int, deposit: int
) -> None:
    """Two workers on a plain ManualAccept task: taking a slot holds the bond, submitting
    returns it, the accept pays exactly the reward, the reject pays nothing, the close refunds
    the rest of the escrow and keeps the storage deposit held."""
    creator = fresh_account(chain, alice)
    first = fresh_account(chain, alice)
    second = fresh_account(chain, alice)
    c0, f0, s0 = (balance(chain, who) for who in (creator, first, second))
    assert c0.held == f0.held == s0.held == holds()

    task_id, _ = create_task(chain, creator, slots=2, deadline_in=20, review_period=5)
    escrow = 2 * REWARD
    assert balance(chain, creator) == Balance(
        c0.free - escrow - deposit - creator.fees, holds(escrow=escrow, storage=deposit)
    )

    send(chain, first, "assign_task", task_id=task_id)
    send(chain, second, "assign_task", task_id=task_id)
    assert balance(chain, first) == Balance(f0.free - bond - first.fees, holds(bond=bond))
    assert balance(chain, second) == Balance(s0.free - bond - second.fees, holds(bond=bond))

    send(chain, first, "submit_result", task_id=task_id, result=content(f"first-{task_id}"))
    send(chain, second, "submit_result", task_id=task_id, result=content(f"second-{task_id}"))
    assert balance(chain, first) == Balance(f0.free - first.fees, holds())
    assert balance(chain, second) == Balance(s0.free - second.fees, holds())
    assert chain.query("Decentralml", "Tasks", [task_id])["pending"] == 2

    send(chain, creator, "accept_result", task_id=task_id, worker=first.address)
    send(chain, creator, "reject_result", task_id=task_id, worker=second.address, reason="0x")
    assert balance(chain, first) == Balance(f0.free + REWARD - first.fees, holds())
    assert balance(chain, second) == Balance(s0.free - second.fees, holds())
    assert balance(chain, creator) == Balance(
        c0.free - escrow - deposit - creator.fees,
        holds(escrow=escrow - REWARD, storage=deposit),
    )

    task = chain.query("Decentralml", "Tasks", [task_id])
    advance_until(chain, devnet, int(task["deadline"]))
    closed = send(chain, second, "close_task", task_id=task_id)
    assert int(closed.find("Decentralml", "TaskClosed")[0].attributes["refunded"]) == REWARD
    assert balance(chain, creator) == Balance(
        c0.free - REWARD - deposit - creator.fees, holds(storage=deposit)
    )
    assert balance(chain, first) == Balance(f0.free + REWARD - first.fees, holds())
    assert balance(chain, second) == Balance(s0.free - second.fees, holds())


def test_sealed_auto_accept_pays_at_reveal(
    chain: ChainClient, devnet: Devnet, alice: Account, bond: int, deposit: int
) -> None:
    """Sealed AutoAccept: the bond is held from assign through the commitment and returned at
    the reveal; nothing is revealed before the deadline; the reveal pays exactly the reward;
    the task closes only after its reveal period, refunding the rest; the storage deposit
    stays held."""
    reveal_period = 5
    creator = fresh_account(chain, alice)
    worker = fresh_account(chain, alice)
    c0, w0 = balance(chain, creator), balance(chain, worker)
    task_id, created = create_task(
        chain, creator, policy="AutoAccept", reveal_period=reveal_period, slots=2, deadline_in=10
    )
    (event,) = created.find("Decentralml", "TaskCreated")
    assert event.attributes["submission"] == {"Sealed": {"reveal_period": reveal_period}}
    assert (int(event.attributes["escrow"]), int(event.attributes["deposit"])) == (
        2 * REWARD,
        deposit,
    )
    deadline = int(event.attributes["deadline"])
    assert balance(chain, creator) == Balance(
        c0.free - 2 * REWARD - deposit - creator.fees, holds(escrow=2 * REWARD, storage=deposit)
    )

    assigned = send(chain, worker, "assign_task", task_id=task_id)
    assert int(assigned.find("Decentralml", "TaskAssigned")[0].attributes["bond"]) == bond
    assert balance(chain, worker) == Balance(w0.free - bond - worker.fees, holds(bond=bond))

    sealed = seal(task_id, worker, f"sealed-{task_id}")
    assert (
        refused(chain, worker, "submit_result", task_id=task_id, result=sealed.result)
        == "SubmissionsSealed"
    )
    committed = send(
        chain, worker, "commit_result", task_id=task_id, commitment=sealed.commitment_param
    )
    assert committed.find("Decentralml", "ResultCommitted")[0].attributes == {
        "task_id": task_id,
        "worker": worker.address,
        "commitment": sealed.commitment_param,
    }
    # The bond stays until the reveal: committing random bytes does not hold a slot for free.
    assert committed.find("Decentralml", "BondReturned") == []
    assert balance(chain, worker) == Balance(w0.free - bond - worker.fees, holds(bond=bond))
    assert chain.query("Decentralml", "Tasks", [task_id])["committed"] == 1

    assert chain.block_number() + 1 < deadline
    early = refused(
        chain,
        worker,
        "reveal_result",
        task_id=task_id,
        result=sealed.result,
        salt=sealed.salt_param,
    )
    assert early == "RevealPeriodNotStarted"

    advance_until(chain, devnet, deadline)
    revealed = send(
        chain,
        worker,
        "reveal_result",
        task_id=task_id,
        result=sealed.result,
        salt=sealed.salt_param,
    )
    assert revealed.find("Decentralml", "BondReturned")[0].attributes["amount"] == bond
    assert revealed.find("Decentralml", "ResultSubmitted")[0].attributes["worker"] == worker.address
    assert revealed.find("Decentralml", "ResultAccepted")[0].attributes["by"] is None
    assert revealed.find("Decentralml", "RewardPaid")[0].attributes == {
        "task_id": task_id,
        "worker": worker.address,
        "amount": REWARD,
    }
    assert balance(chain, worker) == Balance(w0.free + REWARD - worker.fees, holds())
    paid_record = chain.query("Decentralml", "Assignments", [task_id, worker.address])
    # A decided result stays on record with the reference that was paid for.
    stored = {
        "cid": bytes.fromhex(str(sealed.result["cid"])[2:]).decode(),
        "sha256": sealed.result["sha256"],
        "size": sealed.result["size"],
    }
    assert paid_record == {"Paid": {"result": stored}}

    assert chain.block_number() + 1 < deadline + reveal_period
    assert refused(chain, worker, "close_task", task_id=task_id) == "RevealPeriodNotOver"
    advance_until(chain, devnet, deadline + reveal_period)
    closed = send(chain, worker, "close_task", task_id=task_id)
    assert int(closed.find("Decentralml", "TaskClosed")[0].attributes["refunded"]) == REWARD

    assert balance(chain, creator) == Balance(
        c0.free - REWARD - deposit - creator.fees, holds(storage=deposit)
    )
    assert balance(chain, worker) == Balance(w0.free + REWARD - worker.fees, holds())
    task = chain.query("Decentralml", "Tasks", [task_id])
    assert (task["status"], task["paid"], int(task["escrow"])) == ("Closed", 1, 0)


def test_a_copied_result_is_not_paid_on_a_sealed_task(
    chain: ChainClient, devnet: Devnet, alice: Account, bond: int, deposit: int
) -> None:
    """Charlie copies Bob's commitment before the deadline and Bob's revealed reference
    after it: neither opens under Charlie's account. Dave, who committed to Bob's reference
    (leaked to him before the deadline), is refused as a duplicate. Only Bob is paid; the two
    commitments never revealed cost their workers the bond, which goes to the creator."""
    reveal_period = 10
    creator = fresh_account(chain, alice)
    bob = fresh_account(chain, alice)
    charlie = fresh_account(chain, alice)
    dave = fresh_account(chain, alice)
    c0, b0, ch0, d0 = (balance(chain, who) for who in (creator, bob, charlie, dave))
    task_id, created = create_task(
        chain, creator, policy="AutoAccept", reveal_period=reveal_period, slots=3, deadline_in=12
    )
    deadline = int(created.find("Decentralml", "TaskCreated")[0].attributes["deadline"])
    for worker in (bob, charlie, dave):
        send(chain, worker, "assign_task", task_id=task_id)

    bobs = seal(task_id, bob, f"bob-{task_id}")
    committed = send(chain, bob, "commit_result", task_id=task_id, commitment=bobs.commitment_param)
    seen = committed.find("Decentralml", "ResultCommitted")[0].attributes["commitment"]
    send(chain, charlie, "commit_result", task_id=task_id, commitment=seen)
    leaked = seal(task_id, dave, f"bob-{task_id}")
    assert leaked.result == bobs.result
    send(chain, dave, "commit_result", task_id=task_id, commitment=leaked.commitment_param)

    advance_until(chain, devnet, deadline)
    paid = send(
        chain, bob, "reveal_result", task_id=task_id, result=bobs.result, salt=bobs.salt_param
    )
    assert paid.find("Decentralml", "RewardPaid")[0].attributes["worker"] == bob.address

    # Bob's reference and salt are public now; under Charlie's account they open nothing.
    copy = refused(
        chain, charlie, "reveal_result", task_id=task_id, result=bobs.result, salt=bobs.salt_param
    )
    assert copy == "CommitmentMismatch"
    own_salt = seal(task_id, charlie, f"bob-{task_id}")
    copy = refused(
        chain,
        charlie,
        "reveal_result",
        task_id=task_id,
        result=own_salt.result,
        salt=own_salt.salt_param,
    )
    assert copy == "CommitmentMismatch"
    duplicate = refused(
        chain, dave, "reveal_result", task_id=task_id, result=leaked.result, salt=leaked.salt_param
    )
    assert duplicate == "DuplicateResult"

    # The unrevealed commitments end at close, paying nothing and forfeiting their bonds to
    # the creator; the rest of the escrow is refunded.
    advance_until(chain, devnet, deadline + reveal_period)
    closed = send(chain, alice, "close_task", task_id=task_id)
    assert int(closed.find("Decentralml", "TaskClosed")[0].attributes["refunded"]) == 2 * REWARD
    assert [e.attributes["worker"] for e in closed.find("Decentralml", "RewardPaid")] == []
    forfeited = {e.attributes["worker"] for e in closed.find("Decentralml", "BondForfeited")}
    assert forfeited == {charlie.address, dave.address}
    assert balance(chain, bob) == Balance(b0.free + REWARD - bob.fees, holds())
    assert balance(chain, charlie) == Balance(ch0.free - bond - charlie.fees, holds())
    assert balance(chain, dave) == Balance(d0.free - bond - dave.fees, holds())
    assert balance(chain, creator) == Balance(
        c0.free - REWARD - deposit + 2 * bond - creator.fees, holds(storage=deposit)
    )
    assert chain.query("Decentralml", "Assignments", [task_id, charlie.address]) == "Released"


def test_submit_and_commit_follow_the_task_kind(chain: ChainClient, alice: Account) -> None:
    """Commit and reveal on a plain task, and submit on a sealed one, are refused by name."""
    creator = fresh_account(chain, alice)
    worker = fresh_account(chain, alice)
    plain, _ = create_task(chain, creator, slots=1)
    send(chain, worker, "assign_task", task_id=plain)
    sealed = seal(plain, worker, f"kind-{plain}")
    assert (
        refused(chain, worker, "commit_result", task_id=plain, commitment=sealed.commitment_param)
        == "SubmissionsPlain"
    )
    assert (
        refused(
            chain,
            worker,
            "reveal_result",
            task_id=plain,
            result=sealed.result,
            salt=sealed.salt_param,
        )
        == "SubmissionsPlain"
    )


def test_a_squatters_bond_goes_to_the_creator(
    chain: ChainClient, devnet: Devnet, alice: Account, bond: int, deposit: int
) -> None:
    """A worker takes the only slot and never submits; after the work period a third account
    releases it: the squatter's bond goes to the creator, the slot is free, the squatter is
    barred."""
    work_period = 4
    creator = fresh_account(chain, alice)
    squatter = fresh_account(chain, alice)
    releaser = fresh_account(chain, alice)
    c0, s0, r0 = (balance(chain, who) for who in (creator, squatter, releaser))
    task_id, _ = create_task(chain, creator, slots=1, work_period=work_period, deadline_in=40)
    send(chain, squatter, "assign_task", task_id=task_id)
    record = chain.query("Decentralml", "Assignments", [task_id, squatter.address])
    assert int(record["Assigned"]["bond"]) == bond
    assigned_at = int(record["Assigned"]["at"])
    assert balance(chain, squatter) == Balance(s0.free - bond - squatter.fees, holds(bond=bond))

    early = refused(chain, releaser, "release_assignment", task_id=task_id, worker=squatter.address)
    assert early == "WorkPeriodNotOver"
    advance_until(chain, devnet, assigned_at + work_period)
    released = send(chain, releaser, "release_assignment", task_id=task_id, worker=squatter.address)
    assert released.find("Decentralml", "BondForfeited")[0].attributes == {
        "task_id": task_id,
        "worker": squatter.address,
        "amount": bond,
    }
    assert released.find("Decentralml", "AssignmentReleased")

    assert balance(chain, squatter) == Balance(s0.free - bond - squatter.fees, holds())
    assert balance(chain, releaser) == Balance(r0.free - releaser.fees, holds())
    assert balance(chain, creator) == Balance(
        c0.free - REWARD - deposit + bond - creator.fees, holds(escrow=REWARD, storage=deposit)
    )
    assert refused(chain, squatter, "assign_task", task_id=task_id) == "WorkerBarred"
    send(chain, releaser, "assign_task", task_id=task_id)
    assert balance(chain, releaser) == Balance(r0.free - bond - releaser.fees, holds(bond=bond))


def test_remove_task_after_the_retention_period_returns_the_deposit(
    chain: ChainClient, devnet: Devnet, alice: Account, deposit: int
) -> None:
    """A closed task's record stays for the retention period (201,600 blocks on the dev
    runtime, passed with one jumped block); then anyone removes it, every record of it goes,
    and the creator gets the storage deposit back."""
    creator = fresh_account(chain, alice)
    worker = fresh_account(chain, alice)
    remover = fresh_account(chain, alice)
    c0 = balance(chain, creator)
    task_id, created = create_task(chain, creator, slots=1, deadline_in=8)
    deadline = int(created.find("Decentralml", "TaskCreated")[0].attributes["deadline"])
    result = content(f"removed-{task_id}")
    send(chain, worker, "assign_task", task_id=task_id)
    send(chain, worker, "submit_result", task_id=task_id, result=result)
    send(chain, creator, "accept_result", task_id=task_id, worker=worker.address)
    assert refused(chain, remover, "remove_task", task_id=task_id) == "TaskNotEnded"

    advance_until(chain, devnet, deadline)
    send(chain, creator, "close_task", task_id=task_id)
    ended_at = int(chain.query("Decentralml", "Tasks", [task_id])["ended_at"])
    assert refused(chain, remover, "remove_task", task_id=task_id) == "RetentionPeriodNotOver"
    assert balance(chain, creator) == Balance(
        c0.free - REWARD - deposit - creator.fees, holds(storage=deposit)
    )

    retention = int(chain.constant("Decentralml", "RetentionPeriod"))
    assert retention == 201_600
    before = chain.block_number()
    assert devnet.advance(retention, jump=True) == before + retention
    assert chain.block_number() + 1 >= ended_at + retention

    removed = send(chain, remover, "remove_task", task_id=task_id)
    assert removed.find("Decentralml", "TaskRemoved")[0].attributes == {
        "task_id": task_id,
        "deposit": deposit,
    }
    assert balance(chain, creator) == Balance(c0.free - REWARD - creator.fees, holds())
    assert balance(chain, remover).held == holds()
    assert chain.query("Decentralml", "Tasks", [task_id]) is None
    assert chain.query("Decentralml", "Assignments", [task_id, worker.address]) is None
    cid_hash = (
        "0x" + hashlib.blake2b(bytes.fromhex(str(result["cid"])[2:]), digest_size=32).hexdigest()
    )
    assert chain.query("Decentralml", "SubmittedCids", [task_id, cid_hash]) is None
    assert chain.query("Decentralml", "LiveWorkers", [task_id]) == []
    assert refused(chain, remover, "remove_task", task_id=task_id) == "UnknownTask"


def test_claim_reward_after_the_review_period(
    chain: ChainClient, devnet: Devnet, alice: Account
) -> None:
    creator = fresh_account(chain, alice)
    worker = fresh_account(chain, alice)
    worker_before = chain.free_balance(worker.address)
    task_id, _ = create_task(chain, creator, review_period=5)
    send(chain, worker, "assign_task", task_id=task_id)
    send(chain, worker, "submit_result", task_id=task_id, result=content("claim"))
    assert refused(chain, worker, "claim_reward", task_id=task_id) == "ReviewPeriodNotOver"
    devnet.advance(5)
    receipt = send(chain, worker, "claim_reward", task_id=task_id)
    assert receipt.find("Decentralml", "RewardPaid")[0].attributes["worker"] == worker.address
    # The bond went back at submission: the worker is up exactly the reward, less fees.
    assert chain.free_balance(worker.address) - worker_before == REWARD - worker.fees
    assert chain.held_balance(worker.address, None) == 0


def test_a_reject_after_the_review_period_is_refused(
    chain: ChainClient, devnet: Devnet, alice: Account, deposit: int
) -> None:
    """The review period binds the reviewer: a late reject racing the worker's claim fails,
    and the claim pays exactly the reward."""
    creator = fresh_account(chain, alice)
    worker = fresh_account(chain, alice)
    creator_before = chain.free_balance(creator.address)
    worker_before = chain.free_balance(worker.address)
    task_id, created = create_task(chain, creator, slots=1, review_period=3)
    (event,) = created.find("Decentralml", "TaskCreated")
    escrow = int(event.attributes["escrow"])
    send(chain, worker, "assign_task", task_id=task_id)
    send(chain, worker, "submit_result", task_id=task_id, result=content("late-reject"))
    devnet.advance(3)
    late = refused(
        chain, creator, "reject_result", task_id=task_id, worker=worker.address, reason="0x"
    )
    assert late == "ReviewPeriodOver"
    send(chain, worker, "claim_reward", task_id=task_id)
    assert chain.free_balance(worker.address) - worker_before == REWARD - worker.fees
    # The one slot is paid: no escrow is left on hold, only the storage deposit.
    assert chain.holds(creator.address) == holds(escrow=escrow - REWARD, storage=deposit)
    assert escrow == REWARD
    assert chain.free_balance(creator.address) == creator_before - escrow - deposit - creator.fees


def test_root_force_closes_a_task_and_pays_submitted_results(
    chain: ChainClient, alice: Account, bond: int, deposit: int
) -> None:
    """`force_close_task` through sudo (Alice is the dev chain's sudo key): the submitted
    result is paid although its review period is running, the idle assignment's bond goes
    back, the rest of the escrow goes back. The creator cannot call it itself."""
    creator = fresh_account(chain, alice)
    worker = fresh_account(chain, alice)
    idle = fresh_account(chain, alice)
    creator_before = chain.free_balance(creator.address)
    worker_before = chain.free_balance(worker.address)
    idle_before = chain.free_balance(idle.address)
    task_id, _ = create_task(chain, creator, slots=3, review_period=50)
    send(chain, worker, "assign_task", task_id=task_id)
    send(chain, idle, "assign_task", task_id=task_id)
    send(chain, worker, "submit_result", task_id=task_id, result=content("forced"))
    assert chain.held_balance(idle.address, "AssignmentBond") == bond
    assert refused(chain, creator, "force_close_task", task_id=task_id) == "BadOrigin"

    receipt = chain.submit(
        alice.keypair,
        "Sudo",
        "sudo",
        {
            "call": {
                "call_module": "Decentralml",
                "call_function": "force_close_task",
                "call_args": {"task_id": task_id},
            }
        },
    )
    (sudid,) = receipt.find("Sudo", "Sudid")
    assert "Ok" in sudid.attributes["sudo_result"]
    (closed,) = receipt.find("Decentralml", "TaskForceClosed")
    assert closed.attributes["by"] is None and closed.attributes["paid"] == 1
    assert closed.attributes["refunded"] == 2 * REWARD
    assert chain.free_balance(worker.address) - worker_before == REWARD - worker.fees
    assert chain.free_balance(idle.address) == idle_before - idle.fees
    assert chain.holds(idle.address) == holds()
    assert chain.holds(creator.address) == holds(storage=deposit)
    assert chain.free_balance(creator.address) == (creator_before - REWARD - deposit - creator.fees)
    task = chain.query("Decentralml", "Tasks", [task_id])
    assert task["status"] == "Closed" and task["ended_at"] is not None


def test_cancel_returns_the_escrow_and_the_bonds(
    chain: ChainClient, alice: Account, bond: int, deposit: int
) -> None:
    """A cancel returns every reward and every bond; the storage deposit stays held until
    the record is removed."""
    creator = fresh_account(chain, alice)
    worker = fresh_account(chain, alice)
    before = chain.free_balance(creator.address)
    worker_before = chain.free_balance(worker.address)
    task_id, _ = create_task(chain, creator, slots=3)
    send(chain, worker, "assign_task", task_id=task_id)
    receipt = send(chain, creator, "cancel_task", task_id=task_id)
    assert int(receipt.find("Decentralml", "TaskCancelled")[0].attributes["refunded"]) == (
        3 * REWARD
    )
    assert receipt.find("Decentralml", "BondReturned")[0].attributes == {
        "task_id": task_id,
        "worker": worker.address,
        "amount": bond,
    }
    assert chain.holds(creator.address) == holds(storage=deposit)
    assert chain.free_balance(creator.address) == before - deposit - creator.fees
    assert chain.holds(worker.address) == holds()
    assert chain.free_balance(worker.address) == worker_before - worker.fees
    assert chain.query("Decentralml", "Tasks", [task_id])["status"] == "Cancelled"


def test_cancel_is_refused_under_an_unrevealed_commitment(
    chain: ChainClient, alice: Account
) -> None:
    creator = fresh_account(chain, alice)
    worker = fresh_account(chain, alice)
    task_id, _ = create_task(chain, creator, policy="AutoAccept", reveal_period=5, slots=1)
    send(chain, worker, "assign_task", task_id=task_id)
    sealed = seal(task_id, worker, f"cancel-{task_id}")
    send(chain, worker, "commit_result", task_id=task_id, commitment=sealed.commitment_param)
    assert refused(chain, creator, "cancel_task", task_id=task_id) == "ResultCommitted"
    assert chain.query("Decentralml", "Tasks", [task_id])["status"] == "Open"


def test_accept_by_a_stranger_fails_with_the_pallet_error(
    chain: ChainClient, alice: Account
) -> None:
    creator = fresh_account(chain, alice)
    worker = fresh_account(chain, alice)
    stranger = fresh_account(chain, alice)
    task_id, _ = create_task(chain, creator)
    send(chain, worker, "assign_task", task_id=task_id)
    send(chain, worker, "submit_result", task_id=task_id, result=content("s"))
    worker_before = chain.free_balance(worker.address)
    with pytest.raises(ExtrinsicFailed) as failed:
        send(chain, stranger, "accept_result", task_id=task_id, worker=worker.address)
    assert (failed.value.pallet, failed.value.name) == ("Decentralml", "NotReviewer")
    assert "NotReviewer" in str(failed.value)
    assert chain.free_balance(worker.address) == worker_before
    assert chain.query("Decentralml", "Tasks", [task_id])["pending"] == 1


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"reward": 1}, "RewardTooLow"),
        ({"slots": 0}, "ZeroSlots"),
        ({"deadline_in": 0}, "DeadlineInPast"),
        ({"review_period": 0}, "InvalidReviewPeriod"),
        ({"policy": "AutoAccept"}, "AutoAcceptNeedsSealed"),
        ({"reveal_period": 0}, "InvalidRevealPeriod"),
        ({"reveal_period": 100_801}, "InvalidRevealPeriod"),
    ],
)
def test_bad_task_parameters_are_refused_by_name(
    chain: ChainClient, alice: Account, change: dict[str, Any], error: str
) -> None:
    creator = fresh_account(chain, alice)
    before = chain.free_balance(creator.address)
    with pytest.raises(ExtrinsicFailed) as failed:
        create_task(chain, creator, **change)
    assert failed.value.name == error
    # Nothing moved but the fee of the failed transaction.
    assert chain.holds(creator.address) == holds()
    assert chain.free_balance(creator.address) == before - creator.fees


def test_oversize_cid_is_refused(chain: ChainClient, alice: Account) -> None:
    creator = fresh_account(chain, alice)
    too_long = {"cid": "0x" + ("61" * 129), "sha256": "0x" + "00" * 32, "size": 1}
    with pytest.raises(ExtrinsicFailed) as failed:
        send(
            chain,
            creator,
            "create_task",
            kind="DataAnnotation",
            policy="ManualAccept",
            submission="Plain",
            bundle=too_long,
            metadata="0x",
            reward=REWARD,
            slots=1,
            deadline=chain.block_number() + 10,
            review_period=1,
            work_period=1,
            validator=None,
        )
    assert failed.value.name == "CidTooLong"


def test_every_pallet_call_error_and_event_is_documented(chain: ChainClient) -> None:
    """docs/pallet.md names exactly the calls (with their indices), errors and events the
    running runtime has."""
    chain.substrate.init_runtime()
    pallet = chain.substrate.metadata.get_metadata_pallet("Decentralml")
    calls = {(int(call.value["index"]), call.name) for call in pallet.calls}
    errors = {error.name for error in pallet.errors}
    events = {event.name for event in pallet.events}
    docs = (Path(__file__).parents[2] / "docs" / "pallet.md").read_text()

    def section(heading: str) -> str:
        return docs.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]

    def first_column_names(heading: str) -> set[str]:
        rows = [
            line.split("|")[1] for line in section(heading).splitlines() if line.startswith("| `")
        ]
        return {name for cell in rows for name in re.findall(r"`([A-Z][A-Za-z]+)`", cell)}

    documented_calls = {
        (int(index), name)
        for index, name in re.findall(r"^\| (\d+) \| `([a-z_]+)\(", section("Calls"), re.M)
    }
    assert calls == documented_calls
    documented_errors = first_column_names("Errors")
    documented_events = first_column_names("Events")
    assert len(errors) >= 40
    assert errors == documented_errors
    assert events == documented_events


def test_hold_invariant_holds_on_the_devnet(chain: ChainClient, alice: Account) -> None:
    """After the flows above, per hold reason (invariant 1): what each creator has on hold as
    escrow equals its open tasks' escrow, reward * (slots - paid); what it has on hold as
    storage deposits equals the deposits of its task records not yet removed; what each
    worker has on hold as bonds equals the bonds of its assignments not yet submitted or
    revealed."""
    # At least one open task with a payment and a live bond, so the check covers both.
    creator = fresh_account(chain, alice)
    worker = fresh_account(chain, alice)
    idle = fresh_account(chain, alice)
    task_id, _ = create_task(chain, creator, slots=3)
    send(chain, worker, "assign_task", task_id=task_id)
    send(chain, idle, "assign_task", task_id=task_id)
    send(chain, worker, "submit_result", task_id=task_id, result=content(f"inv-{task_id}"))
    send(chain, creator, "accept_result", task_id=task_id, worker=worker.address)
    # And an ended one, so the check covers a task that holds no escrow.
    cancelled_id, _ = create_task(chain, creator)
    send(chain, creator, "cancel_task", task_id=cancelled_id)

    count = int(chain.query("Decentralml", "NextTaskId"))
    statuses = {chain.query("Decentralml", "Tasks", [i])["status"] for i in (task_id, cancelled_id)}
    assert statuses == {"Open", "Cancelled"}
    escrow: dict[str, int] = {}
    storage: dict[str, int] = {}
    bonds: dict[str, int] = {}
    for task_id in range(count):
        task = chain.query("Decentralml", "Tasks", [task_id])
        if task is None:  # removed after its retention period
            continue
        held = int(task["escrow"])
        if task["status"] == "Open":
            assert held == int(task["reward"]) * (int(task["slots"]) - int(task["paid"]))
        else:
            assert held == 0
        creator_address = task["creator"]
        escrow[creator_address] = escrow.get(creator_address, 0) + held
        storage[creator_address] = storage.get(creator_address, 0) + int(task["deposit"])
        for key, assignment in chain.substrate.query_map("Decentralml", "Assignments", [task_id]):
            value = assignment.value
            for state in ("Assigned", "Committed"):
                if isinstance(value, dict) and state in value:
                    who = str(key.value)
                    bonds[who] = bonds.get(who, 0) + int(value[state]["bond"])
    assert bonds.get(idle.address) == int(chain.constant("Decentralml", "AssignmentBond"))
    for address in escrow.keys() | bonds.keys():
        held_now = chain.holds(address)
        assert held_now["TaskEscrow"] == escrow.get(address, 0), address
        assert held_now["TaskStorage"] == storage.get(address, 0), address
        assert held_now["AssignmentBond"] == bonds.get(address, 0), address
