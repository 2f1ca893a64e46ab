"""``tutela ledger verify`` (issue 10, item 6): the live chain, ``ledger_head``, checkpoints, the
witness file and the message rows; truncation by direct SQL is caught; key rotation."""

from __future__ import annotations

import json
import sqlite3
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from _evidence_packages import build_case
from test_evidence_timestamp import openssl_transport, tsa  # noqa: F401  (local TSA)

from tutela.evidence import export_package, verify_package
from tutela.ledger import Signer
from tutela.store import Recorder, open_store
from tutela.store.ledger import read_witness, witness_path
from tutela.store.ledger_verify import verify_ledger

RunCli = Callable[..., tuple[int, str, str]]

# the append-only triggers of migrations 0001 and 0004 an attacker has to drop
_TRIGGERS = (
    "ledger_entries_no_delete",
    "checkpoints_no_delete",
    "ledger_head_guard_update",
    "messages_no_delete",
    "decisions_no_delete",
    "audit_log_no_delete",
)


def truncate(db: Path, n: int) -> int:
    """Delete the last ``n`` ledger entries, every row recording them and every checkpoint over
    them, move ``ledger_head`` back, with the triggers dropped and recreated (direct SQL).
    Returns the seq of the first removed entry."""
    con = sqlite3.connect(db)
    try:
        saved = [
            sql
            for (name, sql) in con.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
            )
            if name in _TRIGGERS
        ]
        for name in _TRIGGERS:
            con.execute(f"DROP TRIGGER IF EXISTS {name}")
        (top,) = con.execute("SELECT max(seq) FROM ledger_entries").fetchone()
        cut = top - n + 1
        for table in ("messages", "decisions", "audit_log"):
            con.execute(f"DELETE FROM {table} WHERE ledger_seq >= ?", (cut,))
        con.execute("DELETE FROM checkpoints WHERE seq >= ?", (cut,))
        con.execute("DELETE FROM ledger_entries WHERE seq >= ?", (cut,))
        (h,) = con.execute(
            "SELECT entry_hash FROM ledger_entries WHERE seq = ?", (cut - 1,)
        ).fetchone()
        con.execute("UPDATE ledger_head SET seq = ?, entry_hash = ? WHERE id = 1", (cut - 1, h))
        for sql in saved:
            con.execute(sql)
        con.commit()
    finally:
        con.close()
    return cut


@pytest.fixture
def case_db(tmp_path: Path) -> tuple[Path, int, Signer]:
    folder = tmp_path / "db"
    folder.mkdir()
    _url, case_id, signer = build_case(folder, evidential=True)
    return folder / "tutela.db", case_id, signer


def _args(db: Path, signer: Signer, tmp_path: Path) -> list[str]:
    pem = tmp_path / "ledger-public.pem"
    pem.write_text(signer.public_key_pem())
    return ["ledger", "verify", "--db", f"sqlite:///{db}", "--key", str(pem)]


def test_intact_ledger_verifies(
    case_db: tuple[Path, int, Signer], tmp_path: Path, run_cli: RunCli
) -> None:
    db, _, signer = case_db
    code, out, err = run_cli(*_args(db, signer, tmp_path))
    assert code == 0, err
    assert "ledger intact" in out and "witness" in out
    code, out, _ = run_cli(*_args(db, signer, tmp_path), "--json")
    data = json.loads(out)
    assert code == 0 and data["ok"] is True and data["keys"] == [signer.fingerprint()]
    assert data["witnessed"] == data["checkpoints"] > 0
    # the witness: one line per committed checkpoint, 0600, beside the database
    path = witness_path(f"sqlite:///{db}")
    assert path == db.with_name("tutela.db.checkpoints.jsonl")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(read_witness(path)[0]) == data["checkpoints"]
    # a fingerprint alone is not enough without a public key (none is in the ledger) ...
    fp = signer.fingerprint()
    code, _, err = run_cli("ledger", "verify", "--db", f"sqlite:///{db}", "--key", fp)
    assert code == 2 and "public key" in err
    # ... and a key that did not sign the checkpoints is not trusted
    code, _, err = run_cli("ledger", "verify", "--db", f"sqlite:///{db}", "--key", "ab" * 32)
    assert code == 1 and "untrusted key" in err


def test_truncation_of_the_last_entries_and_checkpoints_is_caught(
    case_db: tuple[Path, int, Signer], tmp_path: Path, run_cli: RunCli
) -> None:
    db, _, signer = case_db
    cut = truncate(db, 3)
    # the database alone is consistent again: chain, head and remaining checkpoints agree
    with open_store(f"sqlite:///{db}") as store:
        verify_ledger(store, [signer.public_key], check_witness=False)
    code, _, err = run_cli(*_args(db, signer, tmp_path))
    assert code == 1, err
    assert "TAMPERED" in err and "witness" in err and "missing from the database" in err
    assert f"entries after {cut - 1} removed" in err
    code, out, _ = run_cli(*_args(db, signer, tmp_path), "--json")
    problem = json.loads(out)["problem"]
    assert code == 1 and problem["ledger_seq"] >= cut


def test_head_that_names_a_removed_entry_is_caught(
    case_db: tuple[Path, int, Signer], tmp_path: Path, run_cli: RunCli
) -> None:
    db, _, signer = case_db
    con = sqlite3.connect(db)
    (top,) = con.execute("SELECT max(seq) FROM ledger_entries").fetchone()
    con.execute("DROP TRIGGER checkpoints_no_delete")
    con.execute("DROP TRIGGER ledger_entries_no_delete")
    con.execute("DELETE FROM checkpoints WHERE seq = ?", (top,))
    con.execute("DELETE FROM ledger_entries WHERE seq = ?", (top,))
    con.commit()
    con.close()
    code, _, err = run_cli(*_args(db, signer, tmp_path))
    assert code == 1 and f"ledger entry {top}" in err and "ledger_head" in err, err


def test_edited_message_and_deleted_message_are_named(
    case_db: tuple[Path, int, Signer], tmp_path: Path, run_cli: RunCli
) -> None:
    db, _, signer = case_db
    con = sqlite3.connect(db)
    mid, seq = con.execute(
        "SELECT id, ledger_seq FROM messages WHERE purged_at IS NULL ORDER BY id LIMIT 1"
    ).fetchone()
    con.execute("DROP TRIGGER messages_guard_update")
    con.execute("UPDATE messages SET text = 'changed' WHERE id = ?", (mid,))
    con.commit()
    code, _, err = run_cli(*_args(db, signer, tmp_path))
    assert code == 1 and f"ledger entry {seq}" in err and f"message {mid}" in err, err
    assert "text_sha256" in err
    con.execute("DROP TRIGGER messages_no_delete")
    con.execute("PRAGMA foreign_keys = OFF")
    con.execute("DELETE FROM decisions WHERE message_id = ?", (mid,))
    con.execute("DELETE FROM messages WHERE id = ?", (mid,))
    con.commit()
    con.close()
    code, _, err = run_cli(*_args(db, signer, tmp_path))
    assert code == 1 and f"ledger entry {seq}" in err and "missing from the messages" in err


def test_usage_errors_exit_two(
    case_db: tuple[Path, int, Signer], tmp_path: Path, run_cli: RunCli
) -> None:
    db, _, _ = case_db
    url = f"sqlite:///{db}"
    code, _, err = run_cli("ledger", "verify", "--db", url, "--key", str(tmp_path / "none.pem"))
    assert code == 2 and err.startswith("error:")
    bad = tmp_path / "bad.pem"
    bad.write_text("not a key")
    code, _, err = run_cli("ledger", "verify", "--db", url, "--key", str(bad))
    assert code == 2 and err.startswith("error:")
    other = tmp_path / "other" / "tutela.db"  # no key beside, none in the data dir for it
    code, _, err = run_cli("ledger", "verify", "--db", f"sqlite:///{other}", "--key", "zz")
    assert code == 2 and err.startswith("error:")


def test_key_rotation_is_recorded_and_accepted(
    case_db: tuple[Path, int, Signer], tmp_path: Path, run_cli: RunCli
) -> None:
    db, case_id, old = case_db
    url = f"sqlite:///{db}"
    key = db.parent / "signing-key.pem"
    code, out, err = run_cli(
        "ledger", "rotate-key", "--db", url, "--key", str(key), "--reason", "annual"
    )
    assert code == 0, err
    new = Signer.load(key)
    assert new.fingerprint() != old.fingerprint() and new.fingerprint() in out
    retired = list(db.parent.glob("signing-key.pem.retired-*"))
    assert [Signer.load(p).fingerprint() for p in retired] == [old.fingerprint()]
    with open_store(url) as store:
        rec = Recorder(store, signer=new, checkpoint_every=2)
        rec.append_entry("review", None, {"case_id": case_id, "action": "note"})
        rec.checkpoint()
        report = verify_ledger(store, [old.public_key])  # forward: old hands over to new
        assert report.keys == (old.fingerprint(), new.fingerprint())
        verify_ledger(store, [new.public_key])  # backward: new signs the handover entry
        # the rotation entry names both fingerprints
        rows = store.engine.connect().exec_driver_sql(
            "SELECT payload FROM ledger_entries WHERE kind = 'operation'"
        )
        rotations = [json.loads(p) for (p,) in rows if "key_rotated" in p]
    assert rotations[0]["old_fingerprint"] == old.fingerprint()
    assert rotations[0]["new_fingerprint"] == new.fingerprint()
    for trusted in (old, new):
        pem = tmp_path / f"{trusted.fingerprint()[:8]}.pem"
        pem.write_text(trusted.public_key_pem())
        code, _, err = run_cli("ledger", "verify", "--db", url, "--key", str(pem))
        assert code == 0, err
    stranger = tmp_path / "stranger.pem"
    stranger.write_text(Signer.generate().public_key_pem())
    code, _, err = run_cli("ledger", "verify", "--db", url, "--key", str(stranger))
    assert code == 1 and "untrusted key" in err
    # exports continue with the new key; the package verifies against it
    out_zip = tmp_path / "after-rotation.zip"
    with open_store(url) as store:
        export_package(store, case_id, out_zip, signer=new)
    assert verify_package(out_zip, expected_fingerprint=new.fingerprint()).case_id == case_id


def test_forged_rotation_is_rejected(case_db: tuple[Path, int, Signer]) -> None:
    """A rotation whose handover the old key did not sign does not introduce the new key."""
    from tutela.ledger import TamperError

    db, _, old = case_db
    url = f"sqlite:///{db}"
    forger, target = Signer.generate(), Signer.generate()
    with open_store(url) as store:
        rec = Recorder(store, signer=old)
        payload = {
            "event": "key_rotated",
            "old_fingerprint": old.fingerprint(),
            "new_fingerprint": target.fingerprint(),
            "old_public_key": old.public_key_bytes().hex(),
            "new_public_key": target.public_key_bytes().hex(),
            "handover_signature": forger.sign_handover(target.public_key),
            "actor": "mallory",
            "reason": "",
        }
        rec.append_entry("operation", None, payload)
        with pytest.raises(TamperError, match="not signed by the old key"):
            verify_ledger(store, [old.public_key])


def test_checkpoints_are_rfc3161_anchored_on_a_schedule(
    tsa: Path,  # noqa: F811  (the fixture imported above)
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    run_cli: RunCli,
) -> None:
    """With a TSA configured, every 2nd witnessed checkpoint is stamped in the background; the
    stamps are kept in the witness and checked by ``ledger verify``."""
    from tutela.store import ledger

    monkeypatch.setenv("TUTELA_TSA_URL", "http://tsa.invalid/")
    monkeypatch.setenv("TUTELA_TSA_EVERY", "2")
    monkeypatch.setattr(ledger, "_transport_for", lambda _url: openssl_transport(tsa))
    folder = tmp_path / "db"
    folder.mkdir()
    _, _, signer = build_case(folder, evidential=True)
    ledger._anchor.join(timeout=120)
    db = folder / "tutela.db"
    cps, stamps = read_witness(witness_path(f"sqlite:///{db}"))
    assert stamps and set(stamps) <= {c.seq for c in cps}
    assert len(stamps) >= len(cps) // 2 - 1
    code, out, err = run_cli(*_args(db, signer, tmp_path), "--json")
    assert code == 0, err
    assert json.loads(out)["timestamps"] == len(stamps)
