"""The creator's workspace: the code that builds the task's model and keeps its holdout.

A workspace is a directory in `assets/model_creator`'s layout: a Python package (its
``__init__.py`` re-exports the functions) or a directory with ``model_creator.py``. It is the
validator's own code (the creator's, handed to a named validator off-chain), so importing it
is running trusted code; no contributor's file is ever imported. It provides:

- ``build_model() -> keras.Model``: the task's architecture (contributions are weights for it);
- ``load_holdout() -> (x, y)``: data no contributor trained on;
- ``evaluate(model, x, y) -> dict``: at least ``accuracy`` and ``loss``;
- optionally ``load_gold() -> labels``: the true labels of an annotation task's samples.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from decentralml.validation._errors import ValidationError
from decentralml.validation._imports import import_path

REQUIRED = ("build_model", "load_holdout", "evaluate")


class WorkspaceError(ValidationError):
    """The creator's workspace cannot be used: missing, not importable, or lacking a function."""


@dataclass(frozen=True)
class Workspace:
    """The functions of a creator's workspace (see the module's docstring)."""

    path: Path
    build_model: Callable[[], Any]
    load_holdout: Callable[[], tuple[Any, Any]]
    evaluate: Callable[[Any, Any, Any], dict[str, Any]]
    load_gold: Callable[[], Any] | None = None

    @classmethod
    def load(cls, path: str | Path) -> Workspace:
        """Import the workspace at `path` (once per process and directory)."""
        root = Path(path).expanduser().resolve()
        if not root.is_dir():
            raise WorkspaceError(
                f"the creator's workspace {root} is not a directory",
                hint="pass --workspace DIR, a directory in assets/model_creator's layout",
            )
        # Keras warns about retracing once a few models have been scored one after another;
        # that is how validation works, not a problem to show the validator.
        logging.getLogger("tensorflow").setLevel(logging.ERROR)
        module = _import(root)
        functions = {name: getattr(module, name, None) for name in (*REQUIRED, "load_gold")}
        missing = [name for name in REQUIRED if not callable(functions[name])]
        if missing:
            raise WorkspaceError(
                f"the workspace {root} has no {', '.join(missing)}",
                hint="it must define build_model(), load_holdout() and evaluate(model, x, y)",
            )
        return cls(root, **functions)  # type: ignore[arg-type]

    def new_model(self) -> Any:
        """`build_model()`; its failure is the workspace's, never a result's."""
        return _own("build_model()", self.build_model)

    def holdout(self) -> tuple[Any, Any]:
        """`load_holdout()`; its failure is the workspace's."""
        return _own("load_holdout()", self.load_holdout)

    def gold(self) -> Any | None:
        """`load_gold()` when the workspace has it, else None; its failure is the workspace's."""
        return None if self.load_gold is None else _own("load_gold()", self.load_gold)

    def holdout_metrics(self, model: Any, holdout: tuple[Any, Any]) -> dict[str, float]:
        """`evaluate` on the holdout, checked to report a numeric accuracy and loss."""
        metrics = self.evaluate(model, *holdout)
        try:
            checked = {k: float(v) for k, v in dict(metrics).items()}
        except (TypeError, ValueError) as exc:
            raise WorkspaceError(f"evaluate() returned {metrics!r}: {exc}") from exc
        if "accuracy" not in checked:
            raise WorkspaceError(f"evaluate() returned no accuracy: {sorted(checked)}")
        return checked


def _own(what: str, function: Callable[[], Any]) -> Any:
    """Call one of the workspace's functions, reporting its failure as the workspace's, so a
    bug on the validator's side stops the run instead of being held against a result."""
    try:
        return function()
    except ValidationError:
        raise
    except Exception as exc:
        raise WorkspaceError(f"the workspace's {what} failed: {type(exc).__name__}: {exc}") from exc


def _import(root: Path) -> ModuleType:
    prefix = "decentralml_workspace_"
    try:
        if (root / "__init__.py").is_file():
            return import_path(prefix, root / "__init__.py", package_dir=root)
        if (root / "model_creator.py").is_file():
            return import_path(prefix, root / "model_creator.py")
    except Exception as exc:
        raise WorkspaceError(f"importing the workspace {root} failed: {exc}") from exc
    raise WorkspaceError(
        f"{root} has neither __init__.py nor model_creator.py",
        hint="use a directory in assets/model_creator's layout",
    )
