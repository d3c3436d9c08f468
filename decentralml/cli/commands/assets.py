"""`decentralml assets` commands."""

from __future__ import annotations

import click


@click.group()
def assets() -> None:
    """assets commands."""
