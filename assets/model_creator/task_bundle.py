"""What a task bundle holds for each kind: the contributor-side kit, ``task.json``, samples.

A task bundle directory looks like this (``model.keras`` for model tasks only,
``samples.npz`` for annotation only)::

    task.json
    model.keras
    samples.npz
    model_contributor/      # or model_engineer/, data_annotator/: the kit, run from here
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from . import digits, settings

SCHEMA = "decentralml.task/v1"
KITS = {
    "ModelContribution": "model_contributor",
    "ModelEngineering": "model_engineer",
    "DataAnnotation": "data_annotator",
}
KINDS = tuple(KITS)
KITS_DIR = Path(__file__).resolve().parent.parent
# Only a kit's own files travel: not its .venv, caches or outputs left from a run by hand.
KIT_SUFFIXES = {".py", ".sh", ".txt", ".md"}

DESCRIPTIONS = {
    "ModelContribution": "Train the task's model on your own 8x8 digit images and send back "
    "its weights.",
    "ModelEngineering": "Improve the task's model: send a new architecture, trained, made of "
    "built-in Keras layers only.",
    "DataAnnotation": "Label the sample digit images, helped by the labelled examples.",
}


class AnnotationSet(NamedTuple):
    """The annotation task's data; ``gold`` (the samples' true labels) stays home."""

    examples_x: np.ndarray
    examples_y: np.ndarray
    samples_x: np.ndarray
    gold: np.ndarray


def annotation_set() -> AnnotationSet:
    """A few labelled examples per class and the samples to label, from the creator's rows."""
    x, y = digits.load(settings.DATA_FILE)
    rows = np.random.default_rng(settings.SEED).permutation(digits.regions(len(y)).creator)
    per_class = settings.ANNOTATION_EXAMPLES_PER_CLASS
    examples = np.concatenate([rows[y[rows] == c][:per_class] for c in range(digits.CLASSES)])
    if len(examples) < per_class * digits.CLASSES:
        raise ValueError(f"the creator's rows lack {per_class} examples of every class")
    samples = rows[~np.isin(rows, examples)][: settings.ANNOTATION_SAMPLES]
    if len(samples) < settings.ANNOTATION_SAMPLES:
        raise ValueError(f"the creator's rows leave {len(samples)} samples to label")
    return AnnotationSet(x[examples], y[examples], x[samples], y[samples])


def task_spec(kind: str, *, weights_shapes: list[list[int]] | None = None) -> dict[str, Any]:
    """The ``task.json`` document for ``kind``."""
    kit = KITS[kind]
    spec: dict[str, Any] = {
        "schema": SCHEMA,
        "kind": kind,
        "name": settings.TASK_NAME,
        "description": DESCRIPTIONS[kind],
        "kit": kit,
        "setup": f"{kit}/setup.sh",
        "start": f"{kit}/start_task.sh",
        "input_shape": list(digits.INPUT_SHAPE),
        "input_range": [0.0, 1.0],
        "output_classes": digits.CLASSES,
    }
    if kind == "ModelContribution":
        spec |= {
            "model_file": "model.keras",
            "weights_format": "npz",
            "weights_order": "get_weights",
            "weights_arrays": "arr_0 .. arr_{n-1}, as numpy.savez names positional arrays",
            "weights_shapes": weights_shapes,
            "expected_result_files": ["weights.npz", "result.json"],
        }
    elif kind == "ModelEngineering":
        spec |= {
            "model_file": "model.keras",
            "weights_format": "keras",
            "model_rules": "keras.saving.load_model(path, safe_mode=True) with no custom "
            "objects: built-in layers only; softmax outputs over output_classes",
            "expected_result_files": ["model.keras", "result.json"],
        }
    else:
        spec |= {
            "samples_file": "samples.npz",
            "samples_arrays": {
                "x": "the images to label",
                "examples_x": "labelled examples",
                "examples_y": "their labels",
            },
            "labels_file": "labels.csv",
            "labels_format": "csv",
            "labels_columns": ["index", "label"],
            "labels_rules": "one row per image of x, index = its row in x, label in "
            "[0, output_classes)",
            "expected_result_files": ["labels.csv", "result.json"],
        }
    return spec


def dumps(spec: dict[str, Any]) -> str:
    """``spec`` as indented JSON, with lists of plain values (shapes, names) on one line."""
    text = json.dumps(spec, indent=2)
    flat = re.compile(r"\[\n\s*([^\[\]{}]*?)\n\s*\]")
    return flat.sub(lambda m: "[" + re.sub(r",\n\s*", ", ", m.group(1)) + "]", text) + "\n"


def copy_kit(kind: str, dest: Path) -> Path:
    """Copy the kit for ``kind`` into ``dest/<kit>``, its own files only."""
    source, target = KITS_DIR / KITS[kind], dest / KITS[kind]
    target.mkdir(parents=True)
    for path in sorted(source.iterdir()):
        if path.is_file() and path.suffix in KIT_SUFFIXES:
            shutil.copy(path, target / path.name)
    return target


def write_samples(dest: Path) -> Path:
    """The annotation task's ``samples.npz``: images to label and labelled examples."""
    data = annotation_set()
    path = dest / "samples.npz"
    np.savez(path, x=data.samples_x, examples_x=data.examples_x, examples_y=data.examples_y)
    return path
