"""Each kit end to end, in process: the creator's bundles, then the work each kind asks for."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from tests.assets.conftest import CreatorRun

pytestmark = pytest.mark.tensorflow

KIT_FILES = {
    "__init__.py",
    "__main__.py",
    "settings.py",
    "requirements.txt",
    "setup.sh",
    "start_task.sh",
    "README.md",
}


def _task(bundle: Path) -> dict:  # type: ignore[type-arg]
    return json.loads((bundle / "task.json").read_text())


@pytest.mark.parametrize("kind", ["ModelContribution", "ModelEngineering", "DataAnnotation"])
def test_the_creator_writes_a_task_bundle_per_kind(creator_run: CreatorRun, kind: str) -> None:
    """The kit for the kind, task.json, and the model or the samples: nothing of the holdout."""
    # Prepare
    bundle = creator_run.bundles[kind]
    task = _task(bundle)
    kit = bundle / task["kit"]

    # Assert
    assert task["kind"] == kind and task["schema"] == "decentralml.task/v1"
    assert task["input_shape"] == [8, 8, 1] and task["output_classes"] == 10
    assert (bundle / task["start"]).is_file() and (bundle / task["setup"]).is_file()
    assert {p.name for p in kit.iterdir()} >= KIT_FILES
    assert (kit / f"{task['kit']}.py").is_file()
    assert not list(bundle.rglob("__pycache__")) and not list(bundle.rglob("holdout*"))
    top = {p.name for p in bundle.iterdir()}
    if kind == "DataAnnotation":
        assert top == {"task.json", "samples.npz", "data_annotator"}
        assert task["labels_file"] == "labels.csv" and task["labels_format"] == "csv"
        assert task["labels_columns"] == ["index", "label"]
        assert task["expected_result_files"] == ["labels.csv", "result.json"]
    else:
        assert top == {"task.json", "model.keras", task["kit"]}
        assert task["model_file"] == "model.keras"
    if kind == "ModelContribution":
        assert task["weights_format"] == "npz" and task["weights_order"] == "get_weights"
        assert task["expected_result_files"] == ["weights.npz", "result.json"]
    if kind == "ModelEngineering":
        assert task["weights_format"] == "keras"
        assert task["expected_result_files"] == ["model.keras", "result.json"]


def test_the_contribution_task_declares_build_models_weight_shapes(
    creator: ModuleType, creator_run: CreatorRun
) -> None:
    """weights_shapes is build_model().get_weights() in order: what a validator loads into."""
    shapes = [list(w.shape) for w in creator.build_model().get_weights()]
    assert _task(creator_run.bundles["ModelContribution"])["weights_shapes"] == shapes


def test_a_bundle_is_not_written_over_anything(creator: ModuleType, tmp_path: Path) -> None:
    """A destination with files, an unknown kind, or a model task without a model: refused."""
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(FileExistsError):
        creator.write_task_bundle("DataAnnotation", tmp_path / "full")
    with pytest.raises(ValueError, match="unknown task kind"):
        creator.write_task_bundle("Contribution", tmp_path / "a")
    with pytest.raises(ValueError, match="needs the current model"):
        creator.write_task_bundle("ModelContribution", tmp_path / "b")


def test_the_holdout_stays_out_of_the_annotation_samples(creator: ModuleType) -> None:
    """The annotation samples and examples come from the creator's own rows."""
    from model_creator import digits

    x, _ = digits.load()
    parts = digits.regions(len(x))
    data = creator.annotation_set()
    flat = {row.tobytes() for row in x[parts.holdout]} - {row.tobytes() for row in x[parts.creator]}
    for images in (data.samples_x, data.examples_x):
        assert not flat & {row.tobytes() for row in images}
    assert len(data.samples_x) == 100 and np.bincount(data.examples_y).tolist() == [5] * 10


def test_the_contributor_trains_weights_that_load_into_build_model(
    creator: ModuleType, creator_run: CreatorRun, tmp_path: Path
) -> None:
    """Shard 1 of 3: weights.npz loads without pickles, fits build_model(), beats the start."""
    # Prepare
    import model_contributor

    holdout = creator.load_holdout()
    untrained = creator.evaluate(creator.build_model(), *holdout)
    initial = creator.evaluate(_load_safe(creator_run.model), *holdout)

    # Execute
    result = model_contributor.run(
        creator_run.bundles["ModelContribution"], tmp_path, shard=1, shards=3, seed=7
    )

    # Assert
    model = creator.build_model()
    with np.load(tmp_path / "weights.npz", allow_pickle=False) as arrays:
        weights = [arrays[f"arr_{i}"] for i in range(len(arrays.files))]
    assert [w.shape for w in weights] == [w.shape for w in model.get_weights()]
    assert all(w.dtype == np.float32 for w in weights)
    model.set_weights(weights)
    trained = creator.evaluate(model, *holdout)
    assert trained["accuracy"] > max(untrained["accuracy"] + 0.3, initial["accuracy"])
    assert trained["loss"] < initial["loss"]
    from model_contributor import digits

    assert result["sample_count"] == len(digits.contributor_data(1, 3, 7)[1]) == 389
    assert json.loads((tmp_path / "result.json").read_text()) == result
    assert set(result["metrics"]) == {"loss", "accuracy"}


def test_the_engineers_model_loads_in_safe_mode(
    creator: ModuleType, creator_run: CreatorRun, tmp_path: Path
) -> None:
    """model.keras loads with safe_mode=True and no custom objects, and is another model."""
    # Prepare
    import model_engineer

    # Execute
    result = model_engineer.run(creator_run.bundles["ModelEngineering"], tmp_path, shards=2)

    # Assert
    model = _load_safe(tmp_path / "model.keras")
    assert model.count_params() == result["parameters"] != creator.build_model().count_params()
    assert creator.evaluate(model, *creator.load_holdout())["accuracy"] > 0.8
    assert result["sample_count"] + result["validation_samples"] == 584
    assert json.loads((tmp_path / "result.json").read_text()) == result


def test_the_annotators_labels_beat_chance(
    creator: ModuleType, creator_run: CreatorRun, tmp_path: Path
) -> None:
    """Labels for every sample, by k-nearest neighbours on the examples: far above 1 in 10."""
    # Prepare
    import data_annotator

    # Execute
    result = data_annotator.run(creator_run.bundles["DataAnnotation"], tmp_path)

    # Assert
    gold = creator.annotation_set().gold
    labels = creator.read_labels(tmp_path / "labels.csv", len(gold))
    assert np.mean(labels == gold) > 0.7
    assert result["sample_count"] == len(gold)
    assert creator.evaluate_result(tmp_path)["accuracy"] == np.mean(labels == gold)


def test_a_kit_refuses_a_task_of_another_kind(creator_run: CreatorRun, tmp_path: Path) -> None:
    """Pointed at another kind's bundle, each kit exits 1 and writes nothing."""
    import data_annotator
    import model_contributor
    import model_engineer

    bundles = creator_run.bundles
    for kit, other in [
        (model_contributor, bundles["ModelEngineering"]),
        (model_engineer, bundles["DataAnnotation"]),
        (data_annotator, bundles["ModelContribution"]),
    ]:
        out = tmp_path / kit.__name__
        assert kit.main(["--task", str(other), "--output", str(out)]) == 1
        assert not out.exists()


def _load_safe(path: Path):  # type: ignore[no-untyped-def]
    import keras

    return keras.saving.load_model(path, safe_mode=True)


def test_malformed_results_are_refused(creator: ModuleType, tmp_path: Path) -> None:
    """Pickled or misnamed weights, and labels files with holes or junk: ValueError."""
    np.savez(tmp_path / "pickled.npz", np.array([object()], dtype=object))
    np.savez(tmp_path / "named.npz", kernel=np.zeros(3))
    (tmp_path / "junk.csv").write_text("index,label\n0,1\nx,2\n")
    (tmp_path / "short.csv").write_text("index,label\n0,1\n")
    (tmp_path / "twice.csv").write_text("index,label\n0,1\n0,2\n")
    with pytest.raises(ValueError, match="allow_pickle"):
        creator.read_weights(tmp_path / "pickled.npz")
    with pytest.raises(ValueError, match="arr_0"):
        creator.read_weights(tmp_path / "named.npz")
    with pytest.raises(ValueError, match="line 3"):
        creator.read_labels(tmp_path / "junk.csv", 2)
    with pytest.raises(ValueError, match="1 of 2 samples have no label"):
        creator.read_labels(tmp_path / "short.csv", 2)
    with pytest.raises(ValueError, match="repeated"):
        creator.read_labels(tmp_path / "twice.csv", 2)
