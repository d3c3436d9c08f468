"""The next nonce of each account, counted locally so one account's transactions can follow
each other before the first is included."""

from __future__ import annotations

import threading
from collections.abc import Callable


class Nonces:
    """The next nonce of each account, counted locally after a first answer from the chain."""

    def __init__(self) -> None:
        self._next: dict[str, int] = {}
        self._lock = threading.Lock()

    def take(self, address: str, fetch: Callable[[], int]) -> int:
        """The nonce for the account's next transaction (asking `fetch()` the first time)."""
        with self._lock:
            nonce = self._next.get(address)
        if nonce is None:
            fetched = fetch()
            with self._lock:
                nonce = self._next.setdefault(address, fetched)
        with self._lock:
            # Another thread may have taken some meanwhile: never hand out a nonce twice.
            nonce = self._next[address]
            self._next[address] = nonce + 1
        return nonce

    def give_back(self, address: str, nonce: int) -> None:
        """`nonce` was never accepted by the chain: the next transaction takes it again."""
        with self._lock:
            if self._next.get(address) == nonce + 1:
                self._next[address] = nonce
            else:  # later nonces were handed out: only the chain can say where it stands
                self._next.pop(address, None)

    def forget(self, address: str) -> None:
        """Whether the last nonces were used is unknown: ask the chain next time."""
        with self._lock:
            self._next.pop(address, None)

    def peek(self, address: str) -> int | None:
        with self._lock:
            return self._next.get(address)
