"""The local dev network as a whole: ``up``, ``down``, ``status`` and ``advance``.

Everything lives under one directory (by default ``<data dir>/devnet``)::

    devnet.json         what `up` started: pids, ports, files (removed by `down`)
    chain.sqlite        the chain's state; `down` then `up` resumes from it
    chain.meta.json     which chain spec the database was made from
    chopsticks.yml      Chopsticks' config, written by `up`
    ipfs/               the Kubo repository
    logs/chopsticks.log, logs/kubo.log
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import json
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from decentralml.config import DEFAULT_IPFS_API_PORT, DEFAULT_IPFS_GATEWAY_PORT, DEFAULT_RPC_PORT
from decentralml.devnet import _process, chopsticks
from decentralml.devnet._metadata import ChainInfo, block_height, chain_info
from decentralml.devnet._rpc import rpc_call
from decentralml.devnet._state import (
    ChainRecord,
    DevnetPaths,
    DevnetState,
    IpfsRecord,
    block_saved,
    locked,
    read_state,
    saved_height,
    write_state,
)
from decentralml.errors import ChainUnavailable, DevnetError

__all__ = [
    "AdvanceResult",
    "ChainRecord",
    "DevnetPaths",
    "DevnetState",
    "DevnetStatus",
    "DownResult",
    "IpfsRecord",
    "IpfsStatus",
    "UpResult",
    "advance",
    "chain_spec_path",
    "down",
    "read_state",
    "running_url",
    "saved_height",
    "status",
    "up",
]

logger = logging.getLogger(__name__)

CHAIN_SPEC = "decentralml-dev.raw.json"
Log = Callable[[str], None]


def _silent(_: str) -> None:
    pass


def chain_spec_path() -> Path:
    """The raw chain spec shipped in this package."""
    spec = resources.files("decentralml.devnet") / "data" / CHAIN_SPEC
    path = Path(str(spec))
    if not path.is_file():
        raise DevnetError(
            f"the dev chain spec {CHAIN_SPEC} is missing from the installed package",
            hint="reinstall decentralml; in a checkout, run scripts/build-runtime",
        )
    return path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _chain_alive(record: ChainRecord) -> bool:
    return _process.is_same_process(record.pid, start_time=record.start_time, marker="chopsticks")


def _ipfs_alive(record: IpfsRecord) -> bool:
    return _process.is_same_process(record.pid, start_time=record.start_time, marker="ipfs")


def _stop_ipfs(record: IpfsRecord) -> bool:
    if not _ipfs_alive(record):
        return False
    kubo = _kubo_module()
    if kubo is not None:
        return bool(kubo.stop_kubo(record.pid))
    return _process.terminate(record.pid)


def _live_state(paths: DevnetPaths) -> DevnetState | None:
    """The recorded state if its chain still runs; otherwise clean up what is left of it."""
    state = read_state(paths)
    if state is None:
        return None
    if _chain_alive(state.chain):
        return state
    logger.info("the recorded devnet (pid %s) is no longer running", state.chain.pid)
    if state.ipfs is not None:
        _stop_ipfs(state.ipfs)
    paths.state_file.unlink(missing_ok=True)
    return None


def _kubo_module() -> Any:
    try:
        return importlib.import_module("decentralml.devnet.kubo")
    except ImportError:
        return None


@dataclass(frozen=True)
class UpResult:
    """The outcome of `up`."""

    state: DevnetState
    paths: DevnetPaths
    already_running: bool
    resumed: bool
    height: int
    seconds: float


def _check_port_free(port: int, what: str, option: str) -> None:
    if _process.port_in_use(port):
        raise DevnetError(
            f"port {port} on {_process.LOOPBACK} ({what}) is already in use by another program",
            hint=f"stop that program, or pick another port with {option}",
        )


def _check_ipfs_ports_free(ports: tuple[int, int]) -> None:
    _check_port_free(ports[0], "IPFS API", "--ipfs-port")
    _check_port_free(ports[1], "IPFS gateway", "--ipfs-gateway-port")


def _reset(paths: DevnetPaths) -> None:
    for path in (paths.db, paths.db_meta):
        path.unlink(missing_ok=True)
    for suffix in ("-wal", "-shm", "-journal"):
        Path(str(paths.db) + suffix).unlink(missing_ok=True)
    if paths.ipfs_repo.exists():
        shutil.rmtree(paths.ipfs_repo)


def _wait_saved(record: ChainRecord, *, timeout: float) -> None:
    """Wait until the chain has written its best block to the database.

    Chopsticks announces a block before it saves it, and stopping it in between would lose
    that block on the next `up`.
    """
    try:
        _, best = block_height(record.url)
    except (ChainUnavailable, DevnetError) as exc:
        logger.warning("cannot ask the devnet for its best block before stopping: %s", exc)
        return
    if not _process.wait_until(lambda: block_saved(Path(record.db), best), timeout=timeout):
        logger.warning("the devnet did not save block %s within %.0f s", best, timeout)


def _check_db_matches(paths: DevnetPaths, spec_sha: str) -> None:
    try:
        recorded = json.loads(paths.db_meta.read_text()).get("chain_spec_sha256")
    except (OSError, ValueError):
        recorded = None
    if recorded is not None and recorded != spec_sha:
        raise DevnetError(
            f"the devnet database {paths.db} was made from another version of the chain spec "
            "(the runtime changed since), so it cannot be resumed",
            hint="start over with `decentralml devnet up --fresh` (this discards the chain state)",
        )


def up(
    *,
    port: int = DEFAULT_RPC_PORT,
    ipfs: bool = True,
    ipfs_api_port: int = DEFAULT_IPFS_API_PORT,
    ipfs_gateway_port: int = DEFAULT_IPFS_GATEWAY_PORT,
    fresh: bool = False,
    paths: DevnetPaths | None = None,
    timeout: float = 180.0,
    log: Log | None = None,
) -> UpResult:
    """Start the devnet (Chopsticks, and Kubo unless ``ipfs=False``) and record it.

    Resumes from the state database unless `fresh`. If the devnet already runs on the same
    port, returns it with ``already_running=True`` (starting Kubo beside it if asked for and
    not running). Raises `DevnetError` when a port is taken, a process fails to start, or
    the database belongs to another chain spec.
    """
    paths = paths or DevnetPaths.default()
    log = log or _silent
    ipfs_ports = (ipfs_api_port, ipfs_gateway_port) if ipfs else None
    started = time.monotonic()
    with locked(paths):
        current = _live_state(paths)
        if current is not None:
            state = _reuse_running(
                current, paths, port=port, fresh=fresh, ipfs_ports=ipfs_ports, log=log
            )
            resumed = False
        else:
            state, resumed = _start(
                paths, port=port, fresh=fresh, ipfs_ports=ipfs_ports, timeout=timeout, log=log
            )
    height, _ = block_height(state.chain.url)
    return UpResult(
        state=state,
        paths=paths,
        already_running=current is not None,
        resumed=resumed,
        height=height,
        seconds=time.monotonic() - started,
    )


def _start(
    paths: DevnetPaths,
    *,
    port: int,
    fresh: bool,
    ipfs_ports: tuple[int, int] | None,
    timeout: float,
    log: Log,
) -> tuple[DevnetState, bool]:
    """Start the chain (and Kubo) and record them; returns the state and whether it resumed."""
    _check_port_free(port, "chain RPC", "--port")
    if ipfs_ports is not None:
        _check_ipfs_ports_free(ipfs_ports)
    spec = chain_spec_path()
    spec_sha = _sha256(spec)
    if fresh:
        _reset(paths)
    if paths.db.exists():
        _check_db_matches(paths, spec_sha)
    # Chopsticks saves built blocks only; with none saved there is nothing to resume.
    resumed = saved_height(paths.db) is not None
    log(f"Starting the dev chain on ws://{_process.LOOPBACK}:{port} ...")
    chain = chopsticks.start_chopsticks(
        genesis=spec,
        db=paths.db,
        port=port,
        config_path=paths.chopsticks_config,
        log_path=paths.chopsticks_log,
        resume=resumed,
        timeout=timeout,
        log=log,
    )
    try:
        paths.db_meta.write_text(json.dumps({"chain_spec_sha256": spec_sha}) + "\n")
        record = ChainRecord(
            pid=chain.pid,
            start_time=chain.start_time,
            port=chain.port,
            url=chain.url,
            db=str(paths.db),
            log=str(paths.chopsticks_log),
            chain_spec_sha256=spec_sha,
        )
        ipfs = _start_ipfs(paths, ipfs_ports, log) if ipfs_ports is not None else None
    except BaseException:
        chopsticks.stop_chopsticks(chain.pid, start_time=chain.start_time)
        raise
    state = DevnetState(started_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"), chain=record, ipfs=ipfs)
    write_state(paths, state)
    return state, resumed


def _reuse_running(
    current: DevnetState,
    paths: DevnetPaths,
    *,
    port: int,
    fresh: bool,
    ipfs_ports: tuple[int, int] | None,
    log: Log,
) -> DevnetState:
    """The running devnet, if it is what was asked for; otherwise say why not.

    If IPFS is asked for and the devnet runs without it (started without IPFS, or Kubo
    died), Kubo is started beside the chain.
    """
    if fresh:
        raise DevnetError(
            f"the devnet is running at {current.chain.url}; --fresh needs it stopped first",
            hint="run `decentralml devnet down`, then `decentralml devnet up --fresh`",
        )
    if port != current.chain.port:
        raise DevnetError(
            f"the devnet is already running at {current.chain.url}, not on port {port}",
            hint="use it there, or run `decentralml devnet down` and start it on the new port",
        )
    if ipfs_ports is not None and (current.ipfs is None or not _ipfs_alive(current.ipfs)):
        _check_ipfs_ports_free(ipfs_ports)
        current = dataclasses.replace(current, ipfs=_start_ipfs(paths, ipfs_ports, log))
        write_state(paths, current)
    return current


def _start_ipfs(paths: DevnetPaths, ports: tuple[int, int], log: Log) -> IpfsRecord:
    api_port, gateway_port = ports
    kubo = _kubo_module()
    if kubo is None:
        raise DevnetError(
            "IPFS support (Kubo) is not available in this installation",
            hint="pass --no-ipfs to start the chain alone",
        )
    kubo.kubo_binary(install=True, log=log)
    log(f"Starting IPFS (Kubo) with its API on http://{_process.LOOPBACK}:{api_port} ...")
    daemon = kubo.start_kubo(
        paths.ipfs_repo,
        api_port=api_port,
        gateway_port=gateway_port,
        log_path=paths.kubo_log,
    )
    return IpfsRecord(
        pid=daemon.pid,
        start_time=_process.process_start_time(daemon.pid),
        api_url=daemon.api_url,
        gateway_url=daemon.gateway_url,
        repo=str(daemon.repo),
        log=str(daemon.log_path),
    )


@dataclass(frozen=True)
class DownResult:
    """The outcome of `down`."""

    was_running: bool
    chain_stopped: bool
    ipfs_stopped: bool
    db: Path


def down(*, paths: DevnetPaths | None = None, timeout: float = 20.0) -> DownResult:
    """Stop what `up` started (and nothing else). The state database is kept."""
    paths = paths or DevnetPaths.default()
    with locked(paths):
        state = read_state(paths)
        if state is None:
            return DownResult(
                was_running=False, chain_stopped=False, ipfs_stopped=False, db=paths.db
            )
        ipfs_stopped = _stop_ipfs(state.ipfs) if state.ipfs is not None else False
        if _chain_alive(state.chain):
            _wait_saved(state.chain, timeout=timeout)
        chain_stopped = chopsticks.stop_chopsticks(
            state.chain.pid, start_time=state.chain.start_time, timeout=timeout
        )
        paths.state_file.unlink(missing_ok=True)
    return DownResult(
        was_running=chain_stopped,
        chain_stopped=chain_stopped,
        ipfs_stopped=ipfs_stopped,
        db=paths.db,
    )


@dataclass(frozen=True)
class IpfsStatus:
    """Whether the devnet's Kubo runs, and where."""

    running: bool
    pid: int | None = None
    api_url: str | None = None
    gateway_url: str | None = None


@dataclass(frozen=True)
class DevnetStatus:
    """What `status` reports."""

    running: bool
    paths: DevnetPaths
    state: DevnetState | None = None
    info: ChainInfo | None = None
    ipfs: IpfsStatus = field(default_factory=lambda: IpfsStatus(running=False))


def status(*, paths: DevnetPaths | None = None) -> DevnetStatus:
    """Whether the devnet runs; if so its chain name, height, runtime, pallets and IPFS.

    Raises `ChainUnavailable` when the devnet's process runs but its RPC does not answer.
    """
    paths = paths or DevnetPaths.default()
    state = _live_state(paths)
    if state is None:
        return DevnetStatus(running=False, paths=paths)
    try:
        info = chain_info(state.chain.url)
    except ChainUnavailable as exc:
        exc.hint = f"the devnet's process {state.chain.pid} runs but does not answer; see its log"
        raise
    ipfs = IpfsStatus(running=False)
    if state.ipfs is not None:
        alive = _ipfs_alive(state.ipfs)
        kubo = _kubo_module()
        if alive and kubo is not None:
            alive = bool(kubo.kubo_alive(state.ipfs.api_url))
        ipfs = IpfsStatus(
            running=alive,
            pid=state.ipfs.pid,
            api_url=state.ipfs.api_url,
            gateway_url=state.ipfs.gateway_url,
        )
    return DevnetStatus(running=True, paths=paths, state=state, info=info, ipfs=ipfs)


@dataclass(frozen=True)
class AdvanceResult:
    """The outcome of `advance`."""

    url: str
    count: int
    from_height: int
    to_height: int
    best_hash: str


def running_url(paths: DevnetPaths | None = None) -> str:
    """The RPC URL of the running devnet; `ChainUnavailable` if it does not run."""
    paths = paths or DevnetPaths.default()
    state = _live_state(paths)
    if state is None:
        raise ChainUnavailable(
            "the devnet is not running",
            address=f"ws://{_process.LOOPBACK}:{DEFAULT_RPC_PORT}",
            hint="start it with `decentralml devnet up`",
        )
    return state.chain.url


def advance(count: int, *, paths: DevnetPaths | None = None) -> AdvanceResult:
    """Produce `count` empty blocks on the running devnet (deadlines pass only as blocks do)."""
    if count < 1:
        raise DevnetError(f"the number of blocks must be at least 1, got {count}")
    url = running_url(paths)
    before, _ = block_height(url)
    # A generous limit: Chopsticks builds a few blocks per second.
    rpc_call(url, "dev_newBlock", [{"count": count}], timeout=60.0 + count)
    after, best_hash = block_height(url)
    return AdvanceResult(
        url=url, count=count, from_height=before, to_height=after, best_hash=best_hash
    )
