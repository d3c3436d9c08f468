"""A small client for the Kubo HTTP RPC API (``/api/v0``), streaming both ways.

Only what bundles need: ``version``, ``add`` (one file, pinned, fixed import settings),
``files/stat`` and ``cat``. Every request is a POST, as Kubo requires. Transport failures
become `IpfsUnavailable`; a CID the daemon cannot find becomes `ContentNotFound`.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from decentralml.errors import ContentNotFound, IpfsUnavailable, StorageError

START_HINT = (
    "start one with `decentralml devnet up`, or pass --ipfs-api URL (or set DECENTRALML_IPFS_API)"
)

# Import settings are fixed so that the same bytes get the same CID on any Kubo daemon,
# whatever its Import.* configuration (these match the "unixfs-v1-2025" profile).
ADD_PARAMS = {
    "cid-version": "1",
    "raw-leaves": "true",
    "chunker": "size-1048576",
    "hash": "sha2-256",
    "pin": "true",
    "quieter": "true",
    "progress": "false",
}

_MULTIADDR_RE = re.compile(
    r"^/(?P<proto>ip4|ip6|dns|dns4|dns6)/(?P<host>[^/]+)/tcp/(?P<port>\d+)(?P<scheme>/https?)?/?$"
)
_NOT_FOUND = ("not found", "could not find", "deadline exceeded", "context canceled")
_BAD_CID = ("invalid", "not supported", "failed to decode", "illegal", "unknown multibase")


def normalise_api_url(value: str) -> str:
    """Turn ``http://host:port``, ``host:port`` or a multiaddr into the API's base URL.

    Parameters
    ----------
    value:
        ``http://127.0.0.1:5001``, ``127.0.0.1:5001`` or ``/ip4/127.0.0.1/tcp/5001``;
        a trailing ``/api/v0`` is accepted.

    Returns
    -------
    str
        The base URL, without a trailing slash.
    """
    text = value.strip()
    match = _MULTIADDR_RE.match(text)
    if match:
        host = match["host"]
        if match["proto"] == "ip6":
            host = f"[{host}]"
        scheme = (match["scheme"] or "/http")[1:]
        return f"{scheme}://{host}:{match['port']}"
    if text.startswith("/"):
        raise StorageError(f"unsupported IPFS API multiaddr {value!r}", hint="use http://HOST:PORT")
    if "://" not in text:
        text = "http://" + text
    text = text.rstrip("/")
    if text.endswith("/api/v0"):
        text = text[: -len("/api/v0")]
    return text


@dataclass(frozen=True)
class ContentStat:
    """What the daemon says about a CID without fetching its content."""

    cid: str
    type: str
    size: int


class KuboClient:
    """Kubo's HTTP RPC API over a pooled `httpx.Client`.

    Parameters
    ----------
    api_url:
        The daemon's RPC API (see `normalise_api_url` for accepted forms).
    timeout:
        Seconds to wait for the daemon to answer a request or send the next bytes.
    """

    def __init__(self, api_url: str, *, timeout: float = 60.0) -> None:
        self.api_url = normalise_api_url(api_url)
        self.timeout = timeout
        self._http = httpx.Client(
            base_url=self.api_url + "/api/v0",
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            trust_env=False,
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> KuboClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def version(self) -> str:
        """The daemon's version, e.g. ``"0.43.1"``."""
        with self._translate():
            response = self._http.post("/version")
            self._check(response)
        return str(response.json()["Version"])

    def add(self, chunks: Iterable[bytes], size: int, *, name: str = "bundle.tar") -> str:
        """Add and pin one file given as a stream of exactly `size` bytes; return its CID."""
        boundary = secrets.token_hex(16)
        head = (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        tail = f"\r\n--{boundary}--\r\n".encode()

        def body() -> Iterator[bytes]:
            yield head
            yield from chunks
            yield tail

        headers = {
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Content-Length": str(len(head) + size + len(tail)),
        }
        with self._translate():
            response = self._http.post("/add", params=ADD_PARAMS, content=body(), headers=headers)
            self._check(response)
        lines = [line for line in response.text.splitlines() if line.strip()]
        try:
            return str(json.loads(lines[-1])["Hash"])
        except (IndexError, KeyError, ValueError) as exc:
            raise StorageError(
                f"unexpected answer from the IPFS daemon to add: {response.text[:200]!r}"
            ) from exc

    def stat(self, cid: str, *, timeout: float | None = None) -> ContentStat:
        """Type and size of the content at `cid`, fetching only its root block.

        Raises
        ------
        ContentNotFound
            The daemon found no block for `cid` within `timeout` seconds.
        """
        limit = self.timeout if timeout is None else timeout
        params = {"arg": f"/ipfs/{cid}", "timeout": f"{limit:g}s"}
        with self._translate(cid=cid, timeout=limit):
            response = self._http.post("/files/stat", params=params, timeout=limit + 5.0)
            self._check(response, cid=cid, timeout=limit)
        data = response.json()
        return ContentStat(cid=str(data["Hash"]), type=str(data["Type"]), size=int(data["Size"]))

    @contextmanager
    def cat(self, cid: str, *, length: int) -> Iterator[Iterator[bytes]]:
        """Stream at most `length` bytes of the file at `cid`."""
        params = {"arg": f"/ipfs/{cid}", "length": str(length), "progress": "false"}
        with (
            self._translate(cid=cid, timeout=self.timeout),
            self._http.stream("POST", "/cat", params=params) as response,
        ):
            if response.status_code != 200:
                response.read()
                self._check(response, cid=cid, timeout=self.timeout)
            yield self._iter_raw(response, cid)

    def _iter_raw(self, response: httpx.Response, cid: str) -> Iterator[bytes]:
        with self._translate(cid=cid, timeout=self.timeout):
            yield from response.iter_raw()

    @contextmanager
    def _translate(self, *, cid: str | None = None, timeout: float | None = None) -> Iterator[None]:
        try:
            yield
        except httpx.TimeoutException as exc:
            if cid is not None and not isinstance(exc, httpx.ConnectTimeout):
                raise _not_found(cid, timeout, "no answer") from exc
            raise self._unavailable("timed out") from exc
        except (
            httpx.ConnectError,
            httpx.RemoteProtocolError,
            httpx.ReadError,
            httpx.WriteError,
        ) as exc:
            raise self._unavailable(_reason(exc)) from exc
        except httpx.HTTPError as exc:
            raise StorageError(
                f"request to the IPFS daemon at {self.api_url} failed: {exc}"
            ) from exc

    def _unavailable(self, reason: str) -> IpfsUnavailable:
        return IpfsUnavailable(
            f"cannot reach the IPFS daemon at {self.api_url} ({reason})",
            address=self.api_url,
            hint=START_HINT,
        )

    def _check(
        self, response: httpx.Response, *, cid: str | None = None, timeout: float | None = None
    ) -> None:
        if response.status_code == 200:
            return
        message = _error_message(response)
        if response.status_code in (404, 405) and not message:
            raise IpfsUnavailable(
                f"{self.api_url} is not an IPFS RPC API (HTTP {response.status_code})",
                address=self.api_url,
                hint="point --ipfs-api at the daemon's API port (Addresses.API), not its gateway",
            )
        lowered = message.lower()
        if cid is not None and any(s in lowered for s in _NOT_FOUND):
            raise _not_found(cid, timeout, message)
        if cid is not None and any(s in lowered for s in _BAD_CID):
            raise StorageError(f"{cid!r} is not a usable CID: {message}", hint="check the CID")
        raise StorageError(
            f"the IPFS daemon at {self.api_url} refused the request "
            f"(HTTP {response.status_code}): {message or response.reason_phrase}"
        )


def _not_found(cid: str, timeout: float | None, detail: str) -> ContentNotFound:
    within = f" within {timeout:g} s" if timeout is not None else ""
    return ContentNotFound(
        f"no content found for {cid}{within} ({detail})",
        cid=cid,
        hint="check the CID, and that a node holding it is reachable from your IPFS daemon",
    )


def _error_message(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text.strip()[:300]
    if isinstance(data, dict) and "Message" in data:
        return str(data["Message"])
    return response.text.strip()[:300]


def _reason(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    text = re.sub(r"^\[Errno -?\d+\]\s*", "", text)
    return text[0].lower() + text[1:] if text else text
