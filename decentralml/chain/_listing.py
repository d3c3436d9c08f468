"""Reading many tasks at once: storage keys computed from task ids, read in batches at one
block, decoded with the runtime's own types.

Task ids are sequential (`NextTaskId` is the next one), so the keys of ``Tasks`` for ids
``0 .. NextTaskId - 1`` can be computed without asking the chain for them; iterating keys
(``state_getKeysPaged``) costs a round trip per page and, on Chopsticks, about 1.8 ms per key.
Values are read with ``state_queryStorageAt``, `batch_size` keys per request, all at the same
block, and decoded one batch at a time, so memory stays flat however many tasks there are.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Protocol

import xxhash
from scalecodec.utils.ss58 import ss58_encode

from decentralml.chain._records import (
    Assignment,
    Submission,
    TaskInfo,
    TaskKind,
    TaskStatus,
    ValidationPolicy,
)
from decentralml.storage import ContentRef

#: Keys per ``state_queryStorageAt`` request. A task record is at most about 4.4 KB (4 KiB
#: of metadata), so a batch answer stays under 2.2 MB, well within a node's default 15 MiB
#: response limit.
DEFAULT_BATCH_SIZE = 500


# -- keys -------------------------------------------------------------------------------------


def twox128(data: bytes) -> bytes:
    return xxhash.xxh64(data, seed=0).digest()[::-1] + xxhash.xxh64(data, seed=1).digest()[::-1]


def _twox64_concat(data: bytes) -> bytes:
    return xxhash.xxh64(data, seed=0).digest()[::-1] + data


def _blake2_128_concat(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest() + data


_HASHERS: dict[str, Callable[[bytes], bytes]] = {
    "Twox64Concat": _twox64_concat,
    "Blake2_128Concat": _blake2_128_concat,
    "Identity": lambda data: data,
}


def storage_prefix(pallet: str, item: str) -> bytes:
    """The 32 bytes every key of a storage item starts with."""
    return twox128(pallet.encode()) + twox128(item.encode())


def hash_key(hasher: str, encoded: bytes) -> bytes:
    """`encoded` (a SCALE-encoded key) under a storage hasher that keeps the key readable."""
    try:
        return _HASHERS[hasher](encoded)
    except KeyError:
        raise ValueError(f"cannot list keys hashed with {hasher}") from None


def u32_key(prefix: bytes, hasher: str, value: int) -> str:
    """The hex storage key for a ``u32`` map key, e.g. ``Tasks[task_id]``."""
    return "0x" + (prefix + hash_key(hasher, value.to_bytes(4, "little"))).hex()


def account_key(pallet: str, item: str, hasher: str, account_id: str) -> str:
    """The hex storage key of a map keyed by an account (`account_id`: 64 hex digits)."""
    return "0x" + (storage_prefix(pallet, item) + hash_key(hasher, bytes.fromhex(account_id))).hex()


def task_keys(prefix: bytes, hasher: str, ids: Iterable[int]) -> list[str]:
    return [u32_key(prefix, hasher, task_id) for task_id in ids]


def batches(ids: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    """`ids` in consecutive slices of at most `size`."""
    if size < 1:
        raise ValueError(f"batch size must be at least 1, got {size}")
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


# -- reading ----------------------------------------------------------------------------------


class StorageReader(Protocol):
    """What the listing needs from the chain."""

    def read_many(self, keys: list[str], block_hash: str) -> dict[str, str | None]:
        """The raw value (hex) of each key at `block_hash`, None where absent."""


def iter_tasks(
    reader: StorageReader,
    decode: Callable[[int, str], TaskInfo],
    *,
    prefix: bytes,
    hasher: str,
    next_id: int,
    block_hash: str,
    batch_size: int = DEFAULT_BATCH_SIZE,
    newest_first: bool = False,
    keep: Callable[[TaskInfo], bool] | None = None,
    limit: int | None = None,
) -> Iterator[TaskInfo]:
    """Tasks with ids below `next_id`, read `batch_size` at a time at `block_hash`.

    Removed tasks (no value) are skipped; `keep` filters; at most `limit` are yielded, and no
    batch is read beyond the one that reached it.
    """
    if limit is not None and limit <= 0:
        return
    ids: Sequence[int] = range(next_id - 1, -1, -1) if newest_first else range(next_id)
    yielded = 0
    for chunk in batches(ids, batch_size):
        keys = task_keys(prefix, hasher, chunk)
        values = reader.read_many(keys, block_hash)
        for task_id, key in zip(chunk, keys, strict=True):
            raw = values.get(key)
            if raw is None:
                continue  # removed after its retention period
            task = decode(task_id, raw)
            if keep is not None and not keep(task):
                continue
            yield task
            yielded += 1
            if limit is not None and yielded >= limit:
                return


def task_filter(
    *,
    open_only: bool = False,
    kind: TaskKind | str | None = None,
    creator: str | None = None,
    ss58_format: int = 42,
) -> Callable[[TaskInfo], bool] | None:
    """A predicate for `iter_tasks` from the listing's filters (None when nothing filters)."""
    wanted_kind = TaskKind(kind) if kind is not None else None
    wanted_creator = _same_account(creator, ss58_format) if creator is not None else None
    if not open_only and wanted_kind is None and wanted_creator is None:
        return None

    def keep(task: TaskInfo) -> bool:
        if open_only and task.status is not TaskStatus.OPEN:
            return False
        if wanted_kind is not None and task.kind is not wanted_kind:
            return False
        return wanted_creator is None or task.creator == wanted_creator

    return keep


def _same_account(address: str, ss58_format: int) -> str:
    """`address` re-encoded with the chain's prefix, so any prefix compares equal."""
    from scalecodec.utils.ss58 import ss58_decode

    try:
        return str(ss58_encode(ss58_decode(address), ss58_format=ss58_format))
    except ValueError as exc:
        raise ValueError(f"creator is not a valid SS58 address: {exc}") from None


# -- decoding ---------------------------------------------------------------------------------
# From the values `_codec.Registry` decodes: dicts of fields, variant names, bytes, ints.


def content_ref(value: dict[str, Any]) -> ContentRef:
    """A stored ``ContentRef { cid, sha256, size }`` as a `ContentRef`."""
    cid: bytes = value["cid"]
    try:
        cid_text = cid.decode("ascii")
    except UnicodeDecodeError:
        cid_text = "0x" + cid.hex()
    return ContentRef(cid=cid_text, sha256=value["sha256"].hex(), size=int(value["size"]))


def _variant(value: Any) -> tuple[str, Any]:
    """A decoded enum value as (variant name, its fields or None)."""
    if isinstance(value, dict):
        ((name, fields),) = value.items()
        return str(name), fields
    return str(value), None


def _submission(value: Any) -> Submission:
    kind, fields = _variant(value)
    if isinstance(fields, dict):
        fields = fields.get("reveal_period")
    return Submission(kind=kind, reveal_period=int(fields) if fields is not None else None)


def task_from_value(task_id: int, value: dict[str, Any], ss58_format: int) -> TaskInfo:
    """A decoded ``TaskInfo`` as a `TaskInfo`."""
    validator = value["validator"]
    model = value["model"]
    return TaskInfo(
        task_id=task_id,
        creator=ss58_encode(value["creator"], ss58_format=ss58_format),
        kind=TaskKind(_variant(value["kind"])[0]),
        policy=ValidationPolicy(_variant(value["policy"])[0]),
        submission=_submission(value["submission"]),
        bundle=content_ref(value["bundle"]),
        metadata=value["metadata"],
        reward=value["reward"],
        slots=value["slots"],
        deadline=value["deadline"],
        review_period=value["review_period"],
        work_period=value["work_period"],
        validator=ss58_encode(validator, ss58_format=ss58_format) if validator else None,
        deposit=value["deposit"],
        escrow=value["escrow"],
        assigned=value["assigned"],
        committed=value["committed"],
        pending=value["pending"],
        paid=value["paid"],
        records=value["records"],
        status=TaskStatus(_variant(value["status"])[0]),
        ended_at=value["ended_at"],
        model=content_ref(model) if model is not None else None,
    )


def assignment_from_value(task_id: int, worker: str, value: Any) -> Assignment:
    """A decoded ``Assignment`` as an `Assignment`. `Submitted` carries its result; `Paid`
    and `Rejected` an ``Option`` of it (None on records migrated from storage version 0)."""
    state, fields = _variant(value)
    if not isinstance(fields, dict):
        return Assignment(task_id=task_id, worker=worker, state=state)
    result = fields.get("result")
    return Assignment(
        task_id=task_id,
        worker=worker,
        state=state,
        at=fields.get("at"),
        bond=fields.get("bond"),
        commitment=fields.get("commitment"),
        result=content_ref(result) if result is not None else None,
    )
