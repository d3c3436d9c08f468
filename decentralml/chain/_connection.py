"""One websocket to the chain: every wait bounded by a timeout, reads retried once on a new
connection when the old one dropped, and a send kept apart from its answer for writes."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from substrateinterface import SubstrateInterface
from substrateinterface.exceptions import SubstrateRequestException

from decentralml.chain._errors import is_connection_lost, translate, unavailable
from decentralml.errors import ChainUnavailable

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Seconds any one answer from the chain may take before the call fails (`ChainUnavailable`).
DEFAULT_TIMEOUT = 30.0
# Seconds a closing handshake may take.
_CLOSE_TIMEOUT = 1.0


class PinnedSubstrate(SubstrateInterface):
    """substrate-interface that remembers the hashes of blocks that cannot change.

    Signing a transaction asks for the genesis hash and the hash of the era's birth block
    (``chain_getBlockHash``) every time; the transaction module pins the birth block it
    settled on, and the genesis hash never changes, so neither costs a round trip again.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pinned_hashes: dict[int, str] = {}

    def get_block_hash(self, block_id: int | None = None) -> str:
        if block_id is not None and block_id in self.pinned_hashes:
            return self.pinned_hashes[block_id]
        block_hash = super().get_block_hash(block_id)
        if block_id == 0 and block_hash:
            self.pinned_hashes[0] = block_hash
        return block_hash


class SendFailed(Exception):
    """The request could not be written: the chain never saw it."""


class NoAnswer(Exception):
    """The request was written but no answer came (the connection dropped or the wait ran out).

    `cause` is the websocket or socket error.
    """

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


class Connection:
    """A substrate-interface object and the rules for using its websocket.

    The websocket's timeout bounds the connection, its handshake and every receive, so a chain
    that stops answering (a stopped process, a dead host behind a live port) fails a call
    within `timeout` seconds instead of hanging. After any failure the connection is
    considered broken and the next call opens a new one first. Not safe for concurrent use
    from several threads without the `lock`.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        substrate: SubstrateInterface | None = None,
    ) -> None:
        if not timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        self.url = url
        self.timeout = float(timeout)
        self.lock = threading.RLock()
        self._broken = False
        if substrate is None:
            with translate(url, timeout=self.timeout):
                substrate = PinnedSubstrate(
                    url=url, auto_reconnect=False, ws_options={"timeout": self.timeout}
                )
        self.substrate = substrate

    def close(self) -> None:
        """Close the websocket: a closing handshake of at most a second (a silent chain would
        keep the library's own close waiting three), none on a broken connection."""
        with self.lock:
            websocket = getattr(self.substrate, "websocket", None)
            try:
                if self._broken:
                    self._drop_websocket()
                elif websocket is not None:
                    websocket.close(timeout=min(self.timeout, _CLOSE_TIMEOUT))
                self.substrate.close()
            except Exception as exc:  # closing a dead socket may fail any way
                log.debug("closing the websocket to %s: %s", self.url, exc)

    # -- connection state ---------------------------------------------------------------------

    def _drop_websocket(self) -> None:
        """Forget the current websocket without a closing handshake (the peer may be silent)."""
        websocket = getattr(self.substrate, "websocket", None)
        if websocket is not None:
            try:
                websocket.shutdown()
            except Exception as exc:  # already gone
                log.debug("shutting down the websocket to %s: %s", self.url, exc)
        transport = getattr(self.substrate, "transport", None)
        # Answers to requests of the old connection must not be taken for new ones.
        queue = getattr(transport, "_WebsocketTransport__rpc_message_queue", None)
        if isinstance(queue, list):
            queue.clear()

    def reconnect(self) -> None:
        """Open a new websocket (the runtime metadata already read is kept)."""
        with self.lock:
            self._drop_websocket()
            self._broken = True
            log.info("reconnecting to the chain at %s", self.url)
            with translate(self.url, timeout=self.timeout):
                self.substrate.connect_websocket()
            self._broken = False

    def ensure(self) -> None:
        """Reconnect first if the last call left the connection broken."""
        if self._broken:
            self.reconnect()

    # -- calls --------------------------------------------------------------------------------

    def _attempt(self, fn: Callable[[SubstrateInterface], T]) -> T:
        try:
            with translate(self.url, timeout=self.timeout):
                return fn(self.substrate)
        except ChainUnavailable:
            self._broken = True
            raise

    def read(self, fn: Callable[[SubstrateInterface], T]) -> T:
        """Run a read-only `fn(substrate)`; if the connection had dropped, reconnect once and
        run it again.

        A chain that is there but silent is not asked twice: the call fails after `timeout`.
        """
        with self.lock:
            self.ensure()
            try:
                return self._attempt(fn)
            except ChainUnavailable as exc:
                if not is_connection_lost(exc.__cause__):
                    raise
                log.info("connection to %s lost (%s); reading again", self.url, exc.__cause__)
            self.reconnect()
            return self._attempt(fn)

    def rpc(self, method: str, params: list[Any]) -> Any:
        """The result of a read-only JSON-RPC call (retried once on a dropped connection)."""
        return self.read(lambda s: s.rpc_request(method, params).get("result"))

    # -- a write: its send kept apart from its answer -----------------------------------------

    def send(self, method: str, params: list[Any]) -> int:
        """Write one JSON-RPC request and return its id, without waiting for the answer.

        Raises `SendFailed` when nothing could be written (the chain never saw the request).
        """
        with self.lock:
            self.ensure()
            request_id = int(self.substrate.request_id)
            self.substrate.request_id += 1
            payload = {"jsonrpc": "2.0", "method": method, "params": params, "id": request_id}
            websocket = self.substrate.websocket
            try:
                websocket.send(json.dumps(payload))
            except Exception as exc:
                # A frame is written whole or the peer cannot read it as a request.
                self._broken = True
                raise SendFailed(str(exc)) from exc
            return request_id

    def answer(self, request_id: int) -> Any:
        """The result of the request `request_id` sent with `send`.

        Raises `NoAnswer` when the connection drops or `timeout` passes first, and
        `SubstrateRequestException` for an error answer.
        """
        with self.lock:
            websocket = self.substrate.websocket
            try:
                while True:
                    message = json.loads(websocket.recv())
                    if message.get("id") == request_id:
                        break
            except (OSError, ValueError, Exception) as exc:
                self._broken = True
                raise NoAnswer(exc) from exc
            if "error" in message:
                raise SubstrateRequestException(message["error"])
            return message.get("result")

    def unavailable(self, exc: BaseException) -> ChainUnavailable:
        """The `ChainUnavailable` describing a websocket error `exc`."""
        return unavailable(self.url, exc, timeout=self.timeout)
