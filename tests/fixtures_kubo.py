"""Kubo daemon fixtures (see tests/conftest.py).

`kubo` is one real, offline Kubo daemon for the whole session, on free loopback ports, with
its repository in a temporary directory. The pinned binary is built on first use (minutes,
once); without Go the integration tests skip and say why.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from decentralml.devnet.kubo import KuboDaemon, kubo_binary, start_kubo, stop_kubo
from decentralml.errors import DevnetError


def free_port() -> int:
    """A loopback TCP port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def kubo_bin() -> Path:
    """The pinned `ipfs` binary, built if missing; skips the test when that is impossible."""
    try:
        return kubo_binary(install=True)
    except DevnetError as exc:
        pytest.skip(f"no Kubo binary: {exc.message}")


def launch_kubo(root: Path) -> KuboDaemon:
    """Start a fresh daemon with its repository and log under `root`."""
    return start_kubo(
        root / "repo",
        api_port=free_port(),
        gateway_port=free_port(),
        log_path=root / "kubo.log",
    )


@pytest.fixture(scope="session")
def kubo(kubo_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[KuboDaemon]:
    """One real Kubo daemon for the session; stopped at the end."""
    daemon = launch_kubo(tmp_path_factory.mktemp("kubo"))
    try:
        yield daemon
    finally:
        stop_kubo(daemon.pid)
