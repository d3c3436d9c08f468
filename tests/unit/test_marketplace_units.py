"""Amounts in tokens and durations in blocks."""

from __future__ import annotations

import pytest

from decentralml.errors import InvalidInput
from decentralml.marketplace import format_amount, format_seconds, parse_amount, parse_duration


@pytest.mark.parametrize(
    ("text", "planck"),
    [
        ("1.5", 1_500_000_000_000),
        ("0.01", 10_000_000_000),
        ("2", 2 * 10**12),
        (".5", 500_000_000_000),
        ("3.", 3 * 10**12),
        ("1_000", 1000 * 10**12),
        ("0.000000000001", 1),
        ("2 DML", 2 * 10**12),
        ("2dml", 2 * 10**12),
        (7, 7 * 10**12),
    ],
)
def test_parse_amount(text: str | int, planck: int) -> None:
    assert parse_amount(text, decimals=12, symbol="DML") == planck


@pytest.mark.parametrize(
    "text", ["", "abc", "-1", "1.5x", "1.2.3", "0.0000000000001", "2 DOT", "1e3", "."]
)
def test_parse_amount_refuses(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_amount(text, decimals=12, symbol="DML")


def test_format_amount_is_exact() -> None:
    assert format_amount(1_500_000_000_000, decimals=12, symbol="DML") == "1.5 DML"
    assert format_amount(1, decimals=12) == "0.000000000001"
    assert format_amount(-2 * 10**15, decimals=12, symbol="DML") == "-2,000 DML"
    assert parse_amount(format_amount(123_456_789, decimals=12), decimals=12) == 123_456_789


@pytest.mark.parametrize(
    ("text", "blocks"),
    [
        ("600", 600),
        (600, 600),
        ("10 blocks", 10),
        ("30m", 300),
        ("2h", 1200),
        ("1d", 14400),
        ("1w", 100800),
        ("90s", 15),
        ("7s", 2),  # rounded up
        ("0.5h", 300),
    ],
)
def test_parse_duration_with_six_second_blocks(text: str | int, blocks: int) -> None:
    assert parse_duration(text, block_time_ms=6000) == blocks


def test_duration_follows_the_block_time() -> None:
    assert parse_duration("1h", block_time_ms=12000) == 300
    assert parse_duration("1h", block_time_ms=2000) == 1800


@pytest.mark.parametrize("text", ["", "0", "2y", "-5", "1.5", "h", "0s", "soon"])
def test_parse_duration_refuses(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_duration(text, block_time_ms=6000)


def test_format_seconds() -> None:
    assert format_seconds(24) == "24s"
    assert format_seconds(5400) == "1h 30m"
    assert format_seconds(90000) == "1d 1h"
