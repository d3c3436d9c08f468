"""`Marketplace`: the tasks and results of the marketplace, over the chain client and IPFS."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from decentralml.chain.client import PALLET, ChainClient
from decentralml.errors import (
    ExtrinsicFailed,
    MarketplaceError,
    ReadOnlyAccount,
    TransactionRejected,
    UnknownTask,
)
from decentralml.marketplace._bundles import with_files
from decentralml.marketplace._errors import explain, explain_rejected
from decentralml.marketplace._journal import Journal
from decentralml.marketplace._models import (
    ChainEventModel,
    ContentRef,
    Policy,
    Receipt,
    SubmissionMode,
    Task,
    TaskKind,
    TaskResult,
    TaskStatus,
    Token,
    result_from_record,
    stored_ref,
    task_from_record,
)
from decentralml.marketplace._send import ResultSender, SendOutcome, call_ref
from decentralml.marketplace._units import parse_amount, parse_duration
from decentralml.marketplace._validate import ValidationReport, ValidationRun
from decentralml.storage import IpfsStore, PullResult

if TYPE_CHECKING:
    from substrateinterface import Keypair

log = logging.getLogger(__name__)

Duration = int | str


#: The files a result of each kind is expected to have, for a minimal task.json.
EXPECTED_RESULTS = {
    TaskKind.MODEL_CONTRIBUTION: ["weights.npz", "result.json"],
    TaskKind.MODEL_ENGINEERING: ["model.keras", "result.json"],
    TaskKind.DATA_ANNOTATION: ["labels.csv"],
}


def minimal_task_json(kind: TaskKind, title: str, description: str | None) -> bytes:
    """A task.json for a bundle that has none: the kind and what to send back."""
    body: dict[str, Any] = {
        "kind": kind.value,
        "title": title,
        "expected_results": EXPECTED_RESULTS[kind],
    }
    if description:
        body["description"] = description
    return (json.dumps(body, indent=2) + "\n").encode()


class CreatedTask(BaseModel):
    """A task just created: its id, its record and what creating it cost."""

    model_config = ConfigDict(frozen=True)

    task_id: int
    task: Task
    receipt: Receipt


class PublishedModel(BaseModel):
    model_config = ConfigDict(frozen=True)

    task_id: int
    model: ContentRef
    receipt: Receipt


class Marketplace:
    """The marketplace on one chain and one IPFS daemon, acting as `signer` (if any).

    A context manager: leaving the block closes the websocket. Connections open on first use.

    Parameters
    ----------
    url:
        The chain's RPC endpoint (``ws://127.0.0.1:9944`` for the devnet).
    ipfs_api:
        The IPFS daemon's RPC API, for operations that move bundles.
    signer:
        The account that signs transactions; reading needs none.
    ipfs_timeout:
        Seconds to wait for the IPFS daemon and for content.
    """

    def __init__(
        self,
        url: str,
        *,
        ipfs_api: str | None = None,
        signer: Keypair | None = None,
        ipfs_timeout: float = 60.0,
        chain: ChainClient | None = None,
        store: IpfsStore | None = None,
    ) -> None:
        self.url = url
        self.ipfs_api = ipfs_api
        self.signer = signer
        self.ipfs_timeout = ipfs_timeout
        self._chain = chain
        self._store = store
        self._token: Token | None = None
        self._block_time: int | None = None

    def __enter__(self) -> Marketplace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._chain is not None:
            self._chain.close()
            self._chain = None
        if self._store is not None:
            self._store.close()
            self._store = None

    # -- connections and chain facts ---------------------------------------------------------

    @property
    def chain(self) -> ChainClient:
        if self._chain is None:
            self._chain = ChainClient(self.url)
        return self._chain

    @property
    def store(self) -> IpfsStore:
        if self._store is None:
            if self.ipfs_api is None:
                raise MarketplaceError("no IPFS API given", hint="pass --ipfs-api URL")
            self._store = IpfsStore(self.ipfs_api, timeout=self.ipfs_timeout)
        return self._store

    @property
    def address(self) -> str:
        """The signer's SS58 address."""
        if self.signer is None:
            raise ReadOnlyAccount("this needs an account that can sign", hint="pass --account")
        return str(self.signer.ss58_address)

    @property
    def token(self) -> Token:
        if self._token is None:
            info = self.chain.token()
            self._token = Token(symbol=info.symbol, decimals=info.decimals)
        return self._token

    @property
    def block_time_ms(self) -> int:
        """The runtime's ``ExpectedBlockTime``, in milliseconds."""
        if self._block_time is None:
            self._block_time = int(self.chain.constant(PALLET, "ExpectedBlockTime"))
        return self._block_time

    def block_number(self) -> int:
        return self.chain.block_number()

    def constant(self, name: str) -> int:
        """A numeric constant of the pallet, e.g. ``AssignmentBond``."""
        return int(self.chain.constant(PALLET, name))  # cached per runtime version

    def amount(self, text: str | int) -> int:
        """An amount in tokens (``"1.5"``) as planck."""
        token = self.token
        return parse_amount(text, decimals=token.decimals, symbol=token.symbol)

    def blocks(self, text: Duration) -> int:
        """A number of blocks, or a duration (``"2h"``) in blocks at the expected block time."""
        return parse_duration(text, block_time_ms=self.block_time_ms)

    # -- reading -----------------------------------------------------------------------------

    def get_task(self, task_id: int) -> Task:
        """The task `task_id`; `UnknownTask` when there is none."""
        record = self.chain.task(task_id)
        if record is None:
            raise UnknownTask(
                f"there is no task {task_id}",
                task_id=task_id,
                hint="list tasks with `decentralml list-tasks`",
            )
        return task_from_record(record, self.token)

    show_task = get_task

    def list_tasks(
        self,
        *,
        open_only: bool = False,
        kind: TaskKind | str | None = None,
        creator: str | None = None,
        limit: int | None = None,
    ) -> Iterator[Task]:
        """Tasks, newest first, filtered by status, kind and creator, read lazily in batches
        (`ChainClient.list_tasks`): a listing with a limit stops reading once it has enough,
        and memory stays that of one batch however many tasks are streamed."""
        chain_kind = TaskKind(kind).chain_name if kind is not None else None
        token = self.token
        records = self.chain.list_tasks(
            open_only=open_only, kind=chain_kind, creator=creator, limit=limit, newest_first=True
        )
        return (task_from_record(record, token) for record in records)

    def get_assignment(
        self, task_id: int, worker: str, *, task: Task | None = None
    ) -> TaskResult | None:
        """`worker`'s slot on the task, or None when it never took one. `task`, when the
        caller has just read it, saves reading it again (for its review period)."""
        record = self.chain.assignment(task_id, worker)
        if record is None:
            return None
        review_period = (task or self.get_task(task_id)).review_period
        return result_from_record(record, review_period=review_period)

    def list_results(
        self, task_id: int, *, all_slots: bool = False, task: Task | None = None
    ) -> list[TaskResult]:
        """The task's results (committed, submitted, paid, rejected), or every slot. `task`,
        when the caller has just read it, saves reading it again."""
        task = task or self.get_task(task_id)
        results = [
            result_from_record(record, review_period=task.review_period)
            for record in self.chain.assignments(task_id)
        ]
        if not all_slots:
            results = [r for r in results if r.state.value not in ("assigned", "released")]
        return sorted(results, key=lambda r: (r.at is None, r.at or 0, r.worker))

    list_task_results = list_results

    def pull_task_bundle(self, task_id: int, dest: str | os.PathLike[str]) -> PullResult:
        """Fetch the task's bundle, verify it against the chain's record, unpack it in `dest`."""
        task = self.get_task(task_id)
        ref = task.bundle
        return self.store.pull(ref.cid, dest, sha256=ref.sha256, size=ref.size)

    # -- writing -----------------------------------------------------------------------------

    def call(self, call: str, params: dict[str, Any], *, task_id: int | None) -> Receipt:
        """Sign and submit a marketplace call; plain-sentence errors; a `Receipt`."""
        return self._submit(PALLET, call, params, task_id=task_id)

    def batch(self, calls: list[tuple[str, dict[str, Any]]], *, task_id: int | None) -> Receipt:
        """Marketplace calls in one ``Utility.batch_all``: all included, or none (the first
        refusal fails the whole batch, as `MarketplaceError`)."""
        inner = [
            {"call_module": PALLET, "call_function": call, "call_args": params}
            for call, params in calls
        ]
        return self._submit("Utility", "batch_all", {"calls": inner}, task_id=task_id)

    def _submit(
        self, pallet: str, call: str, params: dict[str, Any], *, task_id: int | None
    ) -> Receipt:
        signer = self.signer
        if signer is None:
            raise ReadOnlyAccount("this needs an account that can sign", hint="pass --account")
        try:
            raw = self.chain.submit(signer, pallet, call, params)
        except ExtrinsicFailed as exc:
            raise explain(exc, task_id) from exc
        except TransactionRejected as exc:
            raise explain_rejected(exc) from exc
        paid = [
            int(e.attributes["actual_fee"])
            for e in raw.find("TransactionPayment", "TransactionFeePaid")
            if e.attributes.get("who") == signer.ss58_address
        ]
        return Receipt(
            call=call,
            extrinsic_hash=raw.extrinsic_hash,
            block_hash=raw.block_hash,
            fee=sum(paid) if paid else raw.fee,
            events=[
                ChainEventModel(pallet=e.pallet, name=e.name, attributes=dict(e.attributes))
                for e in raw.events
            ],
        )

    def create_task(
        self,
        assets: str | os.PathLike[str],
        *,
        kind: TaskKind | str,
        reward: str | int,
        slots: int,
        deadline: Duration,
        policy: Policy | str = Policy.MANUAL,
        submission: SubmissionMode | str | None = None,
        review_period: Duration = "1d",
        work_period: Duration = "1d",
        reveal_period: Duration = "1d",
        validator: str | None = None,
        title: str | None = None,
        description: str | None = None,
    ) -> CreatedTask:
        """Push the task bundle `assets` and post the task, holding `reward * slots`.

        A directory without ``task.json`` is sent with a minimal one (kind, title, the files
        a result is expected to have); the directory itself is not changed.

        `reward` is in tokens; `deadline` in blocks from now or a duration; the periods are
        blocks or durations. An auto-accept task is sealed; others are plain unless asked.
        """
        kind, policy = TaskKind(kind), Policy(policy)
        mode = SubmissionMode(submission) if submission is not None else None
        if mode is None:
            mode = SubmissionMode.SEALED if policy is Policy.AUTO else SubmissionMode.PLAIN
        if policy is Policy.AUTO and mode is SubmissionMode.PLAIN:
            raise MarketplaceError("an auto-accept task must take sealed submissions")
        metadata = {"title": title or Path(assets).resolve().name, "kind": kind.value}
        if description:
            metadata["description"] = description
        params: dict[str, Any] = {
            "kind": kind.chain_name,
            "policy": policy.chain_name,
            "submission": "Plain"
            if mode is SubmissionMode.PLAIN
            else {"Sealed": {"reveal_period": self.blocks(reveal_period)}},
            "metadata": "0x" + json.dumps(metadata, separators=(",", ":")).encode().hex(),
            "reward": self.amount(reward),
            "slots": slots,
            "review_period": self.blocks(review_period),
            "work_period": self.blocks(work_period),
            "validator": validator,
        }
        deadline_blocks = self.blocks(deadline)
        deposit = self.constant("TaskDepositBase") + self.constant("TaskDepositPerByte") * (
            len(params["metadata"]) // 2 - 1
        )
        self._check_funds(params["reward"] * slots + deposit, "the rewards and the deposit")
        source = Path(assets)
        if (source / "task.json").is_file():
            bundle = self.store.push(source)
        else:
            manifest = minimal_task_json(kind, metadata["title"], description)
            with with_files(source, {"task.json": manifest}) as staged:
                bundle = self.store.push(staged)
        params["bundle"] = call_ref(stored_ref(bundle))
        params["deadline"] = self.block_number() + deadline_blocks
        receipt = self.call("create_task", params, task_id=None)
        (created,) = receipt.find(PALLET, "TaskCreated")
        task_id = int(created.attributes["task_id"])
        return CreatedTask(task_id=task_id, task=self.get_task(task_id), receipt=receipt)

    def assign_task(self, task_id: int) -> Receipt:
        """Take a slot on the task (holds the assignment bond)."""
        task = self.get_task(task_id)
        self._check_open(task)
        if self.block_number() + 1 >= task.deadline:
            raise MarketplaceError(f"the deadline of task {task_id} has passed", task_id=task_id)
        if task.free_slots == 0:
            raise MarketplaceError(f"task {task_id} has no free slot", task_id=task_id)
        if self.address in (task.creator, task.validator):
            raise MarketplaceError(
                f"the creator and the validator of task {task_id} cannot take it", task_id=task_id
            )
        self._check_funds(self.constant("AssignmentBond"), "the assignment bond")
        return self.call("assign_task", {"task_id": task_id}, task_id=task_id)

    def send_result(
        self,
        task_id: int,
        directory: str | os.PathLike[str],
        *,
        restart: bool = False,
        journal_root: Path | None = None,
    ) -> SendOutcome:
        """Send the result in `directory`, resuming from the journal; never waits for blocks.

        Plain tasks: publish and submit. Sealed: before the deadline, commit (the outcome's
        state is ``"committed"`` and says from which block to reveal); from the deadline,
        publish and reveal.
        """
        journal = Journal.open(task_id, self.address, root=journal_root)
        sender = ResultSender(self, self.store, journal, worker=self.address)
        return sender.run(task_id, Path(directory), restart=restart)

    send_task_result = send_result

    def reveal_result(self, task_id: int, *, journal_root: Path | None = None) -> SendOutcome:
        """Reveal a committed result from the journal (from the task's deadline)."""
        journal = Journal.open(task_id, self.address, root=journal_root)
        sender = ResultSender(self, self.store, journal, worker=self.address)
        return sender.run(task_id, None)

    def accept_result(self, task_id: int, worker: str) -> Receipt:
        """Accept `worker`'s result and pay it the reward."""
        self._check_reviewer(self.get_task(task_id))
        return self.call("accept_result", {"task_id": task_id, "worker": worker}, task_id=task_id)

    accept_task_result = accept_result

    def reject_result(self, task_id: int, worker: str, reason: str) -> Receipt:
        """Reject `worker`'s result with `reason`; the slot is freed for someone else."""
        self._check_reviewer(self.get_task(task_id))
        params = {"task_id": task_id, "worker": worker, "reason": "0x" + reason.encode().hex()}
        return self.call("reject_result", params, task_id=task_id)

    reject_task_result = reject_result

    def cancel_task(self, task_id: int) -> Receipt:
        self._check_reviewer(self.get_task(task_id), creator_only=True)
        return self._task_call("cancel_task", task_id)

    def close_task(self, task_id: int) -> Receipt:
        return self._task_call("close_task", task_id)

    def claim_reward(self, task_id: int) -> Receipt:
        return self._task_call("claim_reward", task_id)

    def remove_task(self, task_id: int) -> Receipt:
        return self._task_call("remove_task", task_id)

    def release_assignment(self, task_id: int, worker: str) -> Receipt:
        params = {"task_id": task_id, "worker": worker}
        return self.call("release_assignment", params, task_id=task_id)

    def set_validator(self, task_id: int, validator: str | None) -> Receipt:
        self._check_reviewer(self.get_task(task_id), creator_only=True)
        params = {"task_id": task_id, "validator": validator}
        return self.call("set_validator", params, task_id=task_id)

    def validate_results(
        self, task_id: int, *, workspace: str | os.PathLike[str], **options: Any
    ) -> ValidationReport:
        """Evaluate the task's results on the creator's holdout, decide who is paid under the
        policy, federate the results that pass the quality floor, and publish the new model.

        `workspace` is the creator's workspace (``build_model``, ``load_holdout``,
        ``evaluate``). Options, as `ValidationRun` takes them: `policy` (default: the task's),
        `policy_fn` (``module:function`` or ``file.py:function`` for custom), `aggregator`
        (fedavg, median, trimmed-mean, krum), `weighting` (uniform, declared), `cap`,
        `batch_size`, `accepts` (workers), `rejects` ({worker: reason}), `min_improvement`
        (share of accuracy, default 0.01), `out` (report directory), `ask` (a callback for
        manual decisions), `publish`.
        """
        return ValidationRun(self, task_id, workspace=workspace, **options).run()

    validate_task_results = validate_results

    def pull_model(
        self, task_id: int, dest: str | os.PathLike[str], *, force: bool = False
    ) -> PullResult:
        """Fetch the task's published model, verify it against the chain, unpack it in `dest`."""
        task = self.get_task(task_id)
        if task.model is None:
            raise MarketplaceError(
                f"task {task_id} has no published model yet",
                task_id=task_id,
                hint=f"the creator or validator publishes one with `validate-results {task_id}`",
            )
        ref = task.model
        return self.store.pull(ref.cid, dest, sha256=ref.sha256, size=ref.size, force=force)

    def publish_model(self, task_id: int, directory: str | os.PathLike[str]) -> PublishedModel:
        """Push the federated model's bundle and record it for the task."""
        self.get_task(task_id)
        ref = stored_ref(self.store.push(directory))
        receipt = self.call(
            "publish_model", {"task_id": task_id, "model": call_ref(ref)}, task_id=task_id
        )
        return PublishedModel(task_id=task_id, model=ref, receipt=receipt)

    def _task_call(self, call: str, task_id: int) -> Receipt:
        self.get_task(task_id)
        return self.call(call, {"task_id": task_id}, task_id=task_id)

    def _check_reviewer(self, task: Task, *, creator_only: bool = False) -> None:
        allowed = {task.creator} if creator_only else {task.creator, task.validator}
        if self.address not in allowed:
            who = "creator" if creator_only else "creator or validator"
            raise MarketplaceError(
                f"not your task: only the {who} of task {task.task_id} may do this",
                task_id=task.task_id,
            )

    def _check_funds(self, needed: int, what: str) -> None:
        balance = self.chain.account_balance(self.address)
        if balance.transferable < needed:
            token = self.token
            raise MarketplaceError(
                f"insufficient balance: {what} need {token.format(needed)}, and the account "
                f"has {token.format(balance.transferable)} it can use",
                hint="fund the account, or lower the reward or the slots",
            )

    @staticmethod
    def _check_open(task: Task) -> None:
        if task.status is not TaskStatus.OPEN:
            raise MarketplaceError(
                f"task {task.task_id} is {task.status.value}", task_id=task.task_id
            )
