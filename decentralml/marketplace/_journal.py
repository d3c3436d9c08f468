"""The local journal of a `send-result`: one file per task and account, written step by step.

A result goes through ``packed`` (its reference computed), ``committing``/``committed`` (sealed
tasks: the salt and commitment, before and after the commit is included), ``published`` (the
bundle on IPFS), ``submitting``/``revealing`` (about to send the result on-chain) and
``included``. Each step is written (atomically, mode 0600: the salt is a secret until the
reveal) before the next begins, so a run killed anywhere is resumed by the next one with the
same reference and salt.
"""

from __future__ import annotations

import json
import os
import signal
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from decentralml.config import data_dir

#: Set to a step's name (or ``<call>-sent``), makes the process kill itself right after it;
#: used by the tests that check a killed run resumes.
KILL_AFTER_ENV = "DECENTRALML_TEST_KILL_AFTER"

STEPS = (
    "packed",
    "committing",
    "committed",
    "published",
    "submitting",
    "revealing",
    "included",
)


def journal_dir() -> Path:
    """Where send-result journals live: ``<user data dir>/journal``."""
    return data_dir() / "journal"


def checkpoint(name: str) -> None:
    """Die here, as a crash would, when the test hook names this point."""
    if os.environ.get(KILL_AFTER_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


@dataclass
class Journal:
    """The journal of one worker's result for one task."""

    path: Path
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def open(cls, task_id: int, worker: str, *, root: Path | None = None) -> Journal:
        """The journal for (`task_id`, `worker`), read from disk when it exists."""
        path = (root or journal_dir()) / f"task-{task_id}-{worker}.json"
        data: dict[str, Any] = {}
        if path.exists():
            data = json.loads(path.read_text())
        data.setdefault("version", 1)
        data.setdefault("task_id", task_id)
        data.setdefault("worker", worker)
        data.setdefault("steps", [])
        return cls(path=path, data=data)

    @property
    def steps(self) -> list[str]:
        return list(self.data["steps"])

    def has(self, step: str) -> bool:
        return step in self.data["steps"]

    def get(self, key: str) -> Any:
        return self.data.get(key)

    def record(self, step: str, **values: Any) -> None:
        """Write `step` with `values` durably, then run the test hook for it."""
        if step not in STEPS:
            raise ValueError(f"unknown journal step {step!r}")
        self.data.update(values)
        if step not in self.data["steps"]:
            self.data["steps"].append(step)
        self._write()
        checkpoint(step)

    def discard(self) -> None:
        """Forget everything (``send-result --restart``)."""
        self.path.unlink(missing_ok=True)
        self.data = {k: self.data[k] for k in ("version", "task_id", "worker")}
        self.data["steps"] = []

    def _write(self) -> None:
        write_private_json(self.path, self.data)


def write_private_json(path: Path, data: Any) -> None:
    """Write `data` to `path` as JSON, atomically and durably, readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, indent=2, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
