"""What the task commands share: opening the `Marketplace`, JSON documents, tables."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Literal

import click
from pydantic import BaseModel, ConfigDict, Field
from rich.console import Console
from rich.table import Table

from decentralml.cli.context import AppContext
from decentralml.marketplace import (
    ContentRef,
    Marketplace,
    Receipt,
    SendOutcome,
    Task,
    TaskResult,
    Token,
    ValidationReport,
    format_seconds,
)


@contextmanager
def open_market(app: AppContext, *, sign: bool = False) -> Iterator[Marketplace]:
    """The `Marketplace` for the command's settings, signing as --account when `sign`."""
    signer = app.signer() if sign else None
    settings = app.settings
    with Marketplace(
        settings.url,
        ipfs_api=settings.ipfs_api,
        signer=signer,
        ipfs_timeout=settings.ipfs_timeout,
    ) as market:
        yield market


def worker_address(worker: str) -> str:
    """A worker given as an address, keystore name or dev URI, as its address."""
    from decentralml.accounts import Keystore, resolve_address

    return resolve_address(worker, keystore=Keystore())


def reader_address(app: AppContext) -> str | None:
    """The address --account names, when one is given (for commands that only read)."""
    if not app.settings.account:
        return None
    return app.address()


# -- JSON documents: one model per command; the shipped schemas are generated from them -----


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class CreateTaskDoc(_Doc):
    schema_: Literal["decentralml.create-task/v1"] = Field(alias="schema")
    task_id: int
    task: Task
    receipt: Receipt


class ListTasksDoc(_Doc):
    schema_: Literal["decentralml.list-tasks/v1"] = Field(alias="schema")
    block: int
    tasks: list[Task]


class ShowTaskDoc(_Doc):
    schema_: Literal["decentralml.show-task/v1"] = Field(alias="schema")
    block: int
    block_time_ms: int
    task: Task
    slots: list[TaskResult]


class AssignTaskDoc(_Doc):
    schema_: Literal["decentralml.assign-task/v1"] = Field(alias="schema")
    task_id: int
    worker: str
    bond: int
    receipt: Receipt | None
    dest: str
    kit: str
    entry_points: list[str]
    requirements: str | None
    next: list[str]


class RunTaskDoc(_Doc):
    schema_: Literal["decentralml.run-task/v1"] = Field(alias="schema")
    task_id: int
    kit: str
    output: str
    ran: list[str]
    sandbox: str | None  # the image of a --sandbox run, else null


class SendResultDoc(_Doc):
    schema_: Literal["decentralml.send-result/v1", "decentralml.reveal-result/v1"] = Field(
        alias="schema"
    )
    outcome: SendOutcome
    reveal_from_seconds: int | None = None


class ListResultsDoc(_Doc):
    schema_: Literal["decentralml.list-results/v1"] = Field(alias="schema")
    task_id: int
    block: int
    results: list[TaskResult]


class TaskActionDoc(_Doc):
    """accept-result, reject-result, cancel-task, close-task, claim-reward,
    release-assignment, set-validator, remove-task: the task, who, and the receipt."""

    schema_: str = Field(alias="schema", pattern=r"^decentralml\.[a-z-]+/v1$")
    task_id: int
    worker: str | None = None
    receipt: Receipt


class ConfigDoc(_Doc):
    schema_: Literal["decentralml.config.show/v1", "decentralml.config.set/v1"] = Field(
        alias="schema"
    )
    file: str
    settings: dict[str, Any]
    sources: dict[str, str]


ACTIONS = (
    "accept-result",
    "reject-result",
    "cancel-task",
    "close-task",
    "claim-reward",
    "release-assignment",
    "set-validator",
    "remove-task",
)


class ValidateResultsDoc(_Doc):
    schema_: Literal["decentralml.validate-results/v1"] = Field(alias="schema")
    report: ValidationReport


class PullModelDoc(_Doc):
    schema_: Literal["decentralml.pull-model/v1"] = Field(alias="schema")
    task_id: int
    model: ContentRef
    dest: str
    files: list[str]
    size: int


DOCUMENTS: dict[str, type[BaseModel]] = {
    "validate-results": ValidateResultsDoc,
    "pull-model": PullModelDoc,
    "create-task": CreateTaskDoc,
    "list-tasks": ListTasksDoc,
    "show-task": ShowTaskDoc,
    "assign-task": AssignTaskDoc,
    "run-task": RunTaskDoc,
    "send-result": SendResultDoc,
    "reveal-result": SendResultDoc,
    "list-results": ListResultsDoc,
    "config.show": ConfigDoc,
    "config.set": ConfigDoc,
    **dict.fromkeys(ACTIONS, TaskActionDoc),
}


def schema_for(command: str) -> dict[str, Any]:
    """The JSON Schema of `command`'s document, as shipped in decentralml/schemas/."""
    model = DOCUMENTS[command]
    schema = model.model_json_schema(by_alias=True, mode="serialization")
    schema["properties"]["schema"] = {"const": f"decentralml.{command}/v1"}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"decentralml.{command}/v1",
        **schema,
        "title": f"decentralml {command.replace('.', ' ')}",
    }


def emit(app: AppContext, command: str, doc: BaseModel, render: Any = None) -> None:
    """Print `doc` (as JSON under --json) or the human rendering."""
    payload = doc.model_dump(mode="json", by_alias=True)
    schema = payload.pop("schema")
    app.emit(schema, payload, render)


def stream_json_list(head: dict[str, Any], key: str, items: Iterable[dict[str, Any]]) -> None:
    """Print one JSON document, ``{**head, key: [items...]}``, writing each item as it comes."""
    opening = json.dumps(head)[:-1]
    click.echo(f'{opening}, "{key}": [' if head else f'{{"{key}": [', nl=False)
    for index, item in enumerate(items):
        click.echo((", " if index else "") + json.dumps(item), nl=False)
    click.echo("]}")


# -- human output ---------------------------------------------------------------------------


def short(address: str | None) -> str:
    if not address:
        return "-"
    return f"{address[:6]}…{address[-4:]}"


def when(block: int, now: int, block_time_ms: int) -> str:
    """``"block 1234 (in about 2h)"`` or ``(about 5m ago)``."""
    seconds = (block - now) * block_time_ms // 1000
    if seconds >= 0:
        return f"block {block} (in about {format_seconds(seconds)})"
    return f"block {block} (about {format_seconds(-seconds)} ago)"


def tasks_table(tasks: list[Task], title: str = "Tasks") -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("id", "title", "kind", "policy", "reward", "slots free", "deadline", "status"):
        table.add_column(column)
    for task in tasks:
        table.add_row(
            str(task.task_id),
            task.title,
            task.kind.value,
            f"{task.policy.value}/{task.submission.value}",
            task.token.format(task.reward),
            f"{task.free_slots}/{task.slots}",
            str(task.deadline),
            task.status.value,
        )
    return table


def results_table(results: list[TaskResult], token: Token | None = None) -> Table:
    table = Table(title="Results", title_justify="left")
    for column in ("worker", "state", "at", "result CID", "review until"):
        table.add_column(column, overflow="fold")
    for r in results:
        table.add_row(
            r.worker,
            r.state.value,
            "-" if r.at is None else str(r.at),
            r.result.cid if r.result else "-",
            "-" if r.review_ends is None else str(r.review_ends),
        )
    return table


def print_receipt(console: Console, receipt: Receipt, token: Token, what: str) -> None:
    console.print(
        f"{what} (fee {token.format(receipt.fee)}, block {receipt.block_hash[:12]}…)",
        highlight=False,
        soft_wrap=True,
    )


def outcome_text(outcome: SendOutcome, block_time_ms: int) -> str:
    if outcome.state == "committed":
        assert outcome.reveal_from is not None and outcome.blocks_to_wait is not None
        eta = format_seconds(outcome.blocks_to_wait * block_time_ms // 1000)
        return (
            f"Committed to result {outcome.result.cid} on task {outcome.task_id}. "
            f"Reveal it from block {outcome.reveal_from} (in about {eta}), before block "
            f"{outcome.reveal_until}: decentralml reveal-result {outcome.task_id}"
        )
    if outcome.already_done:
        return f"Result {outcome.result.cid} is already on task {outcome.task_id}."
    verb = "Revealed" if outcome.submission.value == "sealed" else "Submitted"
    return f"{verb} result {outcome.result.cid} on task {outcome.task_id}."
