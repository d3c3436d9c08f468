"""Signing keys from dev URIs (``//Alice``), secret URIs and mnemonics."""

from __future__ import annotations

from substrateinterface import Keypair, KeypairType

from decentralml.errors import AccountError

SS58_FORMAT = 42


def keypair_from_uri(uri: str, *, ss58_format: int = SS58_FORMAT) -> Keypair:
    """An sr25519 keypair from a dev URI (``//Alice``), a secret URI or a mnemonic.

    Parameters
    ----------
    uri:
        ``//Name`` derivation from the dev phrase, ``<mnemonic>//path``, or a bare mnemonic.
    ss58_format:
        The address format of the chain (42 for the dev chain).

    Raises
    ------
    AccountError
        When the text is neither a valid URI nor a valid mnemonic.
    """
    text = uri.strip()
    if not text:
        raise AccountError("empty account", hint="pass --account //Alice, a mnemonic or a name")
    try:
        if text.startswith("//") or "//" in text or text.startswith("0x"):
            return Keypair.create_from_uri(
                text, ss58_format=ss58_format, crypto_type=KeypairType.SR25519
            )
        return Keypair.create_from_mnemonic(
            text, ss58_format=ss58_format, crypto_type=KeypairType.SR25519
        )
    except (ValueError, TypeError, AttributeError) as exc:
        # The secret itself must never appear in the message.
        raise AccountError(
            "not a valid account URI or mnemonic",
            hint="use a dev URI such as //Alice, or a 12/24-word mnemonic",
        ) from exc
