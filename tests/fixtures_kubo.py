"""Kubo daemon fixtures (see tests/conftest.py).

`kubo` is one real, offline Kubo daemon for the whole session, on free loopback ports, with
its repository in a temporary directory. `kubo_pair` is two online daemons with their own
repositories, swarm listeners on 127.0.0.1 and nothing else (no bootstrap, no routing), dialled
to each other, so blocks move between them by bitswap over loopback only. The pinned binary
is built on first use (minutes, once); without Go the integration tests skip and say why.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from decentralml.devnet._process import wait_until
from decentralml.devnet.kubo import KuboDaemon, kubo_alive, kubo_binary, start_kubo, stop_kubo
from decentralml.errors import DevnetError
from tests.backend import BACKEND


def free_port() -> int:
    """A loopback TCP port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def kubo_bin() -> Path:
    """The pinned `ipfs` binary, built if missing; skips the test when that is impossible."""
    try:
        return kubo_binary(install=True)
    except DevnetError as exc:
        pytest.skip(f"no Kubo binary: {exc.message}")


def launch_kubo(root: Path) -> KuboDaemon:
    """Start a fresh daemon with its repository and log under `root`."""
    return start_kubo(
        root / "repo",
        api_port=free_port(),
        gateway_port=free_port(),
        log_path=root / "kubo.log",
    )


@pytest.fixture(scope="session")
def kubo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[KuboDaemon]:
    """One real Kubo daemon for the session (a container under the containers backend)."""
    if BACKEND == "containers":
        yield request.getfixturevalue("container_kubo")
        return
    request.getfixturevalue("kubo_bin")
    daemon = launch_kubo(tmp_path_factory.mktemp("kubo"))
    try:
        yield daemon
    finally:
        stop_kubo(daemon.pid)


class KuboNode:
    """An online Kubo daemon other daemons can dial: a local process (`KuboPeer`) or a
    container (`tests.fixtures_containers.ContainerKubo`)."""

    api_url: str
    swarm_addr: str
    peer_id: str

    def multiaddr(self) -> str:
        return f"{self.swarm_addr}/p2p/{self.peer_id}"

    def rpc(self, command: str, **params: str) -> httpx.Response:
        response = httpx.post(
            f"{self.api_url}/api/v0/{command}", params=params, timeout=30.0, trust_env=False
        )
        return response

    def connect(self, other: KuboNode) -> None:
        """Dial `other` and wait until each lists the other as a peer."""
        answer = self.rpc("swarm/connect", arg=other.multiaddr())
        assert answer.status_code == 200, answer.text
        assert wait_until(
            lambda: self.is_connected(other) and other.is_connected(self), timeout=10
        ), "peers did not see each other within 10 s"

    def reconnect(self, other: KuboNode) -> None:
        """Drop the connection to `other` and dial it again: both forget their bitswap state.

        Seen with Kubo 0.43: a node that garbage-collected blocks and asks the same peer for
        them again right away can wait forever on one of them, connection up, until the
        connection is made anew.
        """
        self.rpc("swarm/disconnect", arg=other.multiaddr())
        assert wait_until(
            lambda: not (self.is_connected(other) or other.is_connected(self)), timeout=10
        ), "peers did not disconnect within 10 s"
        self.connect(other)

    def is_connected(self, other: KuboNode) -> bool:
        peers = self.rpc("swarm/peers").json().get("Peers") or []
        return any(p.get("Peer") == other.peer_id for p in peers)

    def has_block(self, cid: str) -> bool:
        """Whether the block is in this node's own blockstore (never fetched to find out)."""
        return self.rpc("block/stat", arg=cid, offline="true").status_code == 200

    def stop(self) -> None:
        raise NotImplementedError

    def pause(self) -> None:
        """Freeze the daemon: its connections stay open, it answers nothing (until `stop`)."""
        raise NotImplementedError


class KuboPeer(KuboNode):
    """An online Kubo daemon that talks to other local daemons over loopback only."""

    def __init__(
        self,
        proc: subprocess.Popen[bytes],
        api_url: str,
        swarm_addr: str,
        peer_id: str,
        repo: Path,
        log_path: Path,
    ) -> None:
        self.proc = proc
        self.api_url = api_url
        self.swarm_addr = swarm_addr
        self.peer_id = peer_id
        self.repo = repo
        self.log_path = log_path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def pause(self) -> None:
        os.kill(self.proc.pid, signal.SIGSTOP)

    def stop(self) -> None:
        """Stop the daemon (and resume it first if it was paused)."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


# What makes a daemon online yet local: a swarm listener on 127.0.0.1 only, no bootstrap
# peers, no DHT or delegated routing (blocks come from directly connected peers through
# bitswap), no mDNS, relays, NAT mapping, AutoTLS or remote configuration.
PEER_CONFIG: list[tuple[str, str]] = [
    ("Bootstrap", "[]"),
    ("Routing.Type", '"none"'),
    ("Discovery.MDNS.Enabled", "false"),
    ("AutoConf.Enabled", "false"),
    ("AutoTLS.Enabled", "false"),
    ("Swarm.DisableNatPortMap", "true"),
    ("Swarm.RelayClient.Enabled", "false"),
    ("Swarm.RelayService.Enabled", "false"),
    ("Swarm.Transports.Network.Websocket", "false"),
    ("Swarm.Transports.Network.QUIC", "false"),
    ("Swarm.Transports.Network.WebTransport", "false"),
    ("Swarm.Transports.Network.WebRTCDirect", "false"),
    ("Addresses.Announce", "[]"),
]


def launch_peer(binary: Path, root: Path, *, timeout: float = 60.0) -> KuboPeer:
    """Start an online daemon with its own repository under `root`, reachable on loopback."""
    repo = root / "repo"
    env = {**os.environ, "IPFS_PATH": str(repo), "IPFS_TELEMETRY": "off"}

    def ipfs(*args: str) -> str:
        done = subprocess.run(
            [str(binary), *args], env=env, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, f"ipfs {' '.join(args)}: {done.stderr or done.stdout}"
        return done.stdout.strip()

    repo.mkdir(parents=True)
    ipfs("init", "--profile", "test", "--empty-repo")
    api_port, gateway_port, swarm_port = free_port(), free_port(), free_port()
    swarm_addr = f"/ip4/127.0.0.1/tcp/{swarm_port}"
    ipfs("config", "Addresses.API", f"/ip4/127.0.0.1/tcp/{api_port}")
    ipfs("config", "Addresses.Gateway", f"/ip4/127.0.0.1/tcp/{gateway_port}")
    ipfs("config", "--json", "Addresses.Swarm", json.dumps([swarm_addr]))
    for key, value in PEER_CONFIG:
        ipfs("config", "--json", key, value)
    peer_id = ipfs("config", "Identity.PeerID")
    log_path = root / "kubo.log"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [str(binary), "daemon"],
            env=env,
            cwd=repo,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    peer = KuboPeer(proc, f"http://127.0.0.1:{api_port}", swarm_addr, peer_id, repo, log_path)
    # Stop waiting early when the daemon exits: its log says why.
    wait_until(lambda: proc.poll() is not None or kubo_alive(peer.api_url), timeout=timeout)
    if proc.poll() is not None or not kubo_alive(peer.api_url):
        peer.stop()
        raise AssertionError(f"Kubo peer did not start:\n{log_path.read_text()[-2000:]}")
    return peer


@pytest.fixture
def kubo_pair(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[KuboNode, KuboNode]]:
    """Two online daemons, separate repositories, connected to each other over loopback (two
    containers on a network of their own under the containers backend)."""
    if BACKEND == "containers":
        yield request.getfixturevalue("container_kubo_pair")
        return
    kubo_bin: Path = request.getfixturevalue("kubo_bin")
    a = launch_peer(kubo_bin, tmp_path / "node-a")
    try:
        b = launch_peer(kubo_bin, tmp_path / "node-b")
        try:
            b.connect(a)
            yield a, b
        finally:
            b.stop()
    finally:
        a.stop()
