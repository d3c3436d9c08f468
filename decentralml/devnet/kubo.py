"""Kubo (the Go IPFS daemon) for the dev network: a pinned build, started and stopped.

`kubo_binary` returns the pinned ``ipfs`` binary, building it with the Go toolchain into the
user's cache directory the first time. `start_kubo` runs it offline on 127.0.0.1 with its own
repository; `stop_kubo` ends it; `kubo_alive` asks whether an API answers.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from decentralml.config import cache_dir
from decentralml.devnet._process import (
    LOOPBACK,
    file_lock,
    find_processes,
    is_same_process,
    pid_alive,
    port_in_use,
    process_cmdline,
    process_start_time,
    rotate_log,
    tail,
    terminate,
)
from decentralml.errors import DevnetError

KUBO_VERSION = "v0.43.0"
KUBO_PACKAGE = "github.com/ipfs/kubo/cmd/ipfs"

_POLL = 0.1
_LOG_TAIL = 2000
_ERROR_LINES = 12
_MARKER = "daemon"
_children: dict[int, subprocess.Popen[bytes]] = {}


def _no_log(message: str) -> None:
    pass


def kubo_binary(*, install: bool = True, log: Callable[[str], None] | None = None) -> Path:
    """The pinned ``ipfs`` binary, built with ``go install`` when missing.

    ``$DECENTRALML_KUBO_BIN`` wins when set. Otherwise the binary lives at
    ``<cache_dir()>/kubo/<KUBO_VERSION>/bin/ipfs``.

    Parameters
    ----------
    install:
        Build the binary if it is missing (takes minutes, once).
    log:
        Receives progress notes for a human.

    Returns
    -------
    Path
        The executable.

    Raises
    ------
    DevnetError
        The binary is missing and `install` is false, Go is missing, or the build failed.
    """
    log = log or _no_log
    override = os.environ.get("DECENTRALML_KUBO_BIN")
    if override:
        path = Path(override)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise DevnetError(
                f"DECENTRALML_KUBO_BIN={override} is not an executable file",
                hint="point it at an `ipfs` binary, or unset it to use the pinned build",
            )
        return path
    base = cache_dir() / "kubo" / KUBO_VERSION
    binary = base / "bin" / "ipfs"
    if _is_executable(binary):
        return binary
    if not install:
        raise DevnetError(
            f"Kubo {KUBO_VERSION} is not installed (expected at {binary})",
            hint="run scripts/install-kubo, or set DECENTRALML_KUBO_BIN to an ipfs binary",
        )
    base.mkdir(parents=True, exist_ok=True)
    with file_lock(base / ".install.lock"):
        if not _is_executable(binary):  # another process may have built it meanwhile
            _build(base, binary, log)
    return binary


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _find_go() -> str:
    go = shutil.which("go") or next(
        (p for p in ("/usr/local/go/bin/go", "/usr/lib/go/bin/go") if _is_executable(Path(p))),
        None,
    )
    if go is None:
        raise DevnetError(
            f"Go is needed to build Kubo {KUBO_VERSION}, and no `go` command was found",
            hint="install Go (1.26 or newer) and retry, or set DECENTRALML_KUBO_BIN "
            "to an existing ipfs binary",
        )
    return go


def _build(base: Path, binary: Path, log: Callable[[str], None]) -> None:
    """Build Kubo into `binary`.

    ``go install <package>@<version>`` would be the one-liner, but it first asks the module
    proxy for the module's whole version list (to report deprecations), which proxies that
    serve only pinned versions refuse. A throwaway module that requires exactly
    `KUBO_VERSION` builds the same code with the same dependency versions.
    """
    go = _find_go()
    src = base / "src"
    src.mkdir(exist_ok=True)
    staging = base / "bin.partial"
    shutil.rmtree(staging, ignore_errors=True)
    env = {
        **os.environ,
        "GOBIN": str(staging),
        "GOFLAGS": "-trimpath -buildvcs=false",
    }
    build_log = base / "build.log"
    log(f"building Kubo {KUBO_VERSION} with {go} (several minutes, only once); log: {build_log}")
    steps: list[list[str]] = []
    if not (src / "go.mod").exists():
        steps.append([go, "mod", "init", "decentralml.invalid/kubo-build"])
    steps += [[go, "get", f"{KUBO_PACKAGE}@{KUBO_VERSION}"], [go, "install", KUBO_PACKAGE]]
    started = time.monotonic()
    with open(build_log, "wb") as out:
        for step in steps:
            out.write(f"$ {' '.join(step)}\n".encode())
            out.flush()
            code = subprocess.call(step, cwd=src, env=env, stdout=out, stderr=subprocess.STDOUT)
            if code != 0:
                raise DevnetError(
                    f"building Kubo {KUBO_VERSION} failed at `{' '.join(step[1:3])}` "
                    f"(exit {code}):\n{_tail(build_log)}",
                    hint=f"see {build_log}; the Go module proxy must be reachable",
                )
    binary.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staging / "ipfs", binary)
    shutil.rmtree(staging, ignore_errors=True)
    log(f"built {binary} in {time.monotonic() - started:.0f} s")


def _tail(path: Path, limit: int = _LOG_TAIL) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(max(0, fh.seek(0, os.SEEK_END) - limit))
            return fh.read().decode(errors="replace").strip()
    except OSError:
        return "(no log)"


@dataclass
class KuboDaemon:
    """A running Kubo daemon started by `start_kubo`."""

    pid: int
    api_url: str
    gateway_url: str
    repo: Path
    log_path: Path
    start_time: int | None = None


def _ipfs(binary: Path, repo: Path, *args: str) -> None:
    env = {**os.environ, "IPFS_PATH": str(repo), "IPFS_TELEMETRY": "off"}
    result = subprocess.run(
        [str(binary), *args], env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise DevnetError(
            f"`ipfs {' '.join(args)}` failed (exit {result.returncode}): "
            f"{(result.stderr or result.stdout).strip()}"
        )


def _configure(binary: Path, repo: Path, api_port: int, gateway_port: int) -> None:
    if not (repo / "config").exists():
        repo.mkdir(parents=True, exist_ok=True)
        _ipfs(binary, repo, "init", "--profile", "test", "--empty-repo")
    _ipfs(binary, repo, "config", "Addresses.API", f"/ip4/{LOOPBACK}/tcp/{api_port}")
    _ipfs(binary, repo, "config", "Addresses.Gateway", f"/ip4/{LOOPBACK}/tcp/{gateway_port}")
    _ipfs(binary, repo, "config", "--json", "Addresses.Swarm", "[]")
    _ipfs(binary, repo, "config", "--json", "AutoConf.Enabled", "false")


def start_kubo(
    repo: Path,
    *,
    api_port: int = 5001,
    gateway_port: int = 8080,
    log_path: Path,
    timeout: float = 60.0,
) -> KuboDaemon:
    """Start an offline Kubo daemon on 127.0.0.1 and wait until its API answers.

    Parameters
    ----------
    repo:
        The daemon's repository (``IPFS_PATH``); initialised with the ``test`` profile if
        missing, then its API and gateway addresses are set to the given ports.
    api_port, gateway_port:
        Loopback ports for the RPC API and the gateway. A port in use is an error.
    log_path:
        File receiving the daemon's output.
    timeout:
        Seconds to wait for the API to answer.

    Returns
    -------
    KuboDaemon
        The pid and addresses of the running daemon.

    Raises
    ------
    DevnetError
        A port is taken, the repository cannot be set up, or the daemon exited or did not
        answer in time (the message quotes its log).
    """
    binary = kubo_binary()
    repo = Path(repo)
    running = find_processes(cwd=repo, marker=_MARKER) if repo.is_dir() else []
    if running:
        # `ipfs config` would rewrite the configuration under the running daemon.
        raise DevnetError(
            f"a Kubo daemon (pid {running[0]}) already runs on the repository {repo}",
            hint="stop it first (`decentralml devnet down` stops the devnet's own)",
        )
    for port, what in ((api_port, "API"), (gateway_port, "gateway")):
        if port_in_use(port):
            raise DevnetError(
                f"port {port} on {LOOPBACK} (for the Kubo {what}) is already in use",
                hint="stop what uses it (`decentralml devnet down`?) or choose another port",
            )
    _configure(binary, repo, api_port, gateway_port)
    rotate_log(log_path)
    env = {**os.environ, "IPFS_PATH": str(repo), "IPFS_TELEMETRY": "off"}
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [str(binary), _MARKER, "--offline"],
            env=env,
            cwd=repo,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _children[proc.pid] = proc
    daemon = KuboDaemon(
        pid=proc.pid,
        api_url=f"http://{LOOPBACK}:{api_port}",
        gateway_url=f"http://{LOOPBACK}:{gateway_port}",
        repo=repo,
        log_path=log_path,
        start_time=process_start_time(proc.pid),
    )
    try:
        _wait_ready(proc, daemon, timeout)
    except BaseException:
        # Ctrl-C, SIGTERM or a timeout while waiting: leave no daemon behind.
        stop_kubo(proc.pid)
        raise
    return daemon


def _wait_ready(proc: subprocess.Popen[bytes], daemon: KuboDaemon, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not kubo_alive(daemon.api_url):
        if proc.poll() is not None:
            raise DevnetError(
                f"Kubo exited with code {proc.returncode} while starting; the last lines of "
                f"{daemon.log_path}:\n{tail(daemon.log_path, lines=_ERROR_LINES)}",
                hint=f"see {daemon.log_path}",
            )
        if time.monotonic() > deadline:
            raise DevnetError(
                f"Kubo's API at {daemon.api_url} did not answer within {timeout:g} s; the last "
                f"lines of {daemon.log_path}:\n{tail(daemon.log_path, lines=_ERROR_LINES)}",
                hint=f"see {daemon.log_path}",
            )
        time.sleep(_POLL)


def is_kubo(pid: int, *, start_time: int | None, repo: Path) -> bool:
    """Whether `pid` is still the daemon started at `start_time` on `repo`.

    Checked by the daemon's working directory and arguments, not the program's name, which
    may be anything (``DECENTRALML_KUBO_BIN`` can name a symlink or a renamed binary).
    """
    return is_same_process(pid, start_time=start_time, marker=_MARKER, cwd=repo)


def _is_kubo(pid: int) -> bool:
    """Whether `pid` runs ``ipfs daemon`` (where /proc tells), so a reused pid is left alone."""
    cmdline = process_cmdline(pid)
    return cmdline is None or _MARKER in cmdline


def stop_kubo(pid: int, *, timeout: float = 20.0) -> bool:
    """Stop the daemon: SIGTERM, then SIGKILL if it has not exited after `timeout` seconds.

    Returns
    -------
    bool
        True if it was running.
    """
    running = pid_alive(pid) and _is_kubo(pid)
    if running:
        terminate(pid, timeout=timeout)
    proc = _children.pop(pid, None)
    if proc is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=1.0)
    return running


def kubo_alive(api_url: str) -> bool:
    """Whether an IPFS RPC API answers at `api_url` (within two seconds)."""
    try:
        response = httpx.post(api_url.rstrip("/") + "/api/v0/version", timeout=2.0, trust_env=False)
    except httpx.HTTPError:
        return False
    return response.status_code == 200
