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
from websocket import WebSocketException

from decentralml.errors import ChainError, ChainUnavailable, TransactionRejected

UNAVAILABLE_HINT = "start a dev chain with `decentralml devnet up`, or pass --url"


def _rpc_message(exc: SubstrateRequestException) -> str:
    raw: Any = exc.args[0] if exc.args else str(exc)
    if isinstance(raw, dict):
        parts = [str(raw.get("message", "")), str(raw.get("data", ""))]
        return ": ".join(p for p in parts if p) or json.dumps(raw)
    return str(raw)


@contextmanager
def translate(url: str) -> Iterator[None]:
    """Map every exception the chain library raises to the most specific `DecentralMLError`."""
    try:
        yield
    except (ConnectionError, TimeoutError, WebSocketException, BrokenPipeError) as exc:
        raise ChainUnavailable(
            f"cannot reach the chain at {url} ({exc.__class__.__name__}: {exc})",
            address=url,
            hint=UNAVAILABLE_HINT,
        ) from exc
    except SubstrateRequestException as exc:
        message = _rpc_message(exc)
        if "Invalid Transaction" in message or "1010" in message:
            raise TransactionRejected(
                f"the chain refused the transaction: {message}",
                hint="check the account's balance and nonce",
            ) from exc
        raise ChainError(f"chain request failed: {message}") from exc
    except (StorageFunctionNotFound, ConfigurationError, BlockNotFound, ExtrinsicNotFound) as exc:
        raise ChainError(
            f"the chain at {url} does not look like a decentralml chain: {exc}",
            hint="check --url points at a chain running the decentralml runtime",
        ) from exc
