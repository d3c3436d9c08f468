"""Translate substrate-interface and websocket exceptions into decentralml errors, in one place."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from substrateinterface.exceptions import (
    BlockNotFound,
    ConfigurationError,
    ExtrinsicNotFound,
    StorageFunctionNotFound,
    SubstrateRequestException,
)
from websocket import WebSocketException, WebSocketTimeoutException

from decentralml.errors import ChainError, ChainUnavailable, TransactionRejected

UNAVAILABLE_HINT = "start a dev chain with `decentralml devnet up`, or pass --url"
TIMEOUT_HINT = (
    "the chain accepted the connection but did not answer; is it overloaded or stopped? "
    "Wait longer with DECENTRALML_CHAIN_TIMEOUT (config chain_timeout)"
)


def rpc_message(exc: SubstrateRequestException) -> str:
    raw: Any = exc.args[0] if exc.args else str(exc)
    if isinstance(raw, dict):
        parts = [str(raw.get("message", "")), str(raw.get("data", ""))]
        return ": ".join(p for p in parts if p) or json.dumps(raw)
    return str(raw)


def rpc_code(exc: SubstrateRequestException) -> int | None:
    """The JSON-RPC error code of an error answer, when it has one."""
    raw: Any = exc.args[0] if exc.args else None
    code = raw.get("code") if isinstance(raw, dict) else None
    return code if isinstance(code, int) else None


# Transaction pool error codes of Substrate's author RPC (and Chopsticks'): 1010 invalid
# (bad nonce, cannot pay, era over...), 1014 "Priority is too low" (a transaction with the
# same nonce is already in the pool).
POOL_INVALID = 1010
POOL_PRIORITY_TOO_LOW = 1014


def is_timeout(exc: BaseException | None) -> bool:
    """Whether `exc` is a wait that ran out (the peer is there but silent)."""
    return isinstance(exc, (WebSocketTimeoutException, TimeoutError))


def is_connection_lost(exc: BaseException | None) -> bool:
    """Whether `exc` says the connection is gone (closed, reset, refused), not merely slow.

    After such an error a read can be sent again on a new connection.
    """
    if exc is None or is_timeout(exc):
        return False
    return isinstance(exc, (OSError, WebSocketException))


def unavailable(url: str, exc: BaseException, *, timeout: float | None = None) -> ChainUnavailable:
    """The `ChainUnavailable` for a websocket or socket error `exc`."""
    if is_timeout(exc):
        waited = f" within {timeout:g} s" if timeout is not None else ""
        return ChainUnavailable(
            f"the chain at {url} did not answer{waited}", address=url, hint=TIMEOUT_HINT
        )
    return ChainUnavailable(
        f"cannot reach the chain at {url} ({exc.__class__.__name__}: {exc})",
        address=url,
        hint=UNAVAILABLE_HINT,
    )


def rejection(exc: SubstrateRequestException) -> ChainError:
    """The error for an RPC error answer: a refused transaction or another failed request."""
    message = rpc_message(exc)
    code = rpc_code(exc)
    if code == POOL_INVALID or "Invalid Transaction" in message:
        return TransactionRejected(
            f"the chain refused the transaction: {message}",
            hint="check the account's balance and nonce",
        )
    if code == POOL_PRIORITY_TOO_LOW or "Priority is too low" in message:
        return TransactionRejected(
            f"the chain refused the transaction: {message}",
            hint="another transaction of this account with the same nonce is waiting",
        )
    return ChainError(f"chain request failed: {message}")


@contextmanager
def translate(url: str, *, timeout: float | None = None) -> Iterator[None]:
    """Map every exception the chain library raises to the most specific `DecentralMLError`.

    `timeout` (seconds) is only used in the message of a wait that ran out.
    """
    try:
        yield
    except (OSError, WebSocketException) as exc:
        raise unavailable(url, exc, timeout=timeout) from exc
    except SubstrateRequestException as exc:
        raise rejection(exc) from exc
    except (StorageFunctionNotFound, ConfigurationError, BlockNotFound, ExtrinsicNotFound) as exc:
        raise ChainError(
            f"the chain at {url} does not look like a decentralml chain: {exc}",
            hint="check --url points at a chain running the decentralml runtime",
        ) from exc
