"""Reviewer commands: list a task's results, accept one (paying it), reject one."""

from __future__ import annotations

import click
from rich.console import Console

from decentralml.cli._market import (
    ListResultsDoc,
    TaskActionDoc,
    emit,
    open_market,
    print_receipt,
    results_table,
    worker_address,
)
from decentralml.cli.context import AppContext, common_options


@click.command("list-results")
@click.argument("task_id", type=click.IntRange(min=0))
@common_options
def list_results(app: AppContext, task_id: int) -> None:
    """List the results sent to a task and their state."""
    with open_market(app) as market:
        results = market.list_results(task_id)
        block = market.block_number()
    doc = ListResultsDoc(
        schema="decentralml.list-results/v1", task_id=task_id, block=block, results=results
    )
    emit(app, "list-results", doc, lambda console: console.print(results_table(results)))


@click.command("accept-result")
@click.argument("task_id", type=click.IntRange(min=0))
@click.argument("worker", metavar="WORKER")
@common_options
def accept_result(app: AppContext, task_id: int, worker: str) -> None:
    """Accept WORKER's result on your task: it is paid the reward from the escrow."""
    address = worker_address(worker)
    with open_market(app, sign=True) as market:
        task = market.get_task(task_id)
        app.confirm(
            f"Accept {address}'s result on task {task_id} and pay it "
            f"{task.token.format(task.reward)}?"
        )
        receipt = market.accept_result(task_id, address)

    def render(console: Console) -> None:
        print_receipt(console, receipt, task.token, f"Accepted and paid {address}")

    doc = TaskActionDoc(
        schema="decentralml.accept-result/v1", task_id=task_id, worker=address, receipt=receipt
    )
    emit(app, "accept-result", doc, render)


@click.command("reject-result")
@click.argument("task_id", type=click.IntRange(min=0))
@click.argument("worker", metavar="WORKER")
@click.option("--reason", required=True, help="Why, for the worker (stored on-chain).")
@common_options
def reject_result(app: AppContext, task_id: int, worker: str, reason: str) -> None:
    """Reject WORKER's result on your task; its slot is freed for someone else."""
    address = worker_address(worker)
    with open_market(app, sign=True) as market:
        task = market.get_task(task_id)
        app.confirm(f"Reject {address}'s result on task {task_id}? Decisions are final.")
        receipt = market.reject_result(task_id, address, reason)

    def render(console: Console) -> None:
        print_receipt(console, receipt, task.token, f"Rejected {address}'s result")

    doc = TaskActionDoc(
        schema="decentralml.reject-result/v1", task_id=task_id, worker=address, receipt=receipt
    )
    emit(app, "reject-result", doc, render)
