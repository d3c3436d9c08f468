"""The local dev network as a whole: ``up``, ``down``, ``status`` and ``advance``.

Everything lives under one directory (by default ``<data dir>/devnet``)::

    devnet.json         what `up` started: pids, ports, files (removed by `down`)
    chain.sqlite        the chain's state on Chopsticks; `down` then `up` resumes from it
    omni-node/          the chain's database on polkadot-omni-node (``--engine omni-node``)
    chain.meta.json     which chain spec, and which engine, the chain state was made from
    chopsticks.yml      Chopsticks' config, written by `up`
    ipfs/               the Kubo repository
    logs/chopsticks.log, logs/omni-node.log, logs/kubo.log

The chain runs on one of two engines: Chopsticks (the default: quick to install, blocks on
request, jumps of many blocks) or polkadot-omni-node (a real Substrate node: its transaction
pool, database and RPC server). One directory holds the chain of one engine only.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import importlib
import json
import logging
import os
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, ParamSpec, TypeVar
from urllib.parse import urlsplit

from decentralml.config import DEFAULT_IPFS_API_PORT, DEFAULT_IPFS_GATEWAY_PORT, DEFAULT_RPC_PORT
from decentralml.devnet import _process, chopsticks
from decentralml.devnet._engine import ChainEngine, StartedChain, all_engines, chain_engine
from decentralml.devnet._metadata import ChainInfo, block_height, chain_info
from decentralml.devnet._process import LockHolder
from decentralml.devnet._rpc import rpc_call
from decentralml.devnet._state import (
    ENGINE_CHOPSTICKS,
    ENGINES,
    ChainRecord,
    DevnetPaths,
    DevnetState,
    IpfsRecord,
    holder,
    locked,
    read_meta,
    read_state,
    saved_height,
    write_meta,
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
    "shipped_spec_version",
    "status",
    "up",
]

logger = logging.getLogger(__name__)

CHAIN_SPEC = "decentralml-dev.raw.json"
CHAIN_SPEC_META = "chain-spec.meta.json"
Log = Callable[[str], None]
P = ParamSpec("P")
R = TypeVar("R")


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


_ROOT_HINT = (
    "set DECENTRALML_DATA_DIR to a directory you can write to (the devnet lives in its "
    "devnet/ subdirectory)"
)
# How long `down` waits for a running `up` (which may be installing Chopsticks) to finish.
LOCK_WAIT = 600.0


def _os_errors_as_devnet_errors(func: Callable[P, R]) -> Callable[P, R]:
    """File-system failures (a full disk, a read-only or vanished directory) as one clear
    `DevnetError`, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except OSError as exc:
            where = f" ({exc.filename})" if exc.filename else ""
            raise DevnetError(
                f"the devnet could not use its files: {exc.strerror or exc}{where}",
                hint=_ROOT_HINT,
            ) from exc

    return wrapper


def _usable_root(paths: DevnetPaths, *, create: bool) -> bool:
    """Check the devnet directory; with `create`, make it and prove it writable.

    Returns whether it exists. Raises `DevnetError` for a file in its place, or a directory
    that cannot be created or written.
    """
    root = paths.root
    try:
        if root.exists() and not root.is_dir():
            raise DevnetError(
                f"the devnet data directory {root} is not a directory", hint=_ROOT_HINT
            )
        if not create:
            return root.is_dir()
        root.mkdir(parents=True, exist_ok=True)
        probe = root / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise DevnetError(
            f"the devnet data directory {root} cannot be written: {exc.strerror or exc}",
            hint=_ROOT_HINT,
        ) from exc
    return True


def _chain_alive(record: ChainRecord) -> bool:
    return chain_engine(record.engine).is_alive(record)


def _stop_chain(record: ChainRecord, *, timeout: float) -> bool:
    return chain_engine(record.engine).stop(record, timeout=timeout)


def _ipfs_alive(record: IpfsRecord) -> bool:
    kubo = _kubo_module()
    if kubo is None:
        return _process.is_same_process(
            record.pid, start_time=record.start_time, cwd=Path(record.repo)
        )
    return bool(kubo.is_kubo(record.pid, start_time=record.start_time, repo=Path(record.repo)))


def _stop_ipfs(record: IpfsRecord) -> bool:
    if not _ipfs_alive(record):
        return False
    kubo = _kubo_module()
    if kubo is not None:
        return bool(kubo.stop_kubo(record.pid))
    return _process.terminate(record.pid)


@dataclass(frozen=True)
class Unrecorded:
    """A process of this devnet that no record names (its record was lost or never written)."""

    pid: int
    what: str  # "chain" or "IPFS"


def _unrecorded(paths: DevnetPaths, state: DevnetState | None) -> list[Unrecorded]:
    """Processes started for this devnet directory that `state` does not account for.

    Each process the launcher starts works in a directory of its own (Chopsticks in the
    devnet directory, Kubo in its repository), so they are found even when ``devnet.json``
    is missing or damaged, or `up` died between starting them and recording them.
    """
    recorded = set()
    if state is not None:
        recorded.add(state.chain.pid)
        if state.ipfs is not None:
            recorded.add(state.ipfs.pid)
    found = [
        Unrecorded(pid, "chain")
        for engine in all_engines()
        for pid in _process.find_processes(cwd=paths.root, marker=engine.marker)
    ]
    if paths.ipfs_repo.is_dir():
        found += [
            Unrecorded(pid, "IPFS")
            for pid in _process.find_processes(cwd=paths.ipfs_repo, marker="daemon")
        ]
    return [proc for proc in found if proc.pid not in recorded]


def _unrecorded_error(found: list[Unrecorded]) -> DevnetError:
    listed = ", ".join(f"{proc.what} pid {proc.pid}" for proc in found)
    return DevnetError(
        f"devnet processes run without a record ({listed}): devnet.json is missing or "
        "damaged, or an earlier `up` was killed before it recorded them",
        hint="run `decentralml devnet down` to stop them, then `decentralml devnet up`",
    )


def _busy_error(holder: LockHolder) -> str:
    command = f"`decentralml devnet {holder.label}`" if holder.label else "another devnet command"
    pid = f" (pid {holder.pid})" if holder.pid else ""
    return f"{command}{pid} is working on this devnet"


@contextlib.contextmanager
def _turn(paths: DevnetPaths, label: str, *, timeout: float, log: Log) -> Iterator[None]:
    """Hold the devnet's lock as `label` (`up` or `down`), saying whom it waits for."""

    def waiting(holder: LockHolder) -> None:
        log(f"Waiting: {_busy_error(holder)} ...")

    try:
        with locked(paths, label=label, timeout=timeout, on_wait=waiting):
            yield
    except _process.LockTimeout as exc:
        raise DevnetError(
            f"{_busy_error(exc.holder or LockHolder(0, ''))} and still was after {timeout:.0f} s",
            hint="wait for it to finish, or stop that command, then retry",
        ) from None


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
    for engine in all_engines():
        engine.reset(paths)
    paths.db_meta.unlink(missing_ok=True)
    if paths.ipfs_repo.exists():
        shutil.rmtree(paths.ipfs_repo)


def check_engine(engine: str) -> str:
    """`engine` if it names a devnet engine; otherwise a `DevnetError` listing them."""
    if engine not in ENGINES:
        raise DevnetError(
            f"unknown devnet engine {engine!r}",
            hint=f"use one of: {', '.join(ENGINES)} (--engine, DECENTRALML_DEVNET_ENGINE or "
            "devnet_engine in the config file)",
        )
    return engine


def _engine_of_state(paths: DevnetPaths) -> str | None:
    """Which engine made the chain state kept in the directory, if any."""
    holding = [engine.name for engine in all_engines() if engine.has_state(paths)]
    if not holding:
        return None
    recorded = read_meta(paths).get("engine")
    if recorded in holding:
        return str(recorded)
    # Records written before there was a choice of engine are Chopsticks'.
    return ENGINE_CHOPSTICKS if ENGINE_CHOPSTICKS in holding else holding[0]


def _check_same_engine(paths: DevnetPaths, engine: str) -> None:
    """Refuse to open one engine's chain state with the other: they cannot read each
    other's databases, and mixing them would leave two chains in one directory."""
    made_by = _engine_of_state(paths)
    if made_by is None or made_by == engine:
        return
    raise DevnetError(
        f"the devnet data directory {paths.root} holds a chain made by {made_by}, which "
        f"{engine} cannot open",
        hint=f"start it with `decentralml devnet up --engine {made_by}`, or discard that "
        f"chain with `decentralml devnet up --engine {engine} --fresh` (or use another "
        "DECENTRALML_DATA_DIR to keep both)",
    )


def shipped_spec_version() -> int | None:
    """The runtime `spec_version` of the chain spec shipped in this package, if recorded."""
    meta = resources.files("decentralml.devnet") / "data" / CHAIN_SPEC_META
    try:
        return int(json.loads(meta.read_text())["spec_version"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _check_state_matches(
    paths: DevnetPaths, engine: ChainEngine, spec: Path, spec_sha: str
) -> None:
    """Refuse a chain state made from another chain spec than the shipped one.

    `chain.meta.json` records the spec's sha256; where that record is missing the engine
    judges from the state itself (a Chopsticks database would otherwise keep running the
    runtime it cached, silently, under the new package).
    """
    meta = read_meta(paths)
    recorded = meta.get("chain_spec_sha256")
    if recorded is not None:
        other = recorded != spec_sha
    else:
        other = engine.state_from_other_spec(paths, spec)
    if not other:
        return
    made, shipped = meta.get("spec_version"), shipped_spec_version()
    if isinstance(made, int) and shipped is not None:
        versions = f" (runtime spec_version {made}; this package ships {shipped})"
    elif shipped is not None:
        versions = f" (this package ships runtime spec_version {shipped})"
    else:
        versions = ""
    fresh = (
        "up --fresh" if engine.name == ENGINE_CHOPSTICKS else f"up --engine {engine.name} --fresh"
    )
    raise DevnetError(
        f"the devnet database {engine.state_path(paths)} was made from another version of the "
        f"chain spec{versions}: the runtime changed since, so it cannot be resumed",
        hint=f"start over with `decentralml devnet {fresh}` (this discards the chain state; "
        "move the database away first to keep it)",
    )


@_os_errors_as_devnet_errors
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
    engine: str = ENGINE_CHOPSTICKS,
    block_time_ms: int | None = None,
) -> UpResult:
    """Start the devnet (its chain on `engine`, and Kubo unless ``ipfs=False``) and record it.

    `engine` is ``chopsticks`` or ``omni-node``. On omni-node, `block_time_ms` makes a
    block every so many milliseconds instead of one per transaction.

    Resumes from the state database unless `fresh`. If the devnet already runs on the same
    ports, returns it with ``already_running=True`` (starting Kubo beside it if asked for
    and not running). Raises `DevnetError` when a port is taken, a process fails to start,
    processes of this devnet run unrecorded, or the database is damaged or belongs to
    another chain spec. Whatever fails or interrupts it (Ctrl-C, SIGTERM, SIGHUP), it
    leaves nothing running that it started.
    """
    paths = paths or DevnetPaths.default()
    log = log or _silent
    chain_engine(check_engine(engine)).check_options(block_time_ms)
    ipfs_ports = (ipfs_api_port, ipfs_gateway_port) if ipfs else None
    started = time.monotonic()
    _usable_root(paths, create=True)
    with _process.interrupt_on_signals(), _turn(paths, "up", timeout=LOCK_WAIT, log=log):
        current = read_state(paths)
        if current is not None and not _chain_alive(current.chain):
            log(
                f"The devnet's chain (pid {current.chain.pid}) had stopped unexpectedly; "
                f"starting it again from the saved state (its log: {current.chain.log})."
            )
            if current.ipfs is not None:
                _stop_ipfs(current.ipfs)
            paths.state_file.unlink(missing_ok=True)
            current = None
        stray = _unrecorded(paths, current)
        if stray:
            raise _unrecorded_error(stray)
        if current is not None:
            state = _reuse_running(
                current,
                paths,
                port=port,
                fresh=fresh,
                ipfs_ports=ipfs_ports,
                engine=engine,
                block_time_ms=block_time_ms,
                log=log,
            )
            height, _ = _height_or_unavailable(state)
            resumed = False
        else:
            state, resumed, height = _start(
                paths,
                port=port,
                fresh=fresh,
                ipfs_ports=ipfs_ports,
                timeout=timeout,
                engine=engine,
                block_time_ms=block_time_ms,
                log=log,
            )
    return UpResult(
        state=state,
        paths=paths,
        already_running=current is not None,
        resumed=resumed,
        height=height,
        seconds=time.monotonic() - started,
    )


def _height_or_unavailable(state: DevnetState) -> tuple[int, str]:
    try:
        return block_height(state.chain.url)
    except DevnetError as exc:
        raise ChainUnavailable(
            f"the devnet's chain (pid {state.chain.pid}) runs but answers with errors: {exc}",
            address=state.chain.url,
            hint=f"see {state.chain.log}; `decentralml devnet down` then `up` restarts it",
        ) from exc


def _start(
    paths: DevnetPaths,
    *,
    port: int,
    fresh: bool,
    ipfs_ports: tuple[int, int] | None,
    timeout: float,
    log: Log,
    engine: str = ENGINE_CHOPSTICKS,
    block_time_ms: int | None = None,
) -> tuple[DevnetState, bool, int]:
    """Start the chain (and Kubo) and record them; returns the state, whether it resumed,
    and the height. Stops whatever it started if anything fails or interrupts it."""
    _check_port_free(port, "chain RPC", "--port")
    if ipfs_ports is not None:
        _check_ipfs_ports_free(ipfs_ports)
    engine_impl = chain_engine(engine)
    # Before anything is discarded or started: a missing binary is a one-line answer.
    engine_impl.check_installed()
    spec = chain_spec_path()
    spec_sha = _sha256(spec)
    if fresh:
        _reset(paths)
    _check_same_engine(paths, engine)
    if engine_impl.has_state(paths):
        _check_state_matches(paths, engine_impl, spec, spec_sha)
    started: StartedChain | None = None
    try:
        started = engine_impl.start(
            paths,
            spec=spec,
            spec_sha=spec_sha,
            port=port,
            block_time_ms=block_time_ms,
            timeout=timeout,
            log=log,
        )
        write_meta(
            paths,
            {
                "chain_spec_sha256": spec_sha,
                "spec_version": shipped_spec_version(),
                "engine": engine,
                **started.meta,
            },
        )
        state = _start_ipfs_and_record(paths, started.record, ipfs_ports, log)
    except BaseException:
        if started is not None:
            engine_impl.stop(started.record, timeout=20.0)
        raise
    return state, started.resumed, started.height


def _engine_label(engine: str, block_time_ms: int | None) -> str:
    return chain_engine(engine).label(block_time_ms)


def _start_ipfs_and_record(
    paths: DevnetPaths, chain: ChainRecord, ipfs_ports: tuple[int, int] | None, log: Log
) -> DevnetState:
    """Start Kubo beside the started chain (when asked) and record both; stops Kubo again
    if anything fails or interrupts it (the caller stops the chain)."""
    ipfs: IpfsRecord | None = None
    try:
        if ipfs_ports is not None:
            ipfs = _start_ipfs(paths, ipfs_ports, log)
        state = DevnetState(started_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"), chain=chain, ipfs=ipfs)
        _record(paths, state)
    except BaseException:
        if ipfs is not None:
            _stop_ipfs(ipfs)
        raise
    return state


def _record(paths: DevnetPaths, state: DevnetState) -> None:
    try:
        write_state(paths, state)
    except OSError as exc:
        raise DevnetError(
            f"cannot record the devnet in {paths.state_file}: {exc.strerror or exc}; "
            "what had started was stopped again",
            hint="free some disk space or fix the directory's permissions, then retry",
        ) from exc


def _port_of(url: str) -> int | None:
    return urlsplit(url).port


def _reuse_running(
    current: DevnetState,
    paths: DevnetPaths,
    *,
    port: int,
    fresh: bool,
    ipfs_ports: tuple[int, int] | None,
    log: Log,
    engine: str = ENGINE_CHOPSTICKS,
    block_time_ms: int | None = None,
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
    if engine != current.chain.engine or block_time_ms != current.chain.block_time_ms:
        raise DevnetError(
            f"the devnet is already running at {current.chain.url} on "
            f"{_engine_label(current.chain.engine, current.chain.block_time_ms)}, not on "
            f"{_engine_label(engine, block_time_ms)}",
            hint="use it as it is, or run `decentralml devnet down` first",
        )
    if port != current.chain.port:
        raise DevnetError(
            f"the devnet is already running at {current.chain.url}, not on port {port}",
            hint="use it there, or run `decentralml devnet down` and start it on the new port",
        )
    if ipfs_ports is None:
        return current
    if current.ipfs is not None and _ipfs_alive(current.ipfs):
        running = (_port_of(current.ipfs.api_url), _port_of(current.ipfs.gateway_url))
        if running != ipfs_ports:
            raise DevnetError(
                f"the devnet's IPFS is already running with its API at {current.ipfs.api_url} "
                f"and gateway at {current.ipfs.gateway_url}, not on ports "
                f"{ipfs_ports[0]} and {ipfs_ports[1]}",
                hint="use it there, or run `decentralml devnet down` and start it on the new ports",
            )
        return current
    _check_ipfs_ports_free(ipfs_ports)
    ipfs = _start_ipfs(paths, ipfs_ports, log)
    try:
        current = dataclasses.replace(current, ipfs=ipfs)
        _record(paths, current)
    except BaseException:
        _stop_ipfs(ipfs)
        raise
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
        start_time=daemon.start_time,
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
    chain_had_stopped: bool = False
    unrecorded_stopped: tuple[int, ...] = ()


@_os_errors_as_devnet_errors
def down(
    *,
    paths: DevnetPaths | None = None,
    timeout: float = 20.0,
    log: Log | None = None,
    lock_timeout: float = LOCK_WAIT,
) -> DownResult:
    """Stop what `up` started (and nothing else). The state database is kept.

    Also stops processes of this devnet that were never recorded or whose record was lost.
    Waits (saying so through `log`) for an `up` in progress to finish first.
    """
    paths = paths or DevnetPaths.default()
    log = log or _silent
    if not _usable_root(paths, create=False):
        return DownResult(was_running=False, chain_stopped=False, ipfs_stopped=False, db=paths.db)

    with _turn(paths, "down", timeout=lock_timeout, log=log):
        return _down(paths, timeout=timeout)


def _down(paths: DevnetPaths, *, timeout: float) -> DownResult:
    state = read_state(paths)
    ipfs_stopped = False
    chain_stopped = False
    chain_had_stopped = False
    if state is not None:
        ipfs_stopped = _stop_ipfs(state.ipfs) if state.ipfs is not None else False
        if _chain_alive(state.chain):
            if _process.is_stopped(state.chain.pid):
                # A stopped (SIGSTOP) chain can neither answer nor save; let it run so that it
                # saves its last block and then acts on SIGTERM.
                with contextlib.suppress(ProcessLookupError):
                    os.kill(state.chain.pid, signal.SIGCONT)
            chain_stopped = _stop_chain(state.chain, timeout=timeout)
        else:
            chain_had_stopped = True
    stray = _unrecorded(paths, None)
    for proc in stray:
        _process.terminate(proc.pid, timeout=timeout)
    paths.state_file.unlink(missing_ok=True)
    return DownResult(
        was_running=chain_stopped or bool(stray),
        chain_stopped=chain_stopped or any(proc.what == "chain" for proc in stray),
        ipfs_stopped=ipfs_stopped or any(proc.what == "IPFS" for proc in stray),
        db=Path(state.chain.db) if state is not None else paths.db,
        chain_had_stopped=chain_had_stopped,
        unrecorded_stopped=tuple(proc.pid for proc in stray),
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
    """What `status` reports.

    `state` is one of ``running`` (all that `up` started answers), ``degraded`` (the chain
    answers, the IPFS daemon it started does not), ``stopped``, ``crashed`` (recorded, but
    the chain process has exited), ``starting`` or ``stopping`` (an `up` or `down` is at
    work). `problem` and `hint` say what is wrong and what to do, when something is.
    """

    running: bool
    paths: DevnetPaths
    state: DevnetState | None = None
    info: ChainInfo | None = None
    ipfs: IpfsStatus = field(default_factory=lambda: IpfsStatus(running=False))
    condition: str = "stopped"
    problem: str | None = None
    hint: str | None = None

    @property
    def healthy(self) -> bool:
        return self.condition == "running"


@_os_errors_as_devnet_errors
def status(*, paths: DevnetPaths | None = None) -> DevnetStatus:
    """Whether the devnet runs; if so its chain name, height, runtime, pallets and IPFS.

    Only looks: it starts, stops and clears nothing. Raises `ChainUnavailable` when the
    devnet's process runs but its RPC does not answer (or answers with errors), and
    `DevnetError` when processes of this devnet run without a record.
    """
    paths = paths or DevnetPaths.default()
    if not _usable_root(paths, create=False):
        return DevnetStatus(running=False, paths=paths)
    busy = holder(paths)
    if busy is not None and busy.label in ("up", "down"):
        return DevnetStatus(
            running=False,
            paths=paths,
            condition="starting" if busy.label == "up" else "stopping",
            problem=f"{_busy_error(busy)}",
            hint="run `decentralml devnet status` again when it has finished",
        )
    state = read_state(paths)
    stray = _unrecorded(paths, state)
    if stray:
        raise _unrecorded_error(stray)
    if state is None:
        return DevnetStatus(running=False, paths=paths)
    if not _chain_alive(state.chain):
        leftover = (
            " (its IPFS daemon still runs)"
            if state.ipfs is not None and _ipfs_alive(state.ipfs)
            else ""
        )
        return DevnetStatus(
            running=False,
            paths=paths,
            state=state,
            condition="crashed",
            problem=f"the devnet's chain (pid {state.chain.pid}) has stopped unexpectedly"
            f"{leftover}; the last lines of its log:\n"
            + _process.tail(Path(state.chain.log), lines=5),
            hint="`decentralml devnet up` starts it again from the saved state "
            f"(log: {state.chain.log})",
        )
    try:
        info = chain_info(state.chain.url)
    except ChainUnavailable as exc:
        exc.hint = f"the devnet's process {state.chain.pid} runs but does not answer; see its log"
        raise
    except DevnetError as exc:
        raise ChainUnavailable(
            f"the devnet's chain (pid {state.chain.pid}) runs but answers with errors: {exc}",
            address=state.chain.url,
            hint=f"see {state.chain.log}; `decentralml devnet down`, then `up` (or "
            "`up --fresh` if the log shows a damaged database)",
        ) from exc
    ipfs = IpfsStatus(running=False)
    condition, problem, hint = "running", None, None
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
        if not alive:
            condition = "degraded"
            problem = (
                f"the devnet's IPFS daemon (pid {state.ipfs.pid}) does not answer at "
                f"{state.ipfs.api_url}"
            )
            hint = "`decentralml devnet up` starts it again beside the running chain"
    return DevnetStatus(
        running=True,
        paths=paths,
        state=state,
        info=info,
        ipfs=ipfs,
        condition=condition,
        problem=problem,
        hint=hint,
    )


@dataclass(frozen=True)
class AdvanceResult:
    """The outcome of `advance`: `count` is how far the height was asked to move, `jumped`
    whether it moved there in one block."""

    url: str
    count: int
    from_height: int
    to_height: int
    best_hash: str
    jumped: bool = False


def _offers_dev_blocks(url: str) -> bool:
    """Whether the chain at `url` lists Chopsticks' `dev_newBlock` among its RPC methods."""
    methods = rpc_call(url, "rpc_methods")
    return "dev_newBlock" in (methods.get("methods") or [])


def running_url(paths: DevnetPaths | None = None) -> str:
    """The RPC URL of the running devnet; `ChainUnavailable` if it does not run."""
    paths = paths or DevnetPaths.default()
    state = read_state(paths)
    if state is None:
        raise ChainUnavailable(
            "the devnet is not running",
            address=f"ws://{_process.LOOPBACK}:{DEFAULT_RPC_PORT}",
            hint="start it with `decentralml devnet up`",
        )
    if not _chain_alive(state.chain):
        raise ChainUnavailable(
            f"the devnet's chain (pid {state.chain.pid}) has stopped unexpectedly",
            address=state.chain.url,
            hint=f"start it again with `decentralml devnet up` (its log: {state.chain.log})",
        )
    return state.chain.url


def advance(
    count: int,
    *,
    jump: bool = False,
    paths: DevnetPaths | None = None,
    url: str | None = None,
) -> AdvanceResult:
    """Produce `count` empty blocks on the running devnet (deadlines pass only as blocks do).

    With `jump`, build a single block at the current height plus `count` instead, so that
    periods of days or weeks (hundreds of thousands of blocks) pass at once. The heights in
    between have no block; the runtime only sees its block number leap. Later blocks, and
    `down` then `up`, continue from the jumped height.

    With `url`, the dev chain answering there (a devnet container, another machine's devnet)
    instead of the one this machine's devnet record names; it must offer Chopsticks'
    `dev_newBlock`.

    On the omni-node engine blocks are made one by one (see `omni_node.make_blocks`), and
    `jump` is refused: a real node cannot skip block numbers.
    """
    if count < 1:
        raise DevnetError(f"the number of blocks must be at least 1, got {count}")
    record: ChainRecord | None = None
    local = read_state(paths or DevnetPaths.default())
    if url is None:
        url = running_url(paths)  # says why when the devnet is not running
        record = local.chain if local is not None else None
    elif local is not None and local.chain.url == url and _chain_alive(local.chain):
        record = local.chain  # this machine's devnet, named by its URL
    elif not _offers_dev_blocks(url):
        raise DevnetError(
            f"the chain at {url} cannot make blocks on request (no dev_newBlock): only a "
            "dev chain on Chopsticks, or this machine's devnet (on either engine), can be "
            "advanced"
        )
    before, _ = block_height(url)
    if record is not None:
        chain_engine(record.engine).make_blocks(record, count, jump=jump)
    else:
        chopsticks.make_blocks(url, count, jump=jump)
    after, best_hash = block_height(url)
    return AdvanceResult(
        url=url,
        count=count,
        from_height=before,
        to_height=after,
        best_hash=best_hash,
        jumped=jump,
    )
