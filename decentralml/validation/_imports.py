"""Importing the validator's own code from a path: a custom policy file, the creator's
workspace. Never a contributor's file."""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType


def import_path(prefix: str, path: Path, *, package_dir: Path | None = None) -> ModuleType:
    """The module at `path` (a package's ``__init__.py`` when `package_dir` is its folder,
    so its relative imports work), under a name made from `prefix` and the path; imported
    once per process. Raises what the module's code raises, leaving nothing half-imported."""
    name = prefix + hashlib.sha256(str(path).encode()).hexdigest()[:12]
    if name in sys.modules:
        return sys.modules[name]
    locations = [str(package_dir)] if package_dir is not None else None
    spec = importlib.util.spec_from_file_location(name, path, submodule_search_locations=locations)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module
