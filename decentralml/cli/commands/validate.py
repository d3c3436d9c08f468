"""The validator's commands: validate a task's results (decide, federate, publish), and pull
a task's published model."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from decentralml.cli._market import (
    PullModelDoc,
    ValidateResultsDoc,
    emit,
    open_market,
    short,
    worker_address,
)
from decentralml.cli.context import AppContext, common_options, stdin_is_interactive
from decentralml.marketplace._models import stored_ref
from decentralml.validation import Candidate, Verdict, reject


def _rejections(values: tuple[str, ...]) -> dict[str, str]:
    rejects: dict[str, str] = {}
    for value in values:
        worker, sep, reason = value.partition(":")
        if not sep or not reason.strip():
            raise click.BadParameter(
                f"{value!r}: give WORKER:REASON, e.g. 5Grw...:copied weights",
                param_hint="--reject",
            )
        rejects[worker_address(worker)] = reason.strip()
    return rejects


@click.command("validate-results")
@click.argument("task_id", type=click.IntRange(min=0))
@click.option(
    "--workspace",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    required=True,
    help="The creator's workspace (assets/model_creator's layout): build_model, "
    "load_holdout, evaluate.",
)
@click.option(
    "--policy",
    type=click.Choice(["auto", "manual", "custom"]),
    default=None,
    help="Who is paid [default: the task's policy].",
)
@click.option(
    "--policy-fn",
    metavar="MODULE:FUNCTION|FILE.py:FUNCTION",
    default=None,
    help="The custom policy: (candidate) -> accept() or reject(reason).",
)
@click.option(
    "--aggregator",
    type=click.Choice(["fedavg", "median", "trimmed-mean", "krum"]),
    default="fedavg",
    show_default=True,
)
@click.option(
    "--weighting",
    type=click.Choice(["uniform", "declared"]),
    default="uniform",
    show_default=True,
    help="FedAvg weights: equal, or the declared sample counts (capped by --cap).",
)
@click.option("--cap", type=click.IntRange(min=1), default=None, help="Largest declared count.")
@click.option(
    "--min-improvement",
    type=click.FloatRange(0, 1),
    default=0.01,
    show_default=True,
    help="Federate only results no worse than the current model by more than this share of "
    "holdout accuracy.",
)
@click.option("--batch-size", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--accept", "accepts", multiple=True, metavar="WORKER", help="Pay WORKER's result.")
@click.option(
    "--reject", "rejects", multiple=True, metavar="WORKER:REASON", help="Reject with REASON."
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the report and the new model go [default: the data directory].",
)
@click.option("--no-publish", is_flag=True, help="Do not push or record the new model.")
@common_options
def validate_results(
    app: AppContext,
    task_id: int,
    workspace: Path,
    policy: str | None,
    policy_fn: str | None,
    aggregator: str,
    weighting: str,
    cap: int | None,
    min_improvement: float,
    batch_size: int,
    accepts: tuple[str, ...],
    rejects: tuple[str, ...],
    out: Path | None,
    no_publish: bool,
) -> None:
    """Evaluate a task's results on your holdout, decide who is paid, federate the good ones.

    Results are loaded as data (weights only, or a built-in-layers model in safe mode); a
    result that would run code is rejected with that reason. The policy (the task's, or
    --policy) decides payment; federation takes, whatever was paid, the results that pass
    the quality floor and are neither copies nor unsafe. Decisions are journaled and sent in
    batches; a rerun skips what the chain shows decided. The new model is published.
    """
    accepted = [worker_address(w) for w in accepts]
    rejected = _rejections(rejects)
    ask = None
    if not app.json and not app.settings.yes and stdin_is_interactive():

        def ask(candidate: Candidate) -> Verdict:
            metrics = candidate.metrics or {}
            change = candidate.accuracy_change
            shown = f"accuracy {metrics.get('accuracy', float('nan')):.3f}"
            if change is not None:
                shown += f" ({change:+.3f} against the current model)"
            if click.confirm(f"Pay {candidate.worker}: {shown}?", default=True, err=True):
                return Verdict(True)
            reason = click.prompt("Reason for the worker", err=True)
            return reject(reason)

    with open_market(app, sign=True) as market:
        task = market.get_task(task_id)

        def confirm(decisions: list[tuple[str, Verdict]]) -> None:
            paid = sum(1 for _, verdict in decisions if verdict.accept)
            app.confirm(
                f"Send {len(decisions)} decision(s) on task {task_id}: pay {paid} result(s), "
                f"{task.token.format(task.reward)} each from the escrow, reject "
                f"{len(decisions) - paid}? Decisions are final."
            )

        report = market.validate_results(
            task_id,
            workspace=workspace,
            policy=policy,
            policy_fn=policy_fn,
            aggregator=aggregator,
            weighting=weighting,
            cap=cap,
            min_improvement=min_improvement,
            batch_size=batch_size,
            accepts=accepted,
            rejects=rejected,
            out=out,
            ask=ask,
            confirm=confirm,
            publish=not no_publish,
        )

    def render(console: Console) -> None:
        table = Table(title=f"Task {task_id}: results ({report.policy.value} policy)")
        for column in ("worker", "accuracy", "vs current", "found", "decision", "federated"):
            table.add_column(column)
        for r in report.results:
            accuracy = "-" if r.metrics is None else f"{r.metrics['accuracy']:.3f}"
            change = "-" if r.accuracy_change is None else f"{r.accuracy_change:+.3f}"
            found = (
                r.refused
                or (f"copy of {short(r.copies)}" if r.copies else "")
                or ("unchanged" if r.unchanged else "ok")
            )
            decision = {"none": "-", "accept": "accept", "reject": f"reject: {r.reason}"}[
                r.decision
            ]
            if r.state == "paid" and r.decision == "none":
                decision = "paid on-chain"
            if r.policy_error:
                decision = f"policy error: {r.policy_error}"
            if r.send_error:
                decision += f" (not sent: {r.send_error})"
            table.add_row(
                short(r.worker), accuracy, change, found, decision, "yes" if r.federated else ""
            )
        console.print(table)
        if report.baseline is not None:
            console.print(f"current model: accuracy {report.baseline['accuracy']:.3f}")
        if report.federated is not None:
            console.print(
                f"new model ({report.aggregator}): accuracy {report.federated['accuracy']:.3f}"
            )
        if report.model is not None:
            state = "published" if report.published else "not published"
            console.print(f"model {report.model.cid} ({state})")
        console.print(
            f"report: {report.report_json}" + (f", plot: {report.plot}" if report.plot else "")
        )
        for note in report.notes:
            console.print(f"note: {note}")

    doc = ValidateResultsDoc(schema="decentralml.validate-results/v1", report=report)
    emit(app, "validate-results", doc, render)


@click.command("pull-model")
@click.argument("task_id", type=click.IntRange(min=0))
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Unpack into DEST even if it is not empty.")
@common_options
def pull_model(app: AppContext, task_id: int, dest: Path, force: bool) -> None:
    """Fetch the task's published model into DEST, verified against the chain's record."""
    with open_market(app) as market:
        pulled = market.pull_model(task_id, dest, force=force)
    model = stored_ref(pulled.ref)

    def render(console: Console) -> None:
        console.print(f"Pulled task {task_id}'s model {model.cid} into {dest}")

    doc = PullModelDoc(
        schema="decentralml.pull-model/v1",
        task_id=task_id,
        model=model,
        dest=str(dest),
        files=sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file()),
        size=pulled.ref.size,
    )
    emit(app, "pull-model", doc, render)
