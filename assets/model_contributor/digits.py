"""The example data and how it is split: scikit-learn's 8x8 digits, or a user's own ``.npz``.

This file is kept identical in every kit that trains (``model_creator``, ``model_contributor``,
``model_engineer``; a test checks it), because each kit travels alone and all of them must
agree on which rows of the digits stay with the creator.

The 1,797 digits are ordered once by a fixed permutation (``SPLIT_SEED``) and cut into three
regions: the creator's **holdout** (never used for training, never in a task bundle), the
creator's own **training** rows (the initial model, the annotation task's samples), and the
contributors' **pool**. A contributor's shard is one of ``shards`` near-equal parts of the pool
after shuffling it with the contributor's ``seed``: shards of one ``(shards, seed)`` never
overlap, and the same arguments always give the same rows.

A user's own file holds two arrays, ``x`` (images, ``(n, 8, 8)`` or ``(n, 8, 8, 1)``, values in
[0, 1]) and ``y`` (integer labels in [0, 10)). A contributor's file is all theirs: its shards
are taken from every row. A creator's file is cut into the three regions like the digits.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

INPUT_SHAPE = (8, 8, 1)
CLASSES = 10
SPLIT_SEED = 0
HOLDOUT_FRACTION = 0.2
CREATOR_FRACTION = 0.15


class Regions(NamedTuple):
    """Row indices of the three regions of a dataset."""

    holdout: np.ndarray
    creator: np.ndarray
    pool: np.ndarray


def load(data_file: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Images as float32 ``(n, 8, 8, 1)`` in [0, 1] and labels as int64 ``(n,)``.

    Parameters
    ----------
    data_file
        A ``.npz`` with arrays ``x`` and ``y``; ``None`` loads scikit-learn's digits, which
        ship inside the scikit-learn package (nothing is downloaded).
    """
    if data_file is None:
        from sklearn.datasets import load_digits

        digits = load_digits()
        return (digits.images / 16.0).astype("float32")[..., None], digits.target.astype("int64")
    return _load_file(Path(data_file))


def _load_file(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as arrays:
            x, y = arrays["x"], arrays["y"]
    except (OSError, ValueError, KeyError) as exc:
        raise ValueError(f"{path}: not a .npz with arrays 'x' and 'y' ({exc})") from exc
    if x.ndim not in (3, 4) or x.shape[1:3] != INPUT_SHAPE[:2] or x.size != len(x) * 64:
        raise ValueError(f"{path}: x has shape {x.shape}, expected (n, 8, 8) or (n, 8, 8, 1)")
    if y.shape != (len(x),) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(
            f"{path}: y must hold one integer label per image, got {y.dtype} {y.shape}"
        )
    if len(y) and (y.min() < 0 or y.max() >= CLASSES):
        raise ValueError(f"{path}: labels must lie in [0, {CLASSES})")
    return x.reshape((len(x), *INPUT_SHAPE)).astype("float32"), y.astype("int64")


def regions(n: int) -> Regions:
    """Cut ``n`` rows into the creator's holdout, the creator's training rows and the pool."""
    order = np.random.default_rng(SPLIT_SEED).permutation(n)
    n_holdout = round(n * HOLDOUT_FRACTION)
    n_creator = round(n * CREATOR_FRACTION)
    return Regions(
        holdout=order[:n_holdout],
        creator=order[n_holdout : n_holdout + n_creator],
        pool=order[n_holdout + n_creator :],
    )


def shard(rows: np.ndarray, index: int, shards: int, seed: int) -> np.ndarray:
    """Shard ``index`` of ``shards`` of ``rows``, after shuffling them with ``seed``."""
    if shards < 1 or not 0 <= index < shards:
        raise ValueError(f"shard {index} of {shards}: need shards >= 1 and 0 <= shard < shards")
    if shards > len(rows):
        raise ValueError(f"{shards} shards of {len(rows)} rows would leave some empty")
    shuffled = np.random.default_rng(seed).permutation(rows)
    return np.sort(np.array_split(shuffled, shards)[index])


def contributor_data(
    index: int, shards: int, seed: int, data_file: str | Path | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """A contributor's shard: of the digits' pool, or of every row of the user's own file."""
    x, y = load(data_file)
    rows = regions(len(y)).pool if data_file is None else np.arange(len(y))
    chosen = shard(rows, index, shards, seed)
    return x[chosen], y[chosen]
