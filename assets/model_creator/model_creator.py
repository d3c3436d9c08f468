"""The creator's workspace: build, train and save the initial model; keep the holdout; evaluate.

This kit stays on the creator's machine (a validator the creator names receives a copy
off-chain); only the task bundles it writes travel. Run it with ``start_task.sh OUT`` or::

    python -m model_creator run --output OUT            # train, then one task bundle per kind
    python -m model_creator train --output OUT          # OUT/model.keras, OUT/holdout.npz
    python -m model_creator bundle KIND DEST --model OUT/model.keras
    python -m model_creator evaluate RESULT_DIR         # a result, scored on the holdout

The validation work imports ``build_model``, ``load_holdout``, ``evaluate``, ``read_weights``
and ``read_labels`` from here.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import digits, settings
from .task_bundle import KINDS, annotation_set, copy_kit, dumps, task_spec, write_samples

if TYPE_CHECKING:
    import keras

log = logging.getLogger(__name__)

MODEL_FILE = "model.keras"
HOLDOUT_FILE = "holdout.npz"


def _keras() -> Any:
    import keras

    return keras


def build_model() -> keras.Model:
    """The task's architecture, compiled: a small CNN for 8x8 images, 10-way softmax.

    Contributions are weights for exactly this model, in its ``get_weights()`` order.
    """
    keras = _keras()
    layers = keras.layers
    inputs = keras.Input(shape=digits.INPUT_SHAPE, name="image")
    h = layers.Conv2D(16, 3, padding="same", activation="relu")(inputs)
    h = layers.MaxPooling2D()(h)
    h = layers.Flatten()(h)
    h = layers.Dense(32, activation="relu")(h)
    outputs = layers.Dense(digits.CLASSES, activation="softmax", name="probabilities")(h)
    model = keras.Model(inputs, outputs, name="digits_cnn")
    model.compile(
        optimizer=keras.optimizers.Adam(settings.LEARNING_RATE),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def load_holdout() -> tuple[np.ndarray, np.ndarray]:
    """The creator's holdout images and labels: never trained on, never in a bundle."""
    x, y = digits.load(settings.DATA_FILE)
    rows = digits.regions(len(y)).holdout
    return x[rows], y[rows]


def load_gold() -> np.ndarray:
    """The true labels of the annotation task's samples (kept home, like the holdout)."""
    return annotation_set().gold


def evaluate(model: keras.Model, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Accuracy, mean cross-entropy loss and sample count of ``model`` on ``(x, y)``.

    Computed from the model's predictions, so any model with softmax outputs over the task's
    classes is scored the same way, whatever it was compiled with (or if it was not).
    """
    if len(y) == 0:
        raise ValueError("nothing to evaluate on: no samples")
    probs = np.asarray(model.predict(x, batch_size=256, verbose=0), dtype="float64")
    if probs.shape != (len(y), digits.CLASSES):
        raise ValueError(f"model outputs {probs.shape}, expected ({len(y)}, {digits.CLASSES})")
    picked = np.clip(probs[np.arange(len(y)), y], 1e-7, 1.0)
    return {
        "accuracy": float(np.mean(probs.argmax(axis=1) == y)),
        "loss": float(-np.mean(np.log(picked))),
        "samples": len(y),
    }


def read_weights(path: str | Path) -> list[np.ndarray]:
    """Weights from a ``weights.npz`` (arrays ``arr_0`` .. ``arr_{n-1}``), never unpickling."""
    with np.load(path, allow_pickle=False) as arrays:
        names = [f"arr_{i}" for i in range(len(arrays.files))]
        if sorted(arrays.files) != sorted(names):
            raise ValueError(f"{path}: arrays must be named arr_0 .. arr_{len(names) - 1}")
        return [arrays[name] for name in names]


def read_labels(path: str | Path, count: int) -> np.ndarray:
    """Labels from a ``labels.csv`` (header ``index,label``, one row per sample)."""
    labels = np.full(count, -1, dtype="int64")
    with open(path, newline="") as file:
        reader = csv.DictReader(file)
        if reader.fieldnames != ["index", "label"]:
            raise ValueError(f"{path}: header must be 'index,label', got {reader.fieldnames}")
        for row in reader:
            try:
                index, label = int(row["index"]), int(row["label"])
            except (TypeError, ValueError):
                raise ValueError(f"{path}: line {reader.line_num} is not index,label") from None
            if not 0 <= index < count or labels[index] != -1:
                raise ValueError(f"{path}: index {index} out of range or repeated")
            if not 0 <= label < digits.CLASSES:
                raise ValueError(f"{path}: label {label} for index {index} out of range")
            labels[index] = label
    if (labels == -1).any():
        raise ValueError(f"{path}: {int((labels == -1).sum())} of {count} samples have no label")
    return labels


def train(output: str | Path, *, epochs: int = settings.EPOCHS, seed: int = settings.SEED) -> Path:
    """Train the initial model briefly on the creator's own rows; save it and the holdout.

    Writes ``OUTPUT/model.keras`` and ``OUTPUT/holdout.npz`` (which stays home) and returns
    the model's path.
    """
    keras = _keras()
    keras.utils.set_random_seed(seed)
    x, y = digits.load(settings.DATA_FILE)
    parts = digits.regions(len(y))
    model = build_model()
    model.fit(
        x[parts.creator],
        y[parts.creator],
        epochs=epochs,
        batch_size=settings.BATCH_SIZE,
        verbose=0,
    )
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / MODEL_FILE)
    np.savez(out / HOLDOUT_FILE, x=x[parts.holdout], y=y[parts.holdout])
    log.info("initial model: %s on the holdout", evaluate(model, *load_holdout()))
    return out / MODEL_FILE


def write_task_bundle(kind: str, dest: str | Path, *, model: str | Path | None = None) -> Path:
    """Write the task bundle directory for ``kind`` into ``dest`` (missing or empty).

    It holds the kit for the kind and ``task.json``; for model tasks, a copy of the current
    model ``model`` (required for them; for a contribution task it must have
    ``build_model()``'s weight shapes); for annotation, ``samples.npz``. Returns ``dest``.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown task kind {kind!r}: one of {', '.join(KINDS)}")
    out = Path(dest)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty")
    if kind == "DataAnnotation":
        current, shapes = None, None
    elif model is None:
        raise ValueError(f"a {kind} task needs the current model (model.keras)")
    else:
        current = Path(model)
        shapes = _contribution_shapes(current) if kind == "ModelContribution" else None
    out.mkdir(parents=True, exist_ok=True)
    copy_kit(kind, out)
    if current is None:
        write_samples(out)
    else:
        shutil.copyfile(current, out / MODEL_FILE)
    spec = task_spec(kind, weights_shapes=shapes)
    (out / "task.json").write_text(dumps(spec))
    return out


def _contribution_shapes(model: Path) -> list[list[int]]:
    """The weight shapes of ``model``, which must be those of ``build_model()``."""
    shapes = [
        list(w.shape) for w in _keras().saving.load_model(model, safe_mode=True).get_weights()
    ]
    if shapes != [list(w.shape) for w in build_model().get_weights()]:
        raise ValueError(f"{model}: its weight shapes differ from build_model()'s")
    return shapes


def evaluate_result(result_dir: str | Path) -> dict[str, Any]:
    """Score a result bundle on the creator's data: weights, a new model, or labels.

    Weights load into ``build_model()`` and a model with Keras safe mode, so nothing in the
    result runs; labels are compared with the annotation samples' true labels.
    """
    result = Path(result_dir)
    if (result / "weights.npz").is_file():
        model = build_model()
        model.set_weights(read_weights(result / "weights.npz"))
        return {"kind": "ModelContribution", **evaluate(model, *load_holdout())}
    if (result / MODEL_FILE).is_file():
        model = _keras().saving.load_model(result / MODEL_FILE, safe_mode=True)
        return {"kind": "ModelEngineering", **evaluate(model, *load_holdout())}
    if (result / "labels.csv").is_file():
        gold = annotation_set().gold
        labels = read_labels(result / "labels.csv", len(gold))
        return {
            "kind": "DataAnnotation",
            "accuracy": float(np.mean(labels == gold)),
            "samples": len(gold),
        }
    raise FileNotFoundError(f"{result}: no weights.npz, model.keras or labels.csv")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="model_creator", description=__doc__.split("\n")[0])
    data = argparse.ArgumentParser(add_help=False)
    data.add_argument("--data", help="a .npz (arrays x, y) of your own instead of the digits")
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("run", "train"):
        sub = commands.add_parser(name, parents=[data])
        sub.add_argument("--output", required=True, help="the creator's output directory")
        sub.add_argument("--epochs", type=int, default=settings.EPOCHS)
        sub.add_argument("--seed", type=int, default=settings.SEED)
    commands.choices["run"].add_argument(
        "--kind", action="append", choices=KINDS, help="bundle only this kind (repeatable)"
    )
    bundle = commands.add_parser("bundle", parents=[data])
    bundle.add_argument("kind", choices=KINDS)
    bundle.add_argument("dest", help="the task bundle directory to write (missing or empty)")
    bundle.add_argument("--model", help="the current model.keras (model tasks)")
    commands.add_parser("evaluate", parents=[data]).add_argument("result_dir")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; exit 0 done, 1 bad input, 2 usage."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[model_creator] %(message)s")
    if args.data:
        settings.DATA_FILE = args.data
    try:
        if args.command in ("run", "train"):
            model = train(args.output, epochs=args.epochs, seed=args.seed)
            for kind in (args.kind or KINDS) if args.command == "run" else ():
                dest = write_task_bundle(kind, Path(args.output) / "bundles" / kind, model=model)
                log.info("%s task bundle: %s", kind, dest)
        elif args.command == "bundle":
            log.info("task bundle: %s", write_task_bundle(args.kind, args.dest, model=args.model))
        else:
            print(json.dumps(evaluate_result(args.result_dir)))
    except (OSError, ValueError) as exc:
        print(f"model_creator: error: {exc}", file=sys.stderr)
        return 1
    return 0
