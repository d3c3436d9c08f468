"""polkadot-omni-node: the real Substrate node the devnet can run the runtime on.

`omni_node_binary` finds the pinned binary (``scripts/install-omni-node`` builds it);
`start_omni_node` runs it as a single dev node on 127.0.0.1 with its database in the devnet's
directory; `stop_omni_node` stops it so that it closes its database; `make_blocks` makes
blocks on request.

The node runs the parachain runtime without a relay chain: with ``--instant-seal`` it seals a
block as soon as a transaction arrives (as the Chopsticks devnet does), with
``--dev-block-time MS`` one every MS milliseconds, finalized. It mocks the relay chain's
validation data in each block and gives each block its own Aura slot, so chain time moves
by one slot (six seconds) per block whatever the wall clock does.

The release pinned here has no RPC that seals a block on request (its manual-seal channel is
fed only by the block-time timer), so `make_blocks` on an instant-seal node sends one
``System.remark`` per block, signed by the dev account //Two, which no client or test uses.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from decentralml.config import cache_dir
from decentralml.devnet import _process
from decentralml.devnet._engine import StartedChain
from decentralml.devnet._metadata import block_height
from decentralml.devnet._rpc import rpc_call, wait_answering
from decentralml.devnet._state import ENGINE_OMNI_NODE, ChainRecord, DevnetPaths
from decentralml.errors import DevnetError, EngineUnavailable

OMNI_NODE_VERSION = "0.24.0"
BINARY_NAME = "polkadot-omni-node"
MARKER = BINARY_NAME
INSTALL_SCRIPT = "scripts/install-omni-node"
INSTALL_TIME = "about 80 minutes on 2 cores"
# The dev account whose remarks make blocks on request (see the module docstring).
CLOCK_ACCOUNT_URI = "//Two"

Log = Callable[[str], None]


def _silent(_: str) -> None:
    pass


def default_binary_path(version: str = OMNI_NODE_VERSION) -> Path:
    """Where `scripts/install-omni-node` puts the binary."""
    return cache_dir() / "omni-node" / version / "bin" / BINARY_NAME


def omni_node_binary() -> Path:
    """The pinned ``polkadot-omni-node``: ``$DECENTRALML_OMNI_NODE_BIN`` or the installed one.

    Raises `EngineUnavailable` (CLI exit 3) naming the install script when it is missing:
    building it takes over an hour, so it is never built on the fly.
    """
    override = os.environ.get("DECENTRALML_OMNI_NODE_BIN")
    if override:
        path = Path(override).expanduser()
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise EngineUnavailable(
                f"DECENTRALML_OMNI_NODE_BIN={override} is not an executable file",
                hint="point it at a polkadot-omni-node binary, or unset it to use "
                f"the one {INSTALL_SCRIPT} installs",
            )
        return path
    path = default_binary_path()
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise EngineUnavailable(
            f"polkadot-omni-node {OMNI_NODE_VERSION} is not installed: run {INSTALL_SCRIPT} "
            f"(it builds the node from crates.io, {INSTALL_TIME}), or use the default "
            "engine, chopsticks",
            hint=f"it installs into {path.parent.parent}; DECENTRALML_OMNI_NODE_BIN names "
            "another binary",
        )
    return path


def binary_version(binary: Path) -> str:
    """What the binary says its version is (the node's release, e.g. ``1.25.1-…``)."""
    try:
        out = subprocess.run(
            [str(binary), "--version"], capture_output=True, text=True, timeout=30, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise EngineUnavailable(
            f"{binary} does not run: {exc}",
            hint=f"rebuild it with {INSTALL_SCRIPT}, or point DECENTRALML_OMNI_NODE_BIN at "
            "a working binary",
        ) from exc
    words = out.split()
    return words[-1] if words else "unknown"


@dataclass(frozen=True)
class OmniNodeProcess:
    """A running omni-node: its pid (with start time, against pid reuse), port and files."""

    pid: int
    start_time: int | None
    port: int
    url: str
    log_path: Path
    base_path: Path
    binary: Path
    version: str


def node_argv(
    binary: Path,
    *,
    spec: Path,
    base_path: Path,
    port: int,
    p2p_port: int,
    block_time_ms: int | None,
) -> list[str]:
    """The command line of a dev node: loopback only, its database under `base_path`."""
    seal = ["--instant-seal"] if block_time_ms is None else ["--dev-block-time", str(block_time_ms)]
    return [
        str(binary),
        "--chain",
        str(spec),
        "--base-path",
        str(base_path),
        *seal,
        "--rpc-port",
        str(port),
        # A dev node takes no peers, but it still listens: on loopback, on a free port.
        "--listen-addr",
        f"/ip4/{_process.LOOPBACK}/tcp/{p2p_port}",
        "--no-prometheus",
        "--no-telemetry",
        "--no-mdns",
        "--no-hardware-benchmarks",
        # Every block's state stays readable, as on the Chopsticks devnet.
        "--state-pruning",
        "archive",
        "--blocks-pruning",
        "archive",
        "--name",
        "decentralml-devnet",
    ]


_RPC_LISTENING = re.compile(r"Running JSON-RPC server: addr=[^\s,]*:(\d+)")


def start_omni_node(
    *,
    spec: Path,
    base_path: Path,
    port: int,
    log_path: Path,
    cwd: Path,
    block_time_ms: int | None = None,
    timeout: float = 180.0,
    log: Log | None = None,
) -> OmniNodeProcess:
    """Start the node detached in `cwd`, wait for its RPC to answer, and return it.

    Raises `EngineUnavailable` when the binary is missing, `DevnetError` when the node exits,
    listens elsewhere or does not answer in time; the process is stopped in those cases and
    on any exception (Ctrl-C included) raised while waiting for it.
    """
    log = log or _silent
    binary = omni_node_binary()
    version = binary_version(binary)
    base_path.mkdir(parents=True, exist_ok=True)
    _process.rotate_log(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    argv = node_argv(
        binary,
        spec=spec,
        base_path=base_path,
        port=port,
        p2p_port=_process.free_port(),
        block_time_ms=block_time_ms,
    )
    with log_path.open("ab") as out:
        offset = out.tell()
        out.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} starting omni-node ===\n".encode())
        out.flush()
        try:
            proc = subprocess.Popen(
                argv,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, "NO_COLOR": "1", "RUST_LOG_STYLE": "never"},
            )
        except OSError as exc:
            raise DevnetError(f"cannot start {binary}: {exc}") from exc
    started = OmniNodeProcess(
        pid=proc.pid,
        start_time=_process.process_start_time(proc.pid),
        port=port,
        url=f"ws://{_process.LOOPBACK}:{port}",
        log_path=log_path,
        base_path=base_path,
        binary=binary,
        version=version,
    )
    try:
        _wait_ready(proc, started, offset=offset, timeout=timeout)
    except BaseException:
        _process.terminate(proc.pid, timeout=20)
        raise
    return started


def _wait_ready(
    proc: subprocess.Popen[bytes], started: OmniNodeProcess, *, offset: int, timeout: float
) -> None:
    deadline = time.monotonic() + timeout

    def failed(reason: str, hint: str) -> DevnetError:
        return DevnetError(
            f"polkadot-omni-node {reason}; last lines of {started.log_path}:\n"
            + _process.tail(started.log_path),
            hint=hint,
        )

    def logged_port() -> int | None:
        try:
            with started.log_path.open("rb") as fh:
                fh.seek(offset)
                text = fh.read().decode(errors="replace")
        except OSError:
            return None
        match = _RPC_LISTENING.search(text)
        return int(match.group(1)) if match else None

    while True:
        port = logged_port()
        if port is not None:
            break
        if proc.poll() is not None:
            raise failed(
                f"exited with code {proc.returncode} while starting",
                "read the log above; `decentralml devnet up --fresh` starts from a new state",
            )
        if time.monotonic() >= deadline:
            raise failed(f"did not start its RPC server within {timeout:.0f} s", "see the log")
        time.sleep(0.1)
    if port != started.port:
        raise DevnetError(
            f"port {started.port} on {_process.LOOPBACK} was taken while the devnet started "
            f"(the node moved to {port}, and was stopped)",
            hint="stop what uses the port, or pick another with --port",
        )
    wait_answering(started.url, proc, deadline=deadline, timeout=timeout, failed=failed)


def is_omni_node(pid: int, *, start_time: int | None, cwd: Path | None = None) -> bool:
    """Whether `pid` is still the omni-node process started at `start_time` (in `cwd`)."""
    return _process.is_same_process(pid, start_time=start_time, marker=MARKER, cwd=cwd)


def stop_omni_node(pid: int, *, start_time: int | None, timeout: float = 30.0) -> bool:
    """Stop the node `pid` if it is still the one we started (SIGTERM: it closes its
    database; SIGKILL only after `timeout`). Returns True if it was running and stopped."""
    if not is_omni_node(pid, start_time=start_time):
        return False
    return _process.terminate(pid, timeout=timeout)


def _height(url: str) -> int:
    return int(rpc_call(url, "chain_getHeader")["number"], 16)


def make_blocks(url: str, count: int, *, instant_seal: bool, block_time_ms: int | None) -> str:
    """Make `count` blocks on the node at `url`; returns the new best block's hash.

    An instant-seal node seals one block per ``System.remark`` that //Two sends (each waits
    for its block); a block-time node makes them on its own, so this waits for them.
    """
    if count < 1:
        raise DevnetError(f"the number of blocks must be at least 1, got {count}")
    target = _height(url) + count
    if instant_seal:
        _remark_blocks(url, target)
    else:
        per_block = (block_time_ms or 6000) / 1000
        reached = _process.wait_until(
            lambda: _height(url) >= target, timeout=30.0 + 2 * per_block * count, interval=0.2
        )
        if reached is None:
            raise DevnetError(
                f"the node did not reach block #{target} in time",
                hint="see the devnet's chain log (`decentralml devnet status` names it)",
            )
    return str(rpc_call(url, "chain_getBlockHash"))


def _remark_blocks(url: str, target: int) -> None:
    from substrateinterface import Keypair, SubstrateInterface
    from substrateinterface.exceptions import SubstrateRequestException

    keypair = Keypair.create_from_uri(CLOCK_ACCOUNT_URI)
    substrate = SubstrateInterface(url=url)
    try:
        while _height(url) < target:
            call = substrate.compose_call("System", "remark", {"remark": b""})
            extrinsic = substrate.create_signed_extrinsic(call=call, keypair=keypair)
            try:
                substrate.submit_extrinsic(extrinsic, wait_for_inclusion=True)
            except SubstrateRequestException as exc:
                raise DevnetError(
                    f"the node refused the remark that makes a block: {exc}",
                    hint=f"the dev account {CLOCK_ACCOUNT_URI} pays for these blocks; "
                    "`decentralml devnet up --fresh` starts a new chain",
                ) from exc
    finally:
        substrate.close()


class OmniNodeEngine:
    """polkadot-omni-node as the devnet's chain engine: its database under ``omni-node/``."""

    name = ENGINE_OMNI_NODE
    marker = MARKER

    def state_path(self, paths: DevnetPaths) -> Path:
        return paths.omni_node_base

    def log_path(self, paths: DevnetPaths) -> Path:
        return paths.omni_node_log

    def label(self, block_time_ms: int | None) -> str:
        if block_time_ms is None:
            return f"{self.name} (a block per transaction)"
        return f"{self.name} (a block every {block_time_ms} ms)"

    def check_options(self, block_time_ms: int | None) -> None:
        if block_time_ms is not None and block_time_ms < 100:
            raise DevnetError(f"--block-time must be at least 100 ms, got {block_time_ms}")

    def check_installed(self) -> None:
        omni_node_binary()

    def has_state(self, paths: DevnetPaths) -> bool:
        base = paths.omni_node_base
        return base.is_dir() and any(base.iterdir())

    def state_from_other_spec(self, paths: DevnetPaths, spec: Path) -> bool:
        # The node itself refuses a database of another genesis, with its own words.
        return False

    def reset(self, paths: DevnetPaths) -> None:
        if paths.omni_node_base.exists():
            shutil.rmtree(paths.omni_node_base)

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
        resumed = (paths.omni_node_base / "chains").is_dir()
        log(f"Starting {self.label(block_time_ms)} on ws://{_process.LOOPBACK}:{port} ...")
        chain = start_omni_node(
            spec=spec,
            base_path=paths.omni_node_base,
            port=port,
            log_path=paths.omni_node_log,
            cwd=paths.root,
            block_time_ms=block_time_ms,
            timeout=timeout,
            log=log,
        )
        try:
            height, _ = block_height(chain.url)
        except BaseException:
            stop_omni_node(chain.pid, start_time=chain.start_time)
            raise
        record = ChainRecord(
            pid=chain.pid,
            start_time=chain.start_time,
            port=chain.port,
            url=chain.url,
            db=str(paths.omni_node_base),
            log=str(paths.omni_node_log),
            chain_spec_sha256=spec_sha,
            engine=self.name,
            binary=str(chain.binary),
            version=chain.version,
            block_time_ms=block_time_ms,
        )
        return StartedChain(record=record, resumed=resumed, height=height, meta={})

    def is_alive(self, record: ChainRecord) -> bool:
        return is_omni_node(record.pid, start_time=record.start_time)

    def stop(self, record: ChainRecord, *, timeout: float) -> bool:
        return stop_omni_node(record.pid, start_time=record.start_time, timeout=timeout)

    def make_blocks(self, record: ChainRecord, count: int, *, jump: bool) -> None:
        if jump:
            raise DevnetError(
                "--jump needs the chopsticks engine: polkadot-omni-node builds every block, so "
                "its block number cannot leap",
                hint=f"advance block by block (`devnet advance {count}`), or run the devnet "
                "with `--engine chopsticks`",
            )
        make_blocks(
            record.url,
            count,
            instant_seal=record.block_time_ms is None,
            block_time_ms=record.block_time_ms,
        )


ENGINE = OmniNodeEngine()
