"""Asset bundles on IPFS: deterministic archives, verified downloads, safe unpacking.

A bundle is a directory packed into a deterministic tar archive (`pack_directory`), added
and pinned on a Kubo daemon (`IpfsStore.push`), and described on-chain by a `ContentRef`
(CID, sha256, size). `IpfsStore.pull` fetches it by CID and unpacks it while the bytes
stream in, with `unpack_archive`'s safety rules, into a staging directory beside the
destination; only once the size and sha256 match does the tree move into the destination.

Example::

    from decentralml.storage import IpfsStore

    with IpfsStore("http://127.0.0.1:5001") as store:
        ref = store.push("assets/model_contributor")
        store.pull(ref.cid, "work/task-7", sha256=ref.sha256, size=ref.size)
"""

from __future__ import annotations

import os

from decentralml.storage._bundle import Bundle, pack_directory
from decentralml.storage._extract import unpack_archive
from decentralml.storage._ipfs import KuboClient, normalise_api_url
from decentralml.storage._store import IpfsStore
from decentralml.storage._types import (
    GIB,
    MIB,
    ContentRef,
    Limits,
    PackResult,
    ProgressCallback,
    PullResult,
    UnpackResult,
)

__all__ = [
    "GIB",
    "MIB",
    "Bundle",
    "ContentRef",
    "IpfsStore",
    "KuboClient",
    "Limits",
    "PackResult",
    "ProgressCallback",
    "PullResult",
    "UnpackResult",
    "normalise_api_url",
    "pack_directory",
    "pull_bundle",
    "push_bundle",
    "unpack_archive",
]


def push_bundle(
    directory: str | os.PathLike[str],
    *,
    api_url: str,
    limits: Limits | None = None,
    timeout: float = 60.0,
    progress: ProgressCallback | None = None,
) -> ContentRef:
    """Pack `directory`, add and pin it on the daemon at `api_url`; see `IpfsStore.push`."""
    with IpfsStore(api_url, timeout=timeout, limits=limits) as store:
        return store.push(directory, progress=progress)


def pull_bundle(
    cid: str,
    dest: str | os.PathLike[str],
    *,
    sha256: str,
    api_url: str,
    size: int | None = None,
    force: bool = False,
    limits: Limits | None = None,
    timeout: float = 60.0,
    progress: ProgressCallback | None = None,
) -> PullResult:
    """Fetch, verify and unpack the bundle at `cid` into `dest`; see `IpfsStore.pull`."""
    with IpfsStore(api_url, timeout=timeout, limits=limits) as store:
        return store.pull(cid, dest, sha256=sha256, size=size, force=force, progress=progress)
