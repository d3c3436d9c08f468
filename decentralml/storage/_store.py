"""`IpfsStore`: push a directory as a bundle, pull a bundle into a directory, safely."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

from decentralml.errors import ContentTooLarge, DigestMismatch, StorageError
from decentralml.storage._bundle import Bundle
from decentralml.storage._extract import ByteSource, extract_stream
from decentralml.storage._ipfs import ContentStat, KuboClient
from decentralml.storage._staging import Staging, check_destination
from decentralml.storage._types import (
    ContentRef,
    Limits,
    ProgressCallback,
    PullResult,
    UnpackResult,
    check_cid,
    normalise_sha256,
)


class IpfsStore:
    """Bundles on an IPFS daemon reached through its RPC API.

    A context manager (close it with `close` or a `with` block), so it can later own pooled
    connections without changing its callers.

    Parameters
    ----------
    api_url:
        The daemon's RPC API, e.g. ``http://127.0.0.1:5001`` or ``/ip4/127.0.0.1/tcp/5001``.
    timeout:
        Seconds to wait for the daemon to answer, for a CID to be found, and for the next
        bytes of a transfer (not a bound on a whole transfer that keeps moving).
    limits:
        Bounds on archive size, unpacked size and entry count (defaults: `Limits()`).
    """

    def __init__(
        self, api_url: str, *, timeout: float = 60.0, limits: Limits | None = None
    ) -> None:
        self.limits = limits or Limits()
        self.timeout = timeout
        self._client = KuboClient(api_url, timeout=timeout)

    @property
    def api_url(self) -> str:
        """The normalised base URL of the daemon's API."""
        return self._client.api_url

    def __enter__(self) -> IpfsStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the client's resources."""
        self._client.close()

    def version(self) -> str:
        """The daemon's version; a cheap way to check it is reachable."""
        return self._client.version()

    def push(
        self, directory: str | os.PathLike[str], *, progress: ProgressCallback | None = None
    ) -> ContentRef:
        """Pack `directory` deterministically, upload and pin it.

        The archive is streamed: packed, hashed and sent in one pass, never held whole in
        memory nor written to disk.

        Parameters
        ----------
        directory:
            The bundle's directory.
        progress:
            Called with ``(bytes_sent, archive_size)``.

        Returns
        -------
        ContentRef
            The CID, sha256 and size to record on-chain.

        Raises
        ------
        IpfsUnavailable
            The daemon cannot be reached.
        StorageError
            The directory cannot be packed (links, special files, changes while reading).
        ContentTooLarge
            The archive would exceed the limits.
        """
        return self._add(directory, progress=progress, only_hash=False)

    def reference(
        self, directory: str | os.PathLike[str], *, progress: ProgressCallback | None = None
    ) -> ContentRef:
        """The `ContentRef` that `push` would give `directory`, without publishing it.

        The archive is streamed to the daemon with ``only-hash``: it computes the CID and
        stores, pins and announces nothing. A sealed result's reference is committed to this
        way before the deadline and published only at the reveal.

        Raises
        ------
        IpfsUnavailable, StorageError, ContentTooLarge
            As for `push`.
        """
        return self._add(directory, progress=progress, only_hash=True)

    def _add(
        self,
        directory: str | os.PathLike[str],
        *,
        progress: ProgressCallback | None,
        only_hash: bool,
    ) -> ContentRef:
        bundle = Bundle.from_directory(directory, limits=self.limits)
        digest = hashlib.sha256()

        def hashed() -> Iterator[bytes]:
            for chunk in bundle.iter_bytes(progress=progress):
                digest.update(chunk)
                yield chunk

        cid = self._client.add(hashed(), bundle.size, only_hash=only_hash)
        return ContentRef(cid=cid, sha256=digest.hexdigest(), size=bundle.size)

    def pull(
        self,
        cid: str,
        dest: str | os.PathLike[str],
        *,
        sha256: str,
        size: int | None = None,
        force: bool = False,
        progress: ProgressCallback | None = None,
    ) -> PullResult:
        """Fetch the bundle at `cid`, verify it, and unpack it into `dest`.

        Order of checks: the declared `size` against the limit (before any request), the
        destination, that the daemon answers, the size it reports (before fetching), then,
        while the bytes stream in, their count (never more than allowed) and every archive
        entry (before it is written to a staging directory beside `dest`), and at the end
        the sha256 of everything that arrived. Only a tree that passed all of these moves
        into `dest`; on any failure or interruption the staging directory is removed.

        Parameters
        ----------
        cid:
            The bundle's CID.
        dest:
            Directory to unpack into; created if missing; must be empty unless `force`.
        sha256:
            The expected sha256 of the archive (64 hex digits), as recorded on-chain.
        size:
            The expected archive size in bytes, if known.
        force:
            Unpack into a non-empty `dest`, replacing entries of the same names. If that
            fails part-way, every change is undone and `dest` is left as it was.
        progress:
            Called with ``(bytes_received, archive_size)``.

        Returns
        -------
        PullResult
            The verified reference and counts of what was unpacked.

        Raises
        ------
        ContentTooLarge
            The declared or reported size is over the limit, or more bytes arrived.
        ContentNotFound
            The daemon found no content for `cid` within the timeout, or its blocks stopped
            arriving for that long while the daemon still answered.
        DigestMismatch
            The bytes do not have the expected sha256; nothing was written to `dest`.
        ArchiveRefused
            An archive entry is unsafe; nothing was written to `dest`.
        DestinationNotEmpty
            `dest` has files and `force` is false, checked at the start and again when the
            verified tree is moved in (a concurrent pull got there first).
        IpfsUnavailable
            The daemon cannot be reached, or accepts connections but does not answer within
            the timeout (stopped, hung).
        """
        cid = check_cid(cid)
        expected = normalise_sha256(sha256)
        dest = Path(os.path.abspath(dest))
        limit = self._size_limit(size)
        check_destination(dest, force=force)
        try:
            # Staging first: local problems (permissions, a full disk) show before any
            # network traffic, and an interrupted pull always has its files to remove.
            with Staging(dest) as staging:
                stat = self._stat(cid, limit, size)
                result, source = self._fetch_and_unpack(
                    cid, staging, expected, stat.size, limit, progress
                )
                staging.commit(force=force)
        except OSError as exc:
            raise StorageError(
                f"cannot write the bundle under {dest.parent}: {exc.strerror or exc}; "
                f"nothing was written to {dest}",
                hint="check free space and permissions of the destination",
            ) from exc
        return PullResult(
            ref=ContentRef(cid=cid, sha256=source.hexdigest(), size=source.received),
            dest=dest,
            files=result.files,
            directories=result.directories,
            links=result.links,
            unpacked_bytes=result.unpacked_bytes,
        )

    def _stat(self, cid: str, limit: int, size: int | None) -> ContentStat:
        # A daemon that accepts connections but never answers must be told apart from
        # content that cannot be found: ask it something cheap first.
        self._client.version()
        stat = self._client.stat(cid, timeout=self.timeout)
        if stat.type != "file":
            raise StorageError(
                f"{cid} is a {stat.type}, not a bundle archive", hint="check the CID"
            )
        if stat.size > limit:
            raise ContentTooLarge(
                f"{cid} is {stat.size} bytes, over the {limit}-byte "
                f"{'limit' if size is None else 'declared size'}",
                size=stat.size,
                limit=limit,
            )
        return stat

    def _fetch_and_unpack(
        self,
        cid: str,
        staging: Staging,
        expected: str,
        reported: int,
        limit: int,
        progress: ProgressCallback | None,
    ) -> tuple[UnpackResult, ByteSource]:
        dest = staging.dest

        def verify(source: ByteSource) -> None:
            if source.received != reported:
                raise StorageError(
                    f"download of {cid} stopped after {source.received} of {reported} bytes; "
                    f"nothing was written to {dest}",
                    hint="try again; check the IPFS daemon's log if it persists",
                )
            got = source.hexdigest()
            if got != expected:
                raise DigestMismatch(
                    f"sha256 mismatch for {cid}: expected {expected}, got {got}; "
                    f"nothing was written to {dest}",
                    expected=expected,
                    got=got,
                )

        report = None if progress is None else (lambda done: progress(done, reported))
        with self._client.cat(cid, length=limit + 1) as readinto:
            source = ByteSource(readinto, limit=limit, what=cid, progress=report)
            result = extract_stream(source, staging.tree, limits=self.limits, verify=verify)
        return result, source

    def _size_limit(self, size: int | None) -> int:
        if size is None:
            return self.limits.max_size
        if size < 0:
            raise StorageError(f"a size cannot be negative: {size}")
        if size > self.limits.max_size:
            raise ContentTooLarge(
                f"declared size {size} bytes is over the {self.limits.max_size}-byte limit",
                size=size,
                limit=self.limits.max_size,
            )
        return size
