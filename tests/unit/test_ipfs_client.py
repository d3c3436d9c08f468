"""The Kubo RPC client's address handling and failure modes that need no daemon."""

from __future__ import annotations

import socket

import pytest

from decentralml.errors import IpfsUnavailable, StorageError
from decentralml.storage import KuboClient, normalise_api_url
from decentralml.storage._types import check_cid, normalise_sha256


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("http://127.0.0.1:5001", "http://127.0.0.1:5001"),
        ("http://127.0.0.1:5001/", "http://127.0.0.1:5001"),
        ("http://127.0.0.1:5001/api/v0", "http://127.0.0.1:5001"),
        ("127.0.0.1:5001", "http://127.0.0.1:5001"),
        ("/ip4/127.0.0.1/tcp/5001", "http://127.0.0.1:5001"),
        ("/ip6/::1/tcp/5001", "http://[::1]:5001"),
        ("/dns4/pin.example/tcp/443/https", "https://pin.example:443"),
    ],
)
def test_api_address_forms(given: str, expected: str) -> None:
    assert normalise_api_url(given) == expected


@pytest.mark.parametrize("bad", ["/unix/tmp/api.sock", "ftp://host:21"])
def test_unsupported_api_addresses(bad: str) -> None:
    with pytest.raises(StorageError, match="unsupported IPFS API"):
        normalise_api_url(bad)


def test_credentials_are_never_shown() -> None:
    client = KuboClient("https://alice:s3cret@pin.example:8443")
    assert client.api_url == "https://pin.example:8443"
    assert "s3cret" not in repr(vars(client)).replace(client._auth["Authorization"], "")


def test_closed_port_is_unavailable() -> None:
    """Connection refused becomes IpfsUnavailable with the address and a way out."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    with pytest.raises(IpfsUnavailable) as info:
        KuboClient(url, timeout=5).version()
    assert str(info.value) == f"cannot reach the IPFS daemon at {url} (connection refused)"
    assert info.value.address == url
    assert info.value.hint and "devnet up" in info.value.hint


def test_cid_and_digest_shapes() -> None:
    assert check_cid(" bafkreifwlup6ktkbqzyjqiki4f622uoaby6xpbidadq7lp6xkhhv6rcu3i ")
    assert check_cid("QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG")
    for bad in ("", "bafy", "Qm123", "/ipfs/bafkreifwlup6ktkbqzyjqiki4f622uoaby6xpbidadq7l"):
        with pytest.raises(StorageError, match="not a CID"):
            check_cid(bad)
    assert normalise_sha256("AB" * 32) == "ab" * 32
    with pytest.raises(StorageError, match="not a sha256"):
        normalise_sha256("xyz")
