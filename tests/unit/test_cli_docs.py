"""docs/cli.md is generated from the click commands and kept current."""

from __future__ import annotations

import runpy
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_cli_reference_is_current() -> None:
    """Fails when a command changed and `scripts/gen_cli_docs.py` was not run."""
    render = runpy.run_path(str(ROOT / "scripts" / "gen_cli_docs.py"))["render"]
    assert (ROOT / "docs" / "cli.md").read_text() == render(), "run scripts/gen_cli_docs.py"
