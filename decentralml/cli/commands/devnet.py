"""`decentralml devnet` commands."""

from __future__ import annotations

import click


@click.group()
def devnet() -> None:
    """devnet commands."""
