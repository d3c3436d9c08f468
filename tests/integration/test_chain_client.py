"""The chain client's guarantees against the real dev chain: mortal transactions, nonces for
back-to-back submissions, and task listing by computed keys in batches."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from typing import Any

import pytest

from decentralml.chain import ChainClient, TaskInfo, TaskKind, TaskStatus, keypair_from_uri
from decentralml.storage import ContentRef
from tests.backend import ENGINE
from tests.fixtures_devnet import Devnet
from tests.integration.test_chain_flow import REWARD, Account, content, fresh_account

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def chain(devnet: Devnet) -> Iterator[ChainClient]:
    with ChainClient(devnet.url) as client:
        yield client


@pytest.fixture(scope="module")
def funder() -> Account:
    return Account(keypair_from_uri("//Alice"))


def task_params(chain: ChainClient, **changes: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "kind": "ModelContribution",
        "policy": "ManualAccept",
        "submission": "Plain",
        "bundle": content(f"client-{secrets.token_hex(4)}"),
        "metadata": "0x" + b'{"name":"listing"}'.hex(),
        "reward": REWARD,
        "slots": 2,
        "deadline": chain.block_number() + 500,
        "review_period": 5,
        "work_period": 10,
        "validator": None,
    }
    params.update(changes)
    return params


def created_id(receipt: Any) -> int:
    (event,) = receipt.find("Decentralml", "TaskCreated")
    return int(event.attributes["task_id"])


def test_every_transaction_is_mortal(chain: ChainClient, funder: Account) -> None:
    """The extrinsic in the block carries a mortal era of `era_period` blocks born at a block
    just before it."""
    sender = fresh_account(chain, funder)
    receipt = chain.submit(sender.keypair, "System", "remark", {"remark": "0x6d6f7274616c"})
    block = chain.substrate.get_block(block_hash=receipt.block_hash)
    (extrinsic,) = [
        x for x in block["extrinsics"] if f"0x{x.extrinsic_hash.hex()}" == receipt.extrinsic_hash
    ]
    era = extrinsic.value["era"]
    assert era != "00", "immortal"
    period, phase = era
    assert period == chain.era_period == 64
    assert receipt.block_number is not None
    # Born at most a quarter period (and a block) before it was included: the phase is the
    # birth block mod 64.
    births = [n for n in range(receipt.block_number - 17, receipt.block_number) if n % 64 == phase]
    assert births, f"era {era} not born just before #{receipt.block_number}"
    assert extrinsic.value["nonce"] == receipt.nonce == 0


def test_an_era_birth_the_chain_moved_past_is_renewed(
    chain: ChainClient, funder: Account, devnet: Devnet
) -> None:
    """Back-to-back transactions share one era birth; once the devnet was advanced a whole
    period by someone else, the pool refuses the old birth and the client signs the
    transaction again with a new one: included once, nonce in order."""
    sender = fresh_account(chain, funder)
    first = chain.submit(sender.keypair, "System", "remark", {"remark": "0x01"})
    devnet.advance(100)
    second = chain.submit(sender.keypair, "System", "remark", {"remark": "0x02"})
    assert second.block_number is not None and first.block_number is not None
    assert second.block_number > first.block_number + 100
    block = chain.substrate.get_block(block_hash=second.block_hash)
    (extrinsic,) = [
        x for x in block["extrinsics"] if f"0x{x.extrinsic_hash.hex()}" == second.extrinsic_hash
    ]
    _period, phase = extrinsic.value["era"]
    assert (second.block_number - 1) % 64 == phase, "not born at the block before inclusion"
    assert (first.nonce, second.nonce) == (0, 1)
    assert chain.account_nonce(sender.address) == 2


def test_fifty_tasks_back_to_back_from_one_account(chain: ChainClient, funder: Account) -> None:
    """Fifty create_task calls sent without waiting for each inclusion, then awaited: every
    one is included, each TaskCreated once, NextTaskId advanced by fifty."""
    creator = fresh_account(chain, funder, amount=10_000 * 10**12)
    first_id = chain.next_task_id()
    nonce = chain.account_nonce(creator.address)
    started = time.monotonic()

    pending = [
        chain.submit_nowait(creator.keypair, "Decentralml", "create_task", task_params(chain))
        for _ in range(50)
    ]
    sent = time.monotonic() - started
    receipts = [p.wait() for p in pending]
    print(f"50 sent in {sent:.1f} s, all included after {time.monotonic() - started:.1f} s")

    assert [p.nonce for p in pending] == list(range(nonce, nonce + 50))
    assert len({p.extrinsic_hash for p in pending}) == 50
    ids = [created_id(r) for r in receipts]
    assert sorted(ids) == list(range(first_id, first_id + 50))
    assert chain.next_task_id() == first_id + 50
    assert chain.account_nonce(creator.address) == nonce + 50
    assert all(t.creator == creator.address for t in chain.list_tasks(creator=creator.address))
    assert len(list(chain.list_tasks(creator=creator.address))) == 50


def test_a_nonce_used_by_another_client_is_resynced(
    chain: ChainClient, funder: Account, devnet: Devnet
) -> None:
    """Another client takes the nonce this one counted on: the pool refuses it as stale, and
    the client asks the chain for the nonce and signs once more."""
    sender = fresh_account(chain, funder)
    chain.submit(sender.keypair, "System", "remark", {"remark": "0x01"})
    with ChainClient(devnet.url) as other:
        other.submit(sender.keypair, "System", "remark", {"remark": "0x02"})
    # This client still counts nonce 1 as next; the chain's pool refuses it as stale, and the
    # client signs it once more with the chain's nonce.
    receipt = chain.submit(sender.keypair, "System", "remark", {"remark": "0x03"})
    assert receipt.nonce == 2
    assert chain.account_nonce(sender.address) == 3


def query_form(task: TaskInfo) -> dict[str, Any]:
    """`task` as substrate-interface decodes the same storage value."""

    def ref(r: ContentRef | None) -> dict[str, Any] | None:
        return None if r is None else {"cid": r.cid, "sha256": "0x" + r.sha256, "size": r.size}

    try:
        metadata: str = task.metadata.decode()
    except UnicodeDecodeError:
        metadata = "0x" + task.metadata.hex()
    s = task.submission
    return {
        "creator": task.creator,
        "kind": task.kind.value,
        "policy": task.policy.value,
        "submission": {"Sealed": {"reveal_period": s.reveal_period}} if s.sealed else "Plain",
        "bundle": ref(task.bundle),
        "metadata": metadata,
        "reward": task.reward,
        "slots": task.slots,
        "deadline": task.deadline,
        "review_period": task.review_period,
        "work_period": task.work_period,
        "validator": task.validator,
        "deposit": task.deposit,
        "escrow": task.escrow,
        "assigned": task.assigned,
        "committed": task.committed,
        "pending": task.pending,
        "paid": task.paid,
        "records": task.records,
        "status": task.status.value,
        "ended_at": task.ended_at,
        "model": ref(task.model),
    }


@pytest.fixture(scope="module")
def varied_tasks(chain: ChainClient, funder: Account, devnet: Devnet) -> dict[str, Any]:
    """Tasks of every kind and state: sealed, with a validator, binary metadata, cancelled,
    one with a published model, and one removed after the retention period."""
    creator = fresh_account(chain, funder, amount=10_000 * 10**12)
    validator = fresh_account(chain, funder)
    worker = fresh_account(chain, funder)
    k = creator.keypair

    def create(**changes: Any) -> int:
        return created_id(
            chain.submit(k, "Decentralml", "create_task", task_params(chain, **changes))
        )

    removed = create()
    chain.submit(k, "Decentralml", "cancel_task", {"task_id": removed})
    sealed = create(policy="AutoAccept", submission={"Sealed": {"reveal_period": 9}}, slots=3)
    annotation = create(kind="DataAnnotation", validator=validator.address)
    binary = create(metadata="0xff00fe")
    cancelled = create(kind="ModelEngineering", policy="CustomAccept")
    chain.submit(k, "Decentralml", "cancel_task", {"task_id": cancelled})
    modelled = create()
    chain.submit(k, "Decentralml", "publish_model", {"task_id": modelled, "model": content("m")})
    chain.submit(worker.keypair, "Decentralml", "assign_task", {"task_id": modelled})
    chain.submit(
        worker.keypair,
        "Decentralml",
        "submit_result",
        {"task_id": modelled, "result": content(f"r-{modelled}")},
    )

    late = fresh_account(chain, funder)
    chain.submit(late.keypair, "Decentralml", "assign_task", {"task_id": modelled})

    if ENGINE == "chopsticks":
        retention = int(chain.constant("Decentralml", "RetentionPeriod"))
        devnet.advance(retention, jump=True)
        chain.submit(k, "Decentralml", "remove_task", {"task_id": removed})
    # On a real node the retention period (201,600 blocks) cannot pass: `removed` is only
    # cancelled there, and the listings are checked without a removed task.
    return {
        "creator": creator,
        "worker": worker,
        "late": late,
        "removed": removed,
        "was_removed": ENGINE == "chopsticks",
        "sealed": sealed,
        "annotation": annotation,
        "binary": binary,
        "cancelled": cancelled,
        "modelled": modelled,
    }


def test_listing_matches_a_query_per_key_and_skips_removed_tasks(
    chain: ChainClient, varied_tasks: dict[str, Any]
) -> None:
    at = chain.substrate.get_chain_head()
    listed = {t.task_id: t for t in chain.list_tasks(batch_size=7, block_hash=at)}
    next_id = chain.next_task_id(block_hash=at)
    assert next_id > 0

    if varied_tasks["was_removed"]:
        assert varied_tasks["removed"] not in listed
    for task_id in range(next_id):
        stored = chain.substrate.query("Decentralml", "Tasks", [task_id], block_hash=at).value
        if stored is None:
            assert task_id not in listed
            assert chain.task(task_id, block_hash=at) is None
            continue
        assert query_form(listed[task_id]) == stored, task_id
        assert chain.task(task_id, block_hash=at) == listed[task_id]

    assert listed[varied_tasks["binary"]].metadata == b"\xff\x00\xfe"
    sealed = listed[varied_tasks["sealed"]]
    assert sealed.submission.sealed and sealed.submission.reveal_period == 9
    assert listed[varied_tasks["annotation"]].validator is not None
    assert listed[varied_tasks["modelled"]].model is not None
    assert listed[varied_tasks["cancelled"]].status is TaskStatus.CANCELLED


def test_listing_filters_and_limits(chain: ChainClient, varied_tasks: dict[str, Any]) -> None:
    creator = varied_tasks["creator"].address
    mine = [t.task_id for t in chain.list_tasks(creator=creator)]
    kept = ("sealed", "annotation", "binary", "cancelled", "modelled")
    if not varied_tasks["was_removed"]:
        kept += ("removed",)
    expected = sorted(varied_tasks[k] for k in kept)
    assert mine == expected
    assert [t.task_id for t in chain.list_tasks(creator=creator, open_only=True)] == [
        varied_tasks[k] for k in ("sealed", "annotation", "binary", "modelled")
    ]
    assert [t.task_id for t in chain.list_tasks(creator=creator, kind="DataAnnotation")] == [
        varied_tasks["annotation"]
    ]
    assert [
        t.task_id for t in chain.list_tasks(creator=creator, kind=TaskKind.MODEL_ENGINEERING)
    ] == [varied_tasks["cancelled"]]
    newest = [t.task_id for t in chain.list_tasks(newest_first=True, limit=3)]
    assert newest == sorted(newest, reverse=True) and len(newest) == 3
    assert newest[0] == chain.next_task_id() - 1


def test_assignments_of_a_task(chain: ChainClient, varied_tasks: dict[str, Any]) -> None:
    task_id = varied_tasks["modelled"]
    worker = varied_tasks["worker"]
    late = varied_tasks["late"]
    records = {a.worker: a for a in chain.assignments(task_id)}
    assert set(records) == {worker.address, late.address}
    submitted = records[worker.address]
    assert submitted.state == "Submitted" and submitted.result is not None
    assert submitted.result.cid == bytes.fromhex(str(content(f"r-{task_id}")["cid"])[2:]).decode()
    assigned = records[late.address]
    assert assigned.state == "Assigned" and assigned.bond is not None and assigned.bond > 0
    for address, record in records.items():
        stored = chain.query("Decentralml", "Assignments", [task_id, address])
        assert record.state in (stored if isinstance(stored, dict) else {stored: None})
    assert chain.assignments(varied_tasks["removed"]) == []


def test_decided_results_keep_their_reference(chain: ChainClient, funder: Account) -> None:
    """A paid and a rejected result still name the bundle they were decided on."""
    creator = fresh_account(chain, funder)
    paid, rejected = fresh_account(chain, funder), fresh_account(chain, funder)
    task_id = created_id(
        chain.submit(creator.keypair, "Decentralml", "create_task", task_params(chain, slots=2))
    )
    for worker, tag in ((paid, "paid"), (rejected, "rejected")):
        chain.submit(worker.keypair, "Decentralml", "assign_task", {"task_id": task_id})
        chain.submit(
            worker.keypair,
            "Decentralml",
            "submit_result",
            {"task_id": task_id, "result": content(f"{tag}-{task_id}")},
        )
    chain.submit(
        creator.keypair,
        "Decentralml",
        "accept_result",
        {"task_id": task_id, "worker": paid.address},
    )
    chain.submit(
        creator.keypair,
        "Decentralml",
        "reject_result",
        {"task_id": task_id, "worker": rejected.address, "reason": "0x6e6f"},
    )
    records = {a.worker: a for a in chain.assignments(task_id)}
    for worker, state, tag in ((paid, "Paid", "paid"), (rejected, "Rejected", "rejected")):
        record = records[worker.address]
        assert record.state == state
        assert record.result is not None
        expected = bytes.fromhex(str(content(f"{tag}-{task_id}")["cid"])[2:]).decode()
        assert record.result.cid == expected
