"""Chain client pieces that need no chain: keys and exception translation."""

from __future__ import annotations

import socket

import pytest
from substrateinterface.exceptions import StorageFunctionNotFound, SubstrateRequestException

from decentralml.chain import ChainClient, keypair_from_uri
from decentralml.chain._errors import translate
from decentralml.errors import (
    AccountError,
    ChainError,
    ChainUnavailable,
    TransactionRejected,
)


def test_dev_uri_gives_the_well_known_address() -> None:
    assert keypair_from_uri("//Alice").ss58_address == (
        "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
    )


def test_mnemonic_gives_a_keypair() -> None:
    phrase = "bottom drive obey lake curtain smoke basket hold race lonely fit walk"
    # //Alice is the dev phrase with the //Alice derivation; the bare phrase is another key.
    assert (
        keypair_from_uri(phrase + "//Alice").ss58_address
        == keypair_from_uri("//Alice").ss58_address
    )
    assert keypair_from_uri(phrase).ss58_address != keypair_from_uri("//Alice").ss58_address


@pytest.mark.parametrize("bad", ["", "   ", "not a mnemonic at all", "//"])
def test_bad_account_is_an_account_error_without_the_secret(bad: str) -> None:
    with pytest.raises(AccountError) as err:
        keypair_from_uri(bad)
    if bad.strip():
        assert bad not in err.value.message


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_chain_names_the_address() -> None:
    url = f"ws://127.0.0.1:{closed_port()}"
    with pytest.raises(ChainUnavailable) as err:
        ChainClient(url)
    assert err.value.address == url
    assert url in err.value.message
    assert "devnet up" in (err.value.hint or "")


def test_invalid_transaction_is_a_rejection() -> None:
    with (
        pytest.raises(TransactionRejected, match="Inability to pay some fees"),
        translate("ws://x"),
    ):
        raise SubstrateRequestException(
            {"code": 1010, "message": "Invalid Transaction", "data": "Inability to pay some fees"}
        )


def test_other_rpc_errors_are_chain_errors() -> None:
    with pytest.raises(ChainError, match="boom"), translate("ws://x"):
        raise SubstrateRequestException({"code": -32000, "message": "boom"})


def test_missing_storage_says_the_chain_is_not_ours() -> None:
    with (
        pytest.raises(ChainError, match="does not look like a decentralml chain"),
        translate("ws://x"),
    ):
        raise StorageFunctionNotFound("Decentralml.Tasks")
