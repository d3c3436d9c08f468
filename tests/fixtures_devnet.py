"""Dev chain fixtures (see tests/conftest.py).

`devnet` starts the chain once per session, from the chain spec shipped in the package, on a
free loopback port with its own data directory, through the same API `decentralml devnet up`
uses (no IPFS). Chopsticks is installed into the shared cache directory when missing. With
DECENTRALML_TEST_ENGINE=omni-node the chain runs on polkadot-omni-node instead, and tests skip
with the reason when its binary is not installed (scripts/install-omni-node).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from decentralml.devnet import network, omni_node
from decentralml.devnet._process import free_port
from decentralml.devnet._rpc import rpc_call
from decentralml.errors import DecentralMLError, DevnetError
from tests.backend import BACKEND, ENGINE, skip_jump_on_omni_node


@dataclass
class Devnet:
    """A running dev chain: where it answers and where its files are."""

    url: str
    port: int
    pid: int
    data_dir: Path
    paths: network.DevnetPaths

    def advance(self, n: int, *, jump: bool = False) -> int:
        """Produce `n` empty blocks (with `jump`, one block `n` heights ahead); returns the new
        height. A jump skips the rest of the test on omni-node, which cannot jump."""
        if jump:
            skip_jump_on_omni_node()
        return network.advance(n, jump=jump, paths=self.paths).to_height

    def height(self) -> int:
        header = rpc_call(self.url, "chain_getHeader")
        return int(header["number"], 16)


def devnet_prerequisites_missing(engine: str = ENGINE) -> str | None:
    """Why a devnet on `engine` cannot be started here, or None if it can."""
    if engine == "omni-node":
        try:
            omni_node.omni_node_binary()
        except DecentralMLError as exc:
            return exc.message
    elif shutil.which("node") is None:
        return "Node.js is not installed, so Chopsticks (the dev chain) cannot run"
    try:
        network.chain_spec_path()
    except DevnetError as exc:
        return exc.message
    return None


def start_devnet(data_dir: Path, *, engine: str = ENGINE) -> Devnet:
    """Start a fresh chain (no IPFS) on `engine` with its state under `data_dir`."""
    paths = network.DevnetPaths(data_dir / "devnet")
    result = network.up(port=free_port(), ipfs=False, fresh=True, paths=paths, engine=engine)
    return Devnet(
        url=result.state.chain.url,
        port=result.state.chain.port,
        pid=result.state.chain.pid,
        data_dir=data_dir,
        paths=paths,
    )


@pytest.fixture(scope="session")
def local_devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    """The session's dev chain as a local process, whatever the backend: for the tests of the
    local launcher itself (its state record, its port handling)."""
    reason = devnet_prerequisites_missing()
    if reason is not None:
        pytest.skip(reason)
    chain = start_devnet(tmp_path_factory.mktemp("devnet-data"))
    try:
        yield chain
    finally:
        network.down(paths=chain.paths)


@pytest.fixture(scope="session")
def devnet(request: pytest.FixtureRequest) -> Devnet:
    """A dev chain for the whole session; tests use fresh accounts, not a fresh chain.

    Under the containers backend, the chain in a decentralml/devnet container (it has the
    `url`, `port`, `data_dir`, `advance` and `height` of `Devnet`; no pid, no state record).
    """
    name = "container_devnet" if BACKEND == "containers" else "local_devnet"
    chain: Devnet = request.getfixturevalue(name)
    return chain
