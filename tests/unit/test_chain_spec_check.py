"""The sources hash and the staleness check of the shipped chain spec (scripts/check-chain-spec)."""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "check-chain-spec"
DATA = REPO / "decentralml" / "devnet" / "data"


def _load_script() -> ModuleType:
    loader = importlib.machinery.SourceFileLoader("check_chain_spec", str(SCRIPT))
    spec = importlib.util.spec_from_loader("check_chain_spec", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


ccs = _load_script()


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository with a small pallet/ tree committed."""
    root = tmp_path / "repo"
    (root / "pallet" / "runtime" / "src").mkdir(parents=True)
    (root / "pallet" / "Cargo.toml").write_text("[workspace]\n")
    (root / "pallet" / "runtime" / "src" / "lib.rs").write_text("// runtime\n")
    (root / "README.md").write_text("not a source\n")
    _git(root, "init", "-q")
    _git(root, "add", ".")
    _git(
        root,
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@example.org",
        "commit",
        "-q",
        "-m",
        "init",
    )
    return root


def _write_spec(root: Path, sources: str) -> None:
    data = root / "decentralml" / "devnet" / "data"
    data.mkdir(parents=True, exist_ok=True)
    spec = data / "decentralml-dev.raw.json"
    spec.write_text('{"genesis": {"raw": {"top": {}}}}\n')
    meta = {
        "sources_sha256": sources,
        "chain_spec_sha256": hashlib.sha256(spec.read_bytes()).hexdigest(),
    }
    (data / "chain-spec.meta.json").write_text(json.dumps(meta))


def test_hash_is_stable_and_covers_only_tracked_pallet_files(repo: Path) -> None:
    """Untracked files and files outside pallet/ do not change the hash."""
    # Prepare
    before = ccs.sources_hash(repo)
    # Execute
    (repo / "pallet" / "untracked.rs").write_text("// not added\n")
    (repo / "README.md").write_text("changed\n")
    # Assert
    assert ccs.sources_hash(repo) == before
    assert len(before) == 64


@pytest.mark.parametrize(
    "change",
    ["edit", "rename", "add"],
)
def test_hash_changes_with_tracked_sources(repo: Path, change: str) -> None:
    """Editing, renaming or adding a tracked pallet/ file changes the hash."""
    # Prepare
    before = ccs.sources_hash(repo)
    lib = repo / "pallet" / "runtime" / "src" / "lib.rs"
    # Execute
    if change == "edit":
        lib.write_text("// runtime, changed\n")
    elif change == "rename":
        _git(repo, "mv", str(lib), str(lib.with_name("main.rs")))
    else:
        new = repo / "pallet" / "runtime" / "build.rs"
        new.write_text("fn main() {}\n")
        _git(repo, "add", str(new))
    # Assert
    assert ccs.sources_hash(repo) != before


def test_path_and_content_boundaries_are_unambiguous() -> None:
    """Moving bytes between a path and its content gives another hash."""
    assert ccs.hash_files([("a", b"bc")]) != ccs.hash_files([("ab", b"c")])
    assert ccs.hash_files([("a", b""), ("b", b"")]) != ccs.hash_files([("a", b"b")])


def test_rev_hash_equals_clean_working_tree(repo: Path) -> None:
    """On a clean checkout the committed sources and the working tree hash alike."""
    assert ccs.sources_hash(repo, rev="HEAD") == ccs.sources_hash(repo)
    (repo / "pallet" / "Cargo.toml").write_text("[workspace]\nmembers = []\n")
    assert ccs.sources_hash(repo, rev="HEAD") != ccs.sources_hash(repo)


def test_export_copies_exactly_the_hashed_files(repo: Path, tmp_path: Path) -> None:
    """The build directory holds the tracked files only, and stale files are removed."""
    # Prepare
    dest = tmp_path / "build"
    (dest / "pallet").mkdir(parents=True)
    (dest / "pallet" / "stale.rs").write_text("// left from an older build\n")
    # Execute
    digest = ccs.export_sources(repo, dest)
    # Assert
    copied = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())
    assert copied == ["pallet/Cargo.toml", "pallet/runtime/src/lib.rs"]
    assert digest == ccs.sources_hash(repo)


def test_check_passes_when_the_spec_matches(repo: Path) -> None:
    _write_spec(repo, ccs.sources_hash(repo))
    ok, message = ccs.check(repo)
    assert ok, message


def test_check_fails_when_sources_changed(repo: Path) -> None:
    """A stale spec is reported with what to do."""
    # Prepare
    _write_spec(repo, ccs.sources_hash(repo))
    # Execute
    (repo / "pallet" / "runtime" / "src" / "lib.rs").write_text("// a new call\n")
    ok, message = ccs.check(repo)
    # Assert
    assert not ok
    assert "stale" in message
    assert "scripts/build-runtime" in message


def test_check_fails_when_spec_edited_by_hand(repo: Path) -> None:
    _write_spec(repo, ccs.sources_hash(repo))
    spec = repo / "decentralml" / "devnet" / "data" / "decentralml-dev.raw.json"
    spec.write_text('{"edited": true}\n')
    ok, message = ccs.check(repo)
    assert not ok
    assert "does not match" in message


def test_check_fails_when_spec_missing(repo: Path) -> None:
    ok, message = ccs.check(repo)
    assert not ok
    assert "scripts/build-runtime" in message


def test_script_exit_codes(repo: Path) -> None:
    """The CI entry point exits 1 with the message on stderr when stale, 0 when fresh."""
    run = [sys.executable, str(SCRIPT), "--root", str(repo)]
    stale = subprocess.run(run, capture_output=True, text=True)
    assert stale.returncode == 1
    assert "scripts/build-runtime" in stale.stderr
    _write_spec(repo, ccs.sources_hash(repo))
    fresh = subprocess.run(run, capture_output=True, text=True)
    assert fresh.returncode == 0, fresh.stderr


def test_shipped_spec_is_consistent_with_its_metadata() -> None:
    """The committed spec is the one its metadata describes, with the chain's properties."""
    # Prepare
    meta = json.loads((DATA / "chain-spec.meta.json").read_text())
    raw = (DATA / meta["chain_spec"]).read_bytes()
    spec = json.loads(raw)
    top = spec["genesis"]["raw"]["top"]
    # Assert
    assert hashlib.sha256(raw).hexdigest() == meta["chain_spec_sha256"]
    assert spec["chainType"] == "Development"
    assert spec["properties"] == {"ss58Format": 42, "tokenDecimals": 12, "tokenSymbol": "DML"}
    assert list(top) == sorted(top)
    assert spec["genesis"]["raw"]["childrenDefault"] == {}
    code = bytes.fromhex(top["0x3a636f6465"][2:])
    assert hashlib.sha256(code).hexdigest() == meta["code_sha256"]
    assert len(code) == meta["code_size"]
