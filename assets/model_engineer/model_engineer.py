"""The model engineer's kit: a changed architecture for the task, trained, saved safely.

Reads ``task.json`` (input shape, classes) and the task's current ``model.keras`` from the
unpacked task bundle, builds a new model of built-in Keras layers only, trains it on this
engineer's data and compares it with the current model on a part of that data kept aside::

    OUTPUT/model.keras    the new model with its weights; loads with
                          keras.saving.load_model(path, safe_mode=True), no custom objects
    OUTPUT/result.json    sample count, the new model's and the current model's metrics

Run it with ``start_task.sh OUTPUT`` or
``python -m model_engineer --task TASK_DIR --output OUTPUT [--shard K --shards N --seed S]
[--data FILE.npz]``. Exit codes: 0 result written, 1 bad task or data, 2 usage.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import digits, settings

log = logging.getLogger(__name__)

KIND = "ModelEngineering"
RESULT_SCHEMA = "decentralml.result/v1"


def read_task(task_dir: str | Path) -> dict[str, Any]:
    """The task bundle's ``task.json``, checked to be a model engineering task."""
    path = Path(task_dir) / "task.json"
    try:
        spec: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read the task's {path}: {exc}") from exc
    if spec.get("kind") != KIND:
        raise ValueError(f"{path}: a {spec.get('kind')} task, this kit does {KIND}")
    if list(spec.get("input_shape", [])) != list(digits.INPUT_SHAPE):
        raise ValueError(f"{path}: input shape {spec.get('input_shape')} is not this kit's")
    return spec


def build_model(input_shape: Sequence[int], classes: int) -> Any:
    """The engineered architecture: built-in layers only, softmax over ``classes``."""
    import keras

    layers = keras.layers
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    h = inputs
    for filters in settings.CONV_FILTERS:
        h = layers.Conv2D(filters, 3, padding="same", activation="relu")(h)
    h = layers.MaxPooling2D()(h)
    h = layers.Dropout(settings.DROPOUT)(h)
    h = layers.Flatten()(h)
    h = layers.Dense(settings.DENSE_UNITS, activation="relu")(h)
    outputs = layers.Dense(classes, activation="softmax", name="probabilities")(h)
    model = keras.Model(inputs, outputs, name="digits_cnn_engineered")
    model.compile(
        optimizer=keras.optimizers.Adam(settings.LEARNING_RATE),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def run(
    task_dir: str | Path,
    output: str | Path,
    *,
    shard: int = settings.SHARD,
    shards: int = settings.SHARDS,
    seed: int = settings.SEED,
    data: str | Path | None = settings.DATA_FILE,
    epochs: int = settings.EPOCHS,
) -> dict[str, Any]:
    """Build, train and save the new model; compare it with the task's current one.

    Returns the ``result.json`` document.
    """
    spec = read_task(task_dir)
    x, y = digits.contributor_data(shard, shards, seed, data)
    order = np.random.default_rng(seed).permutation(len(y))
    n_val = max(1, int(len(y) * settings.VALIDATION_FRACTION))
    val, train = order[:n_val], order[n_val:]
    import keras  # only now: bad input is refused without loading TensorFlow

    keras.utils.set_random_seed(seed)
    current = keras.saving.load_model(Path(task_dir) / spec["model_file"], safe_mode=True)
    model = build_model(spec["input_shape"], spec["output_classes"])
    model.fit(x[train], y[train], epochs=epochs, batch_size=settings.BATCH_SIZE, verbose=0)
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    partial = out / "model.partial.keras"
    model.save(partial)
    keras.saving.load_model(partial, safe_mode=True)  # what a validator will do
    os.replace(partial, out / "model.keras")
    result = {
        "schema": RESULT_SCHEMA,
        "kind": KIND,
        "task": spec.get("name"),
        "sample_count": len(train),
        "metrics": _metrics(model, x[val], y[val]),
        "current_model_metrics": _metrics(current, x[val], y[val]),
        "validation_samples": len(val),
        "epochs": epochs,
        "parameters": int(model.count_params()),
        "data": {
            "source": "sklearn-digits-pool" if data is None else "own-file",
            "shard": shard,
            "shards": shards,
            "seed": seed,
        },
    }
    (out / "result.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def _metrics(model: Any, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Accuracy and cross-entropy of ``model`` on ``(x, y)``, from its predictions."""
    probs = np.asarray(model.predict(x, batch_size=256, verbose=0), dtype="float64")
    picked = np.clip(probs[np.arange(len(y)), y], 1e-7, 1.0)
    return {
        "loss": float(-np.mean(np.log(picked))),
        "accuracy": float(np.mean(probs.argmax(axis=1) == y)),
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="model_engineer", description=__doc__.split("\n")[0])
    parser.add_argument("--task", required=True, help="the unpacked task bundle (task.json)")
    parser.add_argument("--output", required=True, help="where to write the result files")
    parser.add_argument("--shard", type=int, default=settings.SHARD)
    parser.add_argument("--shards", type=int, default=settings.SHARDS)
    parser.add_argument("--seed", type=int, default=settings.SEED)
    parser.add_argument("--data", default=settings.DATA_FILE, help="a .npz (x, y) of your own")
    parser.add_argument("--epochs", type=int, default=settings.EPOCHS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; exit 0 result written, 1 bad task or data, 2 usage."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[model_engineer] %(message)s")
    try:
        result = run(
            args.task,
            args.output,
            shard=args.shard,
            shards=args.shards,
            seed=args.seed,
            data=args.data,
            epochs=args.epochs,
        )
    except (OSError, ValueError) as exc:
        print(f"model_engineer: error: {exc}", file=sys.stderr)
        return 1
    log.info(
        "new model %s, current model %s (on %d held-aside samples) -> %s",
        result["metrics"],
        result["current_model_metrics"],
        result["validation_samples"],
        args.output,
    )
    return 0
