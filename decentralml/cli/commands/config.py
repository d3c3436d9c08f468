"""`decentralml config show|set`: the settings in effect and where each comes from."""

from __future__ import annotations

import json
from dataclasses import fields

import click
from rich.console import Console
from rich.table import Table

from decentralml.cli._market import ConfigDoc, emit
from decentralml.cli.context import AppContext, common_options
from decentralml.config import (
    Settings,
    config_file,
    load_config_file,
    parse_engine,
    resolve_settings,
)
from decentralml.errors import ConfigError

_KEYS = sorted(f.name for f in fields(Settings) if f.name not in ("sources", "json", "yes"))


def _document(schema: str) -> ConfigDoc:
    settings = resolve_settings({})
    values = {key: getattr(settings, key) for key in _KEYS}
    sources = {key: settings.sources.get(key, "default") for key in _KEYS}
    return ConfigDoc(schema=schema, file=str(config_file()), settings=values, sources=sources)  # type: ignore[arg-type]


def _render(doc: ConfigDoc) -> object:
    def render(console: Console) -> None:
        table = Table(title=f"Settings ({doc.file})", title_justify="left")
        for column in ("key", "value", "from"):
            table.add_column(column)
        for key in _KEYS:
            table.add_row(key, str(doc.settings[key]), doc.sources[key])
        console.print(table)

    return render


@click.group()
def config() -> None:
    """Show or change the settings in the config file."""


@config.command()
@common_options
def show(app: AppContext) -> None:
    """Show the settings in effect and where each comes from (flag, env, config, default)."""
    doc = _document("decentralml.config.show/v1")
    emit(app, "config.show", doc, _render(doc))


@config.command("set")
@click.argument("key", type=click.Choice(_KEYS))
@click.argument("value")
@common_options
def set_(app: AppContext, key: str, value: str) -> None:
    """Write KEY = VALUE into the config file."""
    data = load_config_file()
    if key == "ipfs_timeout":
        try:
            data[key] = float(value)
        except ValueError:
            raise ConfigError(f"ipfs_timeout must be a number of seconds, got {value!r}") from None
    elif key == "devnet_engine":
        # Checked before writing: a bad value in the file would break every command.
        data[key] = parse_engine(key, value, "value")
    else:
        data[key] = value
    path = config_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"{k} = {json.dumps(v)}" for k, v in sorted(data.items())]
    path.write_text("\n".join(lines) + "\n")
    doc = _document("decentralml.config.set/v1")
    emit(app, "config.set", doc, _render(doc))
