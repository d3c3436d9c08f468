"""A small client for the Kubo HTTP RPC API (``/api/v0``), streaming both ways.

Only what bundles need: ``version``, ``add`` (one file, pinned, fixed import settings; or
only hashed, to learn a CID without publishing),
``files/stat`` and ``cat``. Every request is a POST, as Kubo requires. Transport failures
become `IpfsUnavailable`; a CID the daemon cannot find becomes `ContentNotFound`; a daemon
that accepts connections but stays silent is `IpfsUnavailable`, not missing content.

It speaks HTTP through the standard library's `http.client`. Kubo streams ``cat`` output to
HTTP/1.1 clients as chunks of a few KiB, each parsed in Python; ``cat`` is therefore asked
in HTTP/1.0, which Kubo answers with the bare bytes, read straight into the caller's buffer
(see docs/storage.md, "Performance").
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import secrets
import socket
import ssl
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit

from decentralml.errors import ContentNotFound, IpfsUnavailable, StorageError

START_HINT = (
    "start one with `decentralml devnet up`, or pass --ipfs-api URL (or set DECENTRALML_IPFS_API)"
)

# Import settings are fixed so that the same bytes get the same CID on any Kubo daemon,
# whatever its Import.* configuration (the values of Kubo's "unixfs-v1-2025" profile).
ADD_PARAMS = {
    "cid-version": "1",
    "raw-leaves": "true",
    "chunker": "size-1048576",
    "max-file-links": "1024",
    "trickle": "false",
    "hash": "sha2-256",
    "pin": "true",
    "quieter": "true",
    "progress": "false",
}

# Extra seconds the socket waits beyond the deadline the daemon was given for a lookup.
_GRACE = 5.0
# Longest wait of the liveness check that tells a stalled transfer from a hung daemon.
_PROBE = 5.0
_MULTIADDR_RE = re.compile(
    r"^/(?P<proto>ip4|ip6|dns|dns4|dns6)/(?P<host>[^/]+)/tcp/(?P<port>\d+)(?P<scheme>/https?)?/?$"
)
_NOT_FOUND = ("not found", "could not find", "deadline exceeded", "context canceled")


def normalise_api_url(value: str) -> str:
    """Turn ``http://host:port``, ``host:port`` or a multiaddr into the API's base URL.

    Parameters
    ----------
    value:
        ``http://127.0.0.1:5001``, ``https://user:secret@pin.example:443``,
        ``127.0.0.1:5001`` or ``/ip4/127.0.0.1/tcp/5001``; a trailing ``/api/v0`` is accepted.

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
    if urlsplit(text).scheme not in ("http", "https"):
        raise StorageError(f"unsupported IPFS API address {value!r}", hint="use http://HOST:PORT")
    return text


@dataclass(frozen=True)
class ContentStat:
    """What the daemon says about a CID without fetching its content."""

    cid: str
    type: str
    size: int


class KuboClient:
    """Kubo's HTTP RPC API: one short-lived connection per request.

    Parameters
    ----------
    api_url:
        The daemon's RPC API (see `normalise_api_url`); credentials in the URL are sent as
        HTTP basic authentication and never shown in messages.
    timeout:
        Seconds to wait for the daemon to accept a connection, answer, or send more bytes.
    """

    def __init__(self, api_url: str, *, timeout: float = 60.0) -> None:
        url = urlsplit(normalise_api_url(api_url))
        self._https = url.scheme == "https"
        self._host = url.hostname or "127.0.0.1"
        self._port = url.port or (443 if self._https else 80)
        self._prefix = url.path.rstrip("/") + "/api/v0"
        self._auth: dict[str, str] = {}
        if url.username is not None:
            token = f"{unquote(url.username)}:{unquote(url.password or '')}".encode()
            self._auth["Authorization"] = "Basic " + base64.b64encode(token).decode()
        netloc = url.netloc.rsplit("@", 1)[-1]
        self.api_url = f"{url.scheme}://{netloc}{url.path}"
        self.timeout = timeout

    def close(self) -> None:
        """Nothing to release: connections live for one request."""

    def __enter__(self) -> KuboClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def version(self) -> str:
        """The daemon's version, e.g. ``"0.43.0"``."""
        return str(_json(self._request("version", {}))["Version"])

    def add(
        self,
        chunks: Iterable[bytes],
        size: int,
        *,
        name: str = "bundle.tar",
        only_hash: bool = False,
    ) -> str:
        """Add and pin one file given as a stream of exactly `size` bytes; return its CID.

        With `only_hash` the daemon only computes the CID (``only-hash``): nothing is stored,
        pinned or announced.
        """
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
        params = {**ADD_PARAMS, "only-hash": "true", "pin": "false"} if only_hash else ADD_PARAMS
        text = self._request("add", params, body=body(), headers=headers).decode(errors="replace")
        lines = [line for line in text.splitlines() if line.strip()]
        try:
            return str(json.loads(lines[-1])["Hash"])
        except (IndexError, KeyError, ValueError) as exc:
            raise StorageError(
                f"unexpected answer from the IPFS daemon to add: {text[:200]!r}"
            ) from exc

    def stat(self, cid: str, *, timeout: float | None = None) -> ContentStat:
        """Type and size of the content at `cid`, fetching only its root block.

        The daemon is asked to give up after `timeout` seconds; the socket waits a little
        longer, so a daemon that does not answer even by its own deadline is reported as
        unreachable rather than the content as missing.

        Raises
        ------
        ContentNotFound
            The daemon found no block for `cid` within `timeout` seconds.
        IpfsUnavailable
            The daemon did not answer.
        """
        limit = self.timeout if timeout is None else timeout
        params = {"arg": f"/ipfs/{cid}", "timeout": f"{limit:g}s"}
        data = _json(
            self._request(
                "files/stat", params, cid=cid, timeout=limit, wait=limit + min(_GRACE, limit)
            )
        )
        return ContentStat(cid=str(data["Hash"]), type=str(data["Type"]), size=int(data["Size"]))

    @contextmanager
    def cat(self, cid: str, *, length: int) -> Iterator[Callable[[memoryview], int]]:
        """Stream at most `length` bytes of the file at `cid`.

        Yields a ``readinto(buffer) -> int`` function that fills `buffer` with the next bytes
        and returns how many (0 at the end). No block arriving within the client's timeout
        raises `ContentNotFound` if the daemon still answers, `IpfsUnavailable` if not.

        The request is sent as HTTP/1.0, so the daemon answers with the bare bytes until it
        closes the connection instead of HTTP/1.1 chunks of a few KiB, each of which would
        cost a round of Python parsing. A transfer cut short is caught by the caller, which
        knows the size and the digest to expect.
        """
        params = {"arg": f"/ipfs/{cid}", "length": str(length), "progress": "false"}
        with self._open("cat", params, cid=cid, timeout=self.timeout, http10=True) as response:

            def readinto(buffer: memoryview) -> int:
                with self._translate(
                    cid=cid, timeout=self.timeout, stalled="no more of its blocks arrived"
                ):
                    return response.readinto(buffer)

            yield readinto

    def _connection(self, wait: float, *, http10: bool = False) -> http.client.HTTPConnection:
        if self._https:
            cls: type[http.client.HTTPSConnection] = (
                _Https10 if http10 else http.client.HTTPSConnection
            )
            return cls(self._host, self._port, timeout=wait, context=ssl.create_default_context())
        plain = _Http10 if http10 else http.client.HTTPConnection
        return plain(self._host, self._port, timeout=wait)

    def _request(
        self,
        command: str,
        params: dict[str, str],
        *,
        body: Iterable[bytes] | None = None,
        headers: dict[str, str] | None = None,
        cid: str | None = None,
        timeout: float | None = None,
        wait: float | None = None,
    ) -> bytes:
        """POST a command and return the whole answer."""
        with (
            self._open(
                command, params, body=body, headers=headers, cid=cid, timeout=timeout, wait=wait
            ) as response,
            self._translate(cid=cid, timeout=timeout, wait=wait),
        ):
            return response.read()

    @contextmanager
    def _open(
        self,
        command: str,
        params: dict[str, str],
        *,
        body: Iterable[bytes] | None = None,
        headers: dict[str, str] | None = None,
        cid: str | None = None,
        timeout: float | None = None,
        wait: float | None = None,
        http10: bool = False,
    ) -> Iterator[http.client.HTTPResponse]:
        """POST a command; yield the response once its status is 200 (errors are raised)."""
        connection = self._connection(self.timeout if wait is None else wait, http10=http10)
        path = f"{self._prefix}/{command}" + (f"?{urlencode(params)}" if params else "")
        try:
            try:
                connection.connect()
            except OSError as exc:
                raise self._unavailable(_reason(exc)) from exc
            with self._translate(cid=cid, timeout=timeout, wait=wait):
                connection.request(
                    "POST", path, body=body, headers={**self._auth, **(headers or {})}
                )
                response = connection.getresponse()
                if response.status != 200:
                    self._refuse(response, cid=cid, timeout=timeout)
            yield response
        finally:
            connection.close()

    @contextmanager
    def _translate(
        self,
        *,
        cid: str | None = None,
        timeout: float | None = None,
        wait: float | None = None,
        stalled: str = "no answer",
    ) -> Iterator[None]:
        """Turn transport failures into `IpfsUnavailable`, and a stall into the right error.

        A socket that stays silent does not say whether the daemon is hung or is still
        looking for blocks nobody sends. Where content is involved, the daemon is asked for
        its version: no answer means it is unreachable, an answer means the content is not
        arriving.
        """
        try:
            yield
        except TimeoutError as exc:
            waited = self.timeout if wait is None else wait
            if cid is not None and self._answers(min(waited, _PROBE)):
                limit = self.timeout if timeout is None else timeout
                raise self._not_found(cid, limit, stalled) from exc
            raise self._hung(waited) from exc
        except (OSError, http.client.HTTPException) as exc:
            raise IpfsUnavailable(
                f"the connection to the IPFS daemon at {self.api_url} broke ({_reason(exc)})",
                address=self.api_url,
                hint="check that the daemon is still running, then try again",
            ) from exc

    def _answers(self, wait: float) -> bool:
        """Whether the daemon answers a `version` request within `wait` seconds."""
        connection = self._connection(wait)
        try:
            connection.request("POST", f"{self._prefix}/version", headers=self._auth)
            return connection.getresponse().status == 200
        except (OSError, http.client.HTTPException):
            return False
        finally:
            connection.close()

    def _not_found(self, cid: str, timeout: float | None, detail: str) -> ContentNotFound:
        within = f" within {timeout:g} s" if timeout is not None else ""
        return ContentNotFound(
            f"content not found{within}: no node reachable from the IPFS daemon at "
            f"{self.api_url} sent {cid} ({detail})",
            cid=cid,
            hint="check the CID, and that a node holding it is online and connected to your "
            "IPFS daemon (`ipfs swarm peers`); a larger --timeout gives slow peers more time",
        )

    def _hung(self, waited: float) -> IpfsUnavailable:
        return IpfsUnavailable(
            f"the IPFS daemon at {self.api_url} did not answer within {waited:g} s "
            "(it accepts connections but does not respond: stopped, hung or overloaded)",
            address=self.api_url,
            hint="check the daemon's process and log and restart it if needed "
            "(`decentralml devnet down` then `up`), or allow more time with --timeout "
            "or DECENTRALML_IPFS_TIMEOUT",
        )

    def _unavailable(self, reason: str) -> IpfsUnavailable:
        return IpfsUnavailable(
            f"cannot reach the IPFS daemon at {self.api_url} ({reason})",
            address=self.api_url,
            hint=START_HINT,
        )

    def _refuse(
        self, response: http.client.HTTPResponse, *, cid: str | None, timeout: float | None
    ) -> None:
        raw = response.read(64 * 1024)
        message = _error_message(raw)
        status = response.status
        if status in (404, 405) and "Message" not in raw.decode(errors="replace"):
            raise IpfsUnavailable(
                f"{self.api_url} is not an IPFS RPC API (HTTP {status})",
                address=self.api_url,
                hint="point --ipfs-api at the daemon's API port (Addresses.API), not its gateway",
            )
        if status in (401, 403):
            raise IpfsUnavailable(
                f"the IPFS daemon at {self.api_url} refused access (HTTP {status}): {message}",
                address=self.api_url,
                hint="give credentials in the URL (https://user:secret@host:port)",
            )
        if cid is not None and any(s in message.lower() for s in _NOT_FOUND):
            raise self._not_found(cid, timeout, message)
        raise StorageError(
            f"the IPFS daemon at {self.api_url} refused the request "
            f"(HTTP {status}): {message or response.reason}"
        )


def _json(raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise StorageError(f"unexpected answer from the IPFS daemon: {raw[:200]!r}") from exc
    if not isinstance(data, dict):
        raise StorageError(f"unexpected answer from the IPFS daemon: {raw[:200]!r}")
    return data


def _error_message(raw: bytes) -> str:
    text = raw.decode(errors="replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        return text[:300]
    if isinstance(data, dict) and "Message" in data:
        return str(data["Message"])
    return text[:300]


def _reason(exc: BaseException) -> str:
    if isinstance(exc, socket.gaierror):
        return f"unknown host: {exc.strerror}"
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    text = re.sub(r"^\[Errno -?\d+\]\s*", "", text)
    return text[0].lower() + text[1:] if text else text


class _Http10(http.client.HTTPConnection):
    """HTTP/1.0: the answer comes unchunked, delimited by the end of the connection."""

    _http_vsn = 10
    _http_vsn_str = "HTTP/1.0"


class _Https10(http.client.HTTPSConnection):
    _http_vsn = 10
    _http_vsn_str = "HTTP/1.0"
