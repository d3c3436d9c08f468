"""`IpfsStore`: push a directory as a bundle, pull a bundle into a directory, safely."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from decentralml.errors import ContentTooLarge, DigestMismatch, StorageError
from decentralml.storage._bundle import Bundle
from decentralml.storage._extract import check_destination, unpack_archive
from decentralml.storage._ipfs import KuboClient
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
        Seconds to wait for the daemon, and for a CID to be found, before giving up.
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
        bundle = Bundle.from_directory(directory, limits=self.limits)
        digest = hashlib.sha256()

        def hashed() -> Iterator[bytes]:
            for chunk in bundle.iter_bytes(progress=progress):
                digest.update(chunk)
                yield chunk

        cid = self._client.add(hashed(), bundle.size)
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
        destination, the size the daemon reports (before fetching), the bytes while they
        stream (never more than allowed), the sha256 of what arrived (before unpacking),
        then every archive entry (before writing anything).

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
            Unpack into a non-empty `dest`, replacing entries of the same names.
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
            The daemon found no content for `cid` within the timeout.
        DigestMismatch
            The bytes do not have the expected sha256; nothing was written to `dest`.
        ArchiveRefused
            An archive entry is unsafe; nothing was written to `dest`.
        DestinationNotEmpty
            `dest` has files and `force` is false.
        IpfsUnavailable
            The daemon cannot be reached.
        """
        cid = check_cid(cid)
        expected = normalise_sha256(sha256)
        dest = Path(os.path.abspath(dest))
        limit = self._size_limit(size)
        check_destination(dest, force=force)
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
        try:
            result, got, received = self._fetch_and_unpack(
                cid, dest, expected, stat.size, limit, force, progress
            )
        except OSError as exc:
            raise StorageError(
                f"cannot write the bundle under {dest.parent}: {exc.strerror or exc}",
                hint="check free space and permissions of the destination",
            ) from exc
        return PullResult(
            ref=ContentRef(cid=cid, sha256=got, size=received),
            dest=dest,
            files=result.files,
            directories=result.directories,
            links=result.links,
            unpacked_bytes=result.unpacked_bytes,
        )

    def _fetch_and_unpack(
        self,
        cid: str,
        dest: Path,
        expected: str,
        reported: int,
        limit: int,
        force: bool,
        progress: ProgressCallback | None,
    ) -> tuple[UnpackResult, str, int]:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.download-", dir=dest.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                got, received = self._download(cid, out, limit, reported, progress)
            if received != reported:
                raise StorageError(
                    f"download of {cid} stopped after {received} of {reported} bytes",
                    hint="try again; check the IPFS daemon's log if it persists",
                )
            if got != expected:
                raise DigestMismatch(
                    f"sha256 mismatch for {cid}: expected {expected}, got {got}; "
                    f"nothing was written to {dest}",
                    expected=expected,
                    got=got,
                )
            return unpack_archive(tmp_name, dest, limits=self.limits, force=force), got, received
        finally:
            os.unlink(tmp_name)

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

    def _download(
        self,
        cid: str,
        out: BinaryIO,
        limit: int,
        total: int,
        progress: ProgressCallback | None,
    ) -> tuple[str, int]:
        digest = hashlib.sha256()
        received = 0
        write = out.write
        with self._client.cat(cid, length=limit + 1) as chunks:
            for chunk in chunks:
                received += len(chunk)
                if received > limit:
                    raise ContentTooLarge(
                        f"{cid} sent more than the {limit} bytes allowed",
                        size=received,
                        limit=limit,
                    )
                digest.update(chunk)
                write(chunk)
                if progress is not None:
                    progress(received, total)
        return digest.hexdigest(), received
