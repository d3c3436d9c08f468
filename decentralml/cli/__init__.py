"""The ``decentralml`` command line: parse, call the library, render. Nothing else."""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from decentralml import __version__

# Subcommands are imported only when used, so ``decentralml --help`` stays fast and never
# imports heavy dependencies.
_LAZY_COMMANDS: dict[str, tuple[str, str]] = {
    "account": ("decentralml.cli.commands.account", "account"),
    "devnet": ("decentralml.cli.commands.devnet", "devnet"),
    "assets": ("decentralml.cli.commands.assets", "assets"),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in _LAZY_COMMANDS:
            module_name, attr = _LAZY_COMMANDS[cmd_name]
            command = getattr(importlib.import_module(module_name), attr)
            assert isinstance(command, click.Command)
            return command
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="decentralml")
def cli() -> None:
    """decentralml: a marketplace for machine-learning work on a Substrate chain and IPFS."""


def main(argv: list[str] | None = None) -> Any:
    return cli.main(args=argv if argv is not None else sys.argv[1:], prog_name="decentralml")
