"""Export checks (issue 10, items 7 and 11): ``tutela export`` verifies the live ledger and every
message of the case before signing, and exports only a case with an approved referral unless
``--draft`` (marked not evidential, audited)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from _evidence_packages import copy_db

from tutela.evidence import export_package, verify_package
from tutela.evidence.package import DRAFT_STATUS
from tutela.ledger import Signer, TamperError
from tutela.store import iter_ledger, open_store

RunCli = Callable[..., tuple[int, str, str]]


def _approve_referral(url: str, case_id: int, signer: Signer) -> None:
    """An analyst proposes, another supervisor approves (four-eyes), as in the dashboard."""
    from argon2 import PasswordHasher

    from tutela.accounts.users import UserStore
    from tutela.cases.workflow import CaseWorkflow
    from tutela.store import Recorder

    with open_store(url) as store:
        rec = Recorder(store, signer=signer)
        users = UserStore(
            store, recorder=rec, hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
        )
        ana = users.add("ana", "analyst", "correct horse battery")
        sue = users.add("sue", "supervisor", "correct horse battery")
        wf = CaseWorkflow(rec)
        ref = wf.propose_referral(case_id, ana, "secrecy after an age probe")
        wf.approve_referral(ref.id, sue, "agreed")
        assert wf.referral_ready(case_id)


def _edit_message_text(db: Path, message_id: int, text: str) -> None:
    """What an attacker with direct SQL does: drop the guard trigger, edit, recreate it."""
    con = sqlite3.connect(db)
    try:
        (trigger,) = con.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?",
            ("messages_guard_update",),
        ).fetchone()
        con.execute("DROP TRIGGER messages_guard_update")
        con.execute("UPDATE messages SET text = ? WHERE id = ?", (text, message_id))
        con.execute(trigger)
        con.commit()
    finally:
        con.close()


def test_cli_exports_a_case_with_an_approved_referral(
    demo_db: tuple[Path, int], tmp_path: Path, run_cli: RunCli
) -> None:
    folder = copy_db(demo_db[0], tmp_path)
    url = f"sqlite:///{folder / 'tutela.db'}"
    signer = Signer.load_or_create(folder / "signing-key.pem")
    out = tmp_path / "case.zip"
    code, _, err = run_cli("export", str(demo_db[1]), "--out", str(out), "--db", url)
    assert code == 2 and "no approved referral" in err and "--draft" in err and not out.exists()
    _approve_referral(url, demo_db[1], signer)
    code, _, err = run_cli("export", str(demo_db[1]), "--out", str(out), "--db", url)
    assert code == 0, err
    assert "DRAFT" not in err
    with zipfile.ZipFile(out) as z:
        manifest = json.loads(z.read("manifest.json"))
    assert "draft" not in manifest
    assert verify_package(out, expected_fingerprint=signer.fingerprint()).case_id == demo_db[1]


def test_draft_export_is_marked_not_evidential_and_audited(
    demo_db: tuple[Path, int], tmp_path: Path, run_cli: RunCli
) -> None:
    folder = copy_db(demo_db[0], tmp_path)
    url = f"sqlite:///{folder / 'tutela.db'}"
    out = tmp_path / "draft.zip"
    code, _, err = run_cli(
        "export", str(demo_db[1]), "--out", str(out), "--db", url, "--draft", "--actor", "ana"
    )
    assert code == 0, err
    assert "DRAFT" in err
    with zipfile.ZipFile(out) as z:
        manifest = json.loads(z.read("manifest.json"))
        html = z.read("report.html").decode("utf-8")
        entries = [json.loads(line) for line in z.read("entries.jsonl").splitlines()]
    assert manifest["draft"] is True and manifest["status"] == DRAFT_STATUS
    assert DRAFT_STATUS in manifest["tool"] and DRAFT_STATUS in html
    assert 'id="draft"' in html and "All conversations were collected" not in html
    assert entries[-1]["kind"] == "export" and entries[-1]["payload"]["draft"] is True
    verify_package(out)  # still a verifiable package, signed as a draft
    con = sqlite3.connect(folder / "tutela.db")
    try:
        rows = con.execute(
            "SELECT actor, target, ledger_seq FROM audit_log WHERE action = 'export_draft'"
        ).fetchall()
    finally:
        con.close()
    assert rows == [("ana", f"case:{demo_db[1]}", entries[-1]["seq"] - 1)]
    con = sqlite3.connect(folder / "tutela.db")
    try:
        (details,) = con.execute(
            "SELECT details FROM audit_log WHERE action = 'case_exported'"
        ).fetchone()
    finally:
        con.close()
    exported = json.loads(details)
    assert exported["via"] == "cli" and exported["draft"] is True
    assert exported["package_sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()


def test_export_refuses_an_edited_message_text(
    demo_db: tuple[Path, int], tmp_path: Path, run_cli: RunCli
) -> None:
    folder = copy_db(demo_db[0], tmp_path)
    db = folder / "tutela.db"
    url = f"sqlite:///{db}"
    con = sqlite3.connect(db)
    (mid,) = con.execute("SELECT min(id) FROM messages WHERE direction = 'in'").fetchone()
    con.close()
    _edit_message_text(db, mid, "an edited line")
    with open_store(url) as store:
        before = [e.seq for e in iter_ledger(store)]
    out = tmp_path / "case.zip"
    code, _, err = run_cli("export", str(demo_db[1]), "--out", str(out), "--db", url, "--draft")
    assert code == 1, err
    assert "TAMPERED" in err and f"message {mid}" in err and "text_sha256" in err
    assert "refusing to export" in err and "nothing written" in err
    assert not out.exists() and not list(tmp_path.glob("*.part"))
    with open_store(url) as store:  # nothing appended: no export entry, no draft audit
        assert [e.seq for e in iter_ledger(store)] == before
    # the dashboard calls the same function
    signer = Signer.load_or_create(folder / "signing-key.pem")
    with open_store(url) as store, pytest.raises(TamperError, match=f"message {mid}"):
        export_package(store, demo_db[1], out, signer=signer)
    assert not out.exists()


def test_export_refuses_a_truncated_ledger(
    demo_db: tuple[Path, int], tmp_path: Path, run_cli: RunCli
) -> None:
    """The last entries and their checkpoints deleted (triggers dropped and recreated): the
    witness file still names the removed checkpoint, so the export is refused."""
    from test_ledger_verify import truncate

    folder = copy_db(demo_db[0], tmp_path)
    db = folder / "tutela.db"
    removed = truncate(db, 1)
    out = tmp_path / "case.zip"
    code, _, err = run_cli(
        "export", str(demo_db[1]), "--out", str(out), "--db", f"sqlite:///{db}", "--draft"
    )
    assert code == 1 and f"ledger entry {removed}" in err and "witness" in err, err
    assert not out.exists()


def test_export_out_is_a_directory(
    demo_db: tuple[Path, int], tmp_path: Path, run_cli: RunCli
) -> None:
    folder = copy_db(demo_db[0], tmp_path)
    code, _, err = run_cli(
        "export", str(demo_db[1]), "--out", str(tmp_path), "--db", f"sqlite:///{folder}/tutela.db"
    )
    assert code == 2 and err.startswith("error:") and "directory" in err


def _sql_as_attacker(db: Path, *statements: str) -> None:
    """Direct SQL with every guard trigger dropped first (and recreated after)."""
    con = sqlite3.connect(db)
    try:
        triggers = con.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
        ).fetchall()
        for name, _ in triggers:
            con.execute(f"DROP TRIGGER {name}")
        for stmt in statements:
            con.execute(stmt)
        for _, sql in triggers:
            con.execute(sql)
        con.commit()
    finally:
        con.close()


def _propose(url: str, case_id: int, signer: Signer) -> None:
    from argon2 import PasswordHasher

    from tutela.accounts.users import UserStore
    from tutela.cases.workflow import CaseWorkflow
    from tutela.store import Recorder

    with open_store(url) as store:
        rec = Recorder(store, signer=signer)
        fast = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
        users = UserStore(store, recorder=rec, hasher=fast)
        ana = users.add("ana", "analyst", "correct horse battery")
        users.add("sue", "supervisor", "correct horse battery")
        CaseWorkflow(rec).propose_referral(case_id, ana, "secrecy after an age probe")


def test_self_approval_by_sql_is_refused_and_caught(
    demo_db: tuple[Path, int], tmp_path: Path, run_cli: RunCli
) -> None:
    """Four-eyes cannot be bypassed in the database: the trigger refuses the proposer (or nobody)
    as decider; with the triggers dropped, the forged approval and its fake audit row are caught
    by ``tutela ledger verify`` and ``tutela export`` refuses (no approve entry in the chain)."""
    folder = copy_db(demo_db[0], tmp_path)
    db = folder / "tutela.db"
    url = f"sqlite:///{db}"
    signer = Signer.load_or_create(folder / "signing-key.pem")
    _propose(url, demo_db[1], signer)
    approve = (
        "UPDATE referrals SET status = 'approved', decided_by = proposed_by, "
        "decided_at = proposed_at WHERE id = 1"
    )
    con = sqlite3.connect(db)
    with pytest.raises(sqlite3.DatabaseError, match="not by its proposer"):
        con.execute(approve)
    con.close()
    fake_audit = (
        "INSERT INTO audit_log (at, actor, action, target, details, ledger_seq) VALUES "
        "('2026-12-01 12:00:01.000000', 'sue', 'approve_referral', 'referral:1', '{}', 1)"
    )
    _sql_as_attacker(db, approve, fake_audit)
    code, _, err = run_cli("ledger", "verify", "--db", url)
    assert code == 1 and "audit row" in err
    out = tmp_path / "case.zip"
    code, _, err = run_cli("export", str(demo_db[1]), "--out", str(out), "--db", url)
    assert code == 1 and "TAMPERED" in err and not out.exists()
    # without the fake audit row the referral row alone still disagrees with the chain
    _sql_as_attacker(
        db, "DELETE FROM audit_log WHERE ledger_seq = 1 AND action = 'approve_referral'"
    )
    code, _, err = run_cli("ledger", "verify", "--db", url)
    assert code == 1 and "referral 1" in err


@pytest.mark.parametrize(
    ("statement", "named"),
    [
        ("UPDATE audit_log SET actor = 'mallory' WHERE action = 'propose_referral'", "actor"),
        ("DELETE FROM audit_log WHERE id = (SELECT min(id) FROM audit_log)", "row deleted"),
        ("DELETE FROM decisions WHERE id = (SELECT max(id) FROM decisions)", "decision row"),
        ("UPDATE decisions SET action = 'continue' WHERE action = 'deter'", "action"),
        ("UPDATE referrals SET proposed_by = 2", "proposer"),
        ("UPDATE case_events SET actor = 'mallory'", "case event"),
        ("UPDATE case_events SET note = 'edited'", "note_sha256"),
    ],
)
def test_edited_or_deleted_records_are_caught_by_ledger_verify(
    demo_db: tuple[Path, int], tmp_path: Path, run_cli: RunCli, statement: str, named: str
) -> None:
    """Audit rows, decisions, referrals and case events are checked against the ledger entries
    that record them (issue 10, item 7), so edits behind dropped triggers are named."""
    folder = copy_db(demo_db[0], tmp_path)
    db = folder / "tutela.db"
    url = f"sqlite:///{db}"
    _propose(url, demo_db[1], Signer.load_or_create(folder / "signing-key.pem"))
    code, _, err = run_cli("ledger", "verify", "--db", url)
    assert code == 0, err
    _sql_as_attacker(db, statement)
    code, _, err = run_cli("ledger", "verify", "--db", url)
    assert code == 1 and named in err, err


def test_package_is_private_to_its_user(
    demo_db: tuple[Path, int], tmp_path: Path, run_cli: RunCli
) -> None:
    """The package holds the case's message texts: written 0600 like the database."""
    import os
    import stat

    folder = copy_db(demo_db[0], tmp_path)
    out = tmp_path / "draft.zip"
    url = f"sqlite:///{folder / 'tutela.db'}"
    code, _, err = run_cli("export", str(demo_db[1]), "--out", str(out), "--db", url, "--draft")
    assert code == 0, err
    if os.name == "posix":
        assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_ledger_verify_names_a_bad_database_before_any_key(tmp_path: Path, run_cli: RunCli) -> None:
    code, _, err = run_cli("ledger", "verify", "--db", "bogus://x")
    assert code == 2 and "unsupported database 'bogus'" in err and "key" not in err
    missing = tmp_path / "nowhere" / "none.db"
    code, _, err = run_cli("ledger", "verify", "--db", f"sqlite:///{missing}")
    assert code == 2 and "no database here" in err and not missing.exists()


def test_unsigned_tail_is_a_warning(demo_db: tuple[Path, int], tmp_path: Path, run_cli: RunCli):
    """Entries after the last checkpoint are reported: no signature covers them yet."""
    folder = copy_db(demo_db[0], tmp_path)
    url = f"sqlite:///{folder / 'tutela.db'}"
    _propose(url, demo_db[1], Signer.load_or_create(folder / "signing-key.pem"))
    code, _, err = run_cli("ledger", "verify", "--db", url)
    assert code == 0 and "after the last checkpoint" in err and "not signed yet" in err
