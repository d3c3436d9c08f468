"""Amounts in human units and durations in blocks.

Amounts are typed as the chain's token (``1.5`` with 12 decimals is ``1_500_000_000_000``
planck) and stored as integers; nothing goes through a float. Durations are either a bare
number of blocks or a number with a unit (``30m``, ``2h``, ``1d``), turned into blocks with
the runtime's ``ExpectedBlockTime`` constant, never from timestamps.
"""

from __future__ import annotations

import re
from decimal import ROUND_CEILING, Decimal, InvalidOperation

from decentralml.errors import InvalidInput

__all__ = ["blocks_to_seconds", "format_amount", "format_seconds", "parse_amount", "parse_duration"]

_AMOUNT_RE = re.compile(r"^\s*(\d+(?:_\d+)*)?(?:\.(\d*))?\s*([A-Za-z]*)\s*$")
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")
_UNIT_SECONDS = {
    "s": 1,
    "sec": 1,
    "m": 60,
    "min": 60,
    "h": 3600,
    "d": 86400,
    "w": 7 * 86400,
}


def parse_amount(text: str | int, *, decimals: int, symbol: str | None = None) -> int:
    """The planck value of an amount typed in tokens: ``"1.5"``, ``"0.01"``, ``"2 DML"``.

    Parameters
    ----------
    text:
        The amount in tokens; an ``int`` is taken as tokens too. A trailing symbol is allowed
        when it is the chain's.
    decimals:
        The token's decimals (the chain's properties).
    symbol:
        The token's symbol, accepted after the number.

    Raises
    ------
    InvalidInput
        Not a number, negative, more fractional digits than the token has, or another symbol.
    """
    if isinstance(text, int) and not isinstance(text, bool):
        if text < 0:
            raise InvalidInput(f"an amount cannot be negative: {text}")
        return text * 10**decimals
    raw = str(text)
    match = _AMOUNT_RE.match(raw)
    if not match or (match[1] is None and not match[2]):
        raise InvalidInput(f"not an amount: {raw!r}", hint="give it in tokens, e.g. 1.5 or 0.01")
    whole, fraction, unit = (match[1] or "0").replace("_", ""), match[2] or "", match[3]
    if unit and (symbol is None or unit.upper() != symbol.upper()):
        raise InvalidInput(
            f"unknown unit in amount {raw!r}",
            hint=f"give the amount in {symbol or 'tokens'}, e.g. 1.5",
        )
    fraction = fraction.rstrip("0")
    if len(fraction) > decimals:
        raise InvalidInput(
            f"{raw!r} has more than {decimals} decimal places",
            hint=f"the token has {decimals} decimals",
        )
    return int(whole) * 10**decimals + (int(fraction.ljust(decimals, "0")) if fraction else 0)


def format_amount(planck: int, *, decimals: int, symbol: str = "") -> str:
    """``1_500_000_000_000`` with 12 decimals as ``"1.5 DML"`` (exact, no float)."""
    sign = "-" if planck < 0 else ""
    whole, fraction = divmod(abs(planck), 10**decimals) if decimals else (abs(planck), 0)
    text = f"{sign}{whole:,}"
    if fraction:
        text += "." + str(fraction).rjust(decimals, "0").rstrip("0")
    return f"{text} {symbol}".rstrip()


def parse_duration(text: str | int, *, block_time_ms: int) -> int:
    """A number of blocks: a bare number is blocks; ``30m``, ``2h``, ``1d``, ``1w`` or
    ``90s`` are converted with the block time and rounded up (at least one block).

    Raises
    ------
    InvalidInput
        Not a number of blocks or a duration, or zero.
    """
    if block_time_ms <= 0:
        raise ValueError("block_time_ms must be positive")
    if isinstance(text, int) and not isinstance(text, bool):
        blocks = text
    else:
        raw = str(text)
        match = _DURATION_RE.match(raw)
        unit = match[2].lower() if match else ""
        if not match or (unit and unit not in _UNIT_SECONDS and unit not in ("b", "blocks")):
            raise InvalidInput(
                f"not a number of blocks or a duration: {raw!r}",
                hint="give blocks (600) or a duration (30m, 2h, 1d)",
            )
        try:
            number = Decimal(match[1])
        except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
            raise InvalidInput(f"not a number: {raw!r}") from None
        if unit in ("", "b", "blocks"):
            if number != number.to_integral_value():
                raise InvalidInput(f"a number of blocks must be whole: {raw!r}")
            blocks = int(number)
        else:
            millis = number * _UNIT_SECONDS[unit] * 1000
            blocks = int((millis / block_time_ms).to_integral_value(rounding=ROUND_CEILING))
    if blocks <= 0:
        raise InvalidInput(f"a duration must be at least one block, got {text!r}")
    return blocks


def blocks_to_seconds(blocks: int, *, block_time_ms: int) -> int:
    """About how many seconds `blocks` blocks take at the expected block time."""
    return blocks * block_time_ms // 1000


def format_seconds(seconds: int) -> str:
    """``5400`` as ``"1h 30m"``; rough, for display next to block numbers."""
    if seconds < 60:
        return f"{max(seconds, 0)}s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        value, seconds = divmod(seconds, size)
        if value:
            parts.append(f"{value}{unit}")
    return " ".join(parts[:2])
