"""The data annotator's kit: label the task's samples from its few labelled examples.

Reads ``task.json`` and the samples file it names (``samples.npz``: ``x``, the images to
label; ``examples_x`` and ``examples_y``, a few labelled ones) from the unpacked task
bundle, labels every image of ``x`` by k-nearest neighbours among the examples, and writes::

    OUTPUT/labels.csv     the file task.json names: header index,label, one row per image
    OUTPUT/result.json    how the labels were made, and how many

Needs numpy only. Run it with ``start_task.sh OUTPUT`` or
``python -m data_annotator --task TASK_DIR --output OUTPUT [--k K]``.
Exit codes: 0 labels written, 1 bad task or samples, 2 usage.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import settings

log = logging.getLogger(__name__)

KIND = "DataAnnotation"
RESULT_SCHEMA = "decentralml.result/v1"


def read_task(task_dir: str | Path) -> dict[str, Any]:
    """The task bundle's ``task.json``, checked to be an annotation task this kit can do."""
    path = Path(task_dir) / "task.json"
    try:
        spec: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read the task's {path}: {exc}") from exc
    if spec.get("kind") != KIND:
        raise ValueError(f"{path}: a {spec.get('kind')} task, this kit does {KIND}")
    if spec.get("labels_format") != "csv" or spec.get("labels_columns") != ["index", "label"]:
        raise ValueError(f"{path}: labels as {spec.get('labels_format')}, this kit writes csv")
    return spec


def read_samples(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The images to label, and the labelled examples, from the task's samples file."""
    try:
        with np.load(path, allow_pickle=False) as arrays:
            x, ex, ey = arrays["x"], arrays["examples_x"], arrays["examples_y"]
    except (OSError, ValueError, KeyError) as exc:
        raise ValueError(f"{path}: not a .npz with x, examples_x, examples_y ({exc})") from exc
    if len(ex) != len(ey) or len(ex) == 0 or x.shape[1:] != ex.shape[1:]:
        raise ValueError(f"{path}: examples {ex.shape}/{ey.shape} do not fit images {x.shape}")
    return x, ex, ey.astype("int64")


def knn_labels(x: np.ndarray, examples_x: np.ndarray, examples_y: np.ndarray, k: int) -> np.ndarray:
    """Label each row of ``x`` with the majority label of its ``k`` nearest examples.

    Distances are Euclidean between flattened pixels. Among labels with equal votes, the
    one with the nearest example wins.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    a = x.reshape(len(x), -1).astype("float64")
    b = examples_x.reshape(len(examples_x), -1).astype("float64")
    dist = (a**2).sum(1)[:, None] - 2 * a @ b.T + (b**2).sum(1)[None, :]
    nearest = np.argsort(dist, axis=1, kind="stable")[:, : min(k, len(b))]
    labels = np.empty(len(x), dtype="int64")
    for i, row in enumerate(nearest):
        votes = examples_y[row]
        counts = {int(c): int((votes == c).sum()) for c in votes}
        best = max(counts.values())
        labels[i] = next(int(c) for c in votes if counts[int(c)] == best)
    return labels


def run(task_dir: str | Path, output: str | Path, *, k: int = settings.K) -> dict[str, Any]:
    """Label the task's samples; write the labels file and ``result.json``.

    Returns the ``result.json`` document.
    """
    spec = read_task(task_dir)
    x, examples_x, examples_y = read_samples(Path(task_dir) / spec["samples_file"])
    labels = knn_labels(x, examples_x, examples_y, k)
    name = Path(str(spec.get("labels_file", ""))).name  # a bare file name, never a path
    if not name:
        raise ValueError("task.json names no labels_file")
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    partial = out / (name + ".partial")
    with open(partial, "w", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(["index", "label"])
        writer.writerows((i, int(label)) for i, label in enumerate(labels))
    os.replace(partial, out / name)
    result = {
        "schema": RESULT_SCHEMA,
        "kind": KIND,
        "task": spec.get("name"),
        "sample_count": len(labels),
        "labels_file": name,
        "method": f"{k}-nearest neighbours (Euclidean, on pixels) among the task's "
        f"{len(examples_y)} labelled examples",
    }
    (out / "result.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="data_annotator", description=__doc__.split("\n")[0])
    parser.add_argument("--task", required=True, help="the unpacked task bundle (task.json)")
    parser.add_argument("--output", required=True, help="where to write the result files")
    parser.add_argument("--k", type=int, default=settings.K, help="neighbours that vote")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; exit 0 labels written, 1 bad task or samples, 2 usage."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[data_annotator] %(message)s")
    try:
        result = run(args.task, args.output, k=args.k)
    except (OSError, ValueError) as exc:
        print(f"data_annotator: error: {exc}", file=sys.stderr)
        return 1
    log.info("labelled %d samples -> %s", result["sample_count"], args.output)
    return 0
