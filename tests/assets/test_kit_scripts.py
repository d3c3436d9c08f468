"""The kits as a contributor runs them: setup.sh, then start_task.sh, in their own processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from tests.assets.conftest import ASSETS, CreatorRun

pytestmark = pytest.mark.tensorflow


def _env(**extra: str) -> dict[str, str]:
    """This test environment's Python first on PATH, as in an activated virtual environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DECENTRALML_")}
    env.pop("PYTHON", None)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env | extra


def _run(script: Path, *args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(script), *args],
        cwd=cwd,
        env=_env(**env),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stderr[-3000:]}"
    return result


@pytest.mark.slow
def test_every_kit_runs_through_its_scripts(creator: ModuleType, tmp_path: Path) -> None:
    """Creator, then each bundle's kit from the bundle: outputs exist and validate."""
    # Prepare: the creator's workspace from the repository, its bundles written to `work`.
    setup = _ok(_run(ASSETS / "model_creator" / "setup.sh", cwd=tmp_path))
    assert "nothing to install" in setup.stderr
    assert not (ASSETS / "model_creator" / ".venv").exists()
    _ok(_run(ASSETS / "model_creator" / "start_task.sh", "work", cwd=tmp_path))
    bundles = tmp_path / "work" / "bundles"
    assert (tmp_path / "work" / "model.keras").is_file()
    from model_creator import digits

    pool = digits.regions(1797).pool[:300]
    x, y = digits.load()
    np.savez(tmp_path / "mine.npz", x=x[pool, ..., 0], y=y[pool])

    # Execute: each kit as it arrived in its bundle; output by argument or by variable.
    for kit, bundle in [
        ("model_contributor", "ModelContribution"),
        ("model_engineer", "ModelEngineering"),
        ("data_annotator", "DataAnnotation"),
    ]:
        _ok(_run(bundles / bundle / kit / "setup.sh", cwd=tmp_path))
    start = {kind: bundles / kind / _task(bundles / kind)["start"] for kind in creator.KINDS}
    _ok(
        _run(
            start["ModelContribution"],
            "out/c",
            "--shard",
            "2",
            "--shards",
            "3",
            "--seed",
            "4",
            cwd=tmp_path,
        )
    )
    _ok(_run(start["ModelEngineering"], "out/e", "--data", "mine.npz", cwd=tmp_path))
    _ok(_run(start["DataAnnotation"], cwd=tmp_path, DECENTRALML_OUTPUT_DIR="out/a"))

    # Assert
    out = tmp_path / "out"
    model = creator.build_model()
    untrained = creator.evaluate(model, *creator.load_holdout())["accuracy"]
    model.set_weights(creator.read_weights(out / "c" / "weights.npz"))
    assert creator.evaluate(model, *creator.load_holdout())["accuracy"] > untrained + 0.3
    assert _result(out / "c")["sample_count"] == len(digits.contributor_data(2, 3, 4)[1])
    assert creator.evaluate_result(out / "e")["accuracy"] > 0.8  # loaded in safe mode
    assert _result(out / "e")["data"]["source"] == "own-file"
    assert _result(out / "e")["sample_count"] == 240
    assert creator.evaluate_result(out / "a")["accuracy"] > 0.5
    for kind, sub in [
        ("ModelContribution", "c"),
        ("ModelEngineering", "e"),
        ("DataAnnotation", "a"),
    ]:
        expected = _task(bundles / kind)["expected_result_files"]
        assert sorted(p.name for p in (out / sub).iterdir()) == sorted(expected)


def test_start_task_exit_codes(creator_run: CreatorRun, tmp_path: Path) -> None:
    """2 without an output directory; 1 for a task of another kind, with nothing written."""
    # Execute
    usage = _run(ASSETS / "data_annotator" / "start_task.sh", cwd=tmp_path)
    wrong = _run(
        ASSETS / "data_annotator" / "start_task.sh",
        "out",
        cwd=tmp_path,
        DECENTRALML_TASK_DIR=str(creator_run.bundles["ModelContribution"]),
    )
    no_task = _run(ASSETS / "model_contributor" / "start_task.sh", "out", cwd=tmp_path)

    # Assert
    assert usage.returncode == 2 and "usage:" in usage.stderr
    assert wrong.returncode == 1 and "a ModelContribution task" in wrong.stderr
    assert no_task.returncode == 1 and "task.json" in no_task.stderr
    assert not (tmp_path / "out").exists()


def _task(bundle: Path) -> dict[str, object]:
    document: dict[str, object] = json.loads((bundle / "task.json").read_text())
    return document


def _result(out: Path) -> dict[str, object]:
    document: dict[str, object] = json.loads((out / "result.json").read_text())
    return document
