"""The chain connection's rules without a chain: every wait bounded by the timeout (against
loopback servers that accept and never answer), reads retried once after a dropped
connection and never after a silent one."""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from websocket import WebSocketConnectionClosedException, WebSocketTimeoutException

from decentralml.chain import ChainClient
from decentralml.chain._connection import Connection
from decentralml.errors import ChainUnavailable

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class SilentServer:
    """A loopback server that accepts connections and then says nothing.

    With `answers` it first completes the websocket handshake and answers the JSON-RPC
    methods named there (as a chain would), and never any other: a websocket that goes
    silent mid-conversation. `methods` records every method asked.
    """

    def __init__(self, answers: dict[str, Any] | None = None) -> None:
        self.answers = answers
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.url = f"ws://127.0.0.1:{self.sock.getsockname()[1]}"
        self.clients: list[socket.socket] = []
        self.methods: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                client, _ = self.sock.accept()
            except OSError:
                continue
            self.clients.append(client)
            if self.answers is not None:
                threading.Thread(target=self._talk, args=(client,), daemon=True).start()

    def _talk(self, client: socket.socket) -> None:
        try:
            reader = client.makefile("rb")
            key = ""
            while (line := reader.readline().decode()) not in ("\r\n", ""):
                if line.lower().startswith("sec-websocket-key:"):
                    key = line.split(":", 1)[1].strip()
            accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
            client.sendall(
                (
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                    f"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
                ).encode()
            )
            while not self._stop.is_set():
                request = json.loads(_read_frame(reader))
                self.methods.append(request["method"])
                assert self.answers is not None
                if request["method"] in self.answers:
                    answer = {"jsonrpc": "2.0", "id": request["id"]}
                    answer["result"] = self.answers[request["method"]]
                    client.sendall(_text_frame(json.dumps(answer).encode()))
        except (OSError, ValueError):
            return

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        for client in self.clients:
            client.close()
        self.sock.close()


def _read_frame(reader: Any) -> bytes:
    """One masked frame from a websocket client."""
    head = reader.read(2)
    if len(head) < 2:
        raise ValueError("closed")
    length = head[1] & 0x7F
    if length == 126:
        length = int.from_bytes(reader.read(2), "big")
    elif length == 127:
        length = int.from_bytes(reader.read(8), "big")
    mask = reader.read(4)
    payload = reader.read(length)
    return bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def _text_frame(payload: bytes) -> bytes:
    if len(payload) < 126:
        return bytes([0x81, len(payload)]) + payload
    return bytes([0x81, 126]) + len(payload).to_bytes(2, "big") + payload


@pytest.fixture
def silent_port() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.close()


@pytest.fixture
def silent_websocket() -> Iterator[SilentServer]:
    server = SilentServer(answers={"system_chain": "Development"})
    yield server
    server.close()


def test_a_port_that_never_answers_fails_within_the_timeout(silent_port: SilentServer) -> None:
    started = time.monotonic()
    with pytest.raises(ChainUnavailable, match=r"did not answer within 0\.5 s") as err:
        ChainClient(silent_port.url, timeout=0.5)
    assert time.monotonic() - started < 3
    assert err.value.address == silent_port.url
    assert "DECENTRALML_CHAIN_TIMEOUT" in (err.value.hint or "")


def test_a_websocket_that_never_answers_fails_each_call_within_the_timeout(
    silent_websocket: SilentServer,
) -> None:
    with ChainClient(silent_websocket.url, timeout=0.5) as client:
        for call in (
            client.block_number,
            lambda: client.constant("Decentralml", "MaxSlots"),
            lambda: list(client.list_tasks()),
        ):
            started = time.monotonic()
            with pytest.raises(ChainUnavailable, match="did not answer"):
                call()
            # A silent chain is not asked twice: one timeout, not two.
            assert time.monotonic() - started < 1.5


def test_a_write_to_a_silent_chain_fails_before_anything_is_sent(
    silent_websocket: SilentServer,
) -> None:
    from decentralml.chain import keypair_from_uri

    with ChainClient(silent_websocket.url, timeout=0.5) as client:
        started = time.monotonic()
        with pytest.raises(ChainUnavailable) as err:
            client.submit(keypair_from_uri("//Alice"), "System", "remark", {"remark": "0x00"})
        assert time.monotonic() - started < 3
    # Preparing the transaction needs answers: nothing was submitted.
    assert type(err.value) is ChainUnavailable
    assert "author_submitExtrinsic" not in silent_websocket.methods


class FakeWebsocket:
    def __init__(self) -> None:
        self.shut = False

    def shutdown(self) -> None:
        self.shut = True


class FakeSubstrate:
    """Fails calls as scripted; counts reconnections."""

    def __init__(self, failures: list[BaseException]) -> None:
        self.failures = failures
        self.calls = 0
        self.connects = 0
        self.websocket = FakeWebsocket()

    def rpc_request(self, method: str, params: list[Any]) -> dict[str, Any]:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return {"result": f"{method} answered"}

    def connect_websocket(self) -> None:
        self.connects += 1
        self.websocket = FakeWebsocket()

    def close(self) -> None:
        pass


def connection(*failures: BaseException) -> tuple[Connection, FakeSubstrate]:
    substrate = FakeSubstrate(list(failures))
    return Connection("ws://fake", timeout=1, substrate=substrate), substrate  # type: ignore[arg-type]


def test_a_read_after_a_dropped_connection_reconnects_once() -> None:
    conn, substrate = connection(WebSocketConnectionClosedException("lost"))
    assert conn.rpc("system_chain", []) == "system_chain answered"
    assert (substrate.calls, substrate.connects) == (2, 1)


def test_a_read_that_drops_twice_fails() -> None:
    conn, substrate = connection(ConnectionResetError(), ConnectionResetError())
    with pytest.raises(ChainUnavailable, match="ConnectionResetError"):
        conn.rpc("system_chain", [])
    assert (substrate.calls, substrate.connects) == (2, 1)


def test_a_silent_chain_is_not_asked_again_but_the_next_call_reconnects() -> None:
    conn, substrate = connection(WebSocketTimeoutException("timed out"))
    old = substrate.websocket
    with pytest.raises(ChainUnavailable, match="did not answer within 1 s"):
        conn.rpc("system_chain", [])
    assert (substrate.calls, substrate.connects) == (1, 0)
    assert conn.rpc("system_chain", []) == "system_chain answered"
    assert substrate.connects == 1 and old.shut


def test_timeout_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Connection("ws://fake", timeout=0, substrate=FakeSubstrate([]))  # type: ignore[arg-type]
