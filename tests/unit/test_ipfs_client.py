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


def test_silent_daemon_is_unavailable_not_missing_content() -> None:
    """A socket that accepts connections and never answers (a stopped daemon) is unreachable.

    Even when the request concerns a CID: the liveness check that follows gets no answer
    either, so the content is not blamed.
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)  # the kernel completes handshakes; nobody ever reads
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        client = KuboClient(url, timeout=0.3)
        with pytest.raises(IpfsUnavailable) as info:
            client.version()
        assert "did not answer within 0.3 s" in str(info.value)
        assert info.value.hint and "--timeout" in info.value.hint
        cid = "bafkreifwlup6ktkbqzyjqiki4f622uoaby6xpbidadq7lp6xkhhv6rcu3i"
        with pytest.raises(IpfsUnavailable):
            client.stat(cid)
