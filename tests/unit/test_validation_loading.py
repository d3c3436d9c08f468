"""Loading results as data: weights.npz without unpickling, model.keras of built-in layers."""

from __future__ import annotations

import io
import json
import stat
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from decentralml.validation import (
    MAX_REASON_BYTES,
    KerasLimits,
    MalformedResult,
    MissingExtra,
    ResultRefused,
    UnsafeResult,
    WeightsReader,
    check_keras_archive,
    coordinate_median,
    load_engineered_model,
    load_weights_npz,
)

SHAPES = [[3, 3, 1, 4], [4], [16, 2], [2]]


def _model(seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(np.float32) for s in SHAPES]


def _savez(path: Path, *arrays: Any, **named: Any) -> Path:
    np.savez(path, *arrays, **named)
    return path


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _zip(path: Path, members: list[tuple[str, bytes]]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members:
            archive.writestr(name, data)
    return path


def _refused(cls: type[ResultRefused], path: Path, shapes: Any = SHAPES) -> ResultRefused:
    with pytest.raises(cls) as info:
        load_weights_npz(path, shapes, result="5Bob")
    error = info.value
    assert error.result == "5Bob"
    assert len(error.reason.encode()) <= MAX_REASON_BYTES
    assert str(path) not in error.reason, "local paths never go on-chain"
    assert str(path) in str(error)
    return error


class Payload:
    """Unpickling this creates a file: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return (open, (str(self.marker), "w"))


# --- weights.npz ----------------------------------------------------------------------------


def test_load_weights_npz_returns_the_arrays_in_get_weights_order(tmp_path: Path) -> None:
    """Twelve layers: arr_10 and arr_11 come after arr_9, not after arr_1."""
    shapes = [[i + 1] for i in range(12)]
    weights = [np.full(s, i, dtype=np.float32) for i, s in enumerate(shapes)]
    path = _savez(tmp_path / "weights.npz", *weights)

    loaded = load_weights_npz(path, shapes)

    np.testing.assert_equal(loaded, weights)
    assert [a.dtype for a in loaded] == [np.float32] * 12


def test_a_pickled_object_array_is_refused_without_unpickling(tmp_path: Path) -> None:
    """np.savez pickles object arrays; loading them would run the payload. It must not."""
    # Prepare: a live payload, as numpy with allow_pickle=True would prove.
    marker = tmp_path / "code-ran"
    path = _savez(tmp_path / "weights.npz", *_model()[:3], np.array([Payload(marker)]))
    canary = tmp_path / "canary"
    with np.load(
        _savez(tmp_path / "canary.npz", np.array([Payload(canary)])), allow_pickle=True
    ) as f:
        f["arr_0"]
    assert canary.exists(), "the payload should run when unpickled"

    # Execute
    error = _refused(UnsafeResult, path)

    # Assert
    assert error.layer == 3
    assert "pickle" in error.reason
    assert not marker.exists(), "the payload ran"
    # The lazy reader refuses it at open, before any layer is read.
    with pytest.raises(UnsafeResult):
        WeightsReader(path, SHAPES)
    assert not marker.exists()


def test_a_structured_array_with_an_object_field_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "code-ran"
    record = np.array([(1.0, Payload(marker))], dtype=[("x", "f4"), ("o", "O")])
    path = _savez(tmp_path / "weights.npz", *_model()[:3], record)

    assert _refused(UnsafeResult, path).layer == 3
    assert not marker.exists()


@pytest.mark.parametrize(
    ("arrays", "reason"),
    [
        (_model()[:3], "1 of 4 arrays missing, first arr_3"),
        ([*_model(), np.zeros(1)], "1 arrays more than the model's 4, first arr_4"),
        (
            [*_model()[:3], np.zeros(3, dtype=np.float32)],
            "layer 3: shape (3) differs from the task's (2)",
        ),
        ([*_model()[:3], np.array(["a", "b"])], "layer 3: dtype <U1 is not numeric"),
        (
            [*_model()[:3], np.zeros(2, dtype=np.complex64)],
            "layer 3: dtype complex64 is not numeric",
        ),
    ],
)
def test_wrong_arrays_are_refused_with_a_reason(
    tmp_path: Path, arrays: list[np.ndarray], reason: str
) -> None:
    path = _savez(tmp_path / "weights.npz", *arrays)

    assert _refused(MalformedResult, path).reason == reason


def test_non_finite_values_are_refused_naming_the_layer(tmp_path: Path) -> None:
    weights = _model()
    weights[2][5, 1] = np.nan
    path = _savez(tmp_path / "weights.npz", *weights)

    error = _refused(MalformedResult, path)

    assert error.reason == "layer 2: holds NaN or infinite values"


@pytest.mark.parametrize(
    "members",
    [
        [("arr_0.npy", b"x"), ("weights.py", b"import os")],
        [("x.npy", _npy(np.zeros(1)))],
        [("arr_00.npy", _npy(np.zeros(1)))],
        [("../arr_0.npy", _npy(np.zeros(1)))],
    ],
)
def test_members_other_than_arr_n_are_refused(tmp_path: Path, members: Any) -> None:
    path = _zip(tmp_path / "weights.npz", members)

    assert "unexpected member" in _refused(MalformedResult, path, [[1]]).reason


def test_an_array_named_twice_is_refused(tmp_path: Path) -> None:
    """Two members of one name: which one a reader sees would depend on the reader."""
    with pytest.warns(UserWarning, match="Duplicate name"):
        path = _zip(
            tmp_path / "weights.npz",
            [("arr_0.npy", _npy(np.zeros(1))), ("arr_0.npy", _npy(np.ones(1)))],
        )

    assert "twice" in _refused(MalformedResult, path, [[1]]).reason


def test_a_member_whose_size_disagrees_with_its_header_is_refused(tmp_path: Path) -> None:
    """A header declaring (4,) over the bytes of one float: refused before reading data."""
    data = _npy(np.zeros(4, dtype=np.float64))[: -3 * 8]
    path = _zip(tmp_path / "weights.npz", [("arr_0.npy", data)])

    assert "header declares" in _refused(MalformedResult, path, [[4]]).reason


@pytest.mark.parametrize("content", [b"", b"not an archive at all", _npy(np.zeros(4))])
def test_a_file_that_is_not_an_npz_archive_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "weights.npz"
    path.write_bytes(content)

    assert "not an .npz archive" in _refused(MalformedResult, path, [[4]]).reason


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    assert _refused(MalformedResult, tmp_path / "weights.npz").reason == "weights file missing"


def test_big_endian_arrays_come_back_native(tmp_path: Path) -> None:
    path = _savez(tmp_path / "weights.npz", np.arange(3, dtype=">f4"))

    (loaded,) = load_weights_npz(path, [[3]])

    assert loaded.dtype == np.float32
    assert loaded.dtype.isnative
    np.testing.assert_equal(loaded, [0.0, 1.0, 2.0])


def test_weights_reader_reads_layers_on_demand_for_the_aggregators(tmp_path: Path) -> None:
    paths = [_savez(tmp_path / f"w{i}.npz", *_model(i)) for i in range(3)]
    readers = [WeightsReader(p, SHAPES, result=i) for i, p in enumerate(paths)]
    try:
        median = coordinate_median(readers)
    finally:
        for reader in readers:
            reader.close()

    expected = np.median(np.stack([_model(i)[2] for i in range(3)]), axis=0)
    np.testing.assert_equal(median[2], expected)
    with WeightsReader(paths[0], SHAPES) as reader:
        assert len(reader) == 4
        assert reader.dtypes == [np.dtype(np.float32)] * 4
        with pytest.raises(IndexError):
            reader[4]


# --- model.keras, inspected without Keras ---------------------------------------------------


def _layer(
    class_name: str, name: str, module: str = "keras.layers", **config: Any
) -> dict[str, Any]:
    return {
        "module": module,
        "class_name": class_name,
        "config": {"name": name, "trainable": True, **config},
        "registered_name": None,
        "name": name,
        "inbound_nodes": [],
    }


def _config(*layers: dict[str, Any]) -> dict[str, Any]:
    """A Functional model's config.json, shaped as Keras 3 writes it."""
    return {
        "module": "keras.src.models.functional",
        "class_name": "Functional",
        "config": {
            "name": "functional",
            "trainable": True,
            "layers": [
                _layer("InputLayer", "image", batch_shape=[None, 8, 8, 1], dtype="float32"),
                _layer(
                    "Dense",
                    "dense",
                    units=10,
                    activation="softmax",
                    kernel_initializer={
                        "module": "keras.initializers",
                        "class_name": "GlorotUniform",
                        "config": {"seed": None},
                        "registered_name": None,
                    },
                ),
                *layers,
            ],
        },
        "registered_name": "Functional",
        "compile_config": {
            "optimizer": {
                "module": "keras.optimizers",
                "class_name": "Adam",
                "config": {"learning_rate": 0.001},
                "registered_name": None,
            },
            "loss": "sparse_categorical_crossentropy",
        },
    }


def _keras_file(path: Path, config: Any, extra: list[tuple[str, bytes]] | None = None) -> Path:
    members = [
        ("metadata.json", b'{"keras_version": "3.15.1"}'),
        ("config.json", json.dumps(config).encode()),
        ("model.weights.h5", b"\x89HDF\r\n\x1a\n"),
        *(extra or []),
    ]
    return _zip(path, members)


def _unsafe(path: Path, **kwargs: Any) -> str:
    with pytest.raises(UnsafeResult) as info:
        check_keras_archive(path, result="5Eve", **kwargs)
    assert info.value.result == "5Eve"
    assert len(info.value.reason.encode()) <= MAX_REASON_BYTES
    return info.value.reason


def test_a_built_in_model_config_passes(tmp_path: Path) -> None:
    config = _config()
    path = _keras_file(tmp_path / "model.keras", config)

    assert check_keras_archive(path) == config


@pytest.mark.parametrize(
    ("layer", "expected"),
    [
        (
            _layer("Lambda", "lambda", function={"class_name": "__lambda__", "config": {}}),
            "'Lambda' (in layer 'lambda') would run code",
        ),
        (
            _layer(
                "Lambda",
                "named",
                function={
                    "module": "keras.ops",
                    "class_name": "function",
                    "config": "exp",
                    "registered_name": "exp",
                },
            ),
            "'Lambda' (in layer 'named') would run code",
        ),
        (_layer("TFSMLayer", "saved", filepath="/tmp/x"), "'TFSMLayer'"),
        (_layer("TorchModuleWrapper", "torch", module_bytes="gASV"), "'TorchModuleWrapper'"),
        (
            _layer(
                "Dense",
                "dense_2",
                units=2,
                activation={"class_name": "__lambda__", "config": {"code": "4wEAAAA"}},
            ),
            "'__lambda__' (in layer 'dense_2') would run code",
        ),
        (
            {**_layer("Evil", "evil", module="evil_pkg.layers"), "registered_name": "EvilPkg>Evil"},
            "class 'Evil' from 'evil_pkg.layers' (in layer 'evil') is not Keras's own",
        ),
        (
            {**_layer("Dense", "routed", units=2), "registered_name": "Custom>Dense"},
            "custom registered class 'Custom>Dense' (in layer 'routed')",
        ),
        (
            _layer(
                "Dense",
                "dense_3",
                units=2,
                activation={
                    "module": "subprocess",
                    "class_name": "function",
                    "config": "getoutput",
                    "registered_name": None,
                },
            ),
            "function from 'subprocess' (in layer 'dense_3') is not built into Keras",
        ),
        (
            _layer(
                "Dense",
                "dense_4",
                units=2,
                activation={
                    "module": "keras.activations",
                    "class_name": "function",
                    "config": "relu",
                    "registered_name": "Custom>relu",
                },
            ),
            "custom function 'Custom>relu'",
        ),
        (_layer("load_model", "loader", module="keras.src.saving.saving_api"), "not Keras's own"),
        (_layer("system", "shell", module="os"), "from 'os'"),
        ({"class_name": "Dense", "config": {"name": "nomodule"}}, "'Dense' names no module"),
    ],
)
def test_code_in_the_config_is_refused_without_keras(
    tmp_path: Path, layer: dict[str, Any], expected: str
) -> None:
    path = _keras_file(tmp_path / "model.keras", _config(layer))

    assert expected in _unsafe(path)


def test_code_in_the_compile_config_is_refused_too(tmp_path: Path) -> None:
    config = _config()
    config["compile_config"]["loss"] = {
        "module": "__main__",
        "class_name": "function",
        "config": "loss",
        "registered_name": None,
    }
    path = _keras_file(tmp_path / "model.keras", config)

    assert "from '__main__'" in _unsafe(path)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("../outside.py", "escapes the archive"),
        ("/etc/cron.d/job", "escapes the archive"),
        ("assets/../../x", "escapes the archive"),
        ("C:/evil", "escapes the archive"),
        ("assets\\..\\x", "escapes the archive"),
        ("hook.py", "unexpected archive entry 'hook.py'"),
    ],
)
def test_archive_entries_that_escape_or_are_unknown_are_refused(
    tmp_path: Path, name: str, reason: str
) -> None:
    path = _keras_file(tmp_path / "model.keras", _config(), extra=[(name, b"x")])

    assert reason in _unsafe(path)


def test_a_link_entry_is_refused(tmp_path: Path) -> None:
    path = _keras_file(tmp_path / "model.keras", _config())
    with zipfile.ZipFile(path, "a") as archive:
        info = zipfile.ZipInfo("assets/link")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, "/etc/passwd")

    assert "is a link" in _unsafe(path)


def test_a_second_config_is_refused(tmp_path: Path) -> None:
    """Keras might read one config.json and this check the other."""
    with pytest.warns(UserWarning, match="Duplicate name"):
        path = _keras_file(
            tmp_path / "model.keras",
            _config(),
            extra=[("config.json", json.dumps(_config(_layer("Lambda", "l"))).encode())],
        )

    assert "appears twice" in _unsafe(path)


def test_oversized_archives_are_refused(tmp_path: Path) -> None:
    zeros = [("assets/zeros", bytes(200_000))]
    with zipfile.ZipFile(tmp_path / "bomb.keras", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", json.dumps(_config()))
        archive.writestr(*zeros[0])

    assert "decompression bomb" in _unsafe(
        tmp_path / "bomb.keras", limits=KerasLimits(ratio_floor_bytes=10_000)
    )
    big = _keras_file(tmp_path / "big.keras", _config(), extra=zeros)
    assert "expands to" in _unsafe(big, limits=KerasLimits(max_total_bytes=100_000))
    assert "config.json of" in _unsafe(big, limits=KerasLimits(max_config_bytes=100))
    many = _keras_file(tmp_path / "many.keras", _config(), [(f"assets/{i}", b"") for i in range(9)])
    assert "archive entries" in _unsafe(many, limits=KerasLimits(max_entries=10))


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("model.h5", None, "not a .keras file"),
        ("model.keras", b"PK\x05\x06 but not really", "not a readable .keras archive"),
        ("model.keras", b"", "not a readable .keras archive"),
    ],
)
def test_files_that_are_not_keras_archives_are_refused(
    tmp_path: Path, name: str, content: bytes | None, reason: str
) -> None:
    path = tmp_path / name
    if content is None:
        _keras_file(path, _config())
    else:
        path.write_bytes(content)

    with pytest.raises(MalformedResult) as info:
        check_keras_archive(path)
    assert reason in info.value.reason


def test_a_config_that_is_not_json_or_missing_is_refused(tmp_path: Path) -> None:
    bad = _zip(tmp_path / "bad.keras", [("config.json", b"{not json")])
    none = _zip(tmp_path / "none.keras", [("metadata.json", b"{}")])
    deep = _zip(tmp_path / "deep.keras", [("config.json", b"[" * 100_000 + b"]" * 100_000)])

    for path, reason in ((bad, "not JSON"), (none, "no config.json"), (deep, "not JSON")):
        with pytest.raises(MalformedResult, match=reason):
            check_keras_archive(path)


def test_load_engineered_model_refuses_before_importing_keras(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With keras made unimportable, a refusal proves the check ran before any import."""
    monkeypatch.setitem(sys.modules, "keras", None)
    lambda_model = _keras_file(tmp_path / "model.keras", _config(_layer("Lambda", "l")))
    clean = _keras_file(tmp_path / "clean.keras", _config())

    with pytest.raises(UnsafeResult, match="Lambda"):
        load_engineered_model(lambda_model)
    with pytest.raises(MissingExtra) as info:
        load_engineered_model(clean)
    assert info.value.hint is not None and "tensorflow" in info.value.hint


# --- model.keras, loaded by Keras -----------------------------------------------------------


@pytest.mark.tensorflow
def test_a_keras_model_of_built_in_layers_loads(tmp_path: Path) -> None:
    """A model Keras itself saved, compiled, passes the check and loads uncompiled."""
    keras = pytest.importorskip("keras")
    inputs = keras.Input(shape=(8, 8, 1), name="image")
    h = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    h = keras.layers.Dropout(0.1)(keras.layers.Flatten()(h))
    outputs = keras.layers.Dense(10, activation="softmax")(h)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.save(tmp_path / "model.keras")
    x = np.random.default_rng(0).random((3, 8, 8, 1), dtype=np.float32)

    loaded = load_engineered_model(tmp_path / "model.keras")

    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert getattr(loaded, "optimizer", None) is None, "loaded uncompiled"


@pytest.mark.tensorflow
def test_keras_saved_lambda_and_custom_layers_are_refused(tmp_path: Path) -> None:
    """Models Keras saves willingly, each refused before Keras reads them back."""
    keras = pytest.importorskip("keras")
    marker = tmp_path / "code-ran"

    layer_base: Any = keras.layers.Layer

    @keras.saving.register_keras_serializable(package="Contributor")
    class Scale(layer_base):
        def call(self, x: Any) -> Any:
            marker.touch()
            return x * 2

    def model(layer: Any) -> Any:
        inputs = keras.Input(shape=(4,))
        return keras.Model(inputs, keras.layers.Dense(2)(layer(inputs)))

    model(keras.layers.Lambda(lambda x: x + 1)).save(tmp_path / "lambda.keras")
    model(Scale()).save(tmp_path / "custom.keras")
    marker.unlink(missing_ok=True)

    for name, reason in (("lambda", "'Lambda'"), ("custom", "class 'Scale' from 'tests.")):
        with pytest.raises(UnsafeResult) as info:
            load_engineered_model(tmp_path / f"{name}.keras")
        assert reason in info.value.reason
    assert not marker.exists()
