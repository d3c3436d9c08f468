"""Running a task kit: the plain run, the exact `docker run` of the sandbox, and its errors.

No Docker engine is needed: a fake docker client (a shell script) stands in for it.
tests/integration/test_sandbox.py runs the real thing.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from decentralml import __version__
from decentralml.cli import cli
from decentralml.errors import InvalidInput, KitError, KitFailed, SandboxUnavailable
from decentralml.marketplace import Kit, Sandbox, _kit, default_sandbox_image, run_kit

FAKE_DOCKER = """#!/usr/bin/env bash
# A docker client for tests: logs each call, answers version and image inspect, and runs
# nothing (exits with FAKE_RUN_STATUS).
printf '%s\\n' "$*" >> "$FAKE_DOCKER_LOG"
case "$1" in
    version) [ -n "${FAKE_NO_ENGINE:-}" ] && { echo "Cannot connect to the engine" >&2; exit 1; }
             echo 20.10.24 ;;
    image) [ -n "${FAKE_NO_IMAGE:-}" ] && { echo "Error: No such image: $5" >&2; exit 1; }
           echo sha256:0123 ;;
    run) exit "${FAKE_RUN_STATUS:-0}" ;;
esac
"""


def make_kit(root: Path, *, nested: bool = True) -> Path:
    """A task directory holding a two-script kit (in `kit/`, or at the root)."""
    kit = root / "kit" if nested else root
    kit.mkdir(parents=True)
    (root / "task.json").write_text("{}")
    (kit / "setup.sh").write_text('echo setup >> "$LOG"\n')
    (kit / "start_task.sh").write_text('echo "start $*" >> "$LOG"; echo done > "$1/result.txt"\n')
    return root


@pytest.fixture
def fake_docker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The fake client's path; its calls are logged to the returned log file."""
    script = tmp_path / "bin" / "docker"
    script.parent.mkdir()
    script.write_text(FAKE_DOCKER)
    script.chmod(0o755)
    log = tmp_path / "docker.log"
    monkeypatch.setenv("FAKE_DOCKER_LOG", str(log))
    monkeypatch.setattr(_kit, "find_docker", lambda: str(script))
    return log


@pytest.fixture
def as_user(monkeypatch: pytest.MonkeyPatch) -> None:
    """An ordinary host user, uid 1000 and gid 1001."""
    monkeypatch.setattr(_kit, "_host_ids", lambda: (1000, 1001))


def test_the_docker_run_is_exactly_this(tmp_path: Path, as_user: None) -> None:
    task = make_kit(tmp_path / "task")
    kit = Kit.find(task)
    out = tmp_path / "out"
    argv = Sandbox(image="img:1").run_args(
        kit, out, ["bash", "start_task.sh", "/result", "--shard", "1"], name="box"
    )
    assert argv == [
        "docker", "run", "--rm", "--init",
        "--name", "box",
        "--label", "io.decentralml.sandbox=box",
        "--network", "none",
        "--user", "1000:1001",
        "--read-only",
        "--tmpfs", "/tmp:rw,noexec,nosuid,nodev,size=1g",
        "--cap-drop", "ALL",
        "--security-opt", "no-new-privileges",
        "--pids-limit", "1024",
        "--no-healthcheck",
        "--mount", f"type=bind,source={task.resolve()},target=/task,readonly",
        "--mount", f"type=bind,source={out.resolve()},target=/result",
        "--env", "HOME=/tmp",
        "--env", "PYTHONDONTWRITEBYTECODE=1",
        "--workdir", "/task/kit",
        "--entrypoint", "bash",
        "img:1",
        "start_task.sh", "/result", "--shard", "1",
    ]  # fmt: skip


def test_root_runs_as_the_images_user_and_memory_is_capped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_kit, "_host_ids", lambda: (0, 0))
    kit = Kit.find(make_kit(tmp_path / "task", nested=False))
    argv = Sandbox(image="img", memory="4g").run_args(
        kit, tmp_path / "out", ["bash", "setup.sh"], name="n", docker="/usr/bin/docker"
    )
    assert argv[0] == "/usr/bin/docker"
    assert argv[argv.index("--user") + 1] == "10000:10000"
    assert argv[argv.index("--memory") + 1] == argv[argv.index("--memory-swap") + 1] == "4g"
    assert argv[argv.index("--workdir") + 1] == "/task"
    assert argv.count("--mount") == 2 and "--volume" not in argv and "-v" not in argv
    assert not any(a.startswith("--privileged") or a.startswith("--cap-add") for a in argv)


def test_a_comma_in_a_path_is_quoted_for_docker(tmp_path: Path, as_user: None) -> None:
    task = make_kit(tmp_path / "a,b")
    argv = Sandbox(image="img").run_args(Kit.find(task), tmp_path / "o", ["bash"], name="n")
    assert f'"source={task.resolve()}"' in argv[argv.index("--mount") + 1]


def test_the_default_image_is_this_versions_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DECENTRALML_SANDBOX_IMAGE", raising=False)
    assert default_sandbox_image() == f"decentralml/client:{__version__}"
    monkeypatch.setenv("DECENTRALML_SANDBOX_IMAGE", "mine:2")
    assert Sandbox().image == "mine:2"


@pytest.mark.parametrize("memory", ["", "0", "4 g", "-1", "4t", "lots"])
def test_a_bad_memory_limit_is_refused(memory: str) -> None:
    with pytest.raises(InvalidInput):
        Sandbox(image="img", memory=memory)


def test_no_docker_client_is_an_unavailable_service(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_kit, "find_docker", lambda: None)
    kit = Kit.find(make_kit(tmp_path / "task"))
    with pytest.raises(SandboxUnavailable, match="no docker client"):
        run_kit(kit, tmp_path / "out", sandbox=Sandbox(image="img"))
    assert not (tmp_path / "out").exists()


def test_no_engine_and_no_image(
    tmp_path: Path, fake_docker: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kit = Kit.find(make_kit(tmp_path / "task"))
    monkeypatch.setenv("FAKE_NO_ENGINE", "1")
    with pytest.raises(SandboxUnavailable, match="no Docker engine answers") as unavailable:
        run_kit(kit, tmp_path / "out", sandbox=Sandbox(image="img"))
    assert "scripts/build-images" in (unavailable.value.hint or "")
    monkeypatch.delenv("FAKE_NO_ENGINE")
    monkeypatch.setenv("FAKE_NO_IMAGE", "1")
    with pytest.raises(KitError, match="image img is missing") as missing:
        run_kit(kit, tmp_path / "out", sandbox=Sandbox(image="img"))
    assert not isinstance(missing.value, SandboxUnavailable)
    assert "scripts/build-images client" in (missing.value.hint or "")
    assert "run" not in [line.split()[0] for line in fake_docker.read_text().splitlines()]


def test_the_sandbox_runs_each_entry_point_in_its_own_container(
    tmp_path: Path, fake_docker: Path, as_user: None
) -> None:
    kit = Kit.find(make_kit(tmp_path / "task"))
    steps: list[list[str]] = []
    run = run_kit(
        kit, tmp_path / "out", ["--epochs", "2"], sandbox=Sandbox(image="img"),
        on_step=steps.append,
    )  # fmt: skip
    assert steps == [["bash", "setup.sh"], ["bash", "start_task.sh", "/result", "--epochs", "2"]]
    assert run.sandbox == "img" and [p.name for p in run.ran] == ["setup.sh", "start_task.sh"]
    assert (tmp_path / "out").is_dir()
    runs = [line for line in fake_docker.read_text().splitlines() if line.startswith("run ")]
    assert len(runs) == 2
    assert runs[0].endswith("img setup.sh")
    assert runs[1].endswith("img start_task.sh /result --epochs 2")


def test_a_failing_entry_point_is_named_with_its_status(
    tmp_path: Path, fake_docker: Path, as_user: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    kit = Kit.find(make_kit(tmp_path / "task"))
    monkeypatch.setenv("FAKE_RUN_STATUS", "7")
    with pytest.raises(KitFailed) as failed:
        run_kit(kit, tmp_path / "out", sandbox=Sandbox(image="img"))
    assert (failed.value.script, failed.value.status) == ("setup.sh", 7)
    assert str(failed.value) == "setup.sh exited with status 7"


def test_the_plain_run_runs_the_scripts_in_the_kit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "log"
    monkeypatch.setenv("LOG", str(log))
    kit = Kit.find(make_kit(tmp_path / "task"))
    run = run_kit(kit, tmp_path / "out", ["a", "b"])
    out = (tmp_path / "out").resolve()
    assert log.read_text().splitlines() == ["setup", f"start {out} a b"]
    assert (out / "result.txt").read_text() == "done\n"
    assert run.sandbox is None and run.output == out
    (kit.directory / "start_task.sh").write_text("exit 4\n")
    with pytest.raises(KitFailed, match=r"start_task\.sh exited with status 4"):
        run_kit(kit, tmp_path / "out")


def test_a_kit_without_entry_points_is_refused(tmp_path: Path) -> None:
    (tmp_path / "task").mkdir()
    with pytest.raises(KitError, match=r"no setup\.sh or start_task\.sh"):
        Kit.find(tmp_path / "task")


@pytest.mark.skipif(os.getuid() != 0, reason="lending a directory to another user needs root")
def test_root_lends_an_empty_output_and_takes_back_what_the_kit_wrote(
    tmp_path: Path, fake_docker: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    seen: list[int] = []

    def fake_container(*args: object) -> int:
        # What the kit would do as uid 10000: the directory is its own for the run.
        seen.append(out.stat().st_uid)
        written = out / "tool"
        written.write_text("x")
        os.chown(written, 10000, 10000)
        written.chmod(0o4755)
        return 0

    monkeypatch.setattr(_kit, "_run_container", fake_container)
    kit = Kit.find(make_kit(tmp_path / "task"))
    run_kit(kit, out, sandbox=Sandbox(image="img"))
    assert seen == [10000, 10000]
    for path in (out, out / "tool"):
        assert (path.stat().st_uid, path.stat().st_gid) == (0, 0)
    assert not (out / "tool").stat().st_mode & stat.S_ISUID
    with pytest.raises(KitError, match="is not empty"):
        run_kit(kit, out, sandbox=Sandbox(image="img"))


def test_cli_maps_the_sandbox_errors_to_exit_codes(
    tmp_path: Path, fake_docker: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = make_kit(tmp_path / "task")
    base = ["run-task", "0", "--dir", str(task), "--output", str(tmp_path / "out"), "--json"]
    runner = CliRunner()

    monkeypatch.setenv("FAKE_NO_ENGINE", "1")
    done = runner.invoke(cli, [*base, "--yes", "--sandbox"])
    assert done.exit_code == 3, done.output
    assert json.loads(done.stdout)["error"]["type"] == "SandboxUnavailable"

    monkeypatch.delenv("FAKE_NO_ENGINE")
    monkeypatch.setattr(_kit, "_host_ids", lambda: (1000, 1000))
    monkeypatch.setenv("FAKE_RUN_STATUS", "9")
    done = runner.invoke(cli, [*base, "--yes", "--sandbox", "--image", "other:1"])
    assert done.exit_code == 1, done.output
    error = json.loads(done.stdout)["error"]
    assert error["type"] == "KitFailed"
    assert (error["script"], error["status"]) == ("setup.sh", 9)

    monkeypatch.delenv("FAKE_RUN_STATUS")
    done = runner.invoke(cli, [*base, "--yes", "--sandbox", "--image", "other:1"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["sandbox"] == "other:1"

    monkeypatch.delenv("DECENTRALML_SANDBOX_IMAGE", raising=False)
    done = runner.invoke(cli, [*base, "--sandbox"])
    assert done.exit_code == 2, done.output
    assert f"in a sandbox (decentralml/client:{__version__} as 1000:1000, no network" in done.output
    assert "Pass --yes" in done.output

    done = runner.invoke(cli, [*base, "--yes", "--image", "other:1"])
    assert done.exit_code == 2 and "apply to --sandbox" in done.output
