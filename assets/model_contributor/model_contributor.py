"""The model contributor's kit: train the task's model on your own shard, send its weights.

Reads ``task.json`` and ``model.keras`` from the unpacked task bundle, trains the model on
this contributor's data, and writes the result bundle's files::

    OUTPUT/weights.npz    the trained weights in get_weights() order (arr_0 .. arr_{n-1}),
                          plain numeric arrays, loadable with allow_pickle=False
    OUTPUT/result.json    declared sample count and training metrics

Run it with ``start_task.sh OUTPUT`` or
``python -m model_contributor --task TASK_DIR --output OUTPUT [--shard K --shards N --seed S]
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

KIND = "ModelContribution"
RESULT_SCHEMA = "decentralml.result/v1"


def read_task(task_dir: str | Path) -> dict[str, Any]:
    """The task bundle's ``task.json``, checked to be a model contribution task."""
    path = Path(task_dir) / "task.json"
    try:
        spec: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read the task's {path}: {exc}") from exc
    if spec.get("kind") != KIND or spec.get("weights_format") != "npz":
        raise ValueError(f"{path}: a {spec.get('kind')} task, this kit does {KIND} (npz)")
    if list(spec.get("input_shape", [])) != list(digits.INPUT_SHAPE):
        raise ValueError(f"{path}: input shape {spec.get('input_shape')} is not this kit's")
    return spec


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
    """Train the task's model on shard ``shard`` of ``shards``; write the result files.

    Returns the ``result.json`` document.
    """
    spec = read_task(task_dir)
    x, y = digits.contributor_data(shard, shards, seed, data)
    if y.max() >= spec["output_classes"]:
        raise ValueError(f"labels go up to {y.max()}, the task has {spec['output_classes']}")
    import keras  # only now: bad input is refused without loading TensorFlow

    model = _load_model(Path(task_dir) / spec["model_file"], spec["weights_shapes"])
    keras.utils.set_random_seed(seed)
    model.compile(
        optimizer=keras.optimizers.Adam(settings.LEARNING_RATE),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(x, y, epochs=epochs, batch_size=settings.BATCH_SIZE, verbose=0)
    metrics = model.evaluate(x, y, batch_size=256, verbose=0, return_dict=True)
    result = {
        "schema": RESULT_SCHEMA,
        "kind": KIND,
        "task": spec.get("name"),
        "sample_count": len(y),
        "metrics": {"loss": float(metrics["loss"]), "accuracy": float(metrics["accuracy"])},
        "epochs": epochs,
        "data": _data_note(shard, shards, seed, data),
    }
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    write_weights(out / "weights.npz", model.get_weights())
    _write_json(out / "result.json", result)
    return result


def _load_model(path: Path, shapes: list[list[int]]) -> Any:
    """The task's current model, loaded without running code; its shapes must match."""
    import keras

    try:
        model = keras.saving.load_model(path, safe_mode=True)
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot load the task's model {path}: {exc}") from exc
    if [list(w.shape) for w in model.get_weights()] != shapes:
        raise ValueError(f"{path}: weight shapes differ from the task's weights_shapes")
    return model


def write_weights(path: Path, weights: Sequence[np.ndarray]) -> None:
    """Save ``weights`` as ``arr_0`` .. ``arr_{n-1}`` of a ``.npz``, numeric arrays only."""
    arrays = [np.asarray(w) for w in weights]
    if any(a.dtype.kind not in "fiub" for a in arrays):
        raise ValueError("weights must be numeric arrays")
    partial = path.with_name(path.name + ".partial")
    with open(partial, "wb") as file:
        np.savez(file, *arrays)
    os.replace(partial, path)


def _write_json(path: Path, document: dict[str, Any]) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(document, indent=2) + "\n")
    os.replace(partial, path)


def _data_note(shard: int, shards: int, seed: int, data: str | Path | None) -> dict[str, Any]:
    """What was trained on, for the record: never the path of a user's own file."""
    source = "sklearn-digits-pool" if data is None else "own-file"
    return {"source": source, "shard": shard, "shards": shards, "seed": seed}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="model_contributor", description=__doc__.split("\n")[0])
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
    logging.basicConfig(level=logging.INFO, format="[model_contributor] %(message)s")
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
        print(f"model_contributor: error: {exc}", file=sys.stderr)
        return 1
    log.info(
        "trained on %d samples: %s -> %s", result["sample_count"], result["metrics"], args.output
    )
    return 0
