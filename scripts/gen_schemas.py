"""Write the JSON Schemas of the task commands' documents into decentralml/schemas/.

The schemas are generated from the document models in `decentralml.cli._market`, so the
output of a command and its shipped schema cannot drift apart; `tests/unit/test_task_schemas.py`
fails when a shipped file is stale. Run: `.venv/bin/python scripts/gen_schemas.py`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from decentralml.cli._market import DOCUMENTS, schema_for

SCHEMAS = Path(__file__).resolve().parent.parent / "decentralml" / "schemas"


def rendered() -> dict[str, str]:
    """File name -> text of every generated schema."""
    return {
        f"decentralml.{command}.v1.json": json.dumps(schema_for(command), indent=2) + "\n"
        for command in DOCUMENTS
    }


def main() -> int:
    for name, text in rendered().items():
        (SCHEMAS / name).write_text(text)
        print(f"wrote decentralml/schemas/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
