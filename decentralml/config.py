"""Settings resolution: flags, then `DECENTRALML_*` variables, then the config file, then defaults.

The config file is TOML at ``<user config dir>/decentralml/config.toml`` (or the file named by
``DECENTRALML_CONFIG``)::

    url = "ws://127.0.0.1:9944"
    ipfs_api = "http://127.0.0.1:5001"
    account = "//Alice"
    ipfs_timeout = 60      # seconds to wait for the IPFS daemon and for content
    chain_timeout = 30     # seconds to wait for any one answer from the chain
    devnet_engine = "chopsticks"   # or "omni-node": what `devnet up` runs the chain on
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import platformdirs

from decentralml.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ENV_PREFIX = "DECENTRALML_"
DEFAULT_RPC_PORT = 9944
DEFAULT_IPFS_API_PORT = 5001
DEFAULT_IPFS_GATEWAY_PORT = 8080


def config_dir() -> Path:
    """The user's decentralml config directory."""
    override = os.environ.get(ENV_PREFIX + "CONFIG_DIR")
    return Path(override) if override else Path(platformdirs.user_config_dir("decentralml"))


def data_dir() -> Path:
    """The user's decentralml data directory (devnet state, logs, installed tools)."""
    override = os.environ.get(ENV_PREFIX + "DATA_DIR")
    return Path(override) if override else Path(platformdirs.user_data_dir("decentralml"))


def cache_dir() -> Path:
    """Where tools decentralml installs for itself (Chopsticks, Kubo) are kept."""
    override = os.environ.get(ENV_PREFIX + "CACHE_DIR")
    return Path(override) if override else Path(platformdirs.user_cache_dir("decentralml"))


def config_file() -> Path:
    override = os.environ.get(ENV_PREFIX + "CONFIG")
    return Path(override) if override else config_dir() / "config.toml"


@dataclass(frozen=True)
class Settings:
    """Resolved settings shared by every command."""

    url: str = f"ws://127.0.0.1:{DEFAULT_RPC_PORT}"
    ipfs_api: str = f"http://127.0.0.1:{DEFAULT_IPFS_API_PORT}"
    account: str | None = None
    ipfs_timeout: float = 60.0
    chain_timeout: float = 30.0
    devnet_engine: str = "chopsticks"
    json: bool = False
    yes: bool = False
    sources: dict[str, str] = field(default_factory=dict, compare=False)


_BOOL_TRUE = {"1", "true", "yes", "on"}
_BOOL_FALSE = {"0", "false", "no", "off", ""}


def _parse_bool(name: str, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in _BOOL_TRUE:
        return True
    if text in _BOOL_FALSE:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _parse_seconds(name: str, raw: Any) -> float:
    try:
        value = float("nan") if isinstance(raw, bool) else float(raw)
    except (TypeError, ValueError):
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise ConfigError(f"{name} must be a positive number of seconds, got {raw!r}")
    return value


DEVNET_ENGINES = ("chopsticks", "omni-node")


def parse_engine(name: str, raw: Any, source: str) -> str:
    text = str(raw).strip()
    if text not in DEVNET_ENGINES:
        where = {"env": ENV_PREFIX + name.upper(), "config": f"{name} in {config_file()}"}.get(
            source, name
        )
        raise ConfigError(
            f"{where} must be one of {', '.join(DEVNET_ENGINES)}, got {raw!r}",
            hint="chopsticks is the default; omni-node needs scripts/install-omni-node",
        )
    return text


def load_config_file(path: Path | None = None) -> dict[str, Any]:
    """Read the TOML config file; a missing file is an empty config."""
    path = path or config_file()
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(
            f"cannot read config file {path}: {exc}", hint="fix or remove the file"
        ) from exc
    known = {f.name for f in fields(Settings)} - {"sources"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(
            f"unknown key(s) in {path}: {', '.join(unknown)}",
            hint=f"known keys: {', '.join(sorted(known))}",
        )
    return data


def resolve_settings(flags: dict[str, Any], *, environ: dict[str, str] | None = None) -> Settings:
    """Merge flags (None means not given), environment and config file into `Settings`."""
    env = os.environ if environ is None else environ
    file_values = load_config_file()
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for f in fields(Settings):
        if f.name == "sources":
            continue
        env_name = ENV_PREFIX + f.name.upper()
        if flags.get(f.name) is not None:
            raw, source = flags[f.name], "flag"
        elif env_name in env:
            raw, source = env[env_name], "env"
        elif f.name in file_values:
            raw, source = file_values[f.name], "config"
        else:
            continue
        if f.type in ("bool", bool):
            values[f.name] = _parse_bool(f.name, raw)
        elif f.type in ("float", float):
            values[f.name] = _parse_seconds(f.name, raw)
        elif f.name == "devnet_engine":
            values[f.name] = parse_engine(f.name, raw, source)
        else:
            values[f.name] = raw
        sources[f.name] = source
    return Settings(**values, sources=sources)
