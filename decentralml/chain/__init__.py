"""Talking to the chain: connection, signing, submission, events and error mapping."""

from decentralml.chain.client import ChainClient, ChainEvent, Receipt
from decentralml.chain.keys import keypair_from_uri

__all__ = ["ChainClient", "ChainEvent", "Receipt", "keypair_from_uri"]
