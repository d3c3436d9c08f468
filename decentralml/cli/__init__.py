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
    "config": ("decentralml.cli.commands.config", "config"),
    "create-task": ("decentralml.cli.commands.tasks", "create_task"),
    "list-tasks": ("decentralml.cli.commands.tasks", "list_tasks"),
    "show-task": ("decentralml.cli.commands.tasks", "show_task"),
    "cancel-task": ("decentralml.cli.commands.tasks", "cancel_task"),
    "close-task": ("decentralml.cli.commands.tasks", "close_task"),
    "remove-task": ("decentralml.cli.commands.tasks", "remove_task"),
    "set-validator": ("decentralml.cli.commands.tasks", "set_validator"),
    "assign-task": ("decentralml.cli.commands.work", "assign_task"),
    "run-task": ("decentralml.cli.commands.work", "run_task"),
    "send-result": ("decentralml.cli.commands.work", "send_result"),
    "reveal-result": ("decentralml.cli.commands.work", "reveal_result"),
    "claim-reward": ("decentralml.cli.commands.work", "claim_reward"),
    "release-assignment": ("decentralml.cli.commands.work", "release_assignment"),
    "list-results": ("decentralml.cli.commands.review", "list_results"),
    "accept-result": ("decentralml.cli.commands.review", "accept_result"),
    "reject-result": ("decentralml.cli.commands.review", "reject_result"),
    "validate-results": ("decentralml.cli.commands.validate", "validate_results"),
    "pull-model": ("decentralml.cli.commands.validate", "pull_model"),
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
