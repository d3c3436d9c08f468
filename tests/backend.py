"""Which services the integration tests run against: `DECENTRALML_TEST_BACKEND`.

`processes` (the default): a dev chain and Kubo daemons started as local processes.
`containers`: the same services from the project's images on a local Docker engine
(`tests/fixtures_containers.py`). Tests of the local launcher itself (`devnet up/down`, its
faults, killed processes) always use local processes: that is what they test.
"""

from __future__ import annotations

import os

import pytest

BACKEND = os.environ.get("DECENTRALML_TEST_BACKEND", "processes")
if BACKEND not in ("processes", "containers"):
    raise pytest.UsageError(
        f"DECENTRALML_TEST_BACKEND must be 'processes' or 'containers', not {BACKEND!r}"
    )

# Which engine runs the local dev chain: `DECENTRALML_TEST_ENGINE` (`scripts/test --engine`).
# `chopsticks` (the default) or `omni-node`, a real Substrate node (scripts/install-omni-node).
ENGINE = os.environ.get("DECENTRALML_TEST_ENGINE", "chopsticks")
if ENGINE not in ("chopsticks", "omni-node"):
    raise pytest.UsageError(
        f"DECENTRALML_TEST_ENGINE must be 'chopsticks' or 'omni-node', not {ENGINE!r}"
    )

# Skips that say a test (or its last part) does not apply to the engine: never a missing
# service, so DECENTRALML_REQUIRE_SERVICES lets them pass as skips.
NOT_ON_ENGINE = f"not on {ENGINE}:"


def skip_on_omni_node(why: str) -> None:
    """Skip the rest of the test on the omni-node engine (what ran before it passed)."""
    if ENGINE == "omni-node":
        pytest.skip(f"{NOT_ON_ENGINE} {why}")


def skip_jump_on_omni_node() -> None:
    skip_on_omni_node(
        "jumping hundreds of thousands of blocks (a retention period) needs Chopsticks; a real "
        "node builds every block"
    )


def chopsticks_only(why: str) -> pytest.MarkDecorator:
    """Mark a test (or a module, as `pytestmark`) that tests the Chopsticks launcher itself."""
    return pytest.mark.skipif(ENGINE == "omni-node", reason=f"{NOT_ON_ENGINE} {why}")
