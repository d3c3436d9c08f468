"""Task commands for creators and everyone: create, list, show, cancel, close, remove, and
naming a validator."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console

from decentralml.cli._market import (
    CreateTaskDoc,
    ListTasksDoc,
    ShowTaskDoc,
    TaskActionDoc,
    emit,
    open_market,
    print_receipt,
    reader_address,
    results_table,
    stream_json_list,
    tasks_table,
    when,
)
from decentralml.cli.context import AppContext, common_options, key_value_table
from decentralml.marketplace import Marketplace, Policy, SubmissionMode, TaskKind

_KINDS = [k.value for k in TaskKind]


@click.command("create-task")
@click.option("--kind", type=click.Choice(_KINDS), required=True, help="What work is asked.")
@click.option(
    "--assets",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    required=True,
    help="The task bundle's directory (the contributor kit, the model, task.json).",
)
@click.option("--reward", required=True, metavar="AMOUNT", help="Paid per result, in tokens.")
@click.option("--slots", type=click.IntRange(min=1), required=True, help="Results paid for.")
@click.option(
    "--deadline", required=True, metavar="BLOCKS|DURATION", help="Blocks from now, or 2h, 1d."
)
@click.option("--review-period", default="1d", show_default=True, metavar="BLOCKS|DURATION")
@click.option("--work-period", default="1d", show_default=True, metavar="BLOCKS|DURATION")
@click.option("--policy", type=click.Choice([p.value for p in Policy]), required=True)
@click.option(
    "--submission",
    type=click.Choice([s.value for s in SubmissionMode]),
    default=None,
    help="plain or sealed [default: sealed for auto, else plain].",
)
@click.option("--reveal-period", default="1d", show_default=True, metavar="BLOCKS|DURATION")
@click.option("--validator", default=None, metavar="ACCOUNT", help="Who else may decide.")
@click.option("--title", default=None)
@click.option("--description", default=None)
@common_options
def create_task(
    app: AppContext,
    kind: str,
    assets: Path,
    reward: str,
    slots: int,
    deadline: str,
    review_period: str,
    work_period: str,
    policy: str,
    submission: str | None,
    reveal_period: str,
    validator: str | None,
    title: str | None,
    description: str | None,
) -> None:
    """Push the task bundle in --assets and post a task, holding the rewards in escrow.

    Prints the task id. When the directory has no task.json, the bundle gets a minimal one
    made from the options (the directory itself is not changed).
    """
    with open_market(app, sign=True) as market:
        planck = market.amount(reward)
        market.blocks(deadline)  # refuse a malformed deadline before anything is spent
        token = market.token
        deposit = market.constant("TaskDepositBase")
        app.confirm(
            f"Create a {kind} task with {slots} slot(s) of {token.format(planck)}: "
            f"{token.format(planck * slots)} held in escrow, plus a storage deposit of about "
            f"{token.format(deposit)} and the fee. Continue?"
        )
        validator_address = _address(app, market, validator)
        created = market.create_task(
            assets,
            kind=kind,
            reward=reward,
            slots=slots,
            deadline=deadline,
            policy=policy,
            submission=submission,
            review_period=review_period,
            work_period=work_period,
            reveal_period=reveal_period,
            validator=validator_address,
            title=title,
            description=description,
        )

    def render(console: Console) -> None:
        print_receipt(console, created.receipt, token, f"Created task {created.task_id}")
        console.print(created.task_id)

    doc = CreateTaskDoc(
        schema="decentralml.create-task/v1",
        task_id=created.task_id,
        task=created.task,
        receipt=created.receipt,
    )
    emit(app, "create-task", doc, render)


def _address(app: AppContext, market: Marketplace, account: str | None) -> str | None:
    if account is None:
        return None
    from decentralml.accounts import Keystore, resolve_address

    return resolve_address(account, keystore=Keystore())


@click.command("list-tasks")
@click.option("--open", "open_only", is_flag=True, help="Only tasks still open.")
@click.option("--kind", type=click.Choice(_KINDS), default=None)
@click.option("--creator", default=None, metavar="ACCOUNT", help="Only this creator's tasks.")
@click.option("--mine", is_flag=True, help="Only the tasks --account created.")
@click.option("--limit", type=click.IntRange(min=1), default=None)
@common_options
def list_tasks(
    app: AppContext,
    open_only: bool,
    kind: str | None,
    creator: str | None,
    mine: bool,
    limit: int | None,
) -> None:
    """List tasks, newest first."""
    if mine:
        creator = reader_address(app)
        if creator is None:
            raise click.UsageError("--mine needs --account")
    elif creator is not None:
        from decentralml.accounts import Keystore, resolve_address

        creator = resolve_address(creator, keystore=Keystore())
    with open_market(app) as market:
        block = market.block_number()
        tasks = market.list_tasks(open_only=open_only, kind=kind, creator=creator, limit=limit)
        if app.json:
            # Streamed: one task at a time goes out as it is read, so memory stays that of
            # one batch of the listing however many tasks there are.
            stream_json_list(
                {"schema": "decentralml.list-tasks/v1", "block": block},
                "tasks",
                (task.model_dump(mode="json", by_alias=True) for task in tasks),
            )
            return
        rows = list(tasks)
    doc = ListTasksDoc(schema="decentralml.list-tasks/v1", block=block, tasks=rows)
    emit(app, "list-tasks", doc, lambda console: console.print(tasks_table(rows)))


@click.command("show-task")
@click.argument("task_id", type=click.IntRange(min=0))
@common_options
def show_task(app: AppContext, task_id: int) -> None:
    """Show a task: its slots and who holds them, results, escrow, deadlines."""
    with open_market(app) as market:
        task = market.get_task(task_id)
        slots = market.list_results(task_id, all_slots=True)
        block = market.block_number()
        block_time = market.block_time_ms

    def render(console: Console) -> None:
        t, token = task, task.token
        rows = [
            ("status", t.status.value),
            ("kind", t.kind.value),
            ("policy", f"{t.policy.value}, {t.submission.value} submissions"),
            ("creator", t.creator),
            ("validator", t.validator or "-"),
            ("reward", token.format(t.reward)),
            ("slots", f"{t.slots}: {t.assigned} taken, {t.committed} committed, "
             f"{t.pending} awaiting review, {t.paid} paid, {t.free_slots} free"),
            ("escrow left", token.format(t.escrow)),
            ("storage deposit", token.format(t.deposit)),
            ("now", f"block {block}"),
            ("deadline", when(t.deadline, block, block_time)),
            ("review period", f"{t.review_period} blocks"),
            ("work period", f"{t.work_period} blocks"),
            ("bundle", f"{t.bundle.cid} ({t.bundle.size} B)"),
        ]  # fmt: skip
        if t.reveal_end is not None:
            rows.append(("reveals until", when(t.reveal_end, block, block_time)))
        if t.model is not None:
            rows.append(("model", t.model.cid))
        console.print(key_value_table(f"Task {t.task_id}: {t.title}", rows))
        if slots:
            console.print(results_table(slots, token))

    doc = ShowTaskDoc(
        schema="decentralml.show-task/v1",
        block=block,
        block_time_ms=block_time,
        task=task,
        slots=slots,
    )
    emit(app, "show-task", doc, render)


def _task_action(
    app: AppContext, command: str, task_id: int, question: str | None, done: str
) -> None:
    with open_market(app, sign=True) as market:
        market.get_task(task_id)
        if question:
            app.confirm(question)
        action = getattr(market, command.replace("-", "_"))
        receipt = action(task_id)
        token = market.token
    doc = TaskActionDoc(schema=f"decentralml.{command}/v1", task_id=task_id, receipt=receipt)
    emit(app, command, doc, lambda console: print_receipt(console, receipt, token, done))


@click.command("cancel-task")
@click.argument("task_id", type=click.IntRange(min=0))
@common_options
def cancel_task(app: AppContext, task_id: int) -> None:
    """Cancel your task: the escrow and the workers' bonds go back."""
    _task_action(
        app, "cancel-task", task_id, f"Cancel task {task_id}?", f"Cancelled task {task_id}"
    )


@click.command("close-task")
@click.argument("task_id", type=click.IntRange(min=0))
@common_options
def close_task(app: AppContext, task_id: int) -> None:
    """Close a task after its deadline: pays results past review, refunds the rest."""
    _task_action(app, "close-task", task_id, None, f"Closed task {task_id}")


@click.command("remove-task")
@click.argument("task_id", type=click.IntRange(min=0))
@common_options
def remove_task(app: AppContext, task_id: int) -> None:
    """Remove an ended task's record after the retention period (returns its deposit)."""
    _task_action(app, "remove-task", task_id, None, f"Removed task {task_id}")


@click.command("set-validator")
@click.argument("task_id", type=click.IntRange(min=0))
@click.argument("validator", required=False, metavar="ACCOUNT")
@click.option("--none", "clear", is_flag=True, help="Remove the validator.")
@common_options
def set_validator(app: AppContext, task_id: int, validator: str | None, clear: bool) -> None:
    """Name ACCOUNT the validator of your task (or remove it with --none)."""
    if clear == (validator is not None):
        raise click.UsageError("give either ACCOUNT or --none")
    with open_market(app, sign=True) as market:
        address = _address(app, market, validator)
        receipt = market.set_validator(task_id, address)
        token = market.token
    doc = TaskActionDoc(
        schema="decentralml.set-validator/v1", task_id=task_id, worker=address, receipt=receipt
    )
    done = f"Validator of task {task_id}: {address or 'none'}"
    emit(app, "set-validator", doc, lambda console: print_receipt(console, receipt, token, done))
