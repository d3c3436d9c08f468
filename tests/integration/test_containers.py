"""The container smoke set: tests of the other modules, run here against the project's images.

The `devnet`, `kubo` and `kubo_pair` fixtures of this module are containers
(decentralml/devnet, decentralml/kubo) whatever `DECENTRALML_TEST_BACKEND` says, and the tests
below are the other modules' own functions, collected again here so that they use them:

- the CLI flow with exact balances (create, assign, send through Kubo, accept, reject, close,
  remove), against the devnet and Kubo containers;
- the pallet flow with bonds, exact balances at each step;
- a 20 MB bundle pushed to one Kubo container and pulled, verified, through another that did
  not have it; and the source container stopped first: "content not found", exit 1, nothing
  written.

`scripts/test --containers` runs every integration test on containers instead.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures_containers import ContainerDevnet, ContainerKubo
from tests.integration.test_chain_flow import (
    alice,
    bob,
    bond,
    chain,
    deposit,
)
from tests.integration.test_chain_flow import (
    test_plain_manual_accept_with_bonds_exact_balances_at_each_step as test_chain_flow_with_bonds_on_containers,  # noqa: E501
)
from tests.integration.test_storage_nodes import (
    test_pushed_on_a_pulled_through_b as test_20_mb_pushed_on_a_pulled_through_b_across_containers,
)
from tests.integration.test_storage_nodes import (
    test_source_node_stopped_is_not_found_and_writes_nothing as test_source_container_stopped_is_not_found,  # noqa: E501
)
from tests.integration.test_task_cli import (
    cli,
)
from tests.integration.test_task_cli import (
    test_three_workers_manual_accept_close_and_remove as test_cli_flow_exact_balances_on_containers,
)

pytestmark = [pytest.mark.integration, pytest.mark.containers, pytest.mark.slow]

# The fixtures the collected tests ask for, bound to the containers for this module.
__all__ = [
    "alice",
    "bob",
    "bond",
    "chain",
    "cli",
    "deposit",
    "test_20_mb_pushed_on_a_pulled_through_b_across_containers",
    "test_chain_flow_with_bonds_on_containers",
    "test_cli_flow_exact_balances_on_containers",
    "test_source_container_stopped_is_not_found",
]


@pytest.fixture(scope="module")
def devnet(container_devnet: ContainerDevnet) -> ContainerDevnet:
    return container_devnet


@pytest.fixture(scope="module")
def kubo(container_kubo: ContainerKubo) -> ContainerKubo:
    return container_kubo


@pytest.fixture
def kubo_pair(container_kubo_pair: tuple[ContainerKubo, ContainerKubo]) -> Any:
    return container_kubo_pair


def test_the_services_are_containers(devnet: ContainerDevnet, kubo: ContainerKubo) -> None:
    """The fixtures above are what the collected tests get: containers, as non-root users,
    their ports published on 127.0.0.1 only."""
    for container in (devnet.container, kubo.container):
        container.reload()
        assert container.status == "running"
        user = container.exec_run(["id", "-u"]).output.decode().strip()
        assert user != "0", f"{container.name} runs as root"
        for bindings in container.attrs["NetworkSettings"]["Ports"].values():
            for binding in bindings or []:
                assert binding["HostIp"] == "127.0.0.1", (container.name, binding)
