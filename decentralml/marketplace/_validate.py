"""`validate-results`: evaluate a task's results, decide who is paid, federate the good ones.

One run, for the task's creator or its named validator:

1. pull the task bundle and every result awaiting review (and, on an auto-accept task, those
   already paid), each verified against the digest on-chain and unpacked safely;
2. load each as data (`decentralml.validation.loading`), refuse what is malformed or unsafe,
   check that the bundle names the worker that sent it, and evaluate it on the creator's
   holdout (the workspace's ``evaluate``) beside the task's current model;
3. find near-copies (the earlier submission keeps the credit) and unchanged models;
4. decide payment with the policy: auto-accept results are already paid; manual takes
   ``accept``/``reject`` lists or asks; custom calls the user's function. Decisions are
   journaled locally, then sent in ``Utility.batch_all`` batches; before each batch the
   chain is read again and results it shows decided leave the batch, so a rerun after a
   crash pays nobody twice and loses no decision. A batch the chain refuses is not retried
   whole: its decisions are sent one by one, once, and a refusal is reported against its
   result;
5. federate, whatever was paid, the results that pass the quality floor (no worse than the
   current model by more than `min_improvement` of holdout accuracy) and are neither copies
   nor unsafe: contributions are aggregated, engineering results ranked (the best wins),
   annotations voted; the new model is evaluated, saved with a report (JSON, PNG plot),
   pushed, and recorded on-chain with ``publish_model``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from decentralml.config import data_dir
from decentralml.errors import DecentralMLError, MarketplaceError
from decentralml.marketplace._journal import checkpoint, write_private_json
from decentralml.marketplace._models import (
    AssignmentState,
    ContentRef,
    Policy,
    Receipt,
    Task,
    TaskKind,
    TaskResult,
    stored_ref,
)
from decentralml.marketplace._send import WORKER_FILE, WORKER_SCHEMA
from decentralml.validation import (
    ResultRefused,
    WeightsReader,
    check_floor,
    coordinate_median,
    fedavg,
    find_copies,
    krum,
    load_engineered_model,
    load_weights_npz,
    trimmed_mean,
)
from decentralml.validation._errors import short_reason
from decentralml.validation.labels import agreement, majority, read_labels
from decentralml.validation.policy import (
    Candidate,
    PolicyError,
    Verdict,
    as_verdict,
    builtin_verdict,
    load_policy,
    reject,
)
from decentralml.validation.workspace import Workspace, WorkspaceError

log = logging.getLogger(__name__)

Aggregator = Literal["fedavg", "median", "trimmed-mean", "krum"]
Weighting = Literal["uniform", "declared"]
AGGREGATORS: tuple[str, ...] = ("fedavg", "median", "trimmed-mean", "krum")
#: Default cut of the trimmed mean: a fifth of the results at each end.
TRIM_BETA = 0.2
#: The least agreement an annotation must reach to count in the vote.
MIN_AGREEMENT = 0.5
#: Largest result or task bundle pulled, in bytes.
MAX_BUNDLE = 512 * 1024 * 1024

#: Asked for a ManualAccept decision the flags did not give: (candidate) -> verdict or None.
Ask = Callable[[Candidate], Verdict | None]
#: Shown the decisions about to be sent, (worker, verdict) pairs; raises to stop before any is.
Confirm = Callable[[list[tuple[str, Verdict]]], None]


class ResultReview(BaseModel):
    """What the run found and decided about one result."""

    model_config = ConfigDict(frozen=True)

    worker: str
    state: str  # on-chain when the run read it: submitted, paid, rejected
    result: ContentRef | None
    metrics: dict[str, float] | None = None
    accuracy_change: float | None = None
    declared_samples: int | None = None
    copies: str | None = None
    unchanged: bool = False
    refused: str | None = None
    decision: Literal["accept", "reject", "none"] = "none"
    reason: str | None = None
    policy_error: str | None = None
    sent: bool = False
    send_error: str | None = None
    federated: bool = False


class ValidationReport(BaseModel):
    """One `validate-results` run."""

    model_config = ConfigDict(frozen=True)

    task_id: int
    kind: TaskKind
    policy: Policy
    aggregator: str
    weighting: str
    min_improvement: float
    baseline: dict[str, float] | None
    federated: dict[str, float] | None
    results: list[ResultReview]
    model: ContentRef | None
    published: bool
    receipts: list[Receipt]
    report_dir: str
    report_json: str
    plot: str | None
    notes: list[str]


@dataclass
class _Entry:
    """A result as the run works on it."""

    slot: TaskResult
    directory: Path | None = None
    metrics: dict[str, float] | None = None
    declared: dict[str, Any] = field(default_factory=dict)
    refused: str | None = None
    copies: str | None = None
    unchanged: bool = False
    labels: np.ndarray | None = None
    verdict: Verdict | None = None
    policy_error: str | None = None
    sent: bool = False
    send_error: str | None = None
    federated: bool = False

    @property
    def worker(self) -> str:
        return self.slot.worker

    @property
    def usable(self) -> bool:
        return self.refused is None and self.copies is None and not self.unchanged


def decisions_path(task_id: int, validator: str) -> Path:
    """The journal of a validator's decisions on a task."""
    return data_dir() / "validation" / f"task-{task_id}-{validator}.json"


class DecisionJournal:
    """Decisions made, written before they are sent (atomically, 0600)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data: dict[str, dict[str, Any]] = {}
        if path.exists():
            self.data = json.loads(path.read_text()).get("decisions", {})

    def get(self, worker: str) -> Verdict | None:
        entry = self.data.get(worker)
        return None if entry is None else Verdict(bool(entry["accept"]), entry.get("reason"))

    def record(self, decisions: Iterable[tuple[str, Verdict]]) -> None:
        for worker, verdict in decisions:
            self.data[worker] = {"accept": verdict.accept, "reason": verdict.reason}
        write_private_json(self.path, {"version": 1, "decisions": self.data})


class ValidationRun:
    """One run of `validate-results` for `market`'s signer (see the module's docstring)."""

    def __init__(
        self,
        market: Any,
        task_id: int,
        *,
        workspace: str | os.PathLike[str],
        policy: Policy | str | None = None,
        policy_fn: str | None = None,
        aggregator: Aggregator | str = "fedavg",
        weighting: Weighting | str = "uniform",
        cap: int | None = None,
        batch_size: int = 10,
        accepts: Sequence[str] = (),
        rejects: dict[str, str] | None = None,
        min_improvement: float = 0.01,
        out: str | os.PathLike[str] | None = None,
        ask: Ask | None = None,
        confirm: Confirm | None = None,
        publish: bool = True,
        journal_root: Path | None = None,
    ) -> None:
        if aggregator not in AGGREGATORS:
            raise MarketplaceError(f"unknown aggregator {aggregator!r}; one of {AGGREGATORS}")
        if weighting not in ("uniform", "declared"):
            raise MarketplaceError(f"unknown weighting {weighting!r}; uniform or declared")
        if batch_size < 1:
            raise MarketplaceError(f"the batch size must be at least 1, got {batch_size}")
        if not 0 <= min_improvement <= 1:
            raise MarketplaceError(
                f"--min-improvement is a share of accuracy from 0 to 1, got {min_improvement}"
            )
        self.market = market
        self.task_id = task_id
        self.workspace_path = Path(workspace)
        self.policy = Policy(policy) if policy is not None else None
        self.policy_fn = policy_fn
        self.aggregator = str(aggregator)
        self.weighting = str(weighting)
        self.cap = cap
        self.batch_size = batch_size
        self.accepts = set(accepts)
        self.rejects = dict(rejects or {})
        self.min_improvement = min_improvement
        self.out = Path(out) if out is not None else None
        self.ask = ask
        self.confirm = confirm
        self.publish = publish
        self.journal_root = journal_root
        self.receipts: list[Receipt] = []
        self.notes: list[str] = []
        self.task: Task | None = None

    # -- the run ------------------------------------------------------------------------------

    def run(self) -> ValidationReport:
        market = self.market
        task: Task = market.get_task(self.task_id)
        self.task = task
        validator = market.address
        if validator not in (task.creator, task.validator):
            raise MarketplaceError(
                f"not your task: only the creator or the validator of task {self.task_id} "
                "may validate its results",
                task_id=self.task_id,
            )
        policy = self.policy or task.policy
        if policy is Policy.AUTO and task.policy is not Policy.AUTO:
            raise MarketplaceError(
                f"task {self.task_id} is {task.policy.value}-accept: auto-accept happens "
                "on-chain, at submission; decide with --policy manual or custom",
                task_id=self.task_id,
            )
        if task.policy is Policy.AUTO:
            policy = Policy.AUTO
        custom = None
        if policy is Policy.CUSTOM:
            if self.policy_fn is None:
                raise MarketplaceError(
                    "a custom policy needs --policy-fn module:function or file.py:function",
                    task_id=self.task_id,
                )
            custom = load_policy(self.policy_fn)
        slots = self._slots()
        unknown = (self.accepts | set(self.rejects)) - {r.worker for r in slots}
        if unknown:
            raise MarketplaceError(
                f"no result from {', '.join(sorted(unknown))} on task {self.task_id}",
                task_id=self.task_id,
            )
        workspace = Workspace.load(self.workspace_path)
        out = self.out or data_dir() / "validation" / f"task-{self.task_id}"
        out.mkdir(parents=True, exist_ok=True)
        entries = [_Entry(slot) for slot in slots]
        with tempfile.TemporaryDirectory(prefix="decentralml-validate-") as tmp:
            work = Path(tmp)
            task_dir = work / "task"
            market.pull_task_bundle(task.task_id, task_dir)
            spec = _read_json(task_dir / "task.json")
            (work / "results").mkdir()
            for index, entry in enumerate(entries):
                self._pull_result(entry, work / "results" / str(index))
            evaluator = _Evaluator(task, spec, task_dir, workspace)
            baseline = evaluator.evaluate(entries)
            journal = DecisionJournal(
                (self.journal_root / f"task-{self.task_id}-{validator}.json")
                if self.journal_root
                else decisions_path(self.task_id, validator)
            )
            made = self._decide(entries, policy, custom, baseline, evaluator, journal)
            to_send = [(e.worker, e.verdict) for e in entries if e.verdict is not None]
            if to_send and self.confirm is not None:
                self.confirm(to_send)  # declined: nothing journaled, nothing sent
            if made:
                journal.record(made)
            self._send(entries, journal)
            federated, model_dir = evaluator.federate(
                entries,
                baseline,
                aggregator=self.aggregator,
                weighting=self.weighting,
                cap=self.cap,
                floor=self.min_improvement,
                out=out,
            )
            report_json, plot = self._write_report(out, task, baseline, federated, entries)
            ref = None
            published = False
            if model_dir is not None:
                shutil.copy2(report_json, model_dir / "report.json")
                if plot is not None:
                    shutil.copy2(plot, model_dir / "report.png")
                if self.publish:
                    publication = market.publish_model(self.task_id, model_dir)
                    self.receipts.append(publication.receipt)
                    ref, published = publication.model, True
                else:
                    ref = stored_ref(market.store.reference(model_dir))
        return ValidationReport(
            task_id=self.task_id,
            kind=task.kind,
            policy=policy,
            aggregator=self.aggregator if task.kind is TaskKind.MODEL_CONTRIBUTION else "rank",
            weighting=self.weighting,
            min_improvement=self.min_improvement,
            baseline=baseline,
            federated=federated,
            results=[_review(e, baseline) for e in entries],
            model=ref,
            published=published,
            receipts=self.receipts,
            report_dir=str(out),
            report_json=str(report_json),
            plot=str(plot) if plot else None,
            notes=self.notes + evaluator.notes,
        )

    # -- steps --------------------------------------------------------------------------------

    def _slots(self) -> list[TaskResult]:
        """Results to look at: awaiting review, or paid (federation takes paid ones too)."""
        keep = (AssignmentState.SUBMITTED, AssignmentState.PAID)
        return [r for r in self._results() if r.state in keep]

    def _results(self) -> list[TaskResult]:
        return list(self.market.list_results(self.task_id, task=self.task))

    def _pull_result(self, entry: _Entry, dest: Path) -> None:
        ref = entry.slot.result
        if ref is None:
            entry.refused = "its reference is not on record"
            return
        if ref.size > MAX_BUNDLE:
            entry.refused = f"the result bundle is over {MAX_BUNDLE} bytes"
            return
        try:
            self.market.store.pull(ref.cid, dest, sha256=ref.sha256, size=ref.size)
        except DecentralMLError as exc:
            # Unreachable, not found, a digest mismatch or an archive refused: the worker's
            # bundle cannot be used as recorded on-chain.
            entry.refused = short_reason(
                f"the result bundle cannot be fetched safely: {exc.message}"
            )
            return
        entry.directory = dest
        named = _read_json(dest / WORKER_FILE) if (dest / WORKER_FILE).is_file() else {}
        if named.get("schema") != WORKER_SCHEMA or named.get("worker") != entry.worker:
            entry.refused = (
                f"the result bundle names {named.get('worker') or 'no worker'}, not its sender"
            )
        elif named.get("task_id") != self.task_id:
            entry.refused = f"the result bundle was made for task {named.get('task_id')}"
        declared = dest / "result.json"
        if declared.is_file() and declared.stat().st_size < 1 << 20:
            try:
                value = json.loads(declared.read_text())
                entry.declared = value if isinstance(value, dict) else {}
            except (ValueError, UnicodeDecodeError):
                entry.declared = {}

    def _decide(
        self,
        entries: list[_Entry],
        policy: Policy,
        custom: Callable[[Candidate], Any] | None,
        baseline: dict[str, float] | None,
        evaluator: _Evaluator,
        journal: DecisionJournal,
    ) -> list[tuple[str, Verdict]]:
        """Each result's verdict (journaled ones kept as they were); the new ones, to be
        journaled once the validator confirmed them."""
        made: list[tuple[str, Verdict]] = []
        for entry in entries:
            if entry.slot.state is not AssignmentState.SUBMITTED:
                continue  # paid (auto-accept, or decided before)
            recorded = journal.get(entry.worker)
            if recorded is not None:
                entry.verdict = recorded  # decided by an earlier run: never asked again
                continue
            candidate = evaluator.candidate(
                entry, baseline, with_weights=policy is Policy.CUSTOM and entry.refused is None
            )
            if entry.worker in self.rejects:
                entry.verdict = reject(self.rejects[entry.worker])
            elif entry.worker in self.accepts:
                entry.verdict = Verdict(True)
            elif entry.refused is not None:
                # Malformed or unsafe: never paid, whatever a custom policy would say.
                entry.verdict = reject(entry.refused)
            elif policy is Policy.CUSTOM:
                assert custom is not None
                try:
                    entry.verdict = as_verdict(custom(candidate))
                except PolicyError as exc:
                    entry.policy_error = exc.message
                except Exception as exc:  # the user's code: report it against this result
                    entry.policy_error = f"{type(exc).__name__}: {exc}"
            else:
                entry.verdict = builtin_verdict(candidate)
                if entry.verdict is None and self.ask is not None:
                    entry.verdict = self.ask(candidate)
            if entry.verdict is not None:
                made.append((entry.worker, entry.verdict))
        return made

    def _send(self, entries: list[_Entry], journal: DecisionJournal) -> None:
        todo = [e for e in entries if e.verdict is not None]
        for start in range(0, len(todo), self.batch_size):
            chunk = todo[start : start + self.batch_size]
            # Read the chain again: what it shows decided leaves the batch.
            states = {r.worker: r for r in self._results()}
            left = []
            for entry in chunk:
                state = states.get(entry.worker)
                if state is not None and state.state is not AssignmentState.SUBMITTED:
                    entry.sent = _matches(entry.verdict, state.state)
                    if not entry.sent:
                        entry.send_error = f"the chain shows it {state.state.value} already"
                    continue
                left.append(entry)
            if not left:
                continue
            try:
                receipt = self.market.batch(
                    [_call(self.task_id, e) for e in left], task_id=self.task_id
                )
            except MarketplaceError as refused:
                log.info("batch refused (%s); sending its decisions one by one", refused)
                self._send_singly(left)
            else:
                self.receipts.append(receipt)
                for entry in left:
                    entry.sent = _confirmed(receipt, entry)
                    if not entry.sent:
                        entry.send_error = "the batch was included without its event"
            checkpoint("decision-batch-sent")

    def _send_singly(self, entries: list[_Entry]) -> None:
        for entry in entries:
            call, params = _call(self.task_id, entry)
            try:
                receipt = self.market.call(call, params, task_id=self.task_id)
            except MarketplaceError as exc:
                entry.send_error = exc.message
                continue
            self.receipts.append(receipt)
            entry.sent = _confirmed(receipt, entry)

    def _write_report(
        self,
        out: Path,
        task: Task,
        baseline: dict[str, float] | None,
        federated: dict[str, float] | None,
        entries: list[_Entry],
    ) -> tuple[Path, Path | None]:
        report = {
            "schema": "decentralml.validation-report/v1",
            "task_id": task.task_id,
            "kind": task.kind.value,
            "baseline": baseline,
            "federated": federated,
            "results": [_review(e, baseline).model_dump(mode="json") for e in entries],
        }
        report_json = out / "report.json"
        report_json.write_text(json.dumps(report, indent=2) + "\n")
        plot = _plot(out / "report.png", task, baseline, federated, entries)
        if plot is None:
            self.notes.append("no PNG plot: matplotlib is not installed (the tensorflow extra)")
        return report_json, plot


class _Evaluator:
    """Loading, evaluation, copies and federation for one task kind."""

    def __init__(self, task: Task, spec: dict[str, Any], task_dir: Path, workspace: Workspace):
        self.task = task
        self.spec = spec
        self.task_dir = task_dir
        self.workspace = workspace
        self.notes: list[str] = []
        self.holdout: tuple[Any, Any] | None = None
        self.shapes: list[tuple[int, ...]] = []
        self.dtypes: list[np.dtype[Any]] = []
        self.baseline_weights: list[np.ndarray] | None = None
        self.reference: np.ndarray | None = None

    # -- evaluation ---------------------------------------------------------------------------

    def evaluate(self, entries: list[_Entry]) -> dict[str, float] | None:
        kind = self.task.kind
        if kind is TaskKind.DATA_ANNOTATION:
            return self._evaluate_labels(entries)
        self.holdout = self.workspace.holdout()
        current = load_engineered_model(self.task_dir / self.spec.get("model_file", "model.keras"))
        try:
            baseline = self.workspace.holdout_metrics(current, self.holdout)
        except WorkspaceError:
            raise
        except Exception as exc:  # the task's own model on the creator's own holdout
            raise WorkspaceError(
                f"the workspace's evaluate() failed on the task's current model: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        self.baseline_weights = [np.asarray(w) for w in current.get_weights()]
        self.shapes = [w.shape for w in self.baseline_weights]
        self.dtypes = [w.dtype for w in self.baseline_weights]
        for entry in entries:
            if entry.directory is None or entry.refused is not None:
                continue
            try:
                if kind is TaskKind.MODEL_CONTRIBUTION:
                    model = self._contribution(entry)
                else:
                    model = load_engineered_model(
                        entry.directory / "model.keras", result=entry.worker
                    )
                entry.metrics = self.workspace.holdout_metrics(model, self.holdout)
            except ResultRefused as refused:
                entry.refused = refused.reason
            except WorkspaceError:
                raise  # the validator's side failed: no result is to blame
            except Exception as exc:  # the model ran but the workspace could not score it
                entry.refused = short_reason(f"cannot be evaluated: {type(exc).__name__}: {exc}")
        if kind is TaskKind.MODEL_CONTRIBUTION:
            self._find_copies(entries)
        else:
            current_file = self.task_dir / self.spec.get("model_file", "model.keras")
            self._find_identical(entries, "model.keras", current=current_file)
        return baseline

    def _contribution(self, entry: _Entry) -> Any:
        assert entry.directory is not None
        weights = load_weights_npz(
            entry.directory / "weights.npz", self.shapes, result=entry.worker
        )
        for layer, (array, dtype) in enumerate(zip(weights, self.dtypes, strict=True)):
            if array.dtype != dtype:
                raise ResultRefused(
                    f"layer {layer}: dtype {array.dtype}, the task's model has {dtype}",
                    result=entry.worker,
                )
        model = self.workspace.new_model()
        model.set_weights(weights)
        return model

    def _find_copies(self, entries: list[_Entry]) -> None:
        assert self.baseline_weights is not None
        ordered = sorted(
            (e for e in entries if e.refused is None and e.directory is not None),
            key=lambda e: (e.slot.at or 0, e.worker),
        )
        if not ordered:
            return
        with ExitStack() as stack:
            readers = [
                (e.worker, stack.enter_context(WeightsReader(path, self.shapes, result=e.worker)))
                for e, path in ((e, _weights_file(e)) for e in ordered)
            ]
            checks = find_copies(readers, self.baseline_weights)
        for entry in ordered:
            check = checks[entry.worker]
            entry.copies, entry.unchanged = check.copies, check.unchanged

    def _find_identical(
        self, entries: list[_Entry], name: str, *, current: Path | None = None
    ) -> None:
        """Engineering and annotation results: a byte-identical file of an earlier worker, or
        (`current`) the task's own model sent back."""
        seen: dict[str, str] = {}
        unchanged = hashlib.sha256(current.read_bytes()).hexdigest() if current else None
        for entry in sorted(entries, key=lambda e: (e.slot.at or 0, e.worker)):
            if entry.directory is None or entry.refused is not None:
                continue
            path = entry.directory / name
            if not path.is_file():
                continue
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if digest == unchanged:
                entry.unchanged = True
            elif digest in seen:
                entry.copies = seen[digest]
            else:
                seen[digest] = entry.worker

    def _evaluate_labels(self, entries: list[_Entry]) -> dict[str, float] | None:
        samples = self.task_dir / self.spec.get("samples_file", "samples.npz")
        with np.load(samples, allow_pickle=False) as arrays:
            count = len(arrays["x"])
        classes = int(self.spec.get("output_classes", 10))
        name = self.spec.get("labels_file", "labels.csv")
        for entry in entries:
            if entry.directory is None or entry.refused is not None:
                continue
            try:
                entry.labels = read_labels(
                    entry.directory / name, count, classes, result=entry.worker
                )
            except ResultRefused as refused:
                entry.refused = refused.reason
        self._find_identical(entries, name)
        voters = [e for e in entries if e.labels is not None and e.usable]
        gold = self.workspace.gold()
        if gold is not None:
            self.reference = np.asarray(gold, dtype=np.int64)
        elif voters:
            self.notes.append(
                "no gold labels in the workspace: annotators are scored by agreement with "
                "the majority"
            )
            self.reference = majority([e.labels for e in voters if e.labels is not None], classes)
        for entry in entries:
            if entry.labels is not None and self.reference is not None:
                entry.metrics = {
                    "accuracy": agreement(entry.labels, self.reference),
                    "samples": float(count),
                }
        return None

    def candidate(
        self, entry: _Entry, baseline: dict[str, float] | None, *, with_weights: bool
    ) -> Candidate:
        weights = None
        if (
            with_weights
            and self.task.kind is TaskKind.MODEL_CONTRIBUTION
            and entry.refused is None
            and entry.directory is not None
        ):
            weights = load_weights_npz(
                entry.directory / "weights.npz", self.shapes, result=entry.worker
            )
        return Candidate(
            task_id=self.task.task_id,
            worker=entry.worker,
            kind=self.task.kind.value,
            metrics=entry.metrics,
            baseline=baseline,
            weights=weights,
            declared=entry.declared,
            copies=entry.copies,
            unchanged=entry.unchanged,
            refused=entry.refused,
        )

    # -- federation ---------------------------------------------------------------------------

    def _passes(self, entry: _Entry, baseline: dict[str, float] | None, floor: float) -> bool:
        if not entry.usable or entry.metrics is None:
            return False
        if entry.verdict is not None and not entry.verdict.accept:
            return False  # rejected by the policy: left out of the model as well
        if self.task.kind is TaskKind.DATA_ANNOTATION:
            return entry.metrics["accuracy"] >= MIN_AGREEMENT
        assert baseline is not None
        return check_floor(
            entry.metrics["accuracy"], baseline["accuracy"], min_improvement=floor
        ).passed

    def federate(
        self,
        entries: list[_Entry],
        baseline: dict[str, float] | None,
        *,
        aggregator: str,
        weighting: str,
        cap: int | None,
        floor: float,
        out: Path,
    ) -> tuple[dict[str, float] | None, Path | None]:
        chosen = [e for e in entries if self._passes(e, baseline, floor)]
        if not chosen:
            self.notes.append("no result passed the quality floor: nothing was federated")
            return None, None
        # Engineering results are ranked, not averaged: only the best one makes the model.
        if self.task.kind is TaskKind.MODEL_ENGINEERING:
            chosen = [max(chosen, key=lambda e: (e.metrics or {}).get("accuracy", 0.0))]
        for entry in chosen:
            entry.federated = True
        model_dir = out / "model"
        if model_dir.exists():
            shutil.rmtree(model_dir)
        model_dir.mkdir(parents=True)
        if self.task.kind is TaskKind.DATA_ANNOTATION:
            classes = int(self.spec.get("output_classes", 10))
            voted = majority([e.labels for e in chosen if e.labels is not None], classes)
            rows = "".join(f"{i},{label}\n" for i, label in enumerate(voted.tolist()))
            (model_dir / "labels.csv").write_text("index,label\n" + rows)
            metrics = None
            if self.reference is not None and self.workspace.load_gold is not None:
                metrics = {
                    "accuracy": agreement(voted, self.reference),
                    "samples": float(len(voted)),
                }
            return metrics, model_dir
        if self.task.kind is TaskKind.MODEL_ENGINEERING:
            (best,) = chosen
            assert best.directory is not None
            shutil.copy2(best.directory / "model.keras", model_dir / "model.keras")
            return best.metrics, model_dir
        weights = self._aggregate(chosen, aggregator, weighting, cap)
        model = self.workspace.new_model()
        model.set_weights(weights)
        metrics = self.workspace.holdout_metrics(model, self.holdout)  # type: ignore[arg-type]
        model.save(model_dir / "model.keras")
        return metrics, model_dir

    def _aggregate(
        self, chosen: list[_Entry], aggregator: str, weighting: str, cap: int | None
    ) -> list[np.ndarray]:
        paths = [e.directory / "weights.npz" for e in chosen if e.directory is not None]
        if aggregator == "fedavg":

            def counts() -> Iterable[tuple[list[np.ndarray], float]]:
                for entry, path in zip(chosen, paths, strict=True):
                    declared = entry.declared.get("sample_count", 0)
                    weight = float(declared) if weighting == "declared" else 1.0
                    yield load_weights_npz(path, self.shapes, result=entry.worker), weight

            return fedavg(counts(), weighting=weighting, cap=cap)  # type: ignore[arg-type]
        with ExitStack() as stack:
            readers = [stack.enter_context(WeightsReader(p, self.shapes)) for p in paths]
            if aggregator == "median":
                return coordinate_median(readers)
            if aggregator == "trimmed-mean":
                if len(readers) < 3:
                    self.notes.append("trimmed mean of fewer than 3 results: plain mean")
                    return trimmed_mean(readers, 0.0)
                return trimmed_mean(readers, TRIM_BETA)
            byzantine = max((len(readers) - 3) // 2, 0)
            return krum(readers, f=byzantine).weights


def _weights_file(entry: _Entry) -> Path:
    assert entry.directory is not None
    return entry.directory / "weights.npz"


def _call(task_id: int, entry: _Entry) -> tuple[str, dict[str, Any]]:
    assert entry.verdict is not None
    if entry.verdict.accept:
        return "accept_result", {"task_id": task_id, "worker": entry.worker}
    reason = (entry.verdict.reason or "rejected").encode()
    return "reject_result", {
        "task_id": task_id,
        "worker": entry.worker,
        "reason": "0x" + reason.hex(),
    }


def _confirmed(receipt: Receipt, entry: _Entry) -> bool:
    """Whether the receipt's events show this decision taken."""
    assert entry.verdict is not None
    name = "ResultAccepted" if entry.verdict.accept else "ResultRejected"
    return any(
        e.attributes.get("worker") == entry.worker for e in receipt.find("Decentralml", name)
    )


def _matches(verdict: Verdict | None, state: AssignmentState) -> bool:
    if verdict is None:
        return False
    return state is (AssignmentState.PAID if verdict.accept else AssignmentState.REJECTED)


def _review(entry: _Entry, baseline: dict[str, float] | None) -> ResultReview:
    change = None
    if entry.metrics is not None and baseline is not None:
        change = entry.metrics["accuracy"] - baseline["accuracy"]
    declared = entry.declared.get("sample_count")
    verdict = entry.verdict
    return ResultReview(
        worker=entry.worker,
        state=entry.slot.state.value,
        result=entry.slot.result,
        metrics=entry.metrics,
        accuracy_change=change,
        declared_samples=int(declared) if isinstance(declared, int) else None,
        copies=entry.copies,
        unchanged=entry.unchanged,
        refused=entry.refused,
        decision="none" if verdict is None else ("accept" if verdict.accept else "reject"),
        reason=None if verdict is None else verdict.reason,
        policy_error=entry.policy_error,
        sent=entry.sent,
        send_error=entry.send_error,
        federated=entry.federated,
    )


def _plot(
    path: Path,
    task: Task,
    baseline: dict[str, float] | None,
    federated: dict[str, float] | None,
    entries: list[_Entry],
) -> Path | None:
    """Each result's holdout accuracy against the current and the federated model."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    names = [f"{e.worker[:6]}…" for e in entries]
    values = [(e.metrics or {}).get("accuracy", 0.0) for e in entries]
    colors = [
        "tab:green" if e.federated else "tab:red" if not e.usable else "tab:gray" for e in entries
    ]
    figure, axes = plt.subplots(figsize=(max(4, len(entries) * 1.2 + 2), 4))
    axes.bar(names, values, color=colors)
    if baseline is not None:
        axes.axhline(baseline["accuracy"], color="tab:blue", linestyle="--", label="current model")
    if federated is not None:
        axes.axhline(federated["accuracy"], color="tab:green", linestyle="-", label="new model")
    axes.set_ylim(0, 1)
    axes.set_ylabel(
        "holdout accuracy" if task.kind is not TaskKind.DATA_ANNOTATION else "agreement"
    )
    axes.set_title(f"Task {task.task_id}: results (green: federated, red: refused)")
    if baseline is not None or federated is not None:
        axes.legend(loc="lower right")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def _read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        return {}
    return value if isinstance(value, dict) else {}
