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
