"""Write docs/cli.md from the click commands: every command's usage, help and options.

`tests/unit/test_cli_docs.py` fails when docs/cli.md is stale. Run:
`.venv/bin/python scripts/gen_cli_docs.py`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from decentralml.cli import cli

# As the root group sets them, so the output does not depend on what ran before.
HELP = ["-h", "--help"]
DOC = Path(__file__).resolve().parent.parent / "docs" / "cli.md"

HEADER = """# CLI reference

Generated from the commands by `scripts/gen_cli_docs.py`; do not edit by hand.

Every command takes the common options `--json` (one JSON document on stdout, with a
`schema` field naming its JSON Schema in `decentralml/schemas/`), `--yes`, `--account`,
`--url` and `--ipfs-api`. Exit codes: 0 done, 1 a failure you can fix (bad input, refused by
the chain), 2 usage, 3 a service could not be reached.
"""


def _walk(command: click.Command, path: list[str]) -> list[tuple[list[str], click.Command]]:
    found = [(path, command)]
    if isinstance(command, click.Group):
        ctx = click.Context(command, info_name=path[-1], help_option_names=HELP)
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                found.extend(_walk(sub, [*path, name]))
    return found


def _section(path: list[str], command: click.Command) -> str:
    ctx = click.Context(command, info_name=" ".join(path), help_option_names=HELP)
    formatter = ctx.make_formatter()
    formatter.width = 100
    command.format_help(ctx, formatter)
    title = "#" * min(len(path), 4) + " `" + " ".join(path) + "`"
    return f"{title}\n\n```text\n{formatter.getvalue().rstrip()}\n```\n"


def render() -> str:
    sections = [_section(p, c) for p, c in _walk(cli, ["decentralml"]) if len(p) > 1]
    return HEADER + "\n" + "\n".join(sections)


def main() -> int:
    DOC.write_text(render())
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
