"""The marketplace's on-chain flow against the real dev chain (our runtime on Chopsticks)."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from substrateinterface import Keypair

from decentralml.chain import ChainClient, Receipt, keypair_from_uri
from decentralml.errors import ExtrinsicFailed
from tests.fixtures_devnet import Devnet

pytestmark = pytest.mark.integration

REWARD = 2 * 10**12  # two tokens


@pytest.fixture(scope="module")
def chain(devnet: Devnet) -> Iterator[ChainClient]:
    with ChainClient(devnet.url) as client:
        yield client


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
    slots: int = 2,
    deadline_in: int = 40,
    review_period: int = 5,
    work_period: int = 10,
    reward: int = REWARD,
) -> tuple[int, Receipt]:
    deadline = chain.block_number() + deadline_in
    receipt = send(
        chain,
        creator,
        "create_task",
        kind="ModelContribution",
        policy=policy,
        bundle=content(f"task-{secrets.token_hex(4)}"),
        metadata="0x" + b'{"name":"digits"}'.hex(),
        reward=reward,
        slots=slots,
        deadline=deadline,
        review_period=review_period,
        work_period=work_period,
        validator=None,
    )
    (created,) = receipt.find("Decentralml", "TaskCreated")
    return int(created.attributes["task_id"]), receipt


@pytest.fixture
def alice() -> Account:
    return Account(keypair_from_uri("//Alice"))


@pytest.fixture
def bob() -> Account:
    return Account(keypair_from_uri("//Bob"))


def test_manual_accept_pays_bob_exactly_the_reward(
    chain: ChainClient, devnet: Devnet, alice: Account, bob: Account
) -> None:
    """create (Alice) -> assign, submit (Bob) -> accept (Alice) -> close: exact balances."""
    held_before = chain.held_balance(alice.address)
    alice_before = chain.free_balance(alice.address)
    bob_before = chain.free_balance(bob.address)

    task_id, created = create_task(chain, alice, slots=2, deadline_in=30)
    (event,) = created.find("Decentralml", "TaskCreated")
    escrow = int(event.attributes["escrow"])
    assert event.attributes["creator"] == alice.address
    assert chain.held_balance(alice.address) == held_before + escrow

    assigned = send(chain, bob, "assign_task", task_id=task_id)
    assert assigned.find("Decentralml", "TaskAssigned")[0].attributes == {
        "task_id": task_id,
        "worker": bob.address,
    }
    submitted = send(chain, bob, "submit_result", task_id=task_id, result=content("bob-1"))
    assert submitted.find("Decentralml", "ResultSubmitted")[0].attributes["worker"] == bob.address
    accepted = send(chain, alice, "accept_result", task_id=task_id, worker=bob.address)
    (paid,) = accepted.find("Decentralml", "RewardPaid")
    assert paid.attributes == {"task_id": task_id, "worker": bob.address, "amount": REWARD}
    assert accepted.find("Decentralml", "ResultAccepted")[0].attributes["by"] == alice.address

    assert bob.fees > 0
    assert chain.free_balance(bob.address) - bob_before == REWARD - bob.fees

    # After the deadline anyone may close; the unpaid slot and the deposit go back to Alice.
    devnet.advance(30)
    closed = send(chain, bob, "close_task", task_id=task_id)
    (event,) = closed.find("Decentralml", "TaskClosed")
    assert int(event.attributes["refunded"]) == escrow - REWARD
    assert chain.held_balance(alice.address) == held_before == 0
    assert chain.free_balance(alice.address) == alice_before - REWARD - alice.fees
    task = chain.query("Decentralml", "Tasks", [task_id])
    assert task["status"] == "Closed" and int(task["escrow"]) == 0


def test_auto_accept_pays_at_submission(chain: ChainClient, alice: Account) -> None:
    creator = fresh_account(chain, alice)
    worker = fresh_account(chain, alice)
    worker_before = chain.free_balance(worker.address)
    task_id, _ = create_task(chain, creator, policy="AutoAccept", slots=1)
    send(chain, worker, "assign_task", task_id=task_id)
    receipt = send(chain, worker, "submit_result", task_id=task_id, result=content("auto"))
    assert receipt.find("Decentralml", "RewardPaid")[0].attributes["amount"] == REWARD
    assert receipt.find("Decentralml", "ResultAccepted")[0].attributes["by"] is None
    assert chain.free_balance(worker.address) - worker_before == REWARD - worker.fees
    assert chain.query("Decentralml", "Tasks", [task_id])["paid"] == 1


def test_claim_reward_after_the_review_period(
    chain: ChainClient, devnet: Devnet, alice: Account
) -> None:
    creator = fresh_account(chain, alice)
    worker = fresh_account(chain, alice)
    worker_before = chain.free_balance(worker.address)
    task_id, _ = create_task(chain, creator, review_period=5)
    send(chain, worker, "assign_task", task_id=task_id)
    send(chain, worker, "submit_result", task_id=task_id, result=content("claim"))
    with pytest.raises(ExtrinsicFailed) as refused:
        send(chain, worker, "claim_reward", task_id=task_id)
    assert refused.value.name == "ReviewPeriodNotOver"
    devnet.advance(5)
    receipt = send(chain, worker, "claim_reward", task_id=task_id)
    assert receipt.find("Decentralml", "RewardPaid")[0].attributes["worker"] == worker.address
    assert chain.free_balance(worker.address) - worker_before == REWARD - worker.fees


def test_a_reject_after_the_review_period_is_refused(
    chain: ChainClient, devnet: Devnet, alice: Account
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
    with pytest.raises(ExtrinsicFailed) as refused:
        send(chain, creator, "reject_result", task_id=task_id, worker=worker.address, reason="0x")
    assert refused.value.name == "ReviewPeriodOver"
    send(chain, worker, "claim_reward", task_id=task_id)
    assert chain.free_balance(worker.address) - worker_before == REWARD - worker.fees
    # The creator still has the deposit on hold until close; the reward is gone.
    assert chain.held_balance(creator.address) == escrow - REWARD
    assert chain.free_balance(creator.address) == creator_before - escrow - creator.fees


def test_root_force_closes_a_task_and_pays_submitted_results(
    chain: ChainClient, alice: Account
) -> None:
    """`force_close_task` through sudo (Alice is the dev chain's sudo key): the submitted
    result is paid although its review period is running, the rest goes back. The creator
    cannot call it itself."""
    creator = fresh_account(chain, alice)
    worker = fresh_account(chain, alice)
    idle = fresh_account(chain, alice)
    creator_before = chain.free_balance(creator.address)
    worker_before = chain.free_balance(worker.address)
    task_id, _ = create_task(chain, creator, slots=3, review_period=50)
    send(chain, worker, "assign_task", task_id=task_id)
    send(chain, idle, "assign_task", task_id=task_id)
    send(chain, worker, "submit_result", task_id=task_id, result=content("forced"))
    with pytest.raises(ExtrinsicFailed) as refused:
        send(chain, creator, "force_close_task", task_id=task_id)
    assert refused.value.name == "BadOrigin"

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
    assert chain.free_balance(worker.address) - worker_before == REWARD - worker.fees
    assert chain.held_balance(creator.address) == 0
    assert chain.free_balance(creator.address) == creator_before - REWARD - creator.fees
    task = chain.query("Decentralml", "Tasks", [task_id])
    assert task["status"] == "Closed" and task["ended_at"] is not None


def test_cancel_returns_every_unit(chain: ChainClient, alice: Account) -> None:
    creator = fresh_account(chain, alice)
    worker = fresh_account(chain, alice)
    before = chain.free_balance(creator.address)
    task_id, _ = create_task(chain, creator, slots=3)
    send(chain, worker, "assign_task", task_id=task_id)
    receipt = send(chain, creator, "cancel_task", task_id=task_id)
    assert receipt.find("Decentralml", "TaskCancelled")
    assert chain.held_balance(creator.address) == 0
    assert chain.free_balance(creator.address) == before - creator.fees
    assert chain.query("Decentralml", "Tasks", [task_id])["status"] == "Cancelled"


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
    ],
)
def test_bad_task_parameters_are_refused_by_name(
    chain: ChainClient, alice: Account, change: dict[str, int], error: str
) -> None:
    creator = fresh_account(chain, alice)
    before = chain.free_balance(creator.address)
    with pytest.raises(ExtrinsicFailed) as failed:
        create_task(chain, creator, **change)  # type: ignore[arg-type]
    assert failed.value.name == error
    # Nothing moved but the fee of the failed transaction.
    assert chain.held_balance(creator.address) == 0
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


def test_every_pallet_error_and_event_is_documented(chain: ChainClient) -> None:
    """docs/pallet.md names exactly the errors and events the running runtime has."""
    chain.substrate.init_runtime()
    pallet = chain.substrate.metadata.get_metadata_pallet("Decentralml")
    errors = {error.name for error in pallet.errors}
    events = {event.name for event in pallet.events}
    docs = (Path(__file__).parents[2] / "docs" / "pallet.md").read_text()

    def first_column_names(heading: str) -> set[str]:
        section = docs.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]
        rows = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
        return {name for cell in rows for name in re.findall(r"`([A-Z][A-Za-z]+)`", cell)}

    documented_errors = first_column_names("Errors")
    documented_events = first_column_names("Events")
    assert len(errors) >= 30
    assert errors == documented_errors
    assert events == documented_events


def test_escrow_invariant_holds_on_the_devnet(chain: ChainClient, alice: Account) -> None:
    """After the flows above: what each creator has on hold equals its open tasks' escrow,
    and each open task's escrow is reward * (slots - paid) + deposit (invariant 1)."""
    # At least one open task with a payment, so the check covers a partly paid escrow.
    creator = fresh_account(chain, alice)
    worker = fresh_account(chain, alice)
    task_id, _ = create_task(chain, creator, policy="AutoAccept", slots=3)
    send(chain, worker, "assign_task", task_id=task_id)
    send(chain, worker, "submit_result", task_id=task_id, result=content("inv"))

    count = int(chain.query("Decentralml", "NextTaskId"))
    assert count >= 5
    expected: dict[str, int] = {}
    for task_id in range(count):
        task = chain.query("Decentralml", "Tasks", [task_id])
        escrow = int(task["escrow"])
        if task["status"] == "Open":
            unpaid = int(task["slots"]) - int(task["paid"])
            assert escrow == int(task["reward"]) * unpaid + int(task["deposit"])
        else:
            assert escrow == 0
        expected[task["creator"]] = expected.get(task["creator"], 0) + escrow
    for creator_address, escrow in expected.items():
        assert chain.held_balance(creator_address) == escrow
