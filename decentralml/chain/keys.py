"""Signing keys from dev URIs (``//Alice``), secret URIs and mnemonics.

The parsing lives in `decentralml.accounts`, which reads URIs as polkadot.js does; this
module keeps the name the chain layer has always exported.
"""

from __future__ import annotations

from decentralml.accounts import keypair_from_uri

SS58_FORMAT = 42

__all__ = ["SS58_FORMAT", "keypair_from_uri"]
