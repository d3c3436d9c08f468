"""Read what the dev chain reports about itself: name, height, runtime and its pallets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from decentralml.devnet._rpc import rpc_call
from decentralml.errors import DevnetError

PALLET = "Decentralml"


@dataclass(frozen=True)
class ChainInfo:
    """A snapshot of a running chain."""

    chain: str
    height: int
    best_hash: str
    spec_name: str
    spec_version: int
    pallets: dict[str, list[str]]

    @property
    def pallet_present(self) -> bool:
        return PALLET in self.pallets


def block_height(url: str) -> tuple[int, str]:
    """The best block's number and hash."""
    block_hash = rpc_call(url, "chain_getBlockHash")
    header = rpc_call(url, "chain_getHeader", [block_hash])
    return int(header["number"], 16), str(block_hash)


def pallet_calls(metadata_hex: str) -> dict[str, list[str]]:
    """Pallet names mapped to their call names, decoded from SCALE metadata (V14 or later)."""
    from scalecodec.base import RuntimeConfigurationObject, ScaleBytes
    from scalecodec.type_registry import load_type_registry_preset

    config = RuntimeConfigurationObject()
    config.update_type_registry(load_type_registry_preset("core"))
    metadata: Any = config.create_scale_object("MetadataVersioned", data=ScaleBytes(metadata_hex))
    try:
        metadata.decode()
        config.add_portable_registry(metadata)
        result: dict[str, list[str]] = {}
        for pallet in metadata.pallets:
            calls = pallet.calls or []
            result[str(pallet.name)] = [str(call.name) for call in calls]
    except Exception as exc:  # scalecodec raises many unrelated types on bad input
        raise DevnetError(f"cannot decode the runtime metadata: {exc}") from exc
    return result


def chain_info(url: str) -> ChainInfo:
    """Name, height, runtime version and pallets of the chain at `url`."""
    name = rpc_call(url, "system_chain")
    height, best_hash = block_height(url)
    version = rpc_call(url, "state_getRuntimeVersion")
    pallets = pallet_calls(rpc_call(url, "state_getMetadata", timeout=60.0))
    return ChainInfo(
        chain=str(name),
        height=height,
        best_hash=best_hash,
        spec_name=str(version.get("specName", "")),
        spec_version=int(version.get("specVersion", 0)),
        pallets=pallets,
    )
