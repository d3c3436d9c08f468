"""Process and port helpers for the devnet launcher: liveness, identity, ports, stopping."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TypeVar

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
    if fields and fields[0] in ("Z", "X"):
        # A main thread that has exited shows as a zombie while the process's other threads
        # still run and still hold its sockets and files (Node.js does this as it shuts
        # down); only a zombie with no threads left is gone.
        return _thread_count(pid) > 1
    return True


def _thread_count(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return 0


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


def process_cwd(pid: int) -> Path | None:
    """The process's working directory (Linux), or None where it cannot be read."""
    try:
        return Path(os.readlink(f"/proc/{pid}/cwd"))
    except OSError:
        return None


def is_stopped(pid: int) -> bool:
    """Whether the process is stopped (SIGSTOP, SIGTSTP, or a debugger), where /proc tells."""
    fields = _proc_stat_fields(pid)
    return fields is not None and bool(fields) and fields[0] in ("T", "t")


def _same_dir(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def is_same_process(
    pid: int,
    *,
    start_time: int | None,
    marker: str | None = None,
    cwd: Path | None = None,
) -> bool:
    """Whether `pid` is still the process we started: alive, same start time, same command,
    same working directory.

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
    if cwd is not None:
        actual = process_cwd(pid)
        if actual is not None and not _same_dir(actual, cwd):
            return False
    return True


def find_processes(*, cwd: Path, marker: str) -> list[int]:
    """Live processes (other than this one) working in `cwd` whose command line has `marker`.

    This finds what a devnet started even when its record is lost: the launcher starts each
    process in a directory of its own. Empty where there is no ``/proc``.
    """
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    found = []
    for entry in entries:
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        pid = int(entry)
        actual = process_cwd(pid)
        if actual is None or not _same_dir(actual, cwd):
            continue
        cmdline = process_cmdline(pid) or []
        if any(marker in part for part in cmdline) and pid_alive(pid):
            found.append(pid)
    return sorted(found)


def _socket_inodes(pid: int) -> set[str] | None:
    try:
        names = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return None
    inodes = set()
    for name in names:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{name}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def listening_ports(pid: int) -> set[int] | None:
    """The TCP ports the process listens on (Linux), or None where /proc cannot tell."""
    inodes = _socket_inodes(pid)
    if inodes is None:
        return None
    ports: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            # local_address is HEX_IP:HEX_PORT; state 0A is LISTEN; field 9 is the inode.
            if len(fields) > 9 and fields[3] == "0A" and fields[9] in inodes:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def terminate(pid: int, *, timeout: float = 20.0) -> bool:
    """Stop a process: SIGTERM, wait up to `timeout` seconds, then SIGKILL.

    A stopped process (SIGSTOP) is continued too, so it can act on the SIGTERM at once.
    Returns True if the process was running and is now gone, False if it was not running.
    """
    if not pid_alive(pid):
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        os.kill(pid, signal.SIGCONT)
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


def rotate_log(path: Path) -> None:
    """Start `path` afresh, keeping the previous run's output as ``<name>.1``.

    A process still writing the old file keeps writing into ``<name>.1``, so what a new
    process writes (and what `tail` quotes about it) is its own.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        os.replace(path, path.with_name(path.name + ".1"))


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


@dataclass(frozen=True)
class LockHolder:
    """Who holds a `file_lock`: a pid (0 when not known yet) and what it said it is doing."""

    pid: int
    label: str


class LockTimeout(Exception):
    """`file_lock` waited `timeout` seconds for `holder`."""

    def __init__(self, holder: LockHolder | None) -> None:
        super().__init__(f"lock held by {holder}")
        self.holder = holder


def _read_holder(fh: IO[str]) -> LockHolder:
    fh.seek(0)
    pid, _, label = fh.read().strip().partition(" ")
    return LockHolder(int(pid) if pid.isdigit() else 0, label)


@contextlib.contextmanager
def file_lock(
    path: Path,
    *,
    label: str = "",
    timeout: float | None = None,
    on_wait: Callable[[LockHolder], None] | None = None,
) -> Iterator[None]:
    """Hold an exclusive advisory lock on `path` (created if missing) for the block's duration.

    Serialises installs and devnet start/stop between processes. The holder writes its pid
    and `label` into the file, so others can say whom they wait for (`lock_holder`). When
    the lock is busy, `on_wait(holder)` is called once; after `timeout` seconds
    `LockTimeout` is raised (None: wait as long as it takes). A no-op where ``fcntl`` is
    missing (not POSIX).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as fh:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            yield
            return
        if not _try_flock(fh):
            if on_wait is not None:
                on_wait(_read_holder(fh))
            acquired = wait_until(
                lambda: _try_flock(fh),
                timeout=float("inf") if timeout is None else timeout,
                interval=0.2,
            )
            if not acquired:
                raise LockTimeout(_read_holder(fh))
        try:
            fh.seek(0)
            fh.truncate()
            fh.write(f"{os.getpid()} {label}\n")
            fh.flush()
            yield
        finally:
            with contextlib.suppress(OSError):
                fh.truncate(0)
            fcntl.flock(fh, fcntl.LOCK_UN)


def _try_flock(fh: IO[str]) -> bool:
    import fcntl

    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def lock_holder(path: Path) -> LockHolder | None:
    """Who holds the `file_lock` on `path`, or None when nobody does."""
    try:
        fh = path.open("r")
    except OSError:
        return None
    with fh:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            return None
        try:
            fcntl.flock(fh, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_holder(fh)
        except OSError:
            return None
        fcntl.flock(fh, fcntl.LOCK_UN)
    return None


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGHUP arrived while `interrupt_on_signals` was active."""


@contextlib.contextmanager
def interrupt_on_signals() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP into `Interrupted` (a KeyboardInterrupt) for the block.

    So that cleanup written for Ctrl-C also runs when a terminal closes or a supervisor
    stops the process. Only in the main thread, where Python delivers signals.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: object) -> None:
        raise Interrupted(signal.Signals(signum).name)

    # A signal the caller chose to ignore (as `nohup` does with SIGHUP) stays ignored.
    previous = {
        sig: signal.signal(sig, handler)
        for sig in (signal.SIGTERM, signal.SIGHUP)
        if signal.getsignal(sig) is not signal.SIG_IGN
    }
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
