"""Where a devnet keeps its files, and the record of what `up` started (``devnet.json``)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from decentralml.config import data_dir
from decentralml.devnet._process import file_lock

logger = logging.getLogger(__name__)

STATE_VERSION = 1


@dataclass(frozen=True)
class DevnetPaths:
    """The files of one devnet, all under `root`."""

    root: Path

    @classmethod
    def default(cls) -> DevnetPaths:
        return cls(data_dir() / "devnet")

    @property
    def state_file(self) -> Path:
        return self.root / "devnet.json"

    @property
    def db(self) -> Path:
        return self.root / "chain.sqlite"

    @property
    def db_meta(self) -> Path:
        return self.root / "chain.meta.json"

    @property
    def chopsticks_config(self) -> Path:
        return self.root / "chopsticks.yml"

    @property
    def ipfs_repo(self) -> Path:
        return self.root / "ipfs"

    @property
    def chopsticks_log(self) -> Path:
        return self.root / "logs" / "chopsticks.log"

    @property
    def kubo_log(self) -> Path:
        return self.root / "logs" / "kubo.log"


@dataclass(frozen=True)
class ChainRecord:
    """The chain process `up` started."""

    pid: int
    start_time: int | None
    port: int
    url: str
    db: str
    log: str
    chain_spec_sha256: str


@dataclass(frozen=True)
class IpfsRecord:
    """The Kubo daemon `up` started."""

    pid: int
    start_time: int | None
    api_url: str
    gateway_url: str
    repo: str
    log: str


@dataclass(frozen=True)
class DevnetState:
    """What `up` started, as recorded in ``devnet.json``."""

    started_at: str
    chain: ChainRecord
    ipfs: IpfsRecord | None = None
    version: int = STATE_VERSION

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DevnetState:
        ipfs = data.get("ipfs")
        return cls(
            started_at=data["started_at"],
            chain=ChainRecord(**data["chain"]),
            ipfs=IpfsRecord(**ipfs) if ipfs else None,
            version=data.get("version", STATE_VERSION),
        )


def read_state(paths: DevnetPaths) -> DevnetState | None:
    """The recorded state, or None when nothing is recorded (or the record is unreadable)."""
    try:
        return DevnetState.from_json(json.loads(paths.state_file.read_text()))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        logger.warning("ignoring unreadable devnet state %s: %s", paths.state_file, exc)
        return None


def write_state(paths: DevnetPaths, state: DevnetState) -> None:
    tmp = paths.state_file.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(state.to_json(), indent=2) + "\n")
    os.replace(tmp, paths.state_file)


@contextlib.contextmanager
def locked(paths: DevnetPaths) -> Iterator[None]:
    """Serialise `up` and `down` on one devnet directory."""
    with file_lock(paths.root / ".lock"):
        yield


def saved_height(db: Path) -> int | None:
    """The highest block saved in the chain's database, or None if it holds none."""
    if not db.is_file():
        return None
    try:
        uri = db.resolve().as_uri() + "?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=5.0)) as conn:
            row = conn.execute("SELECT MAX(number) FROM block").fetchone()
    except sqlite3.Error:
        return None
    return None if row is None or row[0] is None else int(row[0])


def block_saved(db: Path, block_hash: str) -> bool:
    """Whether the chain's database holds the block `block_hash`."""
    try:
        uri = db.resolve().as_uri() + "?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=1.0)) as conn:
            row = conn.execute("SELECT 1 FROM block WHERE hash = ?", (block_hash,)).fetchone()
    except sqlite3.Error:
        return False
    return row is not None
