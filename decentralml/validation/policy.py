"""Policies: who is paid. A policy looks at one candidate result and accepts or rejects it.

`Candidate` is what a policy sees: the worker, the result's holdout metrics beside the
current model's (`baseline`), its weights (contribution tasks), what the worker declared in
``result.json`` (untrusted: a policy should not pay for a claim), and what the run found
(a near-copy of another worker's result, an unchanged model, a refusal by the safe loader).

A custom policy is a function ``(candidate) -> Verdict`` named as ``module:function`` or
``path/to/file.py:function``; it returns ``accept()`` or ``reject("reason")`` (``True`` and
``False`` also do). An exception in it is reported against that result and leaves the result
undecided; the run goes on. Examples: ``assets/validators/``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from decentralml.validation._errors import MAX_REASON_BYTES, ValidationError, short_reason
from decentralml.validation._imports import import_path


class PolicyError(ValidationError):
    """A custom policy cannot be loaded, or returned something that is not a verdict."""


@dataclass(frozen=True)
class Verdict:
    """A policy's decision on one result: accept, or reject with a reason (sent on-chain)."""

    accept: bool
    reason: str | None = None

    def __post_init__(self) -> None:
        if not self.accept and not (self.reason or "").strip():
            raise PolicyError("a rejection needs a reason")
        if self.reason is not None and len(self.reason.encode()) > MAX_REASON_BYTES:
            object.__setattr__(self, "reason", short_reason(self.reason))


def accept() -> Verdict:
    """Pay this result."""
    return Verdict(True)


def reject(reason: str) -> Verdict:
    """Do not pay this result; `reason` is recorded on-chain and shown to the worker."""
    return Verdict(False, reason)


@dataclass(frozen=True)
class Candidate:
    """One result awaiting a decision, as a policy sees it.

    `metrics` and `baseline` are the workspace's ``evaluate`` on the holdout (at least
    ``accuracy`` and ``loss``), None where the result could not be evaluated (`refused` says
    why). `weights` are the contribution's arrays in ``get_weights()`` order (None for other
    kinds). `declared` is the worker's own ``result.json``: untrusted. `copies` names the
    earlier worker whose result this one nearly repeats; `unchanged` says it is the task's
    model itself.
    """

    task_id: int
    worker: str
    kind: str
    metrics: dict[str, float] | None
    baseline: dict[str, float] | None
    weights: list[Any] | None = None
    declared: dict[str, Any] = field(default_factory=dict)
    copies: str | None = None
    unchanged: bool = False
    refused: str | None = None

    @property
    def accuracy_change(self) -> float | None:
        """The result's holdout accuracy minus the current model's."""
        if self.metrics is None or self.baseline is None:
            return None
        return self.metrics["accuracy"] - self.baseline["accuracy"]


Policy = Callable[[Candidate], Any]


def builtin_verdict(candidate: Candidate) -> Verdict | None:
    """What every built-in policy decides before asking anyone: results that are unsafe,
    malformed, copies or unchanged are rejected with that reason; None otherwise."""
    if candidate.refused is not None:
        return reject(candidate.refused)
    if candidate.copies is not None:
        return reject(f"a near-copy of {candidate.copies}'s earlier result")
    if candidate.unchanged:
        return reject("the task's model, unchanged")
    return None


def as_verdict(value: Any) -> Verdict:
    """A policy function's return value as a `Verdict`."""
    if isinstance(value, Verdict):
        return value
    if value is True:
        return accept()
    if value is False:
        return reject("rejected by the validator's policy")
    raise PolicyError(
        f"the policy returned {value!r}; it must return accept() or reject(reason)",
        hint="from decentralml.validation import accept, reject",
    )


def load_policy(spec: str) -> Policy:
    """The function named by ``module:function`` or ``file.py:function``."""
    target, sep, name = spec.rpartition(":")
    if not sep or not target or not name.isidentifier():
        raise PolicyError(
            f"cannot read the policy {spec!r}",
            hint="name it as module:function or path/to/file.py:function",
        )
    module: Any
    if target.endswith(".py"):
        path = Path(target).expanduser().resolve()
        if not path.is_file():
            raise PolicyError(f"the policy file {path} does not exist")
        try:
            module = import_path("decentralml_policy_", path)
        except Exception as exc:
            raise PolicyError(f"loading the policy file {path} failed: {exc}") from exc
    else:
        try:
            module = importlib.import_module(target)
        except Exception as exc:
            raise PolicyError(f"cannot import the policy module {target}: {exc}") from exc
    function = getattr(module, name, None)
    if not callable(function):
        raise PolicyError(f"{target} has no function {name}")
    return function
