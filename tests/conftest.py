"""Shared pytest configuration.

Service fixtures live in their own plugin modules so each stays small:
`tests/fixtures_kubo.py` (a real Kubo daemon) and `tests/fixtures_devnet.py` (the dev chain
on Chopsticks) start real processes on loopback, once per session; `tests/fixtures_containers.py`
starts the same services from the project's images (`DECENTRALML_TEST_BACKEND=containers`,
see `tests/backend.py`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.backend import ENGINE, NOT_ON_ENGINE

pytest_plugins = [
    "tests.fixtures_kubo",
    "tests.fixtures_devnet",
    "tests.fixtures_containers",
]

# Read once: the autouse `clean_environ` fixture removes DECENTRALML_* variables during tests.
REQUIRE_SERVICES = os.environ.get("DECENTRALML_REQUIRE_SERVICES") == "1"


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No DECENTRALML_* variable leaks in; the config file lives in the test's tmp dir."""
    for name in list(os.environ):
        if name.startswith("DECENTRALML_") and name not in (
            "DECENTRALML_CACHE_DIR",
            "DECENTRALML_DATA_DIR",
        ):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DECENTRALML_CONFIG_DIR", str(tmp_path / "config"))
    yield


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    """With DECENTRALML_REQUIRE_SERVICES=1 (as in CI), a skipped integration or kit test fails.

    Integration tests skip with a reason when Node.js, Chopsticks or Kubo is missing, and the
    kits' tests (`tensorflow`) when the TensorFlow extra is; in CI all of those are installed
    first, so a skip there means something is broken.
    """
    report = yield
    if report.skipped and NOT_ON_ENGINE in str(report.longrepr):
        return report  # the test does not apply to this engine: no service is missing
    if report.skipped and item.get_closest_marker("omni_node") and ENGINE != "omni-node":
        return report  # omni-node is optional unless the run is on it (scripts/test --engine)
    required = [
        m
        for m in ("integration", "containers", "tensorflow")
        if item.get_closest_marker(m) is not None
    ]
    if REQUIRE_SERVICES and report.skipped and required:
        report.outcome = "failed"
        report.longrepr = f"{required[0]} test skipped but it is required: {report.longrepr}"
    return report
