"""Talking to the chain: connection, signing, submission, events and error mapping."""

from decentralml.chain.client import AccountBalance, ChainClient, ChainEvent, Receipt, TokenInfo
from decentralml.chain.keys import keypair_from_uri

__all__ = [
    "AccountBalance",
    "ChainClient",
    "ChainEvent",
    "Receipt",
    "TokenInfo",
    "keypair_from_uri",
]
