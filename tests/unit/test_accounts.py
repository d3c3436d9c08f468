"""Named keystores, secret URIs, password sources and ``--account`` resolution."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

import decentralml.accounts
from decentralml.accounts import (
    DEV_KEY_WARNING,
    AccountKind,
    Keystore,
    PasswordSource,
    _format,
    _store,
    classify,
    import_json,
    import_uri,
    keypair_from_uri,
    new_account,
    resolve_address,
    resolve_signer,
)
from decentralml.errors import (
    AccountError,
    KeystoreExists,
    KeystoreNotFound,
    PasswordRequired,
    ReadOnlyAccount,
    WrongPassword,
)
from tests.unit.test_keystore_format import (
    DATA,
    FAST_SCRYPT,
    VECTOR_ADDRESS,
    VECTOR_PASSWORD,
)

ALICE = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
BOB = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"
MNEMONIC = "legal winner thank year wave sausage worth useful legal winner thank yellow"


@pytest.fixture(autouse=True)
def fast_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_format, "SCRYPT_PARAMS", FAST_SCRYPT)


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Keystore:
    monkeypatch.setenv("DECENTRALML_DATA_DIR", str(tmp_path / "data"))
    return Keystore()


def pw(password: str = "pw") -> PasswordSource:
    return PasswordSource(value=password)


def test_public_surface_is_pinned() -> None:
    assert set(decentralml.accounts.__all__) == {
        "DEV_KEY_WARNING", "DEV_PHRASE", "PASSWORD_ENV", "PASSWORD_FILE_ENV", "AccountEntry",
        "AccountKind", "ImportedAccount", "Keystore", "NewAccount", "PasswordSource",
        "classify", "generate_mnemonic", "import_json", "import_uri", "keypair_from_uri",
        "keystore_dir", "new_account", "read_password_file", "resolve_address",
        "resolve_signer",
    }  # fmt: skip


# -- where and how files are written -----------------------------------------------------


def test_keystores_live_in_the_data_directory(store: Keystore, tmp_path: Path) -> None:
    assert store.directory == tmp_path / "data" / "accounts"


def test_file_is_0600_and_directory_0700(store: Keystore) -> None:
    # Prepare: a permissive umask, as on many desktops
    old = os.umask(0o022)
    try:
        entry = import_uri("alice", "//Alice", pw(), keystore=store)
    finally:
        os.umask(old)
    assert stat.S_IMODE(entry.entry.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.directory.stat().st_mode) == 0o700
    assert [p.name for p in store.directory.iterdir()] == ["alice.json"]


def test_write_is_atomic(store: Keystore, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure before the file is complete leaves neither a file nor a temporary."""
    import_uri("alice", "//Alice", pw(), keystore=store)
    before = store.path("alice").read_bytes()

    def fail(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_store.os, "fsync", fail)
    with pytest.raises(OSError, match="No space"):
        import_uri("bob", "//Bob", pw(), keystore=store)
    with pytest.raises(OSError, match="No space"):
        import_uri("alice", "//Bob", pw(), keystore=store, force=True)
    assert sorted(p.name for p in store.directory.iterdir()) == ["alice.json"]
    assert store.path("alice").read_bytes() == before


def test_file_appears_complete(store: Keystore, monkeypatch: pytest.MonkeyPatch) -> None:
    """The name is given to a fully written, private temporary file (link, then unlink)."""
    seen: list[tuple[int, dict[str, object]]] = []
    real_link = os.link

    def spy(src: str, dst: str) -> None:
        seen.append((stat.S_IMODE(os.stat(src).st_mode), json.loads(Path(src).read_text())))
        real_link(src, dst)

    monkeypatch.setattr(_store.os, "link", spy)
    import_uri("alice", "//Alice", pw(), keystore=store)
    assert seen and seen[0][0] == 0o600 and seen[0][1]["address"] == ALICE


def test_existing_name_is_kept_unless_force(store: Keystore) -> None:
    import_uri("main", "//Alice", pw(), keystore=store)
    with pytest.raises(KeystoreExists) as err:
        import_uri("main", "//Bob", pw(), keystore=store)
    assert err.value.hint and "--force" in err.value.hint
    assert store.entry("main").address == ALICE
    import_uri("main", "//Bob", pw(), keystore=store, force=True)
    assert store.entry("main").address == BOB


def test_existing_name_refused_before_asking_a_password(store: Keystore) -> None:
    import_uri("main", "//Alice", pw(), keystore=store)
    asked: list[str] = []
    source = PasswordSource(env=None, file_env=None, prompt=lambda q, c: asked.append(q) or "x")
    with pytest.raises(KeystoreExists):
        new_account("main", source, keystore=store)
    assert asked == []


@pytest.mark.parametrize(
    "name",
    ["", "../x", "a/b", "a\\b", ".hidden", "-x", "a b", "x" * 65, "é", "a:b", ALICE,
     "legal winner thank"],
)  # fmt: skip
def test_invalid_names_are_refused_without_echo(store: Keystore, name: str) -> None:
    with pytest.raises(AccountError) as err:
        import_uri(name, "//Alice", pw(), keystore=store)
    assert "invalid account name" in err.value.message
    if name:
        assert name not in err.value.message
    assert not store.directory.exists()


@pytest.mark.parametrize("name", ["alice", "Bob_2", "team.validator", "x" * 64, "0", "_a-b.c"])
def test_valid_names(store: Keystore, name: str) -> None:
    assert import_uri(name, "//Alice", pw(), keystore=store).entry.name == name


# -- sources ---------------------------------------------------------------------------


def test_new_account_from_a_fresh_mnemonic(store: Keystore) -> None:
    created = new_account("fresh", pw(), words=24, derivation_path="//hard/soft", keystore=store)
    assert len(created.mnemonic.split()) == 24
    expected = keypair_from_uri(created.mnemonic + "//hard/soft").ss58_address
    assert created.entry.address == expected
    assert store.unlock("fresh", pw()).ss58_address == expected
    assert created.mnemonic not in store.path("fresh").read_text()


def test_import_mnemonic_with_a_path(store: Keystore) -> None:
    imported = import_uri("m", MNEMONIC, pw(), derivation_path="//hard/soft", keystore=store)
    assert imported.source == "mnemonic" and imported.warnings == ()
    assert imported.entry.address == VECTOR_ADDRESS


def test_import_dev_uri_warns_that_dev_keys_are_public(store: Keystore) -> None:
    imported = import_uri("alice", "//Alice", pw(), keystore=store)
    assert imported.source == "dev"
    assert imported.warnings == (DEV_KEY_WARNING,)
    assert "public" in DEV_KEY_WARNING


def test_import_hex_seed(store: Keystore) -> None:
    seed = "0x" + "11" * 32
    imported = import_uri("s", seed, pw(), keystore=store)
    assert imported.source == "seed"
    assert imported.entry.address == "5DtDLm5rQHShDqojQpsvcN8tRXHVFaecfDoRet1SU6BFD9Fi"


def test_import_polkadot_js_file_keeps_its_password_and_meta(store: Keystore) -> None:
    imported = import_json(
        "v", DATA / "polkadotjs-keystore.json", pw(VECTOR_PASSWORD), keystore=store
    )
    assert imported.source == "json"
    assert imported.entry.address == VECTOR_ADDRESS
    assert store.document("v")["meta"]["name"] == "v"
    assert store.unlock("v", pw(VECTOR_PASSWORD)).ss58_address == VECTOR_ADDRESS


def test_import_file_with_wrong_password_stores_nothing(store: Keystore) -> None:
    with pytest.raises(WrongPassword):
        import_json("v", DATA / "polkadotjs-keystore.json", pw("nope"), keystore=store)
    assert not store.path("v").exists()


def test_export_reencrypts_with_another_password(store: Keystore, tmp_path: Path) -> None:
    import_uri("alice", "//Alice", pw("first"), keystore=store)
    dest = tmp_path / "alice-export.json"
    store.export("alice", dest, pw("first"), export_passwords=pw("second"))
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600
    document = json.loads(dest.read_text())
    assert _format.decrypt(document, "second").ss58_address == ALICE
    with pytest.raises(WrongPassword):
        _format.decrypt(document, "first")
    with pytest.raises(KeystoreExists):
        store.export("alice", dest, pw("first"))
    store.export("alice", dest, pw("first"), force=True)
    assert _format.decrypt(json.loads(dest.read_text()), "first").ss58_address == ALICE


def test_list_reads_no_password_and_reports_broken_files(store: Keystore) -> None:
    import_uri("b", "//Bob", pw(), keystore=store)
    import_uri("a", "//Alice", pw(), keystore=store)
    (store.directory / "broken.json").write_text("{")
    (store.directory / ".hidden.json").write_text("{}")
    entries = store.entries()
    assert [(e.name, e.address) for e in entries] == [("a", ALICE), ("b", BOB), ("broken", None)]
    assert entries[2].problem and "JSON" in entries[2].problem
    assert entries[0].created and entries[0].created.endswith("Z")


def test_remove(store: Keystore) -> None:
    import_uri("a", "//Alice", pw(), keystore=store)
    assert store.remove("a").address == ALICE
    assert store.entries() == []
    with pytest.raises(KeystoreNotFound):
        store.remove("a")


def test_wrong_password_names_the_account(store: Keystore) -> None:
    import_uri("a", "//Alice", pw("right"), keystore=store)
    with pytest.raises(WrongPassword) as err:
        store.unlock("a", pw("wrong"))
    assert err.value.account == "a"
    assert "wrong" not in err.value.message.replace("wrong password", "")


# -- secret URIs (addresses computed by @polkadot/keyring 14 createFromUri) -------------


@pytest.mark.parametrize(
    ("uri", "address"),
    [
        ("//Alice", ALICE),
        ("//0x0102", "5Cch2jiuwmCocZpefDGYsSox9cQ96b2eNzv8RUoeircbCx6E"),
        ("//1//2/3", "5GsE1wxr6kuU7LVf7Zqd64iHgW9CPHouXehg8GLBfU7up5Ky"),
        ("0x" + "11" * 32, "5DtDLm5rQHShDqojQpsvcN8tRXHVFaecfDoRet1SU6BFD9Fi"),
        ("bottom drive obey lake curtain smoke basket hold race lonely fit walk///pw",
         "5HVquMWVR2cemSfuHeWupmEEgiTDjdNpCrPk4iKeBmL9qnKD"),
        ("bottom drive obey lake curtain smoke basket hold race lonely fit walk//" + "x" * 40,
         "5EJWRwGLcZ1KGDHtgrvTEQFjFL715DzcorquPqKBbEEvWQtv"),
    ],
)  # fmt: skip
def test_uris_match_polkadot_js(uri: str, address: str) -> None:
    assert keypair_from_uri(uri).ss58_address == address


@pytest.mark.parametrize(
    "bad",
    ["0x1234", "0x" + "11" * 32 + "///pw", MNEMONIC.replace("yellow", "yellowish"), "/Dave"],
)
def test_bad_uris_are_account_errors_without_the_secret(bad: str) -> None:
    with pytest.raises(AccountError) as err:
        keypair_from_uri(bad)
    assert bad not in err.value.message and (err.value.hint or "").find(bad) < 0


# -- password sources ------------------------------------------------------------------


def test_password_file_first_line(tmp_path: Path) -> None:
    path = tmp_path / "pw"
    path.write_bytes(b"s3cret with spaces \r\nsecond line\n")
    assert PasswordSource(file=path).get("x") == "s3cret with spaces "


def test_password_order_file_then_env_then_prompt(tmp_path: Path) -> None:
    path = tmp_path / "pw"
    path.write_text("from-file\n")
    env = {"DECENTRALML_PASSWORD": "from-env"}
    prompted: list[tuple[str, bool]] = []

    def prompt(question: str, confirm: bool) -> str:
        prompted.append((question, confirm))
        return "typed"

    assert PasswordSource(file=path, environ=env, prompt=prompt).get("x") == "from-file"
    assert PasswordSource(environ=env, prompt=prompt).get("x") == "from-env"
    file_env = {"DECENTRALML_PASSWORD_FILE": str(path)}
    assert PasswordSource(environ=file_env, prompt=prompt).get("x") == "from-file"
    assert PasswordSource(environ={}, prompt=prompt).get("account 'a'", confirm=True) == "typed"
    assert prompted == [("Password for account 'a'", True)]


def test_no_password_and_nobody_to_ask() -> None:
    with pytest.raises(PasswordRequired) as err:
        PasswordSource(environ={}).get("account 'a'", account="a")
    assert err.value.hint and "DECENTRALML_PASSWORD" in err.value.hint
    assert "--password-file" in err.value.hint


def test_unreadable_password_file_names_the_file_only(tmp_path: Path) -> None:
    with pytest.raises(AccountError, match=r"cannot read password file .*missing"):
        PasswordSource(file=tmp_path / "missing").get("x")


def test_empty_password_refused_for_a_new_keystore(store: Keystore) -> None:
    with pytest.raises(AccountError, match="empty password"):
        import_uri("a", "//Alice", pw(""), keystore=store)


# -- --account resolution --------------------------------------------------------------


def test_classify(store: Keystore) -> None:
    import_uri("mine", "//Alice", pw(), keystore=store)
    assert classify("mine", keystore=store) is AccountKind.KEYSTORE
    assert classify("//Bob", keystore=store) is AccountKind.DEV_URI
    assert classify(BOB, keystore=store) is AccountKind.ADDRESS
    assert classify(MNEMONIC, keystore=store) is AccountKind.SECRET_URI
    assert classify("0x" + "11" * 32, keystore=store) is AccountKind.SECRET_URI
    with pytest.raises(KeystoreNotFound, match="no account named 'other'"):
        classify("other", keystore=store)


def test_resolve_signer_each_kind(store: Keystore) -> None:
    import_uri("mine", "//Charlie", pw("k"), keystore=store)
    charlie = keypair_from_uri("//Charlie").ss58_address
    assert resolve_signer("mine", pw("k"), keystore=store).ss58_address == charlie
    assert resolve_signer("//Bob", keystore=store).ss58_address == BOB
    assert resolve_signer(MNEMONIC + "//hard/soft", keystore=store).ss58_address == VECTOR_ADDRESS


def test_an_address_cannot_sign(store: Keystore) -> None:
    with pytest.raises(ReadOnlyAccount) as err:
        resolve_signer(BOB, pw(), keystore=store)
    assert err.value.message == f"{BOB} is an address: it can be read, not sign"
    hint = err.value.hint or ""
    assert "keystore name" in hint and "//Alice" in hint and "mnemonic" in hint


def test_keystore_signer_needs_its_password(store: Keystore) -> None:
    import_uri("mine", "//Alice", pw("k"), keystore=store)
    with pytest.raises(PasswordRequired):
        resolve_signer("mine", PasswordSource(environ={}), keystore=store)
    with pytest.raises(WrongPassword):
        resolve_signer("mine", pw("bad"), keystore=store)


def test_resolve_address_asks_no_password(store: Keystore) -> None:
    import_uri("mine", "//Alice", pw("k"), keystore=store)
    assert resolve_address("mine", keystore=store) == ALICE
    assert resolve_address("//Bob", keystore=store) == BOB
    # a Polkadot (prefix 0) address is shown in the dev chain's format
    polkadot_bob = "14E5nqKAp3oAJcmzgZhUD2RcptBeUBScxKHgJKU4HPNcKVf3"
    assert resolve_address(polkadot_bob, keystore=store) == BOB
    assert resolve_address(MNEMONIC + "//hard/soft", keystore=store) == VECTOR_ADDRESS


def test_unknown_name_hint_lists_the_kinds(store: Keystore) -> None:
    with pytest.raises(KeystoreNotFound) as err:
        resolve_address("nobody", keystore=store)
    assert err.value.hint and "account list" in err.value.hint
