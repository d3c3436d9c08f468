"""Value types shared by the storage modules: content references, limits, results."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from decentralml.errors import StorageError

ProgressCallback = Callable[[int, "int | None"], None]
"""Called as ``callback(done_bytes, total_bytes_or_None)`` while bytes move."""

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB

_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_CID_RE = re.compile(
    r"^(Qm[1-9A-HJ-NP-Za-km-z]{44}"  # CIDv0, base58btc
    r"|b[a-z2-7]{50,}"  # CIDv1, base32 (what Kubo prints)
    r"|z[1-9A-HJ-NP-Za-km-z]{40,}"  # CIDv1, base58btc
    r"|f[0-9a-f]{60,})$"  # CIDv1, base16
)


def check_cid(value: str) -> str:
    """Return `value` stripped if it looks like a CID, or raise `StorageError`.

    Only the shape is checked (CIDv0, or CIDv1 in base32, base58btc or base16); the daemon
    decodes it. Paths (``/ipfs/...``, ``cid/sub``) are refused: a bundle is one file.
    """
    cid = value.strip()
    if not _CID_RE.match(cid):
        raise StorageError(
            f"not a CID: {value!r}",
            hint="give the bundle's CID as recorded on-chain, e.g. bafy... or Qm...",
        )
    return cid


def normalise_sha256(value: str) -> str:
    """Return `value` as 64 lower-case hex digits, or raise `StorageError`."""
    digest = value.strip().lower()
    if not _SHA256_RE.match(digest):
        raise StorageError(
            f"not a sha256 digest: {value!r}",
            hint="give the 64 hexadecimal digits recorded with the bundle",
        )
    return digest


@dataclass(frozen=True)
class ContentRef:
    """What the chain records for a bundle: its CID, the sha256 of its bytes and their size.

    Attributes
    ----------
    cid:
        The IPFS content identifier of the archive (CIDv1, base32).
    sha256:
        The sha256 digest of the archive bytes, 64 lower-case hex digits.
    size:
        The archive size in bytes.
    """

    cid: str
    sha256: str
    size: int

    def as_dict(self) -> dict[str, object]:
        """The reference as a JSON-ready mapping."""
        return {"cid": self.cid, "sha256": self.sha256, "size": self.size}


@dataclass(frozen=True)
class Limits:
    """Bounds applied when packing, fetching and unpacking a bundle.

    Attributes
    ----------
    max_size:
        Largest archive accepted, in bytes (what is uploaded or downloaded).
    max_unpacked_size:
        Largest total size of the files an archive may unpack to, in bytes.
    max_entries:
        Largest number of entries (files, directories, links) in an archive.
    """

    max_size: int = 2 * GIB
    max_unpacked_size: int = 2 * GIB
    max_entries: int = 100_000

    def __post_init__(self) -> None:
        for name in ("max_size", "max_unpacked_size", "max_entries"):
            if getattr(self, name) <= 0:
                raise ValueError(f"Limits.{name} must be positive")


@dataclass(frozen=True)
class PackResult:
    """A directory written out as a bundle archive."""

    sha256: str
    size: int
    files: int
    directories: int


@dataclass(frozen=True)
class UnpackResult:
    """What an archive unpacked to."""

    dest: Path
    files: int
    directories: int
    links: int
    unpacked_bytes: int


@dataclass(frozen=True)
class PullResult:
    """A bundle fetched, verified and unpacked."""

    ref: ContentRef
    dest: Path
    files: int
    directories: int
    links: int
    unpacked_bytes: int
