"""Signing and sending transactions: mortal eras, nonces kept per account, bounded waits for
inclusion, and finding an extrinsic by its hash in recent blocks.

Every transaction is mortal: it names a recent block (its era's birth) and can be included
only in the `era_period` blocks that follow, so a transaction whose fate is unclear is settled
one way or the other by block `valid_until`. Nonces come from a local counter per account,
seeded from the chain (``system_accountNextIndex``), so transactions can follow each other
before the first is included; a failure that leaves the nonce unknown drops the counter and
the next transaction asks the chain again. A transaction that was written to the socket is
never signed again by this module: when its answer does not come, it is looked up by hash.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from scalecodec.utils.ss58 import ss58_decode
from substrateinterface import Keypair, SubstrateInterface
from substrateinterface.exceptions import SubstrateRequestException

from decentralml.chain._connection import Connection, NoAnswer, SendFailed
from decentralml.chain._errors import (
    POOL_INVALID,
    POOL_PRIORITY_TOO_LOW,
    is_timeout,
    rejection,
    rpc_code,
    rpc_message,
)
from decentralml.chain._nonces import Nonces
from decentralml.chain._receipts import read_receipt
from decentralml.chain._types import Receipt
from decentralml.errors import (
    ChainError,
    ChainUnavailable,
    ExtrinsicFailed,
    OutcomeUnknown,
    TransactionDropped,
)

if TYPE_CHECKING:
    from scalecodec.types import GenericExtrinsic

log = logging.getLogger(__name__)

#: Blocks a transaction stays valid for after the block it names (a power of two, 4..65536).
DEFAULT_ERA_PERIOD = 64
#: Seconds `submit` and `PendingExtrinsic.wait` wait for inclusion before `OutcomeUnknown`.
DEFAULT_INCLUSION_TIMEOUT = 120.0
# How often a wait looks for new blocks: quickly at first (a dev chain includes at once),
# then backing off.
_POLL_FIRST = 0.02
_POLL_MAX = 1.0
_POLL_GROWTH = 1.25
# Blocks whose extrinsic hashes are remembered, so many waits share the block reads.
_BLOCK_CACHE = 4096
# Use the finalized block as the era's birth unless it lags the best block by more than
# this fraction of the period (a chain whose finality stalled); reuse a birth while it is
# no further behind than that.
_FINALITY_LAG_SHARE = 4
# Seconds one era birth is reused for at most (a few blocks of a 6-second chain).
_ERA_REUSE_SECONDS = 30.0


def _hash_hex(extrinsic_hex: str) -> str:
    data = bytes.fromhex(extrinsic_hex[2:] if extrinsic_hex.startswith("0x") else extrinsic_hex)
    return "0x" + hashlib.blake2b(data, digest_size=32).hexdigest()


@dataclass(frozen=True)
class _Era:
    birth: int
    block_hash: str
    chosen_at: float


@dataclass(frozen=True)
class _Block:
    number: int
    parent: str
    extrinsics: tuple[str, ...]


@dataclass
class PendingExtrinsic:
    """A transaction accepted by the chain's pool, not known to be included yet.

    `wait()` returns its `Receipt` once included (or raises `ExtrinsicFailed` if its call
    failed); `poll()` looks once without waiting. It can only be included up to block
    `valid_until`: after that, or once another transaction used its nonce, it is dropped.
    """

    extrinsic_hash: str
    pallet: str
    call: str
    signer: str
    nonce: int
    birth: int
    valid_until: int
    _sender: Transactions = field(repr=False, compare=False)
    _outcome: Receipt | BaseException | None = field(default=None, repr=False, compare=False)
    _checked_head: str | None = field(default=None, repr=False, compare=False)

    @property
    def done(self) -> bool:
        """Whether the outcome is known (included, failed or dropped)."""
        return self._outcome is not None

    def wait(self, timeout: float | None = None) -> Receipt:
        """Wait until the transaction is included and return its receipt.

        Parameters
        ----------
        timeout:
            Seconds to wait for inclusion (default: the client's `inclusion_timeout`).

        Raises
        ------
        ExtrinsicFailed
            It was included and its call failed.
        TransactionDropped
            It can no longer be included (its era ended, or its nonce was used).
        OutcomeUnknown
            It was not seen included within `timeout`, or the chain stopped answering.
        """
        return self._sender.wait(self, timeout)

    def poll(self) -> Receipt | None:
        """The receipt if the transaction is included by now, else None (raises as `wait`)."""
        return self._sender.poll(self)

    def _settle(self, outcome: Receipt | BaseException) -> Receipt:
        self._outcome = outcome
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


class Transactions:
    """Sign, send and follow transactions over one `Connection`."""

    def __init__(
        self,
        conn: Connection,
        *,
        era_period: int = DEFAULT_ERA_PERIOD,
        inclusion_timeout: float = DEFAULT_INCLUSION_TIMEOUT,
        max_pending: int | None = None,
    ) -> None:
        if era_period < 4 or era_period > 65536 or era_period & (era_period - 1):
            raise ValueError(f"era_period must be a power of two from 4 to 65536, got {era_period}")
        if not inclusion_timeout > 0:
            raise ValueError(f"inclusion_timeout must be positive, got {inclusion_timeout!r}")
        self.conn = conn
        self.era_period = era_period
        self.inclusion_timeout = float(inclusion_timeout)
        # Transactions of one account sent and not yet included, at most: half the era, so
        # the last of a burst is still included within its era on a chain that makes one
        # block per transaction.
        self.max_pending = max_pending if max_pending is not None else era_period // 2
        self.nonces = Nonces()
        self._blocks: OrderedDict[str, _Block] = OrderedDict()
        self._cached_era: _Era | None = None
        self._era_reused = False
        # The highest block number seen in any answer: how old a reused era birth is.
        self._best_seen = 0
        self._included_nonce: dict[str, int] = {}

    # -- chain facts --------------------------------------------------------------------------

    def _head(self) -> tuple[str, int]:
        """The best block's hash and number."""
        block_hash = str(self.conn.rpc("chain_getBlockHash", []))
        number = self._block(block_hash).number
        self._best_seen = max(self._best_seen, number)
        return block_hash, number

    def _block(self, block_hash: str) -> _Block:
        block = self._blocks.get(block_hash)
        if block is not None:
            self._blocks.move_to_end(block_hash)
            return block
        raw = self.conn.rpc("chain_getBlock", [block_hash])
        if raw is None:
            raise ChainError(f"the chain no longer has block {block_hash}")
        header = raw["block"]["header"]
        block = _Block(
            number=int(header["number"], 16),
            parent=str(header["parentHash"]),
            extrinsics=tuple(_hash_hex(x) for x in raw["block"]["extrinsics"]),
        )
        self._blocks[block_hash] = block
        while len(self._blocks) > _BLOCK_CACHE:
            self._blocks.popitem(last=False)
        return block

    def account_nonce(self, address: str, block_hash: str | None = None) -> int:
        """The nonce of `address` in the state of `block_hash` (default: the best block):
        how many of its transactions are included."""
        account_id = "0x" + ss58_decode(address)
        params: list[Any] = ["AccountNonceApi_account_nonce", account_id]
        if block_hash is not None:
            params.append(block_hash)
        raw = str(self.conn.rpc("state_call", params))
        nonce = int.from_bytes(bytes.fromhex(raw[2:]), "little")
        self._included_nonce[address] = max(nonce, self._included_nonce.get(address, 0))
        return nonce

    def next_index(self, address: str) -> int:
        """The chain's next nonce for `address` (``system_accountNextIndex``: included
        transactions, plus those its pool holds)."""
        return int(self.conn.rpc("system_accountNextIndex", [address]))

    def find(
        self, tx_hash: str, since: int, head: str | None = None
    ) -> tuple[str, int, int] | None:
        """Where `tx_hash` is, among the blocks after number `since` on the best chain (or the
        chain ending at `head`): (block hash, block number, index), or None."""
        with self.conn.lock:
            block_hash = head if head is not None else self._head()[0]
            while True:
                block = self._block(block_hash)
                if block.number <= since:
                    return None
                if tx_hash in block.extrinsics:
                    return block_hash, block.number, block.extrinsics.index(tx_hash)
                if block.number == 0:
                    return None
                block_hash = block.parent

    def receipt(
        self, what: str, tx_hash: str, where: tuple[str, int, int], nonce: int | None = None
    ) -> Receipt:
        """The receipt of the included extrinsic at `where` (block hash, number, index);
        raises `ExtrinsicFailed` when its call failed."""
        return read_receipt(self.conn, what, tx_hash, where, nonce)

    # -- signing and sending ------------------------------------------------------------------

    def _era(self, substrate: SubstrateInterface) -> _Era:
        """The era's birth block: the finalized block, or the best one when finality lags by
        more than a quarter of the period.

        One birth serves many transactions: it is reused while it is recent (seen less than
        a quarter of the period behind the best block, and chosen less than
        `_ERA_REUSE_SECONDS` ago), so back-to-back transactions do not pay three round trips
        each for it. A chain moved on by someone else makes the pool refuse the old birth
        (`_era_refused`), and the transaction is signed again with a new one.
        """
        era = self._cached_era
        if (
            era is not None
            and time.monotonic() - era.chosen_at < _ERA_REUSE_SECONDS
            and self._best_seen - era.birth <= self.era_period // _FINALITY_LAG_SHARE
        ):
            self._era_reused = True
            return era
        self._era_reused = False
        best_hash = str(substrate.rpc_request("chain_getBlockHash", [])["result"])
        best = int(substrate.rpc_request("chain_getHeader", [best_hash])["result"]["number"], 16)
        finalized_hash = str(substrate.rpc_request("chain_getFinalizedHead", [])["result"])
        finalized = best
        if finalized_hash != best_hash:
            header = substrate.rpc_request("chain_getHeader", [finalized_hash])["result"]
            finalized = int(header["number"], 16) if header else -1
        self._best_seen = max(self._best_seen, best)
        if finalized >= 0 and best - finalized <= self.era_period // _FINALITY_LAG_SHARE:
            era = _Era(finalized, finalized_hash, time.monotonic())
        else:
            era = _Era(best, best_hash, time.monotonic())
        self._cached_era = era
        return era

    def _sign(
        self, signer: Keypair, pallet: str, call: str, params: dict[str, Any], nonce: int
    ) -> tuple[GenericExtrinsic, int]:
        def build(substrate: SubstrateInterface) -> tuple[GenericExtrinsic, int]:
            composed = substrate.compose_call(
                call_module=pallet, call_function=call, call_params=params
            )
            era = self._era(substrate)
            pinned = getattr(substrate, "pinned_hashes", None)
            if isinstance(pinned, dict):
                # With a period of 64 the era's birth is the block itself (no quantizing),
                # so its hash is the one just read.
                pinned.clear()
                pinned[era.birth] = era.block_hash
            extrinsic = substrate.create_signed_extrinsic(
                call=composed,
                keypair=signer,
                era={"period": self.era_period, "current": era.birth},
                nonce=nonce,
            )
            return extrinsic, era.birth

        return self.conn.read(build)

    def _throttle(self, address: str) -> None:
        """Wait while `max_pending` transactions of `address` are sent and not included."""
        deadline = time.monotonic() + self.inclusion_timeout
        delay = _POLL_FIRST
        while True:
            upcoming = self.nonces.peek(address)
            if (
                upcoming is None
                or upcoming - self._included_nonce.get(address, 0) < self.max_pending
            ):
                return
            if upcoming - self.account_nonce(address) < self.max_pending:
                return
            if time.monotonic() >= deadline:
                raise ChainError(
                    f"{self.max_pending} transactions of {address} are waiting for inclusion "
                    f"and the chain included none for {self.inclusion_timeout:g} s",
                    hint="is the chain producing blocks?",
                )
            time.sleep(delay)
            delay = min(delay * 1.5, _POLL_MAX)

    def submit_nowait(
        self, signer: Keypair, pallet: str, call: str, params: dict[str, Any]
    ) -> PendingExtrinsic:
        """Sign with the account's next nonce and a mortal era, send, and return once the
        chain's pool accepted it."""
        return self._submit(signer, pallet, call, params, settle_unclear=False)

    def submit(
        self,
        signer: Keypair,
        pallet: str,
        call: str,
        params: dict[str, Any],
        *,
        timeout: float | None = None,
    ) -> Receipt:
        """Sign, send and wait for inclusion."""
        pending = self._submit(signer, pallet, call, params, settle_unclear=True)
        return pending.wait(timeout)

    def _submit(
        self,
        signer: Keypair,
        pallet: str,
        call: str,
        params: dict[str, Any],
        *,
        settle_unclear: bool,
    ) -> PendingExtrinsic:
        address = str(signer.ss58_address)
        what = f"{pallet}.{call}"
        with self.conn.lock:
            for attempt in (1, 2):
                self._throttle(address)
                nonce = self.nonces.take(address, lambda: self.next_index(address))
                try:
                    extrinsic, birth = self._sign(signer, pallet, call, params, nonce)
                except BaseException:
                    self.nonces.give_back(address, nonce)
                    raise
                tx_hash = "0x" + bytes(extrinsic.extrinsic_hash).hex()
                pending = PendingExtrinsic(
                    extrinsic_hash=tx_hash,
                    pallet=pallet,
                    call=call,
                    signer=address,
                    nonce=nonce,
                    birth=birth,
                    valid_until=birth + self.era_period - 1,
                    _sender=self,
                )
                try:
                    return self._send(pending, str(extrinsic.data), settle_unclear)
                except SubstrateRequestException as exc:
                    if self._era_reused and _era_refused(exc) and attempt == 1:
                        # Nothing was queued: the chain moved past the reused birth block.
                        log.info("%s: era birth %d refused (%s); renewing", what, birth, exc)
                        self._cached_era = None
                        self.nonces.give_back(address, nonce)
                        continue
                    stale = _nonce_refused(exc)
                    if stale:
                        self.nonces.forget(address)
                    else:
                        self.nonces.give_back(address, nonce)
                    if stale and attempt == 1:
                        # Refused by the pool, so nothing was queued: sign anew with the
                        # chain's nonce (another program used this account).
                        log.info("%s: nonce %d refused (%s); resyncing", what, nonce, exc)
                        continue
                    raise rejection(exc) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _send(self, pending: PendingExtrinsic, data: str, settle_unclear: bool) -> PendingExtrinsic:
        what = f"{pending.pallet}.{pending.call}"
        try:
            try:
                request = self.conn.send("author_submitExtrinsic", [data])
            except SendFailed:
                # Nothing was written: open a new connection and write it there.
                self.conn.reconnect()
                request = self.conn.send("author_submitExtrinsic", [data])
        except (SendFailed, ChainUnavailable) as exc:
            self.nonces.give_back(pending.signer, pending.nonce)
            if isinstance(exc, ChainUnavailable):
                raise
            raise self.conn.unavailable(exc.__cause__ or exc) from exc
        try:
            answer = self.conn.answer(request)
        except NoAnswer as lost:
            return self._unclear(pending, lost.cause, settle_unclear)
        if answer != pending.extrinsic_hash:
            log.warning(
                "%s: the chain names it %s, we computed %s", what, answer, pending.extrinsic_hash
            )
        return pending

    def _unclear(
        self, pending: PendingExtrinsic, cause: BaseException, settle_unclear: bool
    ) -> PendingExtrinsic:
        """The transaction was written and its answer never came: find out, without sending it
        again, whether the chain has it."""
        what = f"{pending.pallet}.{pending.call}"
        self.nonces.forget(pending.signer)
        if is_timeout(cause):
            # A silent chain would keep a new connection waiting just as long.
            raise self._unknown(pending, f"the chain did not answer within {self.conn.timeout:g} s")
        try:
            self.conn.reconnect()
            if self.find(pending.extrinsic_hash, pending.birth) is not None:
                return pending
            pool = self.conn.rpc("author_pendingExtrinsics", []) or []
            if any(_hash_hex(x) == pending.extrinsic_hash for x in pool):
                return pending
        except (ChainUnavailable, ChainError) as exc:
            raise self._unknown(pending, f"the connection was lost ({cause}): {exc}") from exc
        if settle_unclear:
            log.info("%s: sent, the connection dropped; waiting to see if it lands", what)
            return pending
        raise self._unknown(pending, f"the connection was lost ({cause}) and it is not seen yet")

    def _unknown(self, pending: PendingExtrinsic, why: str) -> OutcomeUnknown:
        return OutcomeUnknown(
            f"{pending.pallet}.{pending.call} was sent as {pending.extrinsic_hash} (nonce "
            f"{pending.nonce}), but whether it is included cannot be told: {why}",
            address=self.conn.url,
            tx_hash=pending.extrinsic_hash,
            valid_until=pending.valid_until,
            pending=pending,
            hint=(
                f"do not send it again blindly: look for {pending.extrinsic_hash} in blocks "
                f"{pending.birth + 1} to {pending.valid_until}; after block "
                f"{pending.valid_until} it can no longer be included"
            ),
        )

    # -- waiting ------------------------------------------------------------------------------

    def poll(self, pending: PendingExtrinsic) -> Receipt | None:
        """One look: the receipt, None while it may still be included, or raise."""
        outcome = pending._outcome
        if isinstance(outcome, BaseException):
            raise outcome
        if outcome is not None:
            return outcome
        what = f"{pending.pallet}.{pending.call}"
        with self.conn.lock:
            head, number = self._head()
            if head == pending._checked_head:
                return None
            where = self.find(pending.extrinsic_hash, pending.birth, head)
            if where is not None:
                try:
                    return pending._settle(
                        self.receipt(what, pending.extrinsic_hash, where, pending.nonce)
                    )
                except ExtrinsicFailed as failed:
                    pending._settle(failed)
            reason = None
            if number >= pending.valid_until:
                reason = "expired"
            elif self.account_nonce(pending.signer, head) > pending.nonce:
                reason = "nonce used"
            if reason is not None:
                self.nonces.forget(pending.signer)
                why = (
                    f"its era ended at block {pending.valid_until}"
                    if reason == "expired"
                    else f"another transaction of {pending.signer} used nonce {pending.nonce}"
                )
                pending._settle(
                    TransactionDropped(
                        f"{what} ({pending.extrinsic_hash}) was not included and never will "
                        f"be: {why}",
                        tx_hash=pending.extrinsic_hash,
                        reason=reason,
                        hint="nothing it asked for happened; it is safe to send it again",
                    )
                )
            pending._checked_head = head
            return None

    def wait(self, pending: PendingExtrinsic, timeout: float | None = None) -> Receipt:
        seconds = self.inclusion_timeout if timeout is None else timeout
        deadline = time.monotonic() + seconds
        delay = _POLL_FIRST
        while True:
            try:
                receipt = self.poll(pending)
            except OutcomeUnknown:
                raise
            except ChainUnavailable as exc:
                self.nonces.forget(pending.signer)
                raise self._unknown(pending, f"the chain stopped answering: {exc}") from exc
            if receipt is not None:
                return receipt
            left = deadline - time.monotonic()
            if left <= 0:
                self.nonces.forget(pending.signer)
                raise self._unknown(
                    pending,
                    f"not included after {seconds:g} s; it can still be included until block "
                    f"{pending.valid_until}",
                )
            time.sleep(min(delay, left))
            delay = min(delay * _POLL_GROWTH, _POLL_MAX)


def _era_refused(exc: SubstrateRequestException) -> bool:
    """Whether the pool may have refused a transaction for its era's birth block: too old
    (``AncientBirthBlock``), or, once the chain moved a whole period past it, resolved by the
    runtime to another block of the same phase, whose hash the signature does not cover
    (``BadProof``: Chopsticks names it so, a Substrate node says "Transaction has a bad
    signature"). Nothing was queued, so it can be signed again with a new birth."""
    message = rpc_message(exc).lower().replace(" ", "").replace("_", "")
    return "ancientbirth" in message or "badproof" in message or "badsignature" in message


def _nonce_refused(exc: SubstrateRequestException) -> bool:
    """Whether the pool refused a transaction for its nonce: already used (stale), or taken by
    another transaction waiting in the pool (priority too low)."""
    code = rpc_code(exc)
    message = rpc_message(exc).lower()
    if code == POOL_PRIORITY_TOO_LOW or "priority is too low" in message:
        return True
    return (code == POOL_INVALID or "invalid transaction" in message) and (
        "stale" in message or "outdated" in message
    )
