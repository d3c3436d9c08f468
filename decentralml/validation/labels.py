"""Annotation results: a labels file read as data, and agreement between annotators.

An annotation result is ``labels.csv`` with the header ``index,label`` and one row per sample
of the task's ``samples.npz``. It is validated against the true labels of the samples when
the creator keeps them (the workspace's ``load_gold()``), else by agreement with the majority
of the other annotators.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from decentralml.validation._errors import MalformedResult

#: Largest labels file read (a row is a few bytes; 16 MiB is millions of samples).
MAX_LABELS_BYTES = 16 * 1024 * 1024


def read_labels(
    path: str | Path, count: int, classes: int, *, result: str | None = None
) -> np.ndarray:
    """The labels of `count` samples from a ``labels.csv``; every sample once, each label in
    ``[0, classes)``."""
    file = Path(path)

    def refuse(reason: str) -> MalformedResult:
        return MalformedResult(reason, result=result, path=str(file))

    if not file.is_file() or file.is_symlink():
        raise refuse("no labels.csv in the result")
    if file.stat().st_size > MAX_LABELS_BYTES:
        raise refuse(f"labels.csv is over {MAX_LABELS_BYTES} bytes")
    labels = np.full(count, -1, dtype=np.int64)
    try:
        with file.open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            if next(reader, None) != ["index", "label"]:
                raise refuse("labels.csv must start with the header index,label")
            for line, row in enumerate(reader, start=2):
                if len(row) != 2 or not all(cell.strip().isdigit() for cell in row):
                    raise refuse(f"labels.csv line {line} is not index,label")
                index, label = int(row[0]), int(row[1])
                if not 0 <= index < count or labels[index] != -1:
                    raise refuse(f"labels.csv line {line}: index {index} out of range or repeated")
                if not 0 <= label < classes:
                    raise refuse(f"labels.csv line {line}: label {label} out of range")
                labels[index] = label
    except (UnicodeDecodeError, csv.Error) as exc:
        raise refuse(f"labels.csv is not UTF-8 CSV: {exc}") from exc
    missing = int((labels == -1).sum())
    if missing:
        raise refuse(f"labels.csv leaves {missing} of {count} samples unlabelled")
    return labels


def majority(labels: Sequence[np.ndarray], classes: int) -> np.ndarray:
    """Each sample's most frequent label among `labels` (ties: the smallest label)."""
    if not labels:
        raise ValueError("no labels to vote with")
    stacked = np.stack(labels)
    votes = np.zeros((classes, stacked.shape[1]), dtype=np.int64)
    for row in stacked:
        votes[row, np.arange(stacked.shape[1])] += 1
    return np.asarray(votes.argmax(axis=0), dtype=np.int64)


def agreement(labels: np.ndarray, reference: np.ndarray) -> float:
    """The share of samples on which `labels` agree with `reference`."""
    return float(np.mean(labels == reference))
