"""The one interface through which the devnet's orchestration (`network`) runs a chain.

Each chain engine is one module with one `ChainEngine` object: `chopsticks.ENGINE` and
`omni_node.ENGINE`. `network` and the state record use only what is here, so another engine
adds a module and a line in `chain_engine`, not branches through the orchestration.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from decentralml.devnet._state import ENGINES, ChainRecord, DevnetPaths
from decentralml.errors import DevnetError

Log = Callable[[str], None]


@dataclass(frozen=True)
class StartedChain:
    """A chain an engine has started: its record, and what `up` reports and keeps."""

    record: ChainRecord
    resumed: bool
    height: int
    # What the engine needs in ``chain.meta.json`` to open its state again.
    meta: dict[str, Any]


class ChainEngine(Protocol):
    """What the orchestration asks of a chain engine."""

    @property
    def name(self) -> str:
        """The engine's name in flags, settings and records (``chopsticks``)."""
        ...

    @property
    def marker(self) -> str:
        """A word in its processes' command lines: how they are found by their directory
        when no record names them."""
        ...

    def state_path(self, paths: DevnetPaths) -> Path:
        """Where it keeps the chain's state (a file or a directory)."""
        ...

    def log_path(self, paths: DevnetPaths) -> Path: ...

    def label(self, block_time_ms: int | None) -> str:
        """How messages name it, with the way it makes blocks."""
        ...

    def check_options(self, block_time_ms: int | None) -> None:
        """Refuse, with a `DevnetError`, options this engine does not take."""
        ...

    def check_installed(self) -> None:
        """Refuse (`EngineUnavailable`) when it cannot run and will not install itself."""
        ...

    def has_state(self, paths: DevnetPaths) -> bool:
        """Whether `paths` holds a chain state of this engine."""
        ...

    def state_from_other_spec(self, paths: DevnetPaths, spec: Path) -> bool:
        """Whether its state was made from another chain spec than `spec`, judged from the
        state itself (asked only when ``chain.meta.json`` does not record it)."""
        ...

    def reset(self, paths: DevnetPaths) -> None:
        """Discard its chain state."""
        ...

    def start(
        self,
        paths: DevnetPaths,
        *,
        spec: Path,
        spec_sha: str,
        port: int,
        block_time_ms: int | None,
        timeout: float,
        log: Log,
    ) -> StartedChain:
        """Start the chain from `spec`, resuming its state if there is one, and wait until
        its RPC answers at `port`. Stops what it started if anything fails or interrupts it."""
        ...

    def is_alive(self, record: ChainRecord) -> bool:
        """Whether the recorded process is still the one that was started."""
        ...

    def stop(self, record: ChainRecord, *, timeout: float) -> bool:
        """Stop it so that its state is kept; True if it was running and stopped."""
        ...

    def make_blocks(self, record: ChainRecord, count: int, *, jump: bool) -> None:
        """Make `count` blocks (with `jump`, one block `count` heights ahead)."""
        ...


def chain_engine(name: str) -> ChainEngine:
    """The engine called `name` (one of `ENGINES`)."""
    # Imported here: the engines' modules import this one.
    from decentralml.devnet import chopsticks, omni_node

    engines: dict[str, ChainEngine] = {
        engine.name: engine for engine in (chopsticks.ENGINE, omni_node.ENGINE)
    }
    try:
        return engines[name]
    except KeyError:
        # A devnet.json written by another version of decentralml, or edited by hand.
        raise DevnetError(
            f"the devnet record names an unknown chain engine {name!r}",
            hint=f"this version knows {', '.join(engines)}: delete devnet.json in the devnet "
            "directory, then `decentralml devnet down` stops what runs there",
        ) from None


def all_engines() -> list[ChainEngine]:
    return [chain_engine(name) for name in ENGINES]
