"""`run-task --sandbox` against the real client image: a hostile kit cannot reach the network
or write outside its directories, and its honest part still produces its result; the
example contributor kit trains in the sandbox. `run-task` needs no chain: none is started."""

from __future__ import annotations

import contextlib
import errno
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from decentralml.devnet._process import wait_until
from tests.fixtures_containers import ProjectImages

pytestmark = [pytest.mark.integration, pytest.mark.containers]

CLI = str(Path(sys.executable).parent / "decentralml")
ASSETS = Path(__file__).resolve().parents[2] / "assets"
TF_MISSING = [m for m in ("tensorflow", "sklearn") if importlib.util.find_spec(m) is None]

SETUP = """#!/usr/bin/env bash
echo "[setup] as $(id -u):$(id -g), HOME=$HOME" >&2
"""

# Everything the kit tries is recorded in OUT/attempts.json; the honest part writes
# OUT/weights.npz and OUT/result.json whatever the rest did.
START = r"""#!/usr/bin/env bash
set -u
out="$1"; shift
exec python3 - "$out" "$@" <<'PY'
import json, os, socket, sys
import numpy as np

out, host_ip, port, host_path, host_tmp_path = sys.argv[1:3] + [int(sys.argv[3])] + sys.argv[4:6]
attempts = {"uid": os.getuid(), "gid": os.getgid()}
attempts["interfaces"] = sorted(os.listdir("/sys/class/net"))

def attempt(name, action):
    try:
        action()
        attempts[name] = "succeeded"
    except OSError as exc:
        attempts[name] = f"failed: errno {exc.errno}: {exc}"

def connect(address):
    socket.create_connection(address, timeout=5).close()

attempt("connect 1.1.1.1:80", lambda: connect(("1.1.1.1", 80)))
attempt("connect host", lambda: connect((host_ip, port)))
attempt("resolve example.com", lambda: socket.getaddrinfo("example.com", 443))

def write(path):
    def action():
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write("evil")
    return action

outside = {
    "image venv": "/opt/venv/evil",
    "image home": "/home/decentralml/evil",
    "etc": "/etc/evil",
    "root": "/evil",
    "task dir": "/task/evil",
    "kit dir": os.path.join(os.getcwd(), "evil"),
    "above result": "/result/../evil",
    "host path": os.path.join(host_path, "evil"),
}
for name, path in outside.items():
    attempt(f"write {name}", write(path))
# The container's own /tmp (a tmpfs): allowed, and never the host's, whatever the path.
attempt("write tmp", write("/tmp/scratch/ok"))
attempt("write host tmp path", write(os.path.join(host_tmp_path, "evil")))

rng = np.random.default_rng(0)
np.savez(os.path.join(out, "weights.npz"), rng.normal(size=(4, 3)), rng.normal(size=(3,)))
with open(os.path.join(out, "result.json"), "w") as f:
    json.dump({"schema": "decentralml.result/v1", "sample_count": 12}, f)
with open(os.path.join(out, "attempts.json"), "w") as f:
    json.dump(attempts, f, indent=1)
PY
"""


def schema(name: str) -> dict[str, Any]:
    text = resources.files("decentralml.schemas").joinpath(f"{name}.json").read_text()
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def run_task(
    task_dir: Path, output: Path, image: str, *kit_args: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DECENTRALML_")}
    args = ["run-task", "0", "--dir", str(task_dir), "--output", str(output)]
    return subprocess.run(
        [CLI, *args, "--sandbox", "--image", image, "--json", "--yes", "--", *kit_args],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


@contextlib.contextmanager
def listener() -> Iterator[tuple[int, list[object]]]:
    """A TCP listener on every host address; yields its port and the connections it got."""
    server = socket.create_server(("0.0.0.0", 0))
    server.settimeout(0.2)
    accepted: list[object] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                connection, peer = server.accept()
                accepted.append(peer)
                connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1], accepted
    finally:
        stop.set()
        thread.join()
        # A connection the kernel completed but nobody accepted yet still counts: take what
        # the backlog holds before closing.
        server.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            while True:
                connection, peer = server.accept()
                accepted.append(peer)
                connection.close()
        server.close()


def bridge_gateway(engine: Any) -> str:
    """The host's address on Docker's default bridge: what a networked container reaches."""
    config = engine.networks.get("bridge").attrs["IPAM"]["Config"]
    gateways = [c["Gateway"] for c in config if c.get("Gateway")]
    return gateways[0] if gateways else "172.17.0.1"


def sandbox_containers(engine: Any) -> list[Any]:
    return list(engine.containers.list(all=True, filters={"label": "io.decentralml.sandbox"}))


def test_a_hostile_kit_is_contained_and_its_honest_part_works(
    docker_engine: Any, project_images: ProjectImages, tmp_path: Path
) -> None:
    task = tmp_path / "task"
    kit = task / "kit"
    kit.mkdir(parents=True)
    (task / "task.json").write_text('{"kind": "test"}')
    (kit / "setup.sh").write_text(SETUP)
    (kit / "start_task.sh").write_text(START)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    out = tmp_path / "out"
    # Two host paths the kit is told about: one beside this file, one beside the task.
    host_path = Path(__file__).parent / f"not-mounted-{uuid.uuid4().hex[:8]}"
    host_tmp_path = tmp_path / "not-mounted"

    try:
        with listener() as (port, accepted):
            done = run_task(
                task, out, project_images.client, bridge_gateway(docker_engine), str(port),
                str(host_path), str(host_tmp_path),
            )  # fmt: skip
        escaped = host_path.exists()
    finally:
        if host_path.exists():
            shutil.rmtree(host_path)
    assert not escaped
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    document = json.loads(done.stdout)
    jsonschema.validate(document, schema("decentralml.run-task.v1"))
    assert document["sandbox"] == project_images.client
    assert [Path(p).name for p in document["ran"]] == ["setup.sh", "start_task.sh"]
    assert Path(document["output"]) == out
    assert "[setup] as " in done.stderr and "HOME=/tmp" in done.stderr

    # The honest part: its result is there and loads as plain arrays.
    import numpy as np

    with np.load(out / "weights.npz", allow_pickle=False) as weights:
        assert [weights[n].shape for n in weights.files] == [(4, 3), (3,)]
    assert json.loads((out / "result.json").read_text())["sample_count"] == 12

    attempts = json.loads((out / "attempts.json").read_text())
    # Never root: the host user, or the image's user in place of root.
    expected = (os.getuid() or 10000, os.getgid() or 10000)
    assert (attempts["uid"], attempts["gid"]) == expected
    assert attempts["interfaces"] == ["lo"]
    # No network: no route anywhere, no name resolution, nothing reached the host.
    for target in ("connect 1.1.1.1:80", "connect host"):
        assert attempts[target].startswith(f"failed: errno {errno.ENETUNREACH}:"), attempts
    assert attempts["resolve example.com"].startswith("failed:"), attempts
    assert accepted == []
    # No write outside the two directories (and none into the read-only task directory).
    writes = {k: v for k, v in attempts.items() if k.startswith("write ")}
    assert writes.pop("write tmp") == "succeeded"
    writes.pop("write host tmp path")  # it may succeed, inside the container's /tmp
    if host_path.is_relative_to("/tmp"):
        # A checkout under /tmp: the same, in the container's own /tmp (never the host's,
        # as `escaped` showed).
        writes.pop("write host path")
    assert writes and all(v.startswith("failed:") for v in writes.values()), writes

    # On the host: nothing new but the output, owned by the host user; no container left.
    assert not host_tmp_path.exists()
    after = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    new = sorted(set(after) - set(before))
    assert new == sorted(
        Path(p) for p in ("out", "out/attempts.json", "out/result.json", "out/weights.npz")
    )
    for path in (out, *out.iterdir()):
        assert (path.stat().st_uid, path.stat().st_gid) == (os.getuid(), os.getgid())
    assert sandbox_containers(docker_engine) == []


def test_a_failing_kit_is_named_and_an_unknown_image_is_user_fixable(
    docker_engine: Any, project_images: ProjectImages, tmp_path: Path
) -> None:
    task = tmp_path / "task"
    task.mkdir()
    (task / "setup.sh").write_text("exit 0\n")
    (task / "start_task.sh").write_text("echo trying >&2; exit 5\n")

    failed = run_task(task, tmp_path / "out", project_images.client)
    assert failed.returncode == 1
    error = json.loads(failed.stdout)["error"]
    assert (error["type"], error["script"], error["status"]) == ("KitFailed", "start_task.sh", 5)
    assert "trying" in failed.stderr and "Traceback" not in failed.stderr

    missing = run_task(task, tmp_path / "out2", "decentralml/no-such-image:0")
    assert missing.returncode == 1
    error = json.loads(missing.stdout)["error"]
    assert error["type"] == "KitError" and "scripts/build-images client" in error["hint"]
    assert sandbox_containers(docker_engine) == []


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stopped_run_stops_its_container(
    docker_engine: Any, project_images: ProjectImages, tmp_path: Path, signum: int
) -> None:
    """The CLI stopped mid-run (SIGTERM from a supervisor, or Ctrl-C): the kit's container goes
    with it, instead of running the creator's code on until it ends."""
    task = tmp_path / "task"
    task.mkdir()
    (task / "start_task.sh").write_text('echo started > "$1/started"; exec sleep 600\n')
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DECENTRALML_")}
    args = ["run-task", "0", "--dir", str(task), "--output", str(out), "--sandbox"]
    process = subprocess.Popen(
        [CLI, *args, "--image", project_images.client, "--json", "--yes"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        started = wait_until(
            lambda: (
                process.poll() is not None
                or ((out / "started").exists() and sandbox_containers(docker_engine))
            ),
            timeout=120,
            interval=0.2,
        )
        assert process.poll() is None, process.communicate()
        assert started, "the kit did not start within 120 s"
        process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 1, (stdout, stderr)
    assert "Traceback" not in stderr
    assert sandbox_containers(docker_engine) == []


@pytest.mark.slow
@pytest.mark.tensorflow
def test_the_example_contributor_kit_trains_in_the_sandbox(
    docker_engine: Any, project_images: ProjectImages, tmp_path: Path
) -> None:
    """The creator kit (on this machine) writes the ModelContribution bundle; its
    contributor kit then trains in the sandbox and writes weights.npz and result.json."""
    if TF_MISSING:
        pytest.skip(f"the tensorflow extra is not installed (no {', '.join(TF_MISSING)})")
    creator = tmp_path / "creator"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DECENTRALML_")}
    env.pop("PYTHON", None)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    made = subprocess.run(
        [str(ASSETS / "model_creator" / "start_task.sh"), str(creator),
         "--kind", "ModelContribution", "--epochs", "1"],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr[-3000:]
    bundle = creator / "bundles" / "ModelContribution"
    out = tmp_path / "result"

    started = time.monotonic()
    done = run_task(
        bundle, out, project_images.client, "--shard", "1", "--shards", "3", "--epochs", "1"
    )
    took = time.monotonic() - started
    assert done.returncode == 0, done.stderr[-3000:]
    print(f"the contributor kit took {took:.1f} s in the sandbox")
    assert "nothing to install" in done.stderr  # the image has the kit's modules

    import numpy as np

    with np.load(out / "weights.npz", allow_pickle=False) as weights:
        arrays = [weights[n] for n in weights.files]
    assert arrays and all(a.dtype.kind == "f" for a in arrays)
    declared = json.loads((out / "result.json").read_text())
    assert declared["data"]["shard"] == 1 and declared["data"]["shards"] == 3
    assert declared["epochs"] == 1 and declared["sample_count"] > 0
    # The bundle was mounted read-only: the kit left nothing in it.
    assert (
        not list(bundle.rglob("__pycache__"))
        and not (bundle / "model_contributor" / ".venv").exists()
    )
