"""A minimal JSON-RPC call over a websocket, for driving the local dev chain."""

from __future__ import annotations

import itertools
import json
import subprocess
import time
from collections.abc import Callable
from typing import Any

import websocket

from decentralml.errors import ChainUnavailable, DevnetError

_ids = itertools.count(1)


def rpc_call(
    url: str, method: str, params: list[Any] | None = None, *, timeout: float = 30.0
) -> Any:
    """Call `method` on the node at `url` and return its result.

    Raises `ChainUnavailable` when the endpoint cannot be reached or stops answering, and
    `DevnetError` when it answers with an error.
    """
    request_id = next(_ids)
    request = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params or []}
    try:
        conn = websocket.create_connection(url, timeout=timeout)
    except (OSError, websocket.WebSocketException) as exc:
        raise ChainUnavailable(
            f"cannot reach the chain at {url}: {exc}",
            address=url,
            hint="is the devnet running? `decentralml devnet status` tells",
        ) from exc
    try:
        conn.send(json.dumps(request))
        while True:
            message = json.loads(conn.recv())
            if message.get("id") == request_id:
                break
    except (OSError, websocket.WebSocketException, ValueError) as exc:
        raise ChainUnavailable(
            f"the chain at {url} stopped answering during {method}: {exc}", address=url
        ) from exc
    finally:
        conn.close()
    if "error" in message:
        error = message["error"]
        detail = error.get("message", error) if isinstance(error, dict) else error
        raise DevnetError(f"{method} failed on {url}: {detail}")
    return message.get("result")


def wait_answering(
    url: str,
    proc: subprocess.Popen[bytes],
    *,
    deadline: float,
    timeout: float,
    failed: Callable[[str, str], DevnetError],
) -> None:
    """Wait until the chain process `proc` answers RPC at `url`, or fail: `failed(reason,
    hint)` makes the error when it exits or the monotonic `deadline` passes."""
    while True:
        try:
            rpc_call(url, "system_chain", timeout=5.0)
            return
        except ChainUnavailable:
            if proc.poll() is not None:
                raise failed(f"exited with code {proc.returncode}", "read the log above") from None
            if time.monotonic() >= deadline:
                raise failed(
                    f"did not answer RPC at {url} within {timeout:.0f} s", "see the log"
                ) from None
            time.sleep(0.1)
