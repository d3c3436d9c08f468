"""Fixtures for the example kits in ``assets/``: importing them, and one creator run.

The kits are Python packages that live in ``assets/`` (each travels alone in a task bundle),
so the tests import them from there. TensorFlow is imported only by the tests that train.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import NamedTuple

import pytest

ROOT = Path(__file__).resolve().parents[2]
ASSETS = ROOT / "assets"
if str(ASSETS) not in sys.path:
    sys.path.insert(0, str(ASSETS))

MISSING = [m for m in ("tensorflow", "sklearn", "numpy") if importlib.util.find_spec(m) is None]
if MISSING:
    # The kits' test modules cannot even be imported without the extra: only test_extra.py is
    # collected, and it skips saying why (a failure where the extra is required, as in CI).
    collect_ignore = [p.name for p in Path(__file__).parent.glob("test_*.py")]
    collect_ignore.remove("test_extra.py")


class CreatorRun(NamedTuple):
    """The output of one in-process creator run: the model, and a task bundle per kind."""

    out: Path
    model: Path
    bundles: dict[str, Path]


@pytest.fixture(scope="session")
def creator() -> ModuleType:
    import model_creator

    return model_creator


@pytest.fixture(scope="session")
def creator_run(creator: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> CreatorRun:
    """Train the initial model once per session and write the three task bundles."""
    out = tmp_path_factory.mktemp("creator")
    model = creator.train(out)
    bundles = {
        kind: creator.write_task_bundle(kind, out / "bundles" / kind, model=model)
        for kind in creator.KINDS
    }
    return CreatorRun(out, model, bundles)
