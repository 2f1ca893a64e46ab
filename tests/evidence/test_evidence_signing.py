"""Signing keys: creation with 0600, refusal of loose permissions, fingerprints, messages."""

from __future__ import annotations

import hashlib
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tutela.errors import InputError
from tutela.ledger import (
    CHECKPOINT_DOMAIN,
    Signer,
    SigningKeyError,
    checkpoint_message,
    fingerprint,
)

posix_only = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX-only")


@posix_only
def test_load_or_create_writes_0600_and_reloads_same_key(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "ledger.pem"
    first = Signer.load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    second = Signer.load_or_create(path)
    assert first.fingerprint() == second.fingerprint()
    assert first.fingerprint() == hashlib.sha256(first.public_key_bytes()).hexdigest()
    assert fingerprint(first.public_key_pem()) == first.fingerprint()


@posix_only
@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o644])
def test_key_readable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "ledger.pem"
    Signer.load_or_create(path)
    path.chmod(mode)
    with pytest.raises(SigningKeyError, match="chmod 600"):
        Signer.load_or_create(path)


@posix_only
def test_malformed_key_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ledger.pem"
    path.write_bytes(b"not a key")
    path.chmod(0o600)
    with pytest.raises(SigningKeyError):
        Signer.load_or_create(path)


def test_checkpoint_message_layout() -> None:
    h = "ab" * 32
    assert checkpoint_message(258, h) == CHECKPOINT_DOMAIN + bytes(6) + b"\x01\x02" + bytes.fromhex(
        h
    )
    with pytest.raises(InputError):
        checkpoint_message(0, h)
    with pytest.raises(InputError):
        checkpoint_message(1, "AB" * 32)


def test_signature_verifies_over_the_documented_bytes() -> None:
    signer = Signer.generate()
    cp = signer.sign_checkpoint(5, "cd" * 32, datetime(2025, 1, 1, tzinfo=UTC))
    signer.public_key.verify(bytes.fromhex(cp.signature), checkpoint_message(5, "cd" * 32))
    assert cp.key_fingerprint == signer.fingerprint()
    assert cp.at == "2025-01-01T00:00:00.000000Z"


# -- passphrase-protected keys (issue 10, keys) -----------------------------------------------
@posix_only
def test_passphrase_protected_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TUTELA_KEY_PASSPHRASE", raising=False)
    path = tmp_path / "ledger.pem"
    created = Signer.create(path, passphrase="s3cret words")
    assert b"ENCRYPTED PRIVATE KEY" in path.read_bytes()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(SigningKeyError, match=r"passphrase-protected.*TUTELA_KEY_PASSPHRASE"):
        Signer.load_or_create(path)
    with pytest.raises(SigningKeyError, match="wrong passphrase"):
        Signer.load(path, passphrase="not it")
    assert Signer.load(path, passphrase="s3cret words").fingerprint() == created.fingerprint()
    monkeypatch.setenv("TUTELA_KEY_PASSPHRASE", "s3cret words")
    assert Signer.load_or_create(path).fingerprint() == created.fingerprint()
    # a key created while the variable is set is protected by it
    fresh = Signer.load_or_create(tmp_path / "new.pem")
    assert b"ENCRYPTED" in (tmp_path / "new.pem").read_bytes()
    monkeypatch.delenv("TUTELA_KEY_PASSPHRASE")
    with pytest.raises(SigningKeyError, match="passphrase-protected"):
        Signer.load(tmp_path / "new.pem")
    assert Signer.load(tmp_path / "new.pem", passphrase=b"s3cret words").fingerprint() == (
        fresh.fingerprint()
    )


@posix_only
def test_export_with_a_passphrase_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``tutela export --passphrase-file``; a wrong or missing passphrase is ``error:`` (2)."""
    from _evidence_packages import build_case

    from tutela.cli import main

    monkeypatch.delenv("TUTELA_KEY_PASSPHRASE", raising=False)
    folder = tmp_path / "db"
    folder.mkdir()
    key = folder / "signing-key.pem"
    Signer.create(key, passphrase="pass phrase")
    monkeypatch.setenv("TUTELA_KEY_PASSPHRASE", "pass phrase")
    url, case_id, _ = build_case(folder, evidential=True)
    monkeypatch.delenv("TUTELA_KEY_PASSPHRASE")
    right, wrong = tmp_path / "right.txt", tmp_path / "wrong.txt"
    right.write_text("pass phrase\n")
    wrong.write_text("guess\n")
    base = ["export", str(case_id), "--out", str(tmp_path / "p.zip"), "--db", url, "--key"]

    def run(*extra: str) -> tuple[int, str]:
        capsys.readouterr()
        with pytest.raises(SystemExit) as exc:
            main([*base, str(key), "--draft", *extra])
        return int(exc.value.code or 0), capsys.readouterr().err

    code, err = run()
    assert code == 2 and err.startswith("error:") and "passphrase-protected" in err
    code, err = run("--passphrase-file", str(wrong))
    assert code == 2 and "wrong passphrase" in err
    code, err = run("--passphrase-file", str(tmp_path / "absent.txt"))
    assert code == 2 and "cannot read passphrase file" in err
    code, err = run("--passphrase-file", str(right))
    assert code == 0, err


# -- the demo key (issue 10, keys) ------------------------------------------------------------
def test_demo_key_paths(tmp_path: Path) -> None:
    from tutela.ledger.signing import demo_key_path, key_path_for_db

    demo = tmp_path / "tutela-demo-x" / "tutela.db"
    assert demo_key_path(f"sqlite:///{demo}") == demo.parent / "signing-key.pem"
    other = tmp_path / "reused" / "tutela.db"
    assert demo_key_path(f"sqlite:///{other}") == other.with_name("tutela.db.demo-signing-key.pem")
    assert key_path_for_db(f"sqlite:///{other}") is None  # until a demo created that key
    assert demo_key_path("postgresql+psycopg://u@h/db").name == "demo-signing-key.pem"


def test_demo_on_a_reused_db_never_signs_with_the_production_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tutela.ledger.signing import key_path_for_db
    from tutela.live.demo import Scenario, run_demo
    from tutela.store import iter_checkpoints, open_store

    production = tmp_path / "data" / "ledger-signing-key.pem"
    monkeypatch.setattr("tutela.ledger.signing.default_key_path", lambda: production)
    db = tmp_path / "reused" / "tutela.db"
    url = f"sqlite:///{db}"
    run_demo(Scenario(lines=("hi", "how old are you")), db_url=url)
    assert not production.exists()
    demo_key = db.with_name("tutela.db.demo-signing-key.pem")
    fp = Signer.load(demo_key).fingerprint()
    with open_store(url) as store:
        assert {c.key_fingerprint for c in iter_checkpoints(store)} == {fp}
    # a database whose ledger another (production) key signed is refused
    prod = tmp_path / "prod" / "tutela.db"
    from tutela.store import Recorder

    with open_store(f"sqlite:///{prod}") as store:
        rec = Recorder(store, signer=Signer.load_or_create(production))
        rec.append_entry("review", None, {"case_id": 1, "action": "note"})
        rec.checkpoint()
    with pytest.raises(InputError, match="signed by another key"):
        run_demo(Scenario(lines=("hi",)), db_url=f"sqlite:///{prod}")
    # ... and leaves no demo key beside it, which the signing-key rule would pick next
    assert not prod.with_name("tutela.db.demo-signing-key.pem").exists()
    assert key_path_for_db(f"sqlite:///{prod}") is None


@pytest.mark.parametrize("passphrase", ["x" * 1024, "caf\udce9"])
def test_unusable_passphrase_is_a_clear_error(tmp_path, passphrase) -> None:
    """A passphrase OpenSSL cannot use (over 1023 bytes, or not text) is a ``SigningKeyError``
    (exit 2 with ``error: ...``), not a ValueError from the backend (found by the CLI fuzz test)."""
    from tutela.ledger.errors import SigningKeyError

    with pytest.raises(SigningKeyError, match="passphrase"):
        Signer.load_or_create(tmp_path / "k.pem", passphrase=passphrase)
    assert not (tmp_path / "k.pem").exists()
