"""Loading contributors' results as data, never as code.

A contribution is a ``weights.npz``: numeric arrays ``arr_0 .. arr_{n-1}`` in ``get_weights()``
order. `load_weights_npz` reads it whole and `WeightsReader` one layer at a time (for the
robust aggregators). Both inspect every array's ``.npy`` header before reading any data, so
a result with pickled objects, the wrong arrays or the wrong shapes is refused before numpy
allocates or unpickles anything; arrays are then read with ``allow_pickle=False``.

An engineering result is a ``model.keras``. `load_engineered_model` first inspects the archive
and its ``config.json`` without Keras (`check_keras_archive`): only built-in Keras classes,
no Lambda or other code-carrying layers, no custom registered names, no entry that escapes
or is oversized. Only then does Keras load it, in safe mode and without compiling.

Every refusal raises `MalformedResult` or `UnsafeResult`, whose ``reason`` is short enough to
be the rejection reason on-chain.
"""

from __future__ import annotations

import os
import re
import zipfile
import zlib
from types import TracebackType
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np

from decentralml.validation._errors import MalformedResult, MissingExtra, UnsafeResult
from decentralml.validation._keras_archive import KerasLimits, check_keras_archive
from decentralml.validation.aggregate import (
    NUMERIC_KINDS,
    Label,
    Shapes,
    format_shape,
)

if TYPE_CHECKING:
    import keras

__all__ = [
    "KerasLimits",
    "WeightsReader",
    "check_keras_archive",
    "load_engineered_model",
    "load_weights_npz",
]

_ARRAY_NAME = re.compile(r"arr_(0|[1-9][0-9]*)\.npy")
# Errors numpy and zipfile raise on corrupt or truncated data.
_READ_ERRORS = (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error)


class WeightsReader:
    """The layers of a ``weights.npz``, checked up front from their headers, read on demand.

    Opening checks the archive's array names, each array's dtype and shape against
    `expected_shapes`, and each member's size against its header; reading a layer
    (``reader[i]``) checks its values are finite. Use it as a context manager, or call
    `close`. It is a `LayerSource` for the aggregators.

    Parameters
    ----------
    path
        The ``weights.npz`` file.
    expected_shapes
        The task's ``weights_shapes``, one per layer.
    result
        A name for the result in error messages (e.g. the worker's address).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        expected_shapes: Shapes,
        *,
        result: Label | None = None,
    ) -> None:
        self.path = str(path)
        self.result = result
        self.shapes = [tuple(int(d) for d in shape) for shape in expected_shapes]
        self._npz = self._open()
        archive = self._npz.zip
        assert archive is not None, "an NpzFile just opened has its zip"
        self._zip = archive
        try:
            self.dtypes = self._inspect()
        except BaseException:
            self._npz.close()
            raise

    def _refuse(self, reason: str, *, layer: int | None = None, unsafe: bool = False) -> NoReturn:
        cls = UnsafeResult if unsafe else MalformedResult
        raise cls(reason, result=self.result, layer=layer, path=self.path)

    def _open(self) -> np.lib.npyio.NpzFile:
        # np.load reads a plain .npy file whole: make sure this is a zip archive first.
        try:
            with open(self.path, "rb") as file:
                magic = file.read(4)
        except FileNotFoundError:
            self._refuse("weights file missing")
        except OSError as exc:
            self._refuse(f"cannot read weights: {exc.strerror}")
        if magic not in (b"PK\x03\x04", b"PK\x05\x06"):
            self._refuse("weights are not an .npz archive")
        try:
            npz = np.load(self.path, allow_pickle=False)
        except _READ_ERRORS as exc:
            self._refuse(f"unreadable .npz: {exc}")
        if not isinstance(npz, np.lib.npyio.NpzFile):
            self._refuse("weights are not an .npz archive")
        return npz

    def _inspect(self) -> list[np.dtype]:
        """Check names, headers and sizes of every member; return the arrays' dtypes."""
        infos = self._zip.infolist()
        names = [info.filename for info in infos]
        if len(set(names)) != len(names):
            self._refuse("the archive names an array twice")
        bad = [n for n in names if not _ARRAY_NAME.fullmatch(n)]
        if bad:
            self._refuse(f"unexpected member {bad[0][:40]!r}: only arr_0.npy .. are allowed")
        count = len(self.shapes)
        indices = {int(n[4:-4]) for n in names}
        missing = sorted(set(range(count)) - indices)
        extra = sorted(indices - set(range(count)))
        if missing:
            self._refuse(f"{len(missing)} of {count} arrays missing, first arr_{missing[0]}")
        if extra:
            self._refuse(f"{len(extra)} arrays more than the model's {count}, first arr_{extra[0]}")
        by_name = {info.filename: info for info in infos}
        return [self._header(i, by_name[f"arr_{i}.npy"]) for i in range(count)]

    def _header(self, layer: int, info: zipfile.ZipInfo) -> np.dtype:
        """One member's dtype, after checking its header against the task's shape."""
        if info.flag_bits & 0x1:
            self._refuse("encrypted array", layer=layer)
        try:
            with self._zip.open(info) as member:
                version = np.lib.format.read_magic(member)
                if version == (1, 0):
                    shape, _fortran, dtype = np.lib.format.read_array_header_1_0(member)
                elif version == (2, 0):
                    shape, _fortran, dtype = np.lib.format.read_array_header_2_0(member)
                else:
                    self._refuse(f"unsupported .npy version {version}", layer=layer)
                header_bytes = member.tell()
        except _READ_ERRORS as exc:
            self._refuse(f"unreadable array header: {exc}", layer=layer)
        if dtype.hasobject:
            self._refuse(
                "holds Python objects (a pickle): weights must be numbers", layer=layer, unsafe=True
            )
        if dtype.kind not in NUMERIC_KINDS:
            self._refuse(f"dtype {dtype} is not numeric", layer=layer)
        if tuple(shape) != self.shapes[layer]:
            got, want = format_shape(tuple(shape)), format_shape(self.shapes[layer])
            self._refuse(f"shape {got} differs from the task's {want}", layer=layer)
        nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        if info.file_size != header_bytes + nbytes:
            self._refuse(
                f"member holds {info.file_size} bytes, its header declares {header_bytes + nbytes}",
                layer=layer,
            )
        return dtype

    def __len__(self) -> int:
        return len(self.shapes)

    def __getitem__(self, index: int) -> np.ndarray:
        """Layer `index`, read from the archive now, in native byte order; finite values only."""
        if not 0 <= index < len(self.shapes):
            raise IndexError(index)
        try:
            array = self._npz[f"arr_{index}"]
        except _READ_ERRORS as exc:
            self._refuse(f"unreadable array: {exc}", layer=index)
        if not array.dtype.isnative:
            array = array.astype(array.dtype.newbyteorder("="))
        # Shape and dtype were checked from the header, which numpy has just read again.
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            self._refuse("holds NaN or infinite values", layer=index)
        return array

    def close(self) -> None:
        """Close the archive."""
        self._npz.close()

    def __enter__(self) -> WeightsReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def load_weights_npz(
    path: str | os.PathLike[str],
    expected_shapes: Shapes,
    *,
    result: Label | None = None,
) -> list[np.ndarray]:
    """The arrays of a contributor's ``weights.npz``, in ``arr_0 .. arr_{n-1}`` order.

    Parameters
    ----------
    path
        The ``weights.npz`` file.
    expected_shapes
        The task's ``weights_shapes``: exactly these arrays, in this order.
    result
        A name for the result in error messages.

    Returns
    -------
    list[np.ndarray]
        One numeric array per layer, of the expected shapes, all values finite.

    Raises
    ------
    UnsafeResult
        An array holds Python objects: reading it would unpickle.
    MalformedResult
        Not an ``.npz``, arrays missing or extra, a shape, dtype or size that is not the
        task's, NaN or infinite values, or corrupt data.
    """
    with WeightsReader(path, expected_shapes, result=result) as reader:
        return [reader[i] for i in range(len(reader))]


def load_engineered_model(
    path: str | os.PathLike[str],
    *,
    limits: KerasLimits | None = None,
    result: Label | None = None,
) -> keras.Model:
    """A model-engineering result's ``model.keras``, loaded without running any of its code.

    The archive and its ``config.json`` are checked first (`check_keras_archive`), without
    Keras; Keras then loads it with ``safe_mode=True``, no custom objects, uncompiled (the
    optimizer and loss a worker chose play no part in evaluation).

    Raises
    ------
    UnsafeResult
        Lambda or other code-carrying layers, classes outside Keras, custom registered names,
        archive entries that escape, links, or oversized entries.
    MalformedResult
        Not a ``.keras`` archive, an unreadable config, or one Keras cannot load.
    MissingExtra
        Keras (the TensorFlow extra) is not installed.
    """
    where = str(path)
    check_keras_archive(path, limits=limits, result=result)
    try:
        import keras
    except ImportError as exc:
        raise MissingExtra(
            "loading a Keras model needs the TensorFlow extra",
            hint="pip install 'decentralml[tensorflow]'",
        ) from exc
    try:
        model: Any = keras.saving.load_model(
            where, custom_objects=None, compile=False, safe_mode=True
        )
    except (ValueError, TypeError, KeyError, AttributeError, IndexError, OSError) as exc:
        raise MalformedResult(
            f"Keras cannot load it: {type(exc).__name__}: {exc}", result=result, path=where
        ) from exc
    if not isinstance(model, keras.Model):
        raise MalformedResult("not a Keras model", result=result, path=where)
    return model
