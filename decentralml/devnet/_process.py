"""Process and port helpers for the devnet launcher: liveness, identity, ports, stopping."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

LOOPBACK = "127.0.0.1"

T = TypeVar("T")


def _proc_stat_fields(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name, or None where unavailable."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name is in parentheses and may itself contain spaces or parentheses.
    return raw[raw.rfind(")") + 2 :].split()


def _reap(pid: int) -> None:
    """Collect the exit status of `pid` if it is our own exited child, so it is not a zombie."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists and has not exited (zombies count as exited)."""
    if pid <= 0:
        return False
    _reap(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    fields = _proc_stat_fields(pid)
    return not (fields and fields[0] in ("Z", "X"))


def process_start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (Linux), to tell a reused pid apart."""
    fields = _proc_stat_fields(pid)
    if not fields or len(fields) < 20:
        return None
    try:
        return int(fields[19])
    except ValueError:
        return None


def process_cmdline(pid: int) -> list[str] | None:
    """The process's command line (Linux), or None where it cannot be read."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def is_same_process(pid: int, *, start_time: int | None, marker: str | None = None) -> bool:
    """Whether `pid` is still the process we started: alive, same start time, same command.

    Where the platform offers no way to check (no ``/proc``), a live pid is trusted.
    """
    if not pid_alive(pid):
        return False
    if start_time is not None:
        current = process_start_time(pid)
        if current is not None and current != start_time:
            return False
    if marker is not None:
        cmdline = process_cmdline(pid)
        if cmdline is not None and not any(marker in part for part in cmdline):
            return False
    return True


def terminate(pid: int, *, timeout: float = 20.0) -> bool:
    """Stop a process: SIGTERM, wait up to `timeout` seconds, then SIGKILL.

    Returns True if the process was running and is now gone, False if it was not running.
    """
    if not pid_alive(pid):
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if wait_until(lambda: not pid_alive(pid), timeout=timeout):
        return True
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not pid_alive(pid), timeout=5.0)
    return True


def port_in_use(port: int, *, host: str = LOOPBACK) -> bool:
    """Whether something listens on, or holds, `host:port`."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        if probe.connect_ex((host, port)) == 0:
            return True
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As servers do: connections of a stopped server lingering in TIME_WAIT do not count.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return True
            raise
    return False


def free_port(*, host: str = LOOPBACK) -> int:
    """A TCP port that is free on `host` right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(predicate: Callable[[], T], *, timeout: float, interval: float = 0.1) -> T | None:
    """Poll `predicate` until it returns a truthy value or `timeout` seconds pass.

    Returns the truthy value, or None on timeout.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


def tail(path: Path, *, lines: int = 15) -> str:
    """The last `lines` lines of a text file, or an empty string if it cannot be read."""
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 16_384))
            text = fh.read().decode(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on `path` (created if missing) for the block's duration.

    Serialises installs and devnet start/stop between processes; a no-op where ``fcntl`` is
    missing (not POSIX).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            yield
            return
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
