"""Worker commands: take a slot, run the kit, send (or reveal) a result, claim, release."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console

from decentralml.cli._market import (
    AssignTaskDoc,
    RunTaskDoc,
    SendResultDoc,
    TaskActionDoc,
    emit,
    open_market,
    outcome_text,
    print_receipt,
)
from decentralml.cli.context import AppContext, common_options, sigterm_as_interrupt
from decentralml.errors import MarketplaceError
from decentralml.marketplace import (
    ENTRY_POINTS,
    AssignmentState,
    Kit,
    Sandbox,
    default_sandbox_image,
    find_kit,
    run_kit,
)

_HOLDING = (AssignmentState.ASSIGNED, AssignmentState.COMMITTED)


def _default_dest(task_id: int) -> Path:
    return Path(f"task-{task_id}")


@click.command("assign-task")
@click.argument("task_id", type=click.IntRange(min=0))
@click.option(
    "--dest",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where to unpack the task bundle [default: ./task-ID].",
)
@common_options
def assign_task(app: AppContext, task_id: int, dest: Path | None) -> None:
    """Take a slot on a task, then pull, verify and unpack its bundle. Runs nothing."""
    dest = dest or _default_dest(task_id)
    with open_market(app, sign=True) as market:
        task = market.get_task(task_id)
        bond = market.constant("AssignmentBond")
        mine = market.get_assignment(task_id, market.address, task=task)
        receipt = None
        if mine is not None and mine.state not in _HOLDING:
            raise MarketplaceError(
                f"this account already took a slot on task {task_id} ({mine.state.value})",
                task_id=task_id,
            )
        if mine is None:
            app.confirm(
                f"Take a slot on task {task_id} ({task.title}), paying "
                f"{task.token.format(task.reward)} per accepted result? It holds a bond of "
                f"{task.token.format(bond)} until you send a result. Continue?"
            )
            receipt = market.assign_task(task_id)
        if not (dest.exists() and any(dest.iterdir())):
            market.pull_task_bundle(task_id, dest)
        worker = market.address
    kit = find_kit(dest)
    entry_points = [str(kit / n) for n in ENTRY_POINTS if (kit / n).is_file()]
    requirements = kit / "requirements.txt"
    commands = [
        f"decentralml run-task {task_id} --dir {dest}",
        f"decentralml send-result {task_id} RESULT_DIR",
    ]

    def render(console: Console) -> None:
        if receipt is not None:
            print_receipt(console, receipt, task.token, f"Took a slot on task {task_id}")
        console.print(f"Task bundle verified and unpacked in {dest}", highlight=False)
        for path in entry_points:
            console.print(f"  entry point: {path}", highlight=False)
        if requirements.is_file():
            console.print(f"  requirements: {requirements}", highlight=False)
        console.print("The kit is the creator's code: read it before running it. Next:")
        for line in commands:
            console.print(f"  {line}", highlight=False)

    doc = AssignTaskDoc(
        schema="decentralml.assign-task/v1",
        task_id=task_id,
        worker=worker,
        bond=bond,
        receipt=receipt,
        dest=str(dest),
        kit=str(kit),
        entry_points=entry_points,
        requirements=str(requirements) if requirements.is_file() else None,
        next=commands,
    )
    emit(app, "assign-task", doc, render)


@click.command("run-task")
@click.argument("task_id", type=click.IntRange(min=0))
@click.option(
    "--dir",
    "directory",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="The unpacked task bundle [default: ./task-ID].",
)
@click.option(
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the kit writes its result [default: ./task-ID-result].",
)
@click.option(
    "--sandbox",
    is_flag=True,
    help="Run the kit in a container of the client image: a non-root user, no network, a "
    "read-only system, only the task directory (read-only) and OUTPUT mounted.",
)
@click.option(
    "--image",
    metavar="IMAGE",
    default=None,
    help="The sandbox's image [env DECENTRALML_SANDBOX_IMAGE; default decentralml/client:VERSION].",
)
@click.option(
    "--memory",
    metavar="SIZE",
    default=None,
    help="The sandbox's memory limit, as docker's --memory (e.g. 4g) [default: none].",
)
@click.argument("kit_args", nargs=-1, type=click.UNPROCESSED, metavar="[-- KIT_ARGS...]")
@common_options
def run_task(
    app: AppContext,
    task_id: int,
    directory: Path | None,
    output: Path | None,
    sandbox: bool,
    image: str | None,
    memory: str | None,
    kit_args: tuple[str, ...],
) -> None:
    """Run the task kit: setup.sh, then start_task.sh OUTPUT [KIT_ARGS] (the creator's code).

    Arguments after `--` go to start_task.sh, e.g. `-- --shard 1 --shards 3`. With
    --sandbox the kit sees only the task directory (at /task) and OUTPUT (at /result):
    paths on this machine given as KIT_ARGS do not exist there.
    """
    if not sandbox and (image is not None or memory is not None):
        raise click.UsageError("--image and --memory apply to --sandbox runs")
    directory = directory or _default_dest(task_id)
    if not directory.is_dir():
        raise click.UsageError(f"{directory} does not exist: run `decentralml assign-task` first")
    output = (output or Path(f"task-{task_id}-result")).resolve()
    kit = Kit.find(directory)
    box = Sandbox(image=image or default_sandbox_image(), memory=memory) if sandbox else None
    app.info(f"Entry points: {', '.join(str(s) for s in kit.scripts)}")
    if kit.requirements is not None:
        app.info(f"Requirements: {kit.requirements.read_text().strip()}")
    if box is None:
        app.confirm(f"Run the task creator's code from {kit.directory} on this machine?")
    else:
        uid, gid = box.user()
        app.confirm(
            f"Run the task creator's code from {kit.directory} in a sandbox ({box.image} as "
            f"{uid}:{gid}, no network, read-only system, seeing only {kit.task_dir} read-only "
            f"and {output} writable)?"
        )

    # The kit's output goes to stderr, so --json keeps stdout for the one document. SIGTERM
    # unwinds like Ctrl-C, so that the kit (or its container) is stopped with this process.
    with sigterm_as_interrupt():
        run = run_kit(
            kit,
            output,
            kit_args,
            sandbox=box,
            stream=sys.stderr,
            on_step=lambda command: app.info(f"$ {' '.join(command)}"),
        )

    def render(console: Console) -> None:
        where = f" (sandbox: {run.sandbox})" if run.sandbox else ""
        console.print(f"Result ready in {run.output}{where}", highlight=False)
        console.print(
            f"Send it with: decentralml send-result {task_id} {run.output}", highlight=False
        )

    doc = RunTaskDoc(
        schema="decentralml.run-task/v1",
        task_id=task_id,
        kit=str(kit.directory),
        output=str(run.output),
        ran=[str(s) for s in run.ran],
        sandbox=run.sandbox,
    )
    emit(app, "run-task", doc, render)


@click.command("send-result")
@click.argument("task_id", type=click.IntRange(min=0))
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--restart", is_flag=True, help="Forget an unfinished earlier run (nothing committed yet)."
)
@common_options
def send_result(app: AppContext, task_id: int, directory: Path, restart: bool) -> None:
    """Send the result in DIRECTORY. Resumable: a rerun finishes an interrupted one.

    Plain tasks: publish the bundle and submit it. Sealed tasks: before the deadline commit to
    it (and exit, saying from which block to reveal); from the deadline, publish and reveal.
    """
    with open_market(app, sign=True) as market:
        task = market.get_task(task_id)
        app.confirm(f"Send the result in {directory} to task {task_id} ({task.title})?")
        outcome = market.send_result(task_id, directory, restart=restart)
        block_time = market.block_time_ms
    _emit_outcome(app, "send-result", outcome, block_time)


@click.command("reveal-result")
@click.argument("task_id", type=click.IntRange(min=0))
@common_options
def reveal_result(app: AppContext, task_id: int) -> None:
    """Reveal the result committed to a sealed task (from its deadline)."""
    with open_market(app, sign=True) as market:
        outcome = market.reveal_result(task_id)
        block_time = market.block_time_ms
    _emit_outcome(app, "reveal-result", outcome, block_time)


def _emit_outcome(app: AppContext, command: str, outcome: object, block_time: int) -> None:
    from decentralml.marketplace import SendOutcome

    assert isinstance(outcome, SendOutcome)
    wait = outcome.blocks_to_wait
    doc = SendResultDoc(
        schema=f"decentralml.{command}/v1",  # type: ignore[arg-type]
        outcome=outcome,
        reveal_from_seconds=None if wait is None else wait * block_time // 1000,
    )
    text = outcome_text(outcome, block_time)
    emit(app, command, doc, lambda console: console.print(text, highlight=False, soft_wrap=True))


@click.command("claim-reward")
@click.argument("task_id", type=click.IntRange(min=0))
@common_options
def claim_reward(app: AppContext, task_id: int) -> None:
    """Claim the reward of your result left undecided past its review period."""
    with open_market(app, sign=True) as market:
        receipt = market.claim_reward(task_id)
        token = market.token
    doc = TaskActionDoc(schema="decentralml.claim-reward/v1", task_id=task_id, receipt=receipt)
    done = f"Claimed the reward of task {task_id}"
    emit(app, "claim-reward", doc, lambda console: print_receipt(console, receipt, token, done))


@click.command("release-assignment")
@click.argument("task_id", type=click.IntRange(min=0))
@click.argument("worker", metavar="WORKER")
@common_options
def release_assignment(app: AppContext, task_id: int, worker: str) -> None:
    """Free a slot whose worker sent nothing within the work period (its bond goes to the
    creator)."""
    from decentralml.accounts import Keystore, resolve_address

    address = resolve_address(worker, keystore=Keystore())
    with open_market(app, sign=True) as market:
        receipt = market.release_assignment(task_id, address)
        token = market.token
    doc = TaskActionDoc(
        schema="decentralml.release-assignment/v1", task_id=task_id, worker=address,
        receipt=receipt,
    )  # fmt: skip
    done = f"Released {address}'s slot on task {task_id}"
    emit(
        app,
        "release-assignment",
        doc,
        lambda console: print_receipt(console, receipt, token, done),
    )
