"""The compose demo (docker/compose.yml): the final demo across one Kubo node per role.

One `docker compose up --abort-on-container-exit --exit-code-from demo` under a project name of
its own, its ports published on free loopback ports, then `down -v`, always. The demo's JSON
summary (scripts/demo_flow.py --summary-json, its last line) gives the exact balance changes
and, for the task bundle, each result and the model, the nodes that held its root block
(asked offline) before and after it was pulled: evidence that the pieces crossed nodes.
Skips when `docker compose` is missing (scripts/install-compose), without an engine or the
images (scripts/build-images), or when the client image carries another demo flow than this
checkout's.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures_containers import ProjectImages

pytestmark = [pytest.mark.integration, pytest.mark.containers, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker" / "compose.yml"
DEMO_FLOW = ROOT / "scripts" / "demo_flow.py"
SUMMARY_SCHEMA = "decentralml.demo.summary/v1"
WORKERS = ("//Bob", "//Charlie", "//Dave")
ROLES = ("//Alice", *WORKERS, "//Eve")
PROJECT_LABEL = "com.docker.compose.project"


def docker_cli() -> str:
    return shutil.which("docker") or "/usr/bin/docker"


def compose_missing() -> str | None:
    """Why `docker compose` cannot be used, or None."""
    try:
        done = subprocess.run(
            [docker_cli(), "compose", "version"], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"`docker compose version` failed ({exc}); scripts/install-compose installs it"
    if done.returncode != 0:
        return (
            "`docker compose version` failed (no Compose v2 plugin); scripts/install-compose "
            "installs it"
        )
    return None


def summary_of(logs: str) -> dict[str, Any]:
    """The demo's JSON summary: the last line of its output that is one."""
    for line in reversed(logs.splitlines()):
        if line.startswith("{") and SUMMARY_SCHEMA in line:
            summary: dict[str, Any] = json.loads(line)
            return summary
    raise AssertionError(f"no demo summary in the demo's output:\n{logs[-3000:]}")


def left_of(engine: Any, project: str) -> list[str]:
    """The containers, networks and volumes still labelled with the compose project."""
    labelled = {"label": f"{PROJECT_LABEL}={project}"}
    return (
        [f"container {c.name}" for c in engine.containers.list(all=True, filters=labelled)]
        + [f"network {n.name}" for n in engine.networks.list(filters=labelled)]
        + [f"volume {v.name}" for v in engine.volumes.list(filters=labelled)]
    )


def test_compose_demo_across_one_kubo_node_per_role(
    docker_engine: Any, project_images: ProjectImages
) -> None:
    reason = compose_missing()
    if reason is not None:
        pytest.skip(reason)
    carried = docker_engine.containers.run(
        project_images.client,
        entrypoint=["cat", "/opt/decentralml/scripts/demo_flow.py"],
        remove=True,
    )
    if carried != DEMO_FLOW.read_bytes():
        pytest.skip(
            f"{project_images.client} carries another demo flow than scripts/demo_flow.py: "
            "rebuild it with scripts/build-images client"
        )

    project = f"decentralml-test-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DECENTRALML_VERSION": project_images.client.rpartition(":")[2],
        "DECENTRALML_KUBO_VERSION": project_images.kubo.rpartition(":")[2],
        "DECENTRALML_BIND": "127.0.0.1",
        "DECENTRALML_DEVNET_PORT": "",  # empty: a free port
        "DECENTRALML_IPFS_API_PORT": "",
    }
    compose = [docker_cli(), "compose", "-f", str(COMPOSE_FILE), "-p", project]

    def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*compose, *args], capture_output=True, text=True, env=env, timeout=timeout
        )

    try:
        up = run("up", "--abort-on-container-exit", "--exit-code-from", "demo", timeout=1500)
        demo_logs = run("logs", "--no-log-prefix", "demo").stdout
        assert up.returncode == 0, (
            f"compose up exited {up.returncode}:\n{up.stdout[-4000:]}\n{up.stderr[-2000:]}\n"
            f"peering: {run('logs', '--no-log-prefix', 'peering').stdout[-2000:]}"
        )
        containers = docker_engine.containers.list(
            all=True, filters={"label": f"{PROJECT_LABEL}={project}"}
        )
        services = {c.labels["com.docker.compose.service"]: c for c in containers}
        assert set(services) == {
            "devnet", "peering", "demo", *(f"kubo-{r[2:].lower()}" for r in ROLES)
        }  # fmt: skip
        for name, container in services.items():
            user = container.attrs["Config"]["User"]
            assert user.split(":")[0] not in ("", "root", "0"), f"{name} runs as root"
            for bindings in (container.attrs["HostConfig"]["PortBindings"] or {}).values():
                assert all(b["HostIp"] == "127.0.0.1" for b in bindings), (name, bindings)
        published = {
            name
            for name, c in services.items()
            if c.attrs["HostConfig"]["PortBindings"]
        }  # fmt: skip
        assert published == {"devnet", "kubo-alice"}
        assert services["demo"].attrs["State"]["ExitCode"] == 0
        assert services["peering"].attrs["State"]["ExitCode"] == 0
    finally:
        down = run("down", "-v", "--remove-orphans", "--timeout", "10", timeout=300)
    assert down.returncode == 0, down.stderr
    assert left_of(docker_engine, project) == []

    summary = summary_of(demo_logs)
    task = summary["task"]
    reward = task["reward"]
    assert (task["slots"], task["paid"]) == (4, 3)

    # Eve rejected, the three honest workers accepted and federated.
    results = summary["results"]
    assert set(results) == set(ROLES) - {"//Alice"}
    for uri in WORKERS:
        assert (results[uri]["decision"], results[uri]["federated"]) == ("accept", True)
    assert (results["//Eve"]["decision"], results["//Eve"]["federated"]) == ("reject", False)
    assert "holdout accuracy" in results["//Eve"]["reason"]

    # Exact balance changes: each honest worker gets the reward less its fees (its bond came
    # back); Eve pays only her fees; Alice pays her fees, the three rewards, and keeps the
    # freed slot's reward and the storage deposit reserved.
    accounts = summary["accounts"]
    for uri in ROLES:
        assert accounts[uri]["reserved_before"] == 0
        assert accounts[uri]["fees"] > 0
    for uri in WORKERS:
        change = accounts[uri]["free_after"] - accounts[uri]["free_before"]
        assert change == reward - accounts[uri]["fees"] > 0
        assert accounts[uri]["reserved_after"] == 0
    eve = accounts["//Eve"]
    assert eve["free_after"] - eve["free_before"] == -eve["fees"] < 0
    assert eve["reserved_after"] == 0
    alice = accounts["//Alice"]
    assert alice["reserved_after"] == task["escrow"] + task["deposit"]
    assert task["escrow"] == reward * (task["slots"] - task["paid"])
    assert alice["free_before"] - alice["free_after"] == (
        alice["fees"] + reward * task["paid"] + alice["reserved_after"]
    )

    # Each role used its own node, and the pieces crossed nodes: the bundle from Alice's to
    # every worker's, each result from its worker's node (and no other) to Alice's, the model
    # from Alice's to Bob's.
    assert {uri: a["ipfs_api"] for uri, a in accounts.items()} == {
        uri: f"http://kubo-{uri[2:].lower()}:5001" for uri in ROLES
    }
    held = summary["bundle"]["held"]
    assert held["before_assign"] == ["//Alice"]
    assert sorted(held["after_assign"]) == sorted(ROLES)
    for uri, result in results.items():
        assert result["held_before_validation"] == [uri], result
        assert sorted(result["held_after_validation"]) == sorted(["//Alice", uri]), result
    held = summary["model"]["held"]
    assert held["before_pull"] == ["//Alice"]
    assert sorted(held["after_pull"]) == ["//Alice", "//Bob"]
    assert "model.keras" in summary["model"]["files"]
