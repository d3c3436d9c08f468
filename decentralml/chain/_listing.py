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


def _bytes_of(obj: Any) -> bytes:
    inner = obj.value_object
    if isinstance(inner, (bytes, bytearray)):
        return bytes(inner)
    text = str(obj.value)
    return bytes.fromhex(text[2:]) if text.startswith("0x") else text.encode()


def _hex32(value: Any) -> str:
    text = str(value)
    return text[2:] if text.startswith(("0x", "0X")) else text


def content_ref(obj: Any) -> ContentRef:
    """A stored ``ContentRef { cid, sha256, size }`` scale object as a `ContentRef`."""
    cid = _bytes_of(obj.value_object["cid"])
    try:
        cid_text = cid.decode("ascii")
    except UnicodeDecodeError:
        cid_text = "0x" + cid.hex()
    value = obj.value
    return ContentRef(cid=cid_text, sha256=_hex32(value["sha256"]), size=int(value["size"]))


def _option(obj: Any) -> Any | None:
    """The inner scale object of an ``Option`` that is ``Some``, else None."""
    return obj.value_object if obj.value is not None else None


def _submission(value: Any) -> Submission:
    if isinstance(value, dict):
        ((kind, fields),) = value.items()
        period = fields.get("reveal_period") if isinstance(fields, dict) else fields
        return Submission(kind=str(kind), reveal_period=int(period) if period is not None else None)
    return Submission(kind=str(value))


def task_from_scale(task_id: int, obj: Any) -> TaskInfo:
    """A decoded ``TaskInfo`` scale object as a `TaskInfo`."""
    fields = obj.value_object
    value = obj.value
    model = _option(fields["model"])
    return TaskInfo(
        task_id=task_id,
        creator=str(value["creator"]),
        kind=TaskKind(value["kind"]),
        policy=ValidationPolicy(value["policy"]),
        submission=_submission(value["submission"]),
        bundle=content_ref(fields["bundle"]),
        metadata=_bytes_of(fields["metadata"]),
        reward=int(value["reward"]),
        slots=int(value["slots"]),
        deadline=int(value["deadline"]),
        review_period=int(value["review_period"]),
        work_period=int(value["work_period"]),
        validator=str(value["validator"]) if value["validator"] is not None else None,
        deposit=int(value["deposit"]),
        escrow=int(value["escrow"]),
        assigned=int(value["assigned"]),
        committed=int(value["committed"]),
        pending=int(value["pending"]),
        paid=int(value["paid"]),
        records=int(value["records"]),
        status=TaskStatus(value["status"]),
        ended_at=int(value["ended_at"]) if value["ended_at"] is not None else None,
        model=content_ref(model) if model is not None else None,
    )


def assignment_from_scale(task_id: int, worker: str, obj: Any) -> Assignment:
    """A decoded ``Assignment`` scale object as an `Assignment`."""
    value = obj.value
    if not isinstance(value, dict):
        return Assignment(task_id=task_id, worker=worker, state=str(value))
    ((state, fields),) = value.items()
    inner = obj.value_object[1]
    result = None
    if fields.get("result") is not None:
        stored = inner.value_object["result"]
        # `Submitted` carries the reference itself; `Paid` and `Rejected` an `Option` of it
        # (None on records migrated from storage version 0).
        if state in ("Paid", "Rejected"):
            stored = _option(stored)
        result = content_ref(stored) if stored is not None else None
    commitment = fields.get("commitment")
    return Assignment(
        task_id=task_id,
        worker=worker,
        state=str(state),
        at=int(fields["at"]) if fields.get("at") is not None else None,
        bond=int(fields["bond"]) if fields.get("bond") is not None else None,
        commitment=bytes.fromhex(_hex32(commitment)) if commitment is not None else None,
        result=result,
    )
