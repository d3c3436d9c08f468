"""Inspecting a ``.keras`` archive before Keras sees it: built-in classes only, no code.

Keras's safe mode refuses Python lambdas, but it still resolves classes by the module and
registered name the file gives, including objects registered in the validator's process,
and some built-in layers carry code or reach outside the file (``Lambda`` with a named
function, ``TFSMLayer``, the Torch, JAX and Flax wrappers). A result is data, so the config is
held to a stricter rule, checked here with nothing but ``zipfile`` and ``json``: every object
names a class from Keras's own modelling modules, with no custom registered name.
"""

from __future__ import annotations

import json
import os
import stat
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, NoReturn

from decentralml.validation._errors import MalformedResult, UnsafeResult

Label = int | str

CONFIG = "config.json"
# What Keras writes into a .keras archive (keras/src/saving/saving_lib.py).
KNOWN_ENTRIES = {"config.json", "metadata.json", "model.weights.h5", "model.weights.npz"}
ASSETS_DIR = "assets/"

# Serialised values Keras decodes as plain data (keras/src/saving/serialization_lib.py).
DATA_MARKERS = {
    "__keras_tensor__",
    "__tensor__",
    "__numpy__",
    "__bytes__",
    "__ellipsis__",
    "__slice__",
}
# Classes that run or load code: serialised Python functions and type specs resolved by
# module, layers wrapping a function or another framework's module, a SavedModel from disk.
CODE_CLASSES = {
    "__lambda__",
    "__typespec__",
    "Lambda",
    "TFSMLayer",
    "TorchModuleWrapper",
    "JaxLayer",
    "FlaxLayer",
}
# Keras's modelling namespaces, public (``keras.layers``) or internal (``keras.src.layers``):
# not saving, utils, backend, config, callbacks or export.
MODELLING = {
    "activations",
    "constraints",
    "dtype_policies",
    "initializers",
    "layers",
    "losses",
    "metrics",
    "models",
    "ops",
    "optimizers",
    "regularizers",
}


@dataclass(frozen=True)
class KerasLimits:
    """Bounds on a ``.keras`` archive a validator will open."""

    max_entries: int = 256
    max_total_bytes: int = 2 << 30
    max_config_bytes: int = 16 << 20
    # A member expanding more than this many times is a decompression bomb...
    max_ratio: int = 100
    # ...unless it is this small.
    ratio_floor_bytes: int = 1 << 20
    max_config_nodes: int = 1_000_000


class _Check:
    """One archive's inspection: where it is and whose result, for the errors it raises."""

    def __init__(self, path: str, result: Label | None, limits: KerasLimits) -> None:
        self.path = path
        self.result = result
        self.limits = limits

    def unsafe(self, reason: str) -> NoReturn:
        raise UnsafeResult(reason, result=self.result, path=self.path)

    def malformed(self, reason: str) -> NoReturn:
        raise MalformedResult(reason, result=self.result, path=self.path)

    def entries(self, archive: zipfile.ZipFile) -> None:
        """Refuse links, escaping or unknown names, duplicates, encryption and bombs."""
        infos = archive.infolist()
        if len(infos) > self.limits.max_entries:
            self.unsafe(f"{len(infos)} archive entries, more than {self.limits.max_entries}")
        names = [info.filename for info in infos]
        if len(set(names)) != len(names):
            # Keras and this check could read different copies of the same name.
            self.unsafe("an archive entry name appears twice")
        total = 0
        for info in infos:
            name = info.filename
            shown = repr(name[:60])
            if not _plain_name(name):
                self.unsafe(f"archive entry {shown} escapes the archive")
            if name not in KNOWN_ENTRIES and not name.startswith(ASSETS_DIR):
                self.unsafe(f"unexpected archive entry {shown}")
            if stat.S_ISLNK(info.external_attr >> 16):
                self.unsafe(f"archive entry {shown} is a link")
            if info.flag_bits & 0x1:
                self.unsafe(f"archive entry {shown} is encrypted")
            if (
                info.file_size > self.limits.ratio_floor_bytes
                and info.file_size > self.limits.max_ratio * max(info.compress_size, 1)
            ):
                self.unsafe(f"archive entry {shown} is a decompression bomb")
            total += info.file_size
        if total > self.limits.max_total_bytes:
            self.unsafe(f"archive expands to {total} bytes, over {self.limits.max_total_bytes}")
        if CONFIG not in names:
            self.malformed("no config.json in the .keras archive")

    def config(self, archive: zipfile.ZipFile) -> Any:
        info = archive.getinfo(CONFIG)
        if info.file_size > self.limits.max_config_bytes:
            self.unsafe(f"config.json of {info.file_size} bytes is too large")
        with archive.open(info) as member:
            data = member.read(self.limits.max_config_bytes + 1)
        try:
            return json.loads(data)
        except (ValueError, RecursionError) as exc:
            self.malformed(f"config.json is not JSON: {str(exc)[:80]}")

    def objects(self, config: Any) -> None:
        """Walk the config; every serialised object must be a built-in Keras class."""
        for count, (node, layer) in enumerate(_objects(config)):
            if count >= self.limits.max_config_nodes:
                self.unsafe("config.json has too many objects")
            self.object(node, layer)

    def object(self, node: dict[str, Any], layer: str | None) -> None:
        class_name = node.get("class_name")
        if not isinstance(class_name, str):
            self.malformed("config.json has an object whose class_name is not text")
        within = f" (in layer {layer[:40]!r})" if layer else ""
        shown = repr(class_name[:60])
        if class_name in CODE_CLASSES:
            self.unsafe(f"{shown}{within} would run code: only built-in layers are allowed")
        if class_name in DATA_MARKERS:
            return
        module = node.get("module")
        registered = node.get("registered_name")
        if class_name == "function":
            if module != "builtins" and not _modelling(module):
                self.unsafe(f"function from {str(module)[:60]!r}{within} is not built into Keras")
            if registered not in (None, node.get("config")):
                self.unsafe(f"custom function {str(registered)[:60]!r}{within}")
            return
        if module is None:
            self.unsafe(f"class {shown}{within} names no module: only Keras's own are allowed")
        if not _modelling(module):
            self.unsafe(f"class {shown} from {str(module)[:60]!r}{within} is not Keras's own")
        if registered not in (None, class_name):
            self.unsafe(f"custom registered class {str(registered)[:60]!r}{within}")


def _plain_name(name: str) -> bool:
    """A relative name of plain components: no root, drive, backslash, ``..`` or NUL."""
    if not name or name.startswith("/") or "\\" in name or "\x00" in name or ":" in name:
        return False
    parts = name.rstrip("/").split("/")
    return all(part not in ("", ".", "..") for part in parts)


def _modelling(module: object) -> bool:
    """Whether `module` is ``keras`` or one of its modelling namespaces."""
    if not isinstance(module, str):
        return False
    parts = module.split(".")
    if parts[0] != "keras":
        return False
    if len(parts) == 1:
        return True
    area = parts[2] if parts[1] == "src" and len(parts) > 2 else parts[1]
    return area in MODELLING


def _objects(config: Any) -> Iterator[tuple[dict[str, Any], str | None]]:
    """Every dict with a ``class_name`` or ``module`` in `config`, with its layer's name.

    Iterative, so a deeply nested config cannot exhaust the stack.
    """
    stack: list[tuple[Any, str | None]] = [(config, None)]
    while stack:
        node, layer = stack.pop()
        if isinstance(node, dict):
            if "class_name" in node or "module" in node:
                inner = node.get("config")
                name = node.get("name") or (inner.get("name") if isinstance(inner, dict) else None)
                here = layer
                if "layers" in str(node.get("module", "")) and isinstance(name, str):
                    here = name
                yield node, here
                stack.extend((value, here) for value in node.values())
            else:
                stack.extend((value, layer) for value in node.values())
        elif isinstance(node, list):
            stack.extend((value, layer) for value in node)


def check_keras_archive(
    path: str | os.PathLike[str],
    *,
    limits: KerasLimits | None = None,
    result: Label | None = None,
) -> Any:
    """Refuse a ``.keras`` file unless it holds built-in Keras classes only; no Keras needed.

    Parameters
    ----------
    path
        The ``model.keras`` file; it must end in ``.keras`` (Keras picks its loader by it).
    limits
        Bounds on entries and sizes; `KerasLimits()` by default.
    result
        A name for the result in error messages.

    Returns
    -------
    Any
        The parsed ``config.json``.

    Raises
    ------
    UnsafeResult, MalformedResult
        With a short reason: which class, entry or limit.
    """
    check = _Check(str(path), result, limits or KerasLimits())
    if not str(path).endswith(".keras"):
        check.malformed("not a .keras file")
    try:
        with zipfile.ZipFile(path) as archive:
            check.entries(archive)
            config = check.config(archive)
    except FileNotFoundError:
        check.malformed("model file missing")
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        check.malformed(f"not a readable .keras archive: {str(exc)[:80]}")
    if not isinstance(config, dict):
        check.malformed("config.json is not an object")
    check.objects(config)
    return config
