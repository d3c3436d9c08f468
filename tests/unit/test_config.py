"""Settings come from flags, then DECENTRALML_* variables, then the config file, then defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from decentralml.config import config_file, resolve_settings
from decentralml.errors import ConfigError


def write_config(text: str) -> Path:
    path = config_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_defaults_point_at_the_local_devnet() -> None:
    settings = resolve_settings({}, environ={})
    assert settings.url == "ws://127.0.0.1:9944"
    assert settings.ipfs_api == "http://127.0.0.1:5001"
    assert settings.account is None
    assert settings.json is False and settings.yes is False
    assert settings.sources == {}


def test_flag_beats_env_beats_file() -> None:
    write_config('url = "ws://file:1"\naccount = "//Charlie"\nipfs_api = "http://file:5001"\n')
    env = {"DECENTRALML_URL": "ws://env:2", "DECENTRALML_ACCOUNT": "//Bob"}
    settings = resolve_settings({"url": "ws://flag:3"}, environ=env)
    assert settings.url == "ws://flag:3"
    assert settings.account == "//Bob"
    assert settings.ipfs_api == "http://file:5001"
    assert settings.sources == {"url": "flag", "account": "env", "ipfs_api": "config"}


@pytest.mark.parametrize(
    ("raw", "expected"), [("1", True), ("true", True), ("0", False), ("", False)]
)
def test_boolean_variables(raw: str, expected: bool) -> None:
    assert resolve_settings({}, environ={"DECENTRALML_JSON": raw}).json is expected


def test_bad_boolean_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="json must be true or false"):
        resolve_settings({}, environ={"DECENTRALML_JSON": "maybe"})


def test_unknown_config_key_is_named() -> None:
    path = write_config('urll = "ws://typo"\n')
    with pytest.raises(ConfigError) as err:
        resolve_settings({}, environ={})
    assert "urll" in err.value.message and str(path) in err.value.message


def test_malformed_config_file_is_a_config_error() -> None:
    write_config("url = \n")
    with pytest.raises(ConfigError, match="cannot read config file"):
        resolve_settings({}, environ={})


def test_ipfs_timeout_from_env_and_file() -> None:
    assert resolve_settings({}, environ={}).ipfs_timeout == 60.0
    write_config("ipfs_timeout = 5\n")
    assert resolve_settings({}, environ={}).ipfs_timeout == 5.0
    env = {"DECENTRALML_IPFS_TIMEOUT": "2.5"}
    assert resolve_settings({}, environ=env).ipfs_timeout == 2.5


@pytest.mark.parametrize("raw", ["soon", "0", "-1", "inf", "nan"])
def test_bad_ipfs_timeout_is_a_config_error(raw: str) -> None:
    with pytest.raises(ConfigError, match="ipfs_timeout must be a positive number of seconds"):
        resolve_settings({}, environ={"DECENTRALML_IPFS_TIMEOUT": raw})


def test_chain_timeout_from_env_and_file() -> None:
    assert resolve_settings({}, environ={}).chain_timeout == 30.0
    write_config("chain_timeout = 5\n")
    assert resolve_settings({}, environ={}).chain_timeout == 5.0
    env = {"DECENTRALML_CHAIN_TIMEOUT": "0.5"}
    assert resolve_settings({}, environ=env).chain_timeout == 0.5
    with pytest.raises(ConfigError, match="chain_timeout must be a positive number of seconds"):
        resolve_settings({}, environ={"DECENTRALML_CHAIN_TIMEOUT": "0"})
