"""How the example data is split: the creator's holdout, and the contributors' shards."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from tests.assets.conftest import ASSETS

pytestmark = pytest.mark.tensorflow

KITS_WITH_DATA = ("model_creator", "model_contributor", "model_engineer")


@pytest.fixture(scope="module")
def digits() -> ModuleType:
    from model_contributor import digits

    return digits


def test_every_kit_splits_the_data_the_same_way() -> None:
    """Each kit travels alone with its own copy of digits.py: the copies are identical."""
    # Prepare / Execute
    copies = {kit: (ASSETS / kit / "digits.py").read_bytes() for kit in KITS_WITH_DATA}

    # Assert
    assert len(set(copies.values())) == 1, "assets/*/digits.py differ: copy one over the others"


def test_regions_cut_every_row_once(digits: ModuleType) -> None:
    """Holdout, creator's rows and pool are disjoint and cover the digits."""
    # Prepare
    x, y = digits.load()

    # Execute
    parts = digits.regions(len(y))

    # Assert
    assert x.shape == (1797, 8, 8, 1) and x.dtype == np.float32 and 0 <= x.min() <= x.max() <= 1
    every = np.concatenate(parts)
    np.testing.assert_equal(np.sort(every), np.arange(len(y)))
    assert len(parts.holdout) == 359 and len(parts.creator) == 270 and len(parts.pool) == 1168


def test_shards_are_disjoint_cover_the_pool_and_never_touch_the_holdout(digits: ModuleType) -> None:
    """Shards 0..N-1 of one (shards, seed) partition the pool; none holds a holdout row."""
    # Prepare
    parts = digits.regions(1797)

    # Execute
    shards = [digits.shard(parts.pool, k, 4, seed=11) for k in range(4)]

    # Assert
    for i, a in enumerate(shards):
        assert not np.isin(a, parts.holdout).any() and not np.isin(a, parts.creator).any()
        for b in shards[i + 1 :]:
            assert not np.isin(a, b).any()
    np.testing.assert_equal(np.sort(np.concatenate(shards)), np.sort(parts.pool))
    assert {len(s) for s in shards} == {292}


def test_the_same_seed_gives_the_same_shard(digits: ModuleType) -> None:
    """A shard is a function of (shard, shards, seed); another seed gives other rows."""
    # Execute
    x1, y1 = digits.contributor_data(1, 3, 5)
    x2, y2 = digits.contributor_data(1, 3, 5)
    _, y3 = digits.contributor_data(1, 3, 6)
    rows = digits.shard(digits.regions(1797).pool, 1, 3, 5)

    # Assert
    np.testing.assert_equal(x1, x2)
    np.testing.assert_equal(y1, y2)
    assert len(y1) == len(rows) == 389  # 1,168 pool rows: 390, 389, 389
    assert not np.array_equal(rows, digits.shard(digits.regions(1797).pool, 1, 3, 6))
    assert len(y3) == 389


@pytest.mark.parametrize(("index", "shards"), [(3, 3), (-1, 3), (0, 0), (0, 5000)])
def test_impossible_shards_are_refused(digits: ModuleType, index: int, shards: int) -> None:
    """A shard number out of range, or more shards than rows, is a clear ValueError."""
    with pytest.raises(ValueError, match="shard"):
        digits.contributor_data(index, shards, 0)


def test_a_users_own_file_is_split_over_all_its_rows(digits: ModuleType, tmp_path: Path) -> None:
    """--data FILE.npz: every row of the file is the contributor's; (n, 8, 8) is accepted."""
    # Prepare
    rng = np.random.default_rng(0)
    x = rng.random((30, 8, 8)).astype("float32")
    y = np.arange(30) % 10
    np.savez(tmp_path / "mine.npz", x=x, y=y)

    # Execute
    parts = [digits.contributor_data(k, 3, 2, tmp_path / "mine.npz") for k in range(3)]

    # Assert
    assert all(px.shape == (10, 8, 8, 1) for px, _ in parts)
    np.testing.assert_equal(np.sort(np.concatenate([py for _, py in parts])), np.sort(y))
    np.testing.assert_allclose(
        np.sort(np.concatenate([px for px, _ in parts]).ravel()), np.sort(x.ravel())
    )


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"x": np.zeros((4, 8, 8)), "z": np.zeros(4, dtype=int)}, "arrays 'x' and 'y'"),
        ({"x": np.zeros((4, 7, 7)), "y": np.zeros(4, dtype=int)}, "x has shape"),
        ({"x": np.zeros((4, 8, 8)), "y": np.zeros(4)}, "integer label"),
        ({"x": np.zeros((4, 8, 8)), "y": np.full(4, 10)}, r"labels must lie in \[0, 10\)"),
        ({"x": np.array([None] * 4, dtype=object), "y": np.zeros(4, dtype=int)}, "'x' and 'y'"),
    ],
)
def test_a_malformed_file_is_refused_with_the_reason(
    digits: ModuleType, tmp_path: Path, arrays: dict[str, np.ndarray], message: str
) -> None:
    """Wrong names, shapes, label types or ranges, or pickled arrays: ValueError, no training."""
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match=message):
        digits.load(tmp_path / "bad.npz")
