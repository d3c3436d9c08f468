"""Chopsticks, the dev chain: install it (pinned) into the cache directory, start and stop it.

Chopsticks runs the runtime's wasm from the raw chain spec shipped in this package, in
Instant block mode, on 127.0.0.1, with its state in a SQLite database file. It is started as
``node <chopsticks.cjs> -c <config.yml>`` so that the pid we record is the process to stop.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from decentralml.config import cache_dir
from decentralml.devnet import _process
from decentralml.devnet._engine import StartedChain
from decentralml.devnet._metadata import block_height
from decentralml.devnet._rpc import rpc_call, wait_answering
from decentralml.devnet._state import (
    ENGINE_CHOPSTICKS,
    ChainRecord,
    DevnetPaths,
    StoredBlock,
    block_saved,
    database_damage,
    read_meta,
    saved_height,
    stored_block,
)
from decentralml.errors import ChainUnavailable, DevnetError

logger = logging.getLogger(__name__)

CHOPSTICKS_VERSION = "1.5.1"
MIN_NODE_MAJOR = 20
_PACKAGE = "@acala-network/chopsticks"
_BIN = Path("node_modules") / "@acala-network" / "chopsticks" / "chopsticks.cjs"
_LISTENING = re.compile(r"listening on \S*?://[^\s:]+:(\d+)", re.IGNORECASE)
# The hash Chopsticks gives the genesis block of a chain it starts from a chain spec.
GENESIS_HASH = "0x" + "45" * 32
# Chopsticks' block time for our runtime: its Aura slot (the runtime's `SLOT_DURATION`).
# (Chopsticks takes 12 s for a runtime without BABE or Aura, as ours was before spec_version 4.)
DEFAULT_SLOT_MS = 6_000
# The storage key of `Timestamp::Now`: twox128("Timestamp") ++ twox128("Now").
TIMESTAMP_NOW_KEY = "0xf0c365c3cf59d671eb72da0e7a4113c49f1f0515f462cdcf84e0f1d6045dfcbb"
# The storage key of the runtime's wasm, ":code".
CODE_KEY = "0x3a636f6465"

Log = Callable[[str], None]


def _silent(_: str) -> None:
    pass


def install_dir(version: str = CHOPSTICKS_VERSION) -> Path:
    """Where Chopsticks `version` is (or will be) installed."""
    return cache_dir() / "chopsticks" / version


def find_node() -> Path:
    """The ``node`` executable, checked to be recent enough for Chopsticks."""
    found = shutil.which("node")
    if found is None:
        raise DevnetError(
            "Node.js is not installed; the dev chain (Chopsticks) runs on it",
            hint=f"install Node.js {MIN_NODE_MAJOR} or newer (with npm), then retry",
        )
    try:
        out = subprocess.run(
            [found, "--version"], capture_output=True, text=True, timeout=30, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        raise DevnetError(f"cannot run {found} --version: {exc}") from exc
    match = re.match(r"v(\d+)\.", out)
    if match is None or int(match.group(1)) < MIN_NODE_MAJOR:
        raise DevnetError(
            f"Node.js {out or '(unknown version)'} at {found} is too old for Chopsticks",
            hint=f"install Node.js {MIN_NODE_MAJOR} or newer",
        )
    return Path(found)


def chopsticks_bin(*, install: bool = True, log: Log | None = None) -> Path:
    """The path of Chopsticks' entry script, installing Chopsticks first when missing."""
    script = install_dir() / _BIN
    if script.is_file() and (install_dir() / ".complete").is_file():
        return script
    if not install:
        raise DevnetError(
            f"Chopsticks {CHOPSTICKS_VERSION} is not installed in {install_dir()}",
            hint="`decentralml devnet up` installs it (or run scripts/install-chopsticks)",
        )
    return install_chopsticks(log=log)


def _npm_env() -> dict[str, str]:
    env = dict(os.environ)
    node = shutil.which("node")
    # Debian's nodejs ships its headers in /usr/include/node; pointing node-gyp at them lets
    # sqlite3 compile without downloading headers.
    if (
        node
        and Path(node).resolve().parent == Path("/usr/bin")
        and Path("/usr/include/node/common.gypi").is_file()
        and "npm_config_nodedir" not in env
    ):
        env["npm_config_nodedir"] = "/usr"
    env.setdefault("npm_config_update_notifier", "false")
    return env


def install_chopsticks(*, log: Log | None = None, timeout: float = 1800.0) -> Path:
    """Install the pinned Chopsticks with ``npm ci`` from the lockfile shipped in this package.

    Takes a few minutes (it compiles sqlite3, which the state database needs). Returns the
    path of the entry script. The install happens in a temporary directory that is renamed
    into place when complete, so an interrupted install leaves nothing half-done.
    """
    log = log or _silent
    target = install_dir()
    with _process.file_lock(target.parent / f".{CHOPSTICKS_VERSION}.lock"):
        if (target / _BIN).is_file() and (target / ".complete").is_file():
            return target / _BIN
        node = find_node()
        npm = shutil.which("npm")
        if npm is None:
            raise DevnetError(
                "npm is not installed; it is needed once to install Chopsticks",
                hint="install npm (it comes with Node.js), then retry",
            )
        work = Path(tempfile.mkdtemp(prefix=f".{CHOPSTICKS_VERSION}-", dir=target.parent))
        try:
            _copy_package_files(work)
            install_log = work / "install.log"
            log(
                f"Installing Chopsticks {CHOPSTICKS_VERSION} into {target} "
                "(first run only; a few minutes) ..."
            )
            started = time.monotonic()
            _run_logged(
                [npm, "ci", "--no-audit", "--no-fund", "--foreground-scripts"],
                cwd=work,
                log_path=install_log,
                timeout=timeout,
                env=_npm_env(),
                what="npm ci (installing Chopsticks)",
            )
            _check_sqlite(node, work, install_log)
            (work / ".complete").write_text(
                json.dumps({"version": CHOPSTICKS_VERSION, "node": str(node)}) + "\n"
            )
            if target.exists():
                shutil.rmtree(target)
            work.rename(target)
            log(f"Installed Chopsticks {CHOPSTICKS_VERSION} in {time.monotonic() - started:.0f} s.")
        finally:
            if work.exists():
                shutil.rmtree(work, ignore_errors=True)
    return target / _BIN


def _copy_package_files(work: Path) -> None:
    data = resources.files("decentralml.devnet") / "data"
    (work / "package.json").write_bytes((data / "chopsticks-package.json").read_bytes())
    (work / "package-lock.json").write_bytes((data / "chopsticks-package-lock.json").read_bytes())


def _run_logged(
    argv: list[str],
    *,
    cwd: Path,
    log_path: Path,
    timeout: float,
    env: dict[str, str],
    what: str,
) -> None:
    with log_path.open("ab") as out:
        try:
            proc = subprocess.run(
                argv, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=env, timeout=timeout
            )
        except subprocess.TimeoutExpired as exc:
            raise DevnetError(f"{what} did not finish within {timeout:.0f} s") from exc
        except OSError as exc:
            raise DevnetError(f"cannot run {argv[0]}: {exc}") from exc
    if proc.returncode != 0:
        raise DevnetError(
            f"{what} failed (exit {proc.returncode}); last lines of its log:\n"
            + _process.tail(log_path),
            hint="check network access to the npm registry and a C/C++ compiler for sqlite3",
        )


def _check_sqlite(node: Path, work: Path, install_log: Path) -> None:
    """Chopsticks' ``--db`` needs the compiled sqlite3 module; build it if npm skipped it."""
    probe = [str(node), "-e", "require('sqlite3')"]
    if subprocess.run(probe, cwd=work, capture_output=True, timeout=60).returncode == 0:
        return
    npm = shutil.which("npm") or "npm"
    _run_logged(
        [npm, "rebuild", "sqlite3", "--foreground-scripts"],
        cwd=work,
        log_path=install_log,
        timeout=1800,
        env=_npm_env(),
        what="npm rebuild sqlite3",
    )
    if subprocess.run(probe, cwd=work, capture_output=True, timeout=60).returncode != 0:
        raise DevnetError(
            "sqlite3 for Chopsticks did not build, so the devnet cannot keep its state",
            hint=f"see {install_log}; install a C/C++ compiler, make and python3, then retry",
        )


@dataclass(frozen=True)
class ChopsticksProcess:
    """A running Chopsticks: its pid (with start time, against pid reuse), port and files."""

    pid: int
    start_time: int | None
    port: int
    url: str
    log_path: Path
    config_path: Path


def write_genesis(spec: Path, out: Path, *, timestamp_ms: int) -> None:
    """Write the chain spec `spec` to `out` with `Timestamp::Now` set to `timestamp_ms`.

    Chopsticks builds block #1 on top of genesis every time it starts, before it resumes
    from its database, and saving that block replaces the stored block #1. Its timestamp
    is the genesis `Timestamp::Now` plus one slot, or the wall clock when genesis has none;
    so with the wall clock block #1 changes at every start, the stored block #2 no longer
    has a parent, and the resumed chain loses block #1's state changes, among them the
    genesis hash that every signature commits to (`frame_system::BlockHash[0]`). With a
    fixed genesis timestamp, block #1 comes out identical at every start.
    """
    data = json.loads(spec.read_text())
    data["genesis"]["raw"]["top"][TIMESTAMP_NOW_KEY] = (
        "0x" + timestamp_ms.to_bytes(8, "little").hex()
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, out)


def _forget_cached_genesis_timestamp(db: Path) -> None:
    """Drop the database's cached copy of genesis `Timestamp::Now`.

    Chopsticks caches what it reads from genesis in the database, and one made from a
    genesis without the timestamp remembers it as absent: block #1 would take the wall clock
    again, whatever `genesis.json` says.
    """
    if not db.is_file():
        return
    try:
        with contextlib.closing(sqlite3.connect(db, timeout=10.0)) as conn, conn:
            conn.execute(
                'DELETE FROM key_value_pair WHERE "blockHash" = ? AND key = ?',
                (GENESIS_HASH, TIMESTAMP_NOW_KEY),
            )
    except sqlite3.Error as exc:
        if "no such table" not in str(exc):
            raise DevnetError(
                f"cannot prepare the devnet database {db}: {exc}",
                hint="`decentralml devnet up --fresh` starts over (this discards the chain state)",
            ) from exc


def cached_genesis_value(db: Path, key: str) -> str | None:
    """The value of genesis storage `key` as the database `db` remembers it, or None.

    Chopsticks caches what it reads from genesis in its database and, on a resume, reads
    those values from there rather than from the genesis it was given: a database keeps
    running the runtime (``:code``) of the chain spec it was made from.
    """
    if not db.is_file():
        return None
    try:
        uri = db.resolve().as_uri() + "?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=5.0)) as conn:
            row = conn.execute(
                'SELECT value FROM key_value_pair WHERE "blockHash" = ? AND key = ?',
                (GENESIS_HASH, key),
            ).fetchone()
    except sqlite3.Error:
        return None
    return None if row is None or row[0] is None else str(row[0])


def write_config(
    path: Path, *, genesis: Path, db: Path, port: int, resume: bool, host: str = _process.LOOPBACK
) -> None:
    """Write Chopsticks' config file (JSON, which is valid YAML)."""
    config: dict[str, object] = {
        "genesis": str(genesis),
        "db": str(db),
        "host": host,
        "port": port,
        "build-block-mode": "Instant",
    }
    if resume:
        config["resume"] = True
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config, indent=2) + "\n")


def start_chopsticks(
    *,
    genesis: Path,
    db: Path,
    port: int,
    config_path: Path,
    log_path: Path,
    resume: bool,
    genesis_timestamp_ms: int,
    timeout: float = 180.0,
    log: Log | None = None,
) -> ChopsticksProcess:
    """Start Chopsticks detached, wait for its RPC to answer, and return the process.

    The chain starts from `genesis` with its timestamp fixed to `genesis_timestamp_ms`
    (see `write_genesis`; keep it the same for one database). Raises `DevnetError` when it
    exits, listens elsewhere, or does not answer in time; the process is stopped in those
    cases, and on any exception (Ctrl-C included) raised while waiting for it.
    """
    log = log or _silent
    script = chopsticks_bin(log=log)
    node = find_node()
    derived = config_path.with_name("genesis.json")
    write_genesis(genesis, derived, timestamp_ms=genesis_timestamp_ms)
    _forget_cached_genesis_timestamp(db)
    write_config(config_path, genesis=derived, db=db, port=port, resume=resume)
    _process.rotate_log(log_path)
    offset = 0
    argv = [str(node), "--no-warnings", str(script), "-c", str(config_path)]
    with log_path.open("ab") as out:
        out.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} starting Chopsticks ===\n".encode())
        out.flush()
        try:
            proc = subprocess.Popen(
                argv,
                cwd=config_path.parent,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, "NO_COLOR": "1", "LOG_COMPACT": "true"},
            )
        except OSError as exc:
            raise DevnetError(f"cannot start Chopsticks ({node}): {exc}") from exc
    started = ChopsticksProcess(
        pid=proc.pid,
        start_time=_process.process_start_time(proc.pid),
        port=port,
        url=f"ws://{_process.LOOPBACK}:{port}",
        log_path=log_path,
        config_path=config_path,
    )
    try:
        _wait_ready(proc, started, offset=offset, timeout=timeout)
    except BaseException:
        _process.terminate(proc.pid, timeout=10)
        raise
    return started


def _wait_ready(
    proc: subprocess.Popen[bytes], started: ChopsticksProcess, *, offset: int, timeout: float
) -> None:
    deadline = time.monotonic() + timeout

    def listening_port() -> int | None:
        try:
            with started.log_path.open("rb") as fh:
                fh.seek(offset)
                text = fh.read().decode(errors="replace")
        except OSError:
            return None
        match = _LISTENING.search(text)
        return int(match.group(1)) if match else None

    def failed(reason: str, hint: str) -> DevnetError:
        return DevnetError(
            f"Chopsticks {reason}; last lines of {started.log_path}:\n"
            + _process.tail(started.log_path),
            hint=hint,
        )

    def our_port() -> int | None:
        # Asking the kernel which ports our pid listens on cannot be fooled by another
        # process's lines in the log; the log is the fallback where /proc is missing.
        ports = _process.listening_ports(proc.pid)
        if ports is None:
            return listening_port()
        if started.port in ports:
            return started.port
        return min(ports) if ports else None

    while True:
        port = our_port()
        if port is not None:
            break
        if proc.poll() is not None:
            raise failed(
                f"exited with code {proc.returncode} while starting",
                "read the log above; `decentralml devnet up --fresh` starts from a new state",
            )
        if time.monotonic() >= deadline:
            raise failed(f"did not start listening within {timeout:.0f} s", "see the log")
        time.sleep(0.1)
    if port != started.port:
        raise DevnetError(
            f"port {started.port} on {_process.LOOPBACK} was taken while the devnet started "
            f"(Chopsticks moved to {port}, and was stopped)",
            hint="stop what uses the port, or pick another with --port",
        )
    wait_answering(started.url, proc, deadline=deadline, timeout=timeout, failed=failed)


def stop_chopsticks(pid: int, *, start_time: int | None, timeout: float = 20.0) -> bool:
    """Stop the Chopsticks process `pid` if it is still the one we started.

    Returns True if it was running and has stopped.
    """
    if not is_chopsticks(pid, start_time=start_time):
        return False
    return _process.terminate(pid, timeout=timeout)


def make_blocks(url: str, count: int, *, jump: bool = False) -> str:
    """Build empty blocks on the running chain at `url`; returns the new best block's hash.

    Without `jump`, `count` blocks one after the other (Chopsticks builds a few per second).
    With `jump`, one block at the current height plus `count` (``dev_newBlock`` with
    ``unsafeBlockHeight``): the runtime sees the block number leap, as if `count` empty blocks
    had been made, without building them. The heights in between have no block.
    """
    if count < 1:
        raise DevnetError(f"the number of blocks must be at least 1, got {count}")
    if jump:
        height = int(rpc_call(url, "chain_getHeader")["number"], 16)
        params: dict[str, int] = {"count": 1, "unsafeBlockHeight": height + count}
        timeout = 60.0
    else:
        # A generous limit: Chopsticks builds a few blocks per second.
        params, timeout = {"count": count}, 60.0 + count
    return str(rpc_call(url, "dev_newBlock", [params], timeout=timeout))


MARKER = "chopsticks"


def is_chopsticks(pid: int, *, start_time: int | None, cwd: Path | None = None) -> bool:
    """Whether `pid` is still the Chopsticks process started at `start_time` (in `cwd`)."""
    return _process.is_same_process(pid, start_time=start_time, marker=MARKER, cwd=cwd)


def _timestamp_of(block: StoredBlock) -> int | None:
    value = block.storage_diff.get(TIMESTAMP_NOW_KEY)
    if not value:
        return None
    return int.from_bytes(bytes.fromhex(value[2:]), "little")


class ChopsticksEngine:
    """The devnet's default chain engine: Chopsticks with its state in ``chain.sqlite``."""

    name = ENGINE_CHOPSTICKS
    marker = MARKER

    def state_path(self, paths: DevnetPaths) -> Path:
        return paths.db

    def log_path(self, paths: DevnetPaths) -> Path:
        return paths.chopsticks_log

    def label(self, block_time_ms: int | None) -> str:
        return self.name

    def check_options(self, block_time_ms: int | None) -> None:
        if block_time_ms is not None:
            raise DevnetError(
                "--block-time applies to the omni-node engine only (Chopsticks makes a block "
                "per transaction and on `devnet advance`)",
                hint="add --engine omni-node, or leave out --block-time",
            )

    def check_installed(self) -> None:
        """Nothing to check: `start` installs the pinned Chopsticks when it is missing."""

    def has_state(self, paths: DevnetPaths) -> bool:
        return paths.db.exists()

    def state_from_other_spec(self, paths: DevnetPaths, spec: Path) -> bool:
        # Chopsticks resumes with the runtime it cached from the genesis it was made from.
        cached = cached_genesis_value(paths.db, CODE_KEY)
        try:
            shipped = json.loads(spec.read_text())["genesis"]["raw"]["top"][CODE_KEY]
        except (OSError, ValueError, KeyError, TypeError):
            return False
        return cached is not None and cached != shipped

    def reset(self, paths: DevnetPaths) -> None:
        for path in (paths.db, paths.chopsticks_config.with_name("genesis.json")):
            path.unlink(missing_ok=True)
        for suffix in ("-wal", "-shm", "-journal"):
            Path(str(paths.db) + suffix).unlink(missing_ok=True)

    def start(
        self,
        paths: DevnetPaths,
        *,
        spec: Path,
        spec_sha: str,
        port: int,
        block_time_ms: int | None,
        timeout: float,
        log: Log,
    ) -> StartedChain:
        damage = database_damage(paths.db)
        if damage is not None:
            raise DevnetError(
                f"the devnet database {paths.db} is damaged ({damage}), so it cannot be resumed",
                hint="start over with `decentralml devnet up --fresh` (this discards the chain "
                "state; move the file away first to keep it)",
            )
        # Chopsticks saves built blocks only; with none saved there is nothing to resume.
        saved = saved_height(paths.db)
        resumed = saved is not None
        genesis_timestamp = self._genesis_timestamp(paths, resumed)
        first = stored_block(paths.db, 1) if saved is not None and saved >= 2 else None
        log(f"Starting the dev chain on ws://{_process.LOOPBACK}:{port} ...")
        chain: ChopsticksProcess | None = None
        try:
            chain = start_chopsticks(
                genesis=spec,
                db=paths.db,
                port=port,
                config_path=paths.chopsticks_config,
                log_path=paths.chopsticks_log,
                resume=resumed,
                genesis_timestamp_ms=genesis_timestamp,
                timeout=timeout,
                log=log,
            )
            height, _ = block_height(chain.url)
            if saved is not None:
                self._verify_resumed(chain.url, height, saved, first.hash if first else None, paths)
        except BaseException:
            if chain is not None:
                stop_chopsticks(chain.pid, start_time=chain.start_time)
            raise
        record = ChainRecord(
            pid=chain.pid,
            start_time=chain.start_time,
            port=chain.port,
            url=chain.url,
            db=str(paths.db),
            log=str(paths.chopsticks_log),
            chain_spec_sha256=spec_sha,
            engine=self.name,
        )
        return StartedChain(
            record=record,
            resumed=resumed,
            height=height,
            meta={"genesis_timestamp_ms": genesis_timestamp},
        )

    @staticmethod
    def _genesis_timestamp(paths: DevnetPaths, resumed: bool) -> int:
        """The genesis timestamp that gives this database its block #1 again (see
        `write_genesis`)."""
        recorded = read_meta(paths).get("genesis_timestamp_ms")
        if isinstance(recorded, int):
            return recorded
        now = int(time.time() * 1000)
        first = stored_block(paths.db, 1) if resumed else None
        t1 = _timestamp_of(first) if first is not None else None
        if t1 is None:
            return now
        # The record was lost (`chain.meta.json` deleted or edited): block #1 was built one
        # Aura slot after the genesis timestamp.
        return t1 - DEFAULT_SLOT_MS

    @staticmethod
    def _verify_resumed(
        url: str, height: int, saved: int, block1: str | None, paths: DevnetPaths
    ) -> None:
        """Check the resumed chain (now at `height`) continues the saved one: same best
        block, same block #1."""
        current1 = rpc_call(url, "chain_getBlockHash", [1]) if block1 is not None else None
        if height != saved or current1 != block1:
            what = (
                f"it came up at block #{height} instead of #{saved}"
                if height != saved
                else f"its block #1 changed ({block1} became {current1})"
            )
            raise DevnetError(
                f"the devnet database {paths.db} could not be resumed: {what}",
                hint="see the chain log; `decentralml devnet up --fresh` starts over "
                "(this discards the chain state)",
            )

    def is_alive(self, record: ChainRecord) -> bool:
        return is_chopsticks(record.pid, start_time=record.start_time)

    def stop(self, record: ChainRecord, *, timeout: float) -> bool:
        self._wait_saved(record, timeout=timeout)
        return stop_chopsticks(record.pid, start_time=record.start_time, timeout=timeout)

    @staticmethod
    def _wait_saved(record: ChainRecord, *, timeout: float) -> None:
        """Wait until the chain has written its best block to the database: Chopsticks
        announces a block before it saves it, and stopping it in between would lose that
        block on the next `up`."""
        try:
            best = rpc_call(record.url, "chain_getBlockHash", timeout=5.0)
        except (ChainUnavailable, DevnetError) as exc:
            logger.warning("cannot ask the devnet for its best block before stopping: %s", exc)
            return
        saved = _process.wait_until(
            lambda: block_saved(Path(record.db), str(best)), timeout=timeout
        )
        if not saved:
            logger.warning("the devnet did not save block %s within %.0f s", best, timeout)

    def make_blocks(self, record: ChainRecord, count: int, *, jump: bool) -> None:
        make_blocks(record.url, count, jump=jump)


ENGINE = ChopsticksEngine()


def main() -> int:
    """``python -m decentralml.devnet.chopsticks``: install Chopsticks if missing."""
    try:
        path = chopsticks_bin(log=lambda message: print(message, file=sys.stderr))
    except DevnetError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
