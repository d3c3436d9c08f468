"""Where a devnet keeps its files, and the record of what `up` started (``devnet.json``)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from decentralml.config import DEVNET_ENGINES, data_dir
from decentralml.devnet._process import LockHolder, file_lock, lock_holder

logger = logging.getLogger(__name__)

STATE_VERSION = 1
# The engine names are the settings' (`devnet_engine`): one list for flags, config and records.
ENGINES = DEVNET_ENGINES
ENGINE_CHOPSTICKS, ENGINE_OMNI_NODE = ENGINES


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
    def lock_file(self) -> Path:
        return self.root / ".lock"

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
    def omni_node_base(self) -> Path:
        """polkadot-omni-node's base path: its database and keystore."""
        return self.root / "omni-node"

    @property
    def omni_node_log(self) -> Path:
        return self.root / "logs" / "omni-node.log"

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
    # Records written before there was a choice of engine are Chopsticks'.
    engine: str = ENGINE_CHOPSTICKS
    binary: str | None = None
    version: str | None = None
    # omni-node only: None seals a block per transaction, else one every so many ms.
    block_time_ms: int | None = None


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
def locked(
    paths: DevnetPaths,
    *,
    label: str,
    timeout: float | None = None,
    on_wait: Callable[[LockHolder], None] | None = None,
) -> Iterator[None]:
    """Serialise `up` and `down` on one devnet directory; `label` says which one holds it."""
    with file_lock(paths.lock_file, label=label, timeout=timeout, on_wait=on_wait):
        yield


def holder(paths: DevnetPaths) -> LockHolder | None:
    """The `up` or `down` now holding the devnet's lock (other than this process), if any."""
    found = lock_holder(paths.lock_file)
    if found is None or found.pid == os.getpid():
        return None
    return found


def read_meta(paths: DevnetPaths) -> dict[str, Any]:
    """What ``chain.meta.json`` says about the database (empty when missing or unreadable)."""
    try:
        data = json.loads(paths.db_meta.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_meta(paths: DevnetPaths, meta: dict[str, Any]) -> None:
    tmp = paths.db_meta.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(meta) + "\n")
    os.replace(tmp, paths.db_meta)


def _connect_ro(db: Path, timeout: float) -> sqlite3.Connection:
    return sqlite3.connect(db.resolve().as_uri() + "?mode=ro", uri=True, timeout=timeout)


def database_damage(db: Path) -> str | None:
    """Why the chain's database cannot be used, or None when it can (or does not exist).

    A quick structural check of the whole file, so that damage is found before Chopsticks
    starts on it rather than as I/O errors from a half-working chain.
    """
    if not db.is_file() or db.stat().st_size == 0:
        return None
    try:
        with contextlib.closing(_connect_ro(db, 5.0)) as conn:
            rows = conn.execute("PRAGMA quick_check(5)").fetchall()
            problems = [str(row[0]) for row in rows if row[0] != "ok"]
            if not problems:
                conn.execute("SELECT MAX(number) FROM block").fetchone()
    except sqlite3.Error as exc:
        return str(exc)
    if problems:
        return problems[0].splitlines()[-1] if problems[0].startswith("***") else problems[0]
    return None


@dataclass(frozen=True)
class StoredBlock:
    """A block as the chain's database holds it."""

    number: int
    hash: str
    parent_hash: str | None
    storage_diff: dict[str, str | None]


def stored_block(db: Path, number: int) -> StoredBlock | None:
    """Block `number` from the chain's database, or None."""
    if not db.is_file():
        return None
    try:
        with contextlib.closing(_connect_ro(db, 5.0)) as conn:
            row = conn.execute(
                'SELECT hash, "parentHash", "storageDiff" FROM block WHERE number = ?', (number,)
            ).fetchone()
    except sqlite3.Error:
        return None
    if row is None:
        return None
    try:
        diff = json.loads(row[2]) if row[2] else {}
    except ValueError:
        diff = {}
    return StoredBlock(number=number, hash=row[0], parent_hash=row[1], storage_diff=diff)


def saved_height(db: Path) -> int | None:
    """The highest block saved in the chain's database, or None if it holds none."""
    if not db.is_file():
        return None
    try:
        with contextlib.closing(_connect_ro(db, 5.0)) as conn:
            row = conn.execute("SELECT MAX(number) FROM block").fetchone()
    except sqlite3.Error:
        return None
    return None if row is None or row[0] is None else int(row[0])


def block_saved(db: Path, block_hash: str) -> bool:
    """Whether the chain's database holds the block `block_hash`."""
    try:
        with contextlib.closing(_connect_ro(db, 1.0)) as conn:
            row = conn.execute("SELECT 1 FROM block WHERE hash = ?", (block_hash,)).fetchone()
    except sqlite3.Error:
        return False
    return row is not None
