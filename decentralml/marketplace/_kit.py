"""Running a task kit: the creator's `setup.sh` and `start_task.sh`, here or in a sandbox.

A kit is the task creator's code. `run_kit` runs its entry points in the kit's directory with
bash, as the creator wrote them::

    from decentralml.marketplace import Kit, Sandbox, run_kit

    kit = Kit.find("task-0")
    run = run_kit(kit, "task-0-result", ["--shard", "1", "--shards", "3"], sandbox=Sandbox())

With a `Sandbox`, each entry point runs in a container of the client image (docker CLI) as
a non-root user, without network, on a read-only root file system, with every capability
dropped, seeing only the task directory (read-only, at `/task`) and the result directory
(writable, at `/result`).
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import re
import shutil
import stat
import subprocess
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from decentralml import __version__
from decentralml.errors import InvalidInput, KitError, KitFailed, SandboxUnavailable

ENTRY_POINTS = ("setup.sh", "start_task.sh")

SANDBOX_IMAGE_ENV = "DECENTRALML_SANDBOX_IMAGE"
# The client image's own user (docker/client.Dockerfile): the sandbox runs as it when the host
# user is root, so that no container runs as root.
SANDBOX_UID = 10000
SANDBOX_GID = 10000
TASK_MOUNT = "/task"
RESULT_MOUNT = "/result"
SANDBOX_LABEL = "io.decentralml.sandbox"
# How long the docker client may take to answer `version` and `image inspect`.
ENGINE_TIMEOUT = 30.0

OutputStream = IO[str] | int | None


def default_sandbox_image() -> str:
    """`DECENTRALML_SANDBOX_IMAGE`, else the client image of this version."""
    return os.environ.get(SANDBOX_IMAGE_ENV) or f"decentralml/client:{__version__}"


def find_docker() -> str | None:
    """The docker client to use, picked as `scripts/lib/docker-engine.sh` does.

    `docker` on PATH when it has the buildx plugin, else Debian's `/usr/bin/docker`, else any
    `docker` on PATH; None when there is none.
    """
    on_path = shutil.which("docker")
    if on_path is not None:
        try:
            probe = subprocess.run(
                [on_path, "buildx", "version"],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=ENGINE_TIMEOUT,
                check=False,
            )
            if probe.returncode == 0:
                return "docker"
        except (OSError, subprocess.TimeoutExpired):
            pass
    if os.access("/usr/bin/docker", os.X_OK):
        return "/usr/bin/docker"
    return "docker" if on_path is not None else None


def find_kit(root: Path) -> Path:
    """The directory of the kit inside an unpacked bundle: where its entry points are (the
    root, or one level down); the root when there are none."""
    for candidate in (root, *sorted(p for p in root.iterdir() if p.is_dir())):
        if any((candidate / name).is_file() for name in ENTRY_POINTS):
            return candidate
    return root


@dataclass(frozen=True)
class Kit:
    """A kit inside an unpacked task bundle."""

    task_dir: Path  # the unpacked bundle
    directory: Path  # where the entry points are: task_dir or one level down
    scripts: tuple[Path, ...]  # the entry points present, in the order they run

    @classmethod
    def find(cls, task_dir: str | Path) -> Kit:
        """The kit in `task_dir`; `KitError` when it has neither entry point."""
        root = Path(task_dir)
        if not root.is_dir():
            raise KitError(f"{task_dir} does not exist", hint="run `decentralml assign-task` first")
        directory = find_kit(root)
        scripts = tuple(directory / n for n in ENTRY_POINTS if (directory / n).is_file())
        if not scripts:
            raise KitError(f"no setup.sh or start_task.sh in {directory}")
        return cls(task_dir=root, directory=directory, scripts=scripts)

    @property
    def requirements(self) -> Path | None:
        path = self.directory / "requirements.txt"
        return path if path.is_file() else None


def _mount(**fields: str | None) -> str:
    """A `--mount` value: docker reads it as one CSV record, so quote what needs it."""
    items = [key if value is None else f"{key}={value}" for key, value in fields.items()]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(items)
    return buffer.getvalue()


def _host_ids() -> tuple[int, int]:
    return os.getuid(), os.getgid()


@dataclass(frozen=True)
class Sandbox:
    """How to run a kit in a container: the image, and the limits beyond the fixed ones.

    Fixed: no network, a non-root user (the host user's uid:gid, or 10000:10000 when that
    is root), a read-only root file system with a size-limited tmpfs on /tmp (and HOME
    there), no capabilities, no new privileges, a process limit, and only two mounts.
    """

    image: str = field(default_factory=default_sandbox_image)
    memory: str | None = None  # docker's --memory (e.g. "4g"); None: no limit
    pids_limit: int = 1024  # TensorFlow's thread pools count here
    tmp_size: str = "1g"
    docker: str | None = None  # the client; None: picked by `find_docker`

    def __post_init__(self) -> None:
        if self.memory is not None and not re.fullmatch(
            r"[1-9][0-9]*([bkmgBKMG]|[kmgKMG][bB])?", self.memory
        ):
            raise InvalidInput(
                f"bad memory limit {self.memory!r}: a number of bytes, or with k, m or g (e.g. 4g)"
            )
        if not self.image.strip():
            raise InvalidInput("the sandbox image name is empty")

    def user(self) -> tuple[int, int]:
        """The container's uid and gid: the host user's, or the image's user instead of 0."""
        uid, gid = _host_ids()
        return (uid or SANDBOX_UID, gid or SANDBOX_GID)

    def client(self) -> str:
        docker = self.docker or find_docker()
        if docker is None:
            raise SandboxUnavailable(
                "no docker client is installed: the sandbox needs a Docker engine",
                address=_engine_address(),
                hint="install Docker (on Debian: apt-get install docker.io), or run without "
                "--sandbox",
            )
        return docker

    def run_args(
        self,
        kit: Kit,
        output: Path,
        command: Sequence[str],
        *,
        name: str,
        docker: str = "docker",
    ) -> list[str]:
        """The `docker run` command that runs `command` (e.g. `bash start_task.sh /result`)
        in the kit's directory, seeing only `kit.task_dir` and `output`."""
        uid, gid = self.user()
        task_dir = kit.task_dir.resolve()
        workdir = Path(TASK_MOUNT, kit.directory.resolve().relative_to(task_dir)).as_posix()
        args = [
            docker, "run", "--rm", "--init",
            "--name", name,
            "--label", f"{SANDBOX_LABEL}={name}",
            "--network", "none",
            "--user", f"{uid}:{gid}",
            "--read-only",
            "--tmpfs", f"/tmp:rw,noexec,nosuid,nodev,size={self.tmp_size}",
            "--cap-drop", "ALL",
            "--security-opt", "no-new-privileges",
            "--pids-limit", str(self.pids_limit),
            "--no-healthcheck",
        ]  # fmt: skip
        if self.memory is not None:
            args += ["--memory", self.memory, "--memory-swap", self.memory]
        args += [
            "--mount", _mount(type="bind", source=str(task_dir), target=TASK_MOUNT,
                              readonly=None),
            "--mount", _mount(type="bind", source=str(output.resolve()), target=RESULT_MOUNT),
            "--env", "HOME=/tmp",
            "--env", "PYTHONDONTWRITEBYTECODE=1",
            "--workdir", workdir,
            "--entrypoint", command[0],
            self.image,
            *command[1:],
        ]  # fmt: skip
        return args

    def check(self) -> str:
        """Check that an engine answers and the image is there; returns the client."""
        docker = self.client()
        version = _docker(docker, "version", "--format", "{{.Server.Version}}")
        if version.returncode != 0 or not version.stdout.strip():
            raise _unavailable(_last_line(version.stderr))
        image = _docker(docker, "image", "inspect", "--format", "{{.Id}}", self.image)
        if image.returncode != 0:
            raise KitError(
                f"the sandbox image {self.image} is missing",
                hint="build it with `scripts/build-images client`, or name another with "
                f"--image or {SANDBOX_IMAGE_ENV}",
            )
        return docker


def _docker(docker: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run a short docker client command; `SandboxUnavailable` when it cannot run or hangs."""
    try:
        return subprocess.run(
            [docker, *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=ENGINE_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise _unavailable(f"{type(exc).__name__}: {exc}") from exc


def _engine_address() -> str:
    return os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no answer"


def _unavailable(detail: str) -> SandboxUnavailable:
    return SandboxUnavailable(
        f"no Docker engine answers ({detail})",
        address=_engine_address(),
        hint="start one (`scripts/build-images` starts dockerd in the background), "
        "or run without --sandbox",
    )


@dataclass(frozen=True)
class KitRun:
    """What `run_kit` did."""

    kit: Kit
    output: Path
    ran: tuple[Path, ...]  # the entry points run, in order
    sandbox: str | None  # the image, or None for a run on this machine


def _give_back(output: Path, lender: int, owner: tuple[int, int]) -> None:
    """Give `output` and every entry in it that `lender` owns to `owner` (symbolic links are
    not followed; set-user-id and set-group-id bits are dropped)."""

    def chown(path: str) -> None:
        st = os.lstat(path)
        if st.st_uid != lender:
            return
        os.chown(path, *owner, follow_symlinks=False)
        if stat.S_ISREG(st.st_mode) and st.st_mode & (stat.S_ISUID | stat.S_ISGID):
            os.chmod(path, stat.S_IMODE(st.st_mode) & ~(stat.S_ISUID | stat.S_ISGID))

    chown(str(output))
    for top, dirs, files in os.walk(output):
        for name in (*dirs, *files):
            chown(os.path.join(top, name))


def run_kit(
    kit: Kit,
    output: str | Path,
    args: Sequence[str] = (),
    *,
    sandbox: Sandbox | None = None,
    stream: OutputStream = None,
    on_step: Callable[[list[str]], None] | None = None,
) -> KitRun:
    """Run `bash setup.sh`, then `bash start_task.sh OUTPUT [ARGS]`, in the kit's directory.

    With `sandbox`, each runs in its own container (OUTPUT is `/result` there). `stream`
    receives the kit's stdout and stderr (None: this process's); `on_step` is told each
    command before it runs. `KitFailed` when an entry point exits non-zero; with a sandbox,
    `SandboxUnavailable` when no engine answers and `KitError` when the image is missing.
    """
    output = Path(output).resolve()
    docker = sandbox.check() if sandbox is not None else None
    output.mkdir(parents=True, exist_ok=True)
    lent: tuple[int, int] | None = None
    if sandbox is not None and _host_ids()[0] == 0:
        # Root's output directory, written by the image's user: lend it for the run, then
        # give it and what the kit wrote back. Only an empty one, so that nothing already
        # there changes owner and the kit never meets files it cannot replace.
        if any(output.iterdir()):
            raise KitError(
                f"{output} is not empty: a sandboxed kit run by root writes only a new or "
                "empty directory",
                hint="remove its files or give another --output",
            )
        st = output.stat()
        lent = (st.st_uid, st.st_gid)
        os.chown(output, *sandbox.user())
    ran: list[Path] = []
    try:
        for script in kit.scripts:
            command = ["bash", script.name]
            if script.name == "start_task.sh":
                command += [RESULT_MOUNT if sandbox is not None else str(output), *args]
            if on_step is not None:
                on_step(command)
            if sandbox is None:
                code = _call(command, kit.directory, stream)
            else:
                assert docker is not None
                code = _run_container(sandbox, kit, output, command, docker, stream)
            if code != 0:
                raise KitFailed(
                    f"{script.name} exited with status {code}",
                    script=script.name,
                    status=code,
                    hint="status 125 is also docker's own: see the lines above"
                    if sandbox is not None and code == 125
                    else None,
                )
            ran.append(script)
    finally:
        if lent is not None:
            assert sandbox is not None
            _give_back(output, sandbox.user()[0], lent)
    return KitRun(
        kit=kit,
        output=output,
        ran=tuple(ran),
        sandbox=sandbox.image if sandbox is not None else None,
    )


def _call(
    argv: list[str],
    cwd: Path | None,
    stream: OutputStream,
    on_interrupt: Callable[[], None] | None = None,
) -> int:
    """Run `argv` to its end, its stdout and stderr going to `stream`; its exit status.

    A stream without a file descriptor (a test runner's, a notebook's) gets the output
    copied line by line. On an interruption `on_interrupt` runs, then the process is killed.
    """
    copy = False
    if stream is not None and not isinstance(stream, int):
        try:
            stream.fileno()
        except (OSError, ValueError):  # io.UnsupportedOperation is both
            copy = True
    target = subprocess.PIPE if copy else stream
    process = subprocess.Popen(
        argv,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=target,
        stderr=subprocess.STDOUT if copy else stream,
        text=copy,
        errors="replace" if copy else None,
    )
    try:
        if copy:
            assert process.stdout is not None and stream is not None
            assert not isinstance(stream, int)
            for line in process.stdout:
                stream.write(line)
                stream.flush()
        return process.wait()
    except BaseException:
        if on_interrupt is not None:
            on_interrupt()
        process.kill()
        process.wait()
        raise


def _run_container(
    sandbox: Sandbox,
    kit: Kit,
    output: Path,
    command: list[str],
    docker: str,
    stream: OutputStream,
) -> int:
    name = f"decentralml-sandbox-{uuid.uuid4().hex[:12]}"
    argv = sandbox.run_args(kit, output, command, name=name, docker=docker)

    def remove() -> None:
        # Interrupted: stop the container too, not only the client attached to it.
        with contextlib.suppress(SandboxUnavailable):
            _docker(docker, "rm", "--force", name)

    return _call(argv, None, stream, remove)
