"""`decentralml devnet`: start, stop, inspect and advance the local dev network."""

from __future__ import annotations

from typing import Any

import click
from rich.console import Console
from rich.table import Table

from decentralml.cli.context import EXIT_UNAVAILABLE, AppContext, common_options
from decentralml.config import (
    DEFAULT_IPFS_API_PORT,
    DEFAULT_IPFS_GATEWAY_PORT,
    DEFAULT_RPC_PORT,
    DEVNET_ENGINES,
)
from decentralml.devnet import network
from decentralml.devnet._metadata import PALLET
from decentralml.devnet._state import ENGINE_OMNI_NODE, ChainRecord
from decentralml.errors import DevnetError

_PORT = click.IntRange(1, 65535)


@click.group()
def devnet() -> None:
    """Run a local dev chain (Chopsticks or polkadot-omni-node) and IPFS daemon (Kubo) on
    127.0.0.1.

    The chain runs the decentralml runtime shipped in this package, builds a block whenever a
    transaction arrives, and keeps its state between `down` and `up`.
    """


@devnet.command(short_help="Start the devnet (resumes its saved state).")
@click.option(
    "--port", type=_PORT, default=DEFAULT_RPC_PORT, show_default=True, help="Chain RPC port."
)
@click.option(
    "--ipfs-port",
    type=_PORT,
    default=DEFAULT_IPFS_API_PORT,
    show_default=True,
    help="IPFS (Kubo) RPC API port.",
)
@click.option(
    "--ipfs-gateway-port",
    type=_PORT,
    default=DEFAULT_IPFS_GATEWAY_PORT,
    show_default=True,
    help="IPFS (Kubo) gateway port.",
)
@click.option("--fresh", is_flag=True, help="Discard the saved chain and IPFS state; start over.")
@click.option("--no-ipfs", is_flag=True, help="Start the chain only.")
@click.option(
    "--engine",
    type=click.Choice(DEVNET_ENGINES),
    default=None,
    help="What runs the chain: chopsticks (default) or omni-node, a real Substrate node "
    "(scripts/install-omni-node). Also DECENTRALML_DEVNET_ENGINE or devnet_engine in the "
    "config file.",
)
@click.option(
    "--block-time",
    type=click.IntRange(min=100),
    default=None,
    metavar="MS",
    help="omni-node only: make (and finalize) a block every MS milliseconds instead of one "
    "per transaction.",
)
@common_options
def up(
    app: AppContext,
    port: int,
    ipfs_port: int,
    ipfs_gateway_port: int,
    fresh: bool,
    no_ipfs: bool,
    engine: str | None,
    block_time: int | None,
) -> None:
    """Start the devnet, resuming its saved state (installs Chopsticks on first use)."""
    try:
        result = network.up(
            port=port,
            ipfs=not no_ipfs,
            ipfs_api_port=ipfs_port,
            ipfs_gateway_port=ipfs_gateway_port,
            fresh=fresh,
            log=app.info,
            engine=engine or app.settings.devnet_engine,
            block_time_ms=block_time,
        )
    except KeyboardInterrupt as exc:
        # `up` has stopped whatever it had started by the time the interrupt gets here.
        why = str(exc) or "Ctrl-C"
        raise DevnetError(
            f"`devnet up` was interrupted ({why}); nothing it started is left running",
            hint="run `decentralml devnet up` again",
        ) from None
    state = result.state
    ipfs = state.ipfs
    payload: dict[str, Any] = {
        "status": "already-running" if result.already_running else "started",
        "resumed": result.resumed,
        "engine": _engine_payload(state.chain),
        "url": state.chain.url,
        "port": state.chain.port,
        "pid": state.chain.pid,
        "height": result.height,
        "ipfs": None
        if ipfs is None
        else {"pid": ipfs.pid, "api_url": ipfs.api_url, "gateway_url": ipfs.gateway_url},
        "data_dir": str(result.paths.root),
        "db": state.chain.db,
        "log": state.chain.log,
        "seconds": round(result.seconds, 2),
    }

    def render(console: Console) -> None:
        console.soft_wrap = True  # keep URLs and paths on one line
        if result.already_running:
            console.print(f"The devnet is already running at [bold]{state.chain.url}[/].")
        else:
            how = "resumed at" if result.resumed else "started from genesis,"
            console.print(
                f"Devnet {how} block #{result.height} on {_engine_text(state.chain)}: chain RPC "
                f"[bold]{state.chain.url}[/] (pid {state.chain.pid}, {result.seconds:.1f} s)."
            )
        if ipfs is not None:
            console.print(f"IPFS API [bold]{ipfs.api_url}[/], gateway {ipfs.gateway_url}.")
        console.print(f"State in {result.paths.root}; chain log {state.chain.log}.")
        if state.chain.port != DEFAULT_RPC_PORT:
            console.print(f"Other commands need [bold]--url {state.chain.url}[/].")

    app.emit("decentralml.devnet.up/v1", payload, render)


@devnet.command(short_help="Stop the devnet; its state is kept.")
@common_options
def down(app: AppContext) -> None:
    """Stop the devnet that `up` started; its state is kept for the next `up`."""
    result = network.down(log=app.info)
    payload = {
        "was_running": result.was_running,
        "chain_stopped": result.chain_stopped,
        "ipfs_stopped": result.ipfs_stopped,
        "db": str(result.db),
        "chain_had_stopped": result.chain_had_stopped,
        "unrecorded_stopped": list(result.unrecorded_stopped),
    }

    def render(console: Console) -> None:
        console.soft_wrap = True
        if result.chain_had_stopped:
            console.print("The devnet's chain had already stopped (it crashed or was killed).")
        if result.unrecorded_stopped:
            pids = ", ".join(str(pid) for pid in result.unrecorded_stopped)
            console.print(f"Stopped devnet processes that ran without a record (pid {pids}).")
        if not result.was_running and not result.ipfs_stopped:
            if not result.chain_had_stopped:
                console.print("The devnet is not running.")
            return
        stopped = ["chain"] if result.chain_stopped else []
        stopped += ["IPFS"] if result.ipfs_stopped else []
        console.print(f"Stopped the devnet ({' and '.join(stopped)}); state kept in {result.db}.")

    app.emit("decentralml.devnet.down/v1", payload, render)


@devnet.command(short_help="Show the chain, block height, pallet and IPFS.")
@common_options
def status(app: AppContext) -> None:
    """Show whether the devnet runs, its chain, block height and the marketplace pallet.

    Exits with 3 unless everything `up` started runs and answers (the status is still
    printed): when it is stopped, crashed, starting or stopping, or its IPFS daemon is down.
    """
    result = network.status()
    payload = _status_payload(result)

    def render(console: Console) -> None:
        console.soft_wrap = True
        if result.problem is not None:
            console.print(f"[bold red]{result.problem}[/]", highlight=False)
            if result.hint:
                console.print(f"[dim]Hint:[/] {result.hint}", highlight=False)
        if not result.running:
            if result.condition == "stopped":
                console.print("The devnet is not running. Start it with `decentralml devnet up`.")
            return
        table = Table(show_header=False, box=None, pad_edge=False)
        table.add_column(style="dim")
        table.add_column()
        for label, value in _status_rows(payload):
            table.add_row(label, value)
        console.print(table)

    app.emit("decentralml.devnet.status/v1", payload, render)
    if not result.healthy:
        # Like `systemctl status`: scripts can test the exit code (3: the service is down).
        click.get_current_context().exit(EXIT_UNAVAILABLE)


def _engine_payload(chain: ChainRecord) -> dict[str, Any]:
    return {
        "name": chain.engine,
        "binary": chain.binary,
        "version": chain.version,
        "block_time_ms": chain.block_time_ms,
    }


def _engine_text(chain: ChainRecord) -> str:
    if chain.engine != ENGINE_OMNI_NODE:
        return chain.engine
    seal = (
        "a block per transaction"
        if chain.block_time_ms is None
        else f"a block every {chain.block_time_ms} ms"
    )
    return f"omni-node {chain.version} ({seal})"


def _status_payload(result: network.DevnetStatus) -> dict[str, Any]:
    state, info = result.state, result.info
    calls = info.pallets.get(PALLET, []) if info is not None else []
    return {
        "running": result.running,
        "state": result.condition,
        "problem": result.problem,
        "hint": result.hint,
        "url": state.chain.url if state else None,
        "pid": state.chain.pid if state else None,
        "started_at": state.started_at if state else None,
        "engine": _engine_payload(state.chain) if state else None,
        "chain": info.chain if info else None,
        "height": info.height if info else None,
        "best_hash": info.best_hash if info else None,
        "runtime": {"spec_name": info.spec_name, "spec_version": info.spec_version}
        if info
        else None,
        "pallet": {"name": PALLET, "present": bool(info and info.pallet_present), "calls": calls},
        "ipfs": {
            "running": result.ipfs.running,
            "pid": result.ipfs.pid,
            "api_url": result.ipfs.api_url,
            "gateway_url": result.ipfs.gateway_url,
        },
        "data_dir": str(result.paths.root),
        "db": state.chain.db if state else str(result.paths.db),
        "log": state.chain.log if state else str(result.paths.chopsticks_log),
    }


def _status_rows(payload: dict[str, Any]) -> list[tuple[str, str]]:
    pallet = payload["pallet"]
    runtime = payload["runtime"] or {}
    ipfs = payload["ipfs"]
    engine = payload["engine"] or {}
    engine_text = str(engine.get("name"))
    if engine.get("binary"):
        engine_text += f" {engine.get('version')} ({engine['binary']})"
    return [
        ("chain", f"{payload['chain']} at {payload['url']} (pid {payload['pid']})"),
        ("engine", engine_text),
        ("height", f"#{payload['height']} {payload['best_hash']}"),
        ("runtime", f"{runtime.get('spec_name')} v{runtime.get('spec_version')}"),
        (
            "pallet",
            f"{pallet['name']}: {len(pallet['calls'])} calls"
            if pallet["present"]
            else f"{pallet['name']}: [red]missing[/]",
        ),
        (
            "ipfs",
            f"{ipfs['api_url']} (pid {ipfs['pid']})"
            if ipfs["running"]
            else ("not started" if ipfs["pid"] is None else "[red]not answering[/]"),
        ),
        ("state", payload["db"]),
        ("log", payload["log"]),
    ]


@devnet.command(short_help="Produce N empty blocks (or jump N blocks ahead).")
@click.argument("blocks", type=click.IntRange(min=1), metavar="N")
@click.option(
    "--jump",
    is_flag=True,
    help="Build one block at the current height + N instead of N blocks: for periods of "
    "days or weeks, which would take hours to build block by block.",
)
@common_options
def advance(app: AppContext, blocks: int, jump: bool) -> None:
    """Produce N empty blocks (deadlines pass only as blocks are made).

    With --jump, build a single block N heights ahead: the chain's block number leaps by N at
    once, and the heights in between have no block.

    The chain is the devnet this machine runs, or, when --url (DECENTRALML_URL, the config
    file) names one, the dev chain there: a devnet container, for example.
    """
    url = app.settings.url if "url" in app.settings.sources else None
    result = network.advance(blocks, jump=jump, url=url)
    payload = {
        "url": result.url,
        "count": result.count,
        "from_height": result.from_height,
        "to_height": result.to_height,
        "best_hash": result.best_hash,
        "jumped": result.jumped,
    }

    def render(console: Console) -> None:
        if result.jumped:
            console.print(
                f"Jumped {result.count} block(s) ahead in one block: "
                f"#{result.from_height} -> #{result.to_height}."
            )
            return
        console.print(
            f"Advanced {result.count} block(s): #{result.from_height} -> #{result.to_height}."
        )

    app.emit("decentralml.devnet.advance/v1", payload, render)
