"""Sealed submissions: the commitment a worker sends before the deadline, and its salt.

On a sealed task a worker first commits to its result with ``commit_result(task_id,
commitment)`` and, after the deadline, reveals it with ``reveal_result(task_id, result,
salt)``. The chain recomputes the commitment from what is revealed and the caller's account::

    blake2_256(SCALE(domain, task_id, worker, result, salt))

where ``domain`` is the 21 bytes ``decentralml/commit/v1`` (a fixed-size array: no length
prefix), ``task_id`` a ``u32`` (little-endian), ``worker`` the 32-byte account id, ``result``
a ``RawContentRef`` (the CID's bytes with a compact length prefix, the 32-byte sha256, the size
as a little-endian ``u64``) and ``salt`` 32 bytes. The worker's account is in the preimage,
so a commitment copied from another worker cannot be revealed by the copier.

Keep the salt until the reveal: without it the commitment cannot be opened, and the slot is
lost. Keep the result itself private until then too (the chain publishes it only at the
reveal): whoever learns it before the deadline can commit to it under their own account.
"""

from __future__ import annotations

import hashlib
import secrets

from scalecodec.types import CompactU32
from scalecodec.utils.ss58 import ss58_decode

__all__ = [
    "COMMITMENT_DOMAIN",
    "SALT_LEN",
    "commitment_preimage",
    "new_salt",
    "result_commitment",
]

#: Prefixed to every commitment preimage (the pallet's ``COMMITMENT_DOMAIN``).
COMMITMENT_DOMAIN = b"decentralml/commit/v1"
#: Bytes of a salt, and of a commitment.
SALT_LEN = 32

_U32_MAX = 2**32 - 1
_U64_MAX = 2**64 - 1


def new_salt() -> bytes:
    """A fresh random 32-byte salt from the operating system's CSPRNG."""
    return secrets.token_bytes(SALT_LEN)


def _bytes32(value: bytes | str, what: str) -> bytes:
    """32 bytes given as bytes or as hex text (with or without ``0x``)."""
    if isinstance(value, str):
        text = value[2:] if value.startswith(("0x", "0X")) else value
        try:
            value = bytes.fromhex(text)
        except ValueError:
            raise ValueError(f"{what} is not hex: {text[:70]!r}") from None
    if not isinstance(value, (bytes, bytearray)) or len(value) != 32:
        got = len(value) if isinstance(value, (bytes, bytearray)) else type(value).__name__
        raise ValueError(f"{what} must be 32 bytes, got {got}")
    return bytes(value)


def _account_id(worker: bytes | str) -> bytes:
    """The 32-byte account id of `worker`: raw bytes, ``0x`` hex, or an SS58 address."""
    if isinstance(worker, str) and not worker.startswith(("0x", "0X")):
        try:
            worker = bytes.fromhex(ss58_decode(worker))
        except ValueError as exc:
            raise ValueError(f"worker is not a valid SS58 address: {exc}") from None
    return _bytes32(worker, "worker account id")


def _compact_len(n: int) -> bytes:
    """SCALE compact encoding of a length (scalecodec's, as substrate-interface encodes)."""
    return bytes(CompactU32().encode(n).data)


def commitment_preimage(
    task_id: int,
    worker: bytes | str,
    cid: str | bytes,
    sha256: bytes | str,
    size: int,
    salt: bytes | str,
) -> bytes:
    """The SCALE-encoded bytes whose blake2-256 is the commitment.

    Parameters
    ----------
    task_id:
        The task's id (a ``u32``).
    worker:
        The committing worker's account: its 32-byte id, as bytes or ``0x`` hex, or its SS58
        address (any network prefix).
    cid:
        The result's CID: text (encoded as UTF-8) or the exact bytes sent on-chain.
    sha256:
        The result bundle's sha256 digest: 32 bytes, or hex text.
    size:
        The result bundle's size in bytes (a ``u64``).
    salt:
        32 bytes (see `new_salt`), or hex text.

    Raises
    ------
    ValueError
        When an input is out of range or malformed; the message names it.
    """
    if not 0 <= task_id <= _U32_MAX:
        raise ValueError(f"task_id must fit a u32, got {task_id}")
    if not 0 <= size <= _U64_MAX:
        raise ValueError(f"size must fit a u64, got {size}")
    cid_bytes = cid.encode() if isinstance(cid, str) else bytes(cid)
    if not cid_bytes:
        raise ValueError("cid is empty")
    return b"".join(
        (
            COMMITMENT_DOMAIN,
            task_id.to_bytes(4, "little"),
            _account_id(worker),
            _compact_len(len(cid_bytes)),
            cid_bytes,
            _bytes32(sha256, "sha256"),
            size.to_bytes(8, "little"),
            _bytes32(salt, "salt"),
        )
    )


def result_commitment(
    task_id: int,
    worker: bytes | str,
    cid: str | bytes,
    sha256: bytes | str,
    size: int,
    salt: bytes | str,
) -> bytes:
    """The 32-byte commitment to a result, as ``commit_result`` takes it and
    ``reveal_result`` checks it: blake2-256 of `commitment_preimage` (same arguments)."""
    preimage = commitment_preimage(task_id, worker, cid, sha256, size, salt)
    return hashlib.blake2b(preimage, digest_size=32).digest()
