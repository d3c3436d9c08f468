"""Container fixtures (see tests/conftest.py): the project's images on a local Docker engine.

The dev chain and Kubo run from the images `scripts/build-images` makes (decentralml/devnet,
decentralml/kubo), started and removed by testcontainers. Ryuk, testcontainers' reaper, is
off: its image comes from a registry. So every container and network made here is removed by
the fixture that made it, in `finally`, also when a test fails. Published ports are bound to
127.0.0.1 only.

`DECENTRALML_TEST_BACKEND=containers` makes the ordinary `devnet`, `kubo` and `kubo_pair`
fixtures come from here, so the same integration tests run against containers. Tests marked
`containers` use these fixtures whatever the backend (the container smoke set). Without an
engine or without the images, those tests skip and say why.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from decentralml import __version__
from decentralml.devnet import chopsticks
from decentralml.devnet._process import wait_until
from decentralml.devnet._rpc import rpc_call
from decentralml.devnet.kubo import KUBO_VERSION
from tests.fixtures_kubo import KuboNode

# Before testcontainers is imported: it reads these once.
os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
os.environ.setdefault("TESTCONTAINERS_CONNECTION_MODE", "docker_host")

LOOPBACK = "127.0.0.1"
LABEL = "io.decentralml.test-session"
SESSION = uuid.uuid4().hex[:12]


@dataclass(frozen=True)
class ProjectImages:
    """The image tags of this checkout's version."""

    devnet: str
    kubo: str
    client: str

    @classmethod
    def current(cls) -> ProjectImages:
        return cls(
            devnet=f"decentralml/devnet:{__version__}",
            kubo=f"decentralml/kubo:{KUBO_VERSION.removeprefix('v')}",
            client=f"decentralml/client:{__version__}",
        )


def engine_missing() -> str | None:
    """Why no Docker engine can be used from here, or None when one answers."""
    try:
        import docker
    except ImportError:
        return "the testcontainers/docker packages are not installed (scripts/setup)"
    try:
        client = docker.from_env()
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:
        return (
            f"no Docker engine answers ({type(exc).__name__}); scripts/build-images starts one "
            "where Debian's docker.io can be installed"
        )
    return None


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[Any]:
    """A Docker SDK client to a running engine; skips the test when there is none."""
    reason = engine_missing()
    if reason is not None:
        pytest.skip(reason)
    import docker

    client = docker.from_env()
    try:
        yield client
    finally:
        # Anything a crashed fixture left behind in this session (labels name the session).
        for container in client.containers.list(all=True, filters={"label": f"{LABEL}={SESSION}"}):
            with contextlib.suppress(Exception):
                container.remove(force=True, v=True)
        for network in client.networks.list(filters={"label": f"{LABEL}={SESSION}"}):
            with contextlib.suppress(Exception):
                network.remove()
        client.close()


@pytest.fixture(scope="session")
def project_images(docker_engine: Any) -> ProjectImages:
    """The project's images, present on the engine; skips the test when one is missing."""
    images = ProjectImages.current()
    for tag in (images.devnet, images.kubo, images.client):
        try:
            docker_engine.images.get(tag)
        except Exception:
            pytest.skip(f"the image {tag} is missing: build it with scripts/build-images")
    return images


class ContainerNetwork:
    """A user-defined bridge network, removed on `remove()`."""

    def __init__(self, engine: Any, purpose: str) -> None:
        self.name = f"decentralml-test-{purpose}-{uuid.uuid4().hex[:8]}"
        self._network = engine.networks.create(self.name, driver="bridge", labels={LABEL: SESSION})

    def remove(self) -> None:
        with contextlib.suppress(Exception):
            self._network.remove()


def run_container(
    engine: Any,
    image: str,
    *,
    network: ContainerNetwork,
    alias: str,
    ports: tuple[int, ...],
    command: list[str] | None = None,
) -> Any:
    """Start `image` detached on `network` as `alias`, its `ports` published on 127.0.0.1."""
    return engine.containers.run(
        image,
        command=command,
        detach=True,
        name=f"decentralml-test-{alias}-{uuid.uuid4().hex[:8]}",
        labels={LABEL: SESSION},
        network=network.name,
        ports={f"{port}/tcp": (LOOPBACK, None) for port in ports},
    )


def wait_healthy(container: Any, timeout: float) -> float:
    """Wait until the image's health check says healthy; returns the seconds it took.

    Stops waiting early when the container exits: its log says why.
    """
    started = time.monotonic()

    def settled() -> str | None:
        container.reload()
        state = container.attrs["State"]
        if state.get("Health", {}).get("Status") == "healthy":
            return "healthy"
        return None if state.get("Running") else "exited"

    outcome = wait_until(settled, timeout=timeout, interval=0.2)
    if outcome == "healthy":
        return time.monotonic() - started
    state = container.attrs["State"]
    why = (
        f"exited ({state.get('ExitCode')})"
        if outcome == "exited"
        else f"was not healthy within {timeout:.0f} s"
    )
    raise AssertionError(
        f"{container.name} {why}:\n{container.logs(tail=40).decode(errors='replace')}"
    )


def published_port(container: Any, port: int) -> int:
    container.reload()
    binding = container.attrs["NetworkSettings"]["Ports"][f"{port}/tcp"]
    return int(binding[0]["HostPort"])


def remove_container(container: Any) -> None:
    with contextlib.suppress(Exception):
        container.remove(force=True, v=True)


@dataclass
class ContainerDevnet:
    """The dev chain in a decentralml/devnet container: the interface of `Devnet` that
    tests use (url, port, advance, height), without the local process's pid and files."""

    url: str
    port: int
    container: Any
    data_dir: Path

    def advance(self, n: int, *, jump: bool = False) -> int:
        chopsticks.make_blocks(self.url, n, jump=jump)
        return self.height()

    def height(self) -> int:
        header = rpc_call(self.url, "chain_getHeader")
        return int(header["number"], 16)


def start_container_devnet(
    engine: Any, images: ProjectImages, network: ContainerNetwork, data_dir: Path
) -> ContainerDevnet:
    container = run_container(engine, images.devnet, network=network, alias="devnet", ports=(9944,))
    try:
        wait_healthy(container, timeout=180)
        port = published_port(container, 9944)
    except BaseException:
        remove_container(container)
        raise
    url = f"ws://{LOOPBACK}:{port}"
    return ContainerDevnet(url=url, port=port, container=container, data_dir=data_dir)


class ContainerKubo(KuboNode):
    """A Kubo daemon in a decentralml/kubo container, online on its network: its API is
    published on 127.0.0.1, its swarm listens on the network under its alias."""

    def __init__(self, container: Any, alias: str) -> None:
        self.container = container
        self.alias = alias
        self.api_url = f"http://{LOOPBACK}:{published_port(container, 5001)}"
        self.peer_id = str(self.rpc("id").json()["ID"])
        # The container's name resolves on its user-defined network.
        self.swarm_addr = f"/dns4/{container.name}/tcp/4001"

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.container.reload()
            if self.container.status == "paused":
                self.container.unpause()
            self.container.stop(timeout=10)

    def pause(self) -> None:
        """Freeze the daemon (it keeps its connections but answers nothing)."""
        self.container.pause()

    def remove(self) -> None:
        remove_container(self.container)


def start_container_kubo(
    engine: Any, images: ProjectImages, network: ContainerNetwork, alias: str
) -> ContainerKubo:
    container = run_container(engine, images.kubo, network=network, alias=alias, ports=(5001,))
    try:
        wait_healthy(container, timeout=120)
        node = ContainerKubo(container, alias)
        assert wait_until(lambda: _answers(node.api_url), timeout=30), "Kubo API did not answer"
    except BaseException:
        remove_container(container)
        raise
    return node


def _answers(api_url: str) -> bool:
    try:
        return httpx.post(f"{api_url}/api/v0/version", timeout=5, trust_env=False).is_success
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="session")
def container_network(
    docker_engine: Any, project_images: ProjectImages
) -> Iterator[ContainerNetwork]:
    network = ContainerNetwork(docker_engine, "session")
    try:
        yield network
    finally:
        network.remove()


@pytest.fixture(scope="session")
def container_devnet(
    docker_engine: Any,
    project_images: ProjectImages,
    container_network: ContainerNetwork,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ContainerDevnet]:
    """The dev chain in a container, for the whole session."""
    data_dir = tmp_path_factory.mktemp("container-devnet")
    chain = start_container_devnet(docker_engine, project_images, container_network, data_dir)
    try:
        yield chain
    finally:
        remove_container(chain.container)


@pytest.fixture(scope="session")
def container_kubo(
    docker_engine: Any, project_images: ProjectImages, container_network: ContainerNetwork
) -> Iterator[ContainerKubo]:
    """One Kubo daemon in a container, for the whole session."""
    node = start_container_kubo(docker_engine, project_images, container_network, "kubo")
    try:
        yield node
    finally:
        node.remove()


@pytest.fixture
def container_kubo_pair(
    docker_engine: Any, project_images: ProjectImages
) -> Iterator[tuple[ContainerKubo, ContainerKubo]]:
    """Two Kubo containers with their own repositories on a network of their own, connected
    to each other; nothing is shared but the network."""
    network = ContainerNetwork(docker_engine, "pair")
    started: list[ContainerKubo] = []
    try:
        for alias in ("node-a", "node-b"):
            started.append(start_container_kubo(docker_engine, project_images, network, alias))
        a, b = started
        b.connect(a)
        yield a, b
    finally:
        for node in started:
            node.remove()
        network.remove()
