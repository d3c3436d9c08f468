"""Listing tasks without a chain: storage keys computed from ids, batched reads at one block,
filters and laziness, against a fake storage reader."""

from __future__ import annotations

from dataclasses import replace

import pytest

from decentralml.chain import Submission, TaskInfo, TaskKind, TaskStatus, ValidationPolicy
from decentralml.chain._listing import (
    batches,
    hash_key,
    iter_tasks,
    storage_prefix,
    task_filter,
    task_keys,
    u32_key,
)
from decentralml.storage import ContentRef

ALICE = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
BOB = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"
# //Alice's account under the Polkadot prefix (0) instead of the generic one (42).
ALICE_ON_POLKADOT = "15oF4uVJwmo4TdGW7VfQxNLavjCXviqxT9S1MgbjMNHr6Sp5"
TASKS = storage_prefix("Decentralml", "Tasks")
AT = "0x" + "ab" * 32


def test_well_known_prefix() -> None:
    assert storage_prefix("System", "Account").hex() == (
        "26aa394eea5630e07c48ae0c9558cef7b99d880ec681799c0cf30e8886371da9"
    )


def test_task_key_is_the_chains() -> None:
    """`Tasks[3]` as the dev chain (and substrate-interface) computes it."""
    assert u32_key(TASKS, "Twox64Concat", 3) == (
        "0xce1282a87d1581e7613685d9bca86f4fe0f567151546a6ad2ee5998a6cf23005bfb27f1eaef06bb903000000"
    )


def test_task_keys_agree_with_substrate_interface() -> None:
    from substrateinterface.utils.hasher import two_x64_concat, xxh128

    prefix = bytes(xxh128(b"Decentralml")) + bytes(xxh128(b"Tasks"))
    assert prefix == TASKS
    for task_id in (0, 1, 255, 256, 70_000, 2**32 - 1):
        expected = "0x" + (prefix + bytes(two_x64_concat(task_id.to_bytes(4, "little")))).hex()
        assert u32_key(TASKS, "Twox64Concat", task_id) == expected


def test_blake2_and_identity_hashers() -> None:
    assert hash_key("Identity", b"\x01\x02") == b"\x01\x02"
    hashed = hash_key("Blake2_128Concat", b"\x07\x00\x00\x00")
    assert len(hashed) == 20 and hashed.endswith(b"\x07\x00\x00\x00")
    with pytest.raises(ValueError, match="Blake2_256"):
        hash_key("Blake2_256", b"x")


def test_batches_cover_every_id_once() -> None:
    chunks = list(batches(range(1234), 500))
    assert [len(c) for c in chunks] == [500, 500, 234]
    assert [i for c in chunks for i in c] == list(range(1234))
    with pytest.raises(ValueError):
        list(batches(range(3), 0))


def make_task(task_id: int, **changes: object) -> TaskInfo:
    task = TaskInfo(
        task_id=task_id,
        creator=ALICE,
        kind=TaskKind.MODEL_CONTRIBUTION,
        policy=ValidationPolicy.MANUAL_ACCEPT,
        submission=Submission("Plain"),
        bundle=ContentRef(cid="bafy", sha256="00" * 32, size=1),
        metadata=b"{}",
        reward=10,
        slots=1,
        deadline=100,
        review_period=5,
        work_period=5,
        validator=None,
        deposit=1,
        escrow=10,
        assigned=0,
        committed=0,
        pending=0,
        paid=0,
        records=0,
        status=TaskStatus.OPEN,
        ended_at=None,
        model=None,
    )
    return replace(task, **changes)  # type: ignore[arg-type]


class FakeStorage:
    """Tasks by id, stored under their real keys; records every batch read."""

    def __init__(self, tasks: dict[int, TaskInfo]) -> None:
        self.by_key = {u32_key(TASKS, "Twox64Concat", i): t for i, t in tasks.items()}
        self.reads: list[tuple[list[str], str]] = []

    def read_many(self, keys: list[str], block_hash: str) -> dict[str, str | None]:
        self.reads.append((keys, block_hash))
        # Raw values are opaque to the listing; the fake's "encoding" is the key itself.
        return {k: (k if k in self.by_key else None) for k in keys}

    def decode(self, task_id: int, raw: str) -> TaskInfo:
        task = self.by_key[raw]
        assert task.task_id == task_id, "decoded under another id"
        return task


def listing(store: FakeStorage, next_id: int, **options: object) -> list[TaskInfo]:
    return list(
        iter_tasks(
            store,
            store.decode,
            prefix=TASKS,
            hasher="Twox64Concat",
            next_id=next_id,
            block_hash=AT,
            **options,  # type: ignore[arg-type]
        )
    )


def test_every_id_below_next_is_read_in_batches_at_one_block() -> None:
    tasks = {i: make_task(i) for i in range(1234)}
    store = FakeStorage(tasks)

    listed = listing(store, 1234, batch_size=500)

    assert [t.task_id for t in listed] == list(range(1234))
    assert [len(keys) for keys, _ in store.reads] == [500, 500, 234]
    assert {at for _, at in store.reads} == {AT}
    assert [k for keys, _ in store.reads for k in keys] == task_keys(
        TASKS, "Twox64Concat", range(1234)
    )


def test_removed_tasks_are_skipped() -> None:
    tasks = {i: make_task(i) for i in range(10) if i not in (0, 3, 9)}
    listed = listing(FakeStorage(tasks), 10, batch_size=4)
    assert [t.task_id for t in listed] == [1, 2, 4, 5, 6, 7, 8]


def test_nothing_is_read_until_iterated_and_limit_stops_reading() -> None:
    store = FakeStorage({i: make_task(i) for i in range(100)})
    tasks = iter_tasks(
        store,
        store.decode,
        prefix=TASKS,
        hasher="Twox64Concat",
        next_id=100,
        block_hash=AT,
        batch_size=10,
        limit=15,
    )
    assert store.reads == []
    assert [t.task_id for t in tasks] == list(range(15))
    assert len(store.reads) == 2


def test_newest_first() -> None:
    store = FakeStorage({i: make_task(i) for i in range(7)})
    listed = listing(store, 7, batch_size=3, newest_first=True, limit=4)
    assert [t.task_id for t in listed] == [6, 5, 4, 3]


def test_filters_open_kind_creator() -> None:
    tasks = {
        0: make_task(0),
        1: make_task(1, status=TaskStatus.CLOSED),
        2: make_task(2, kind=TaskKind.DATA_ANNOTATION),
        3: make_task(3, creator=BOB),
        4: make_task(4, kind=TaskKind.DATA_ANNOTATION, status=TaskStatus.CANCELLED),
    }
    store = FakeStorage(tasks)

    def ids(**filters: object) -> list[int]:
        keep = task_filter(**filters)  # type: ignore[arg-type]
        return [t.task_id for t in listing(store, 5, keep=keep)]

    assert task_filter() is None
    assert ids(open_only=True) == [0, 2, 3]
    assert ids(kind="DataAnnotation") == [2, 4]
    assert ids(kind=TaskKind.DATA_ANNOTATION, open_only=True) == [2]
    assert ids(creator=BOB) == [3]
    # The same account under another network prefix is the same creator.
    assert ids(creator=ALICE_ON_POLKADOT, open_only=True) == [0, 2]
    with pytest.raises(ValueError):
        task_filter(kind="Painting")
    with pytest.raises(ValueError, match="SS58"):
        task_filter(creator="not-an-address")


def test_limit_counts_kept_tasks_only() -> None:
    tasks = {
        i: make_task(i, status=TaskStatus.CLOSED if i % 2 else TaskStatus.OPEN) for i in range(20)
    }
    keep = task_filter(open_only=True)
    listed = listing(FakeStorage(tasks), 20, keep=keep, limit=3, batch_size=4)
    assert [t.task_id for t in listed] == [0, 2, 4]
    assert listing(FakeStorage(tasks), 20, limit=0) == []
