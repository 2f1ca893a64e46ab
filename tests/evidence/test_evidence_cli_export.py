"""``tutela export`` / ``tutela verify`` end to end, and the key that belongs to a database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from _evidence_packages import Exported, copy_db

from tutela.evidence import verify_package
from tutela.ledger import Signer, key_path_for_db

RunCli = Callable[..., tuple[int, str, str]]


def test_key_path_for_db(tmp_path: Path) -> None:
    demo = tmp_path / "tutela-demo-abc" / "tutela.db"
    assert key_path_for_db(f"sqlite:///{demo}") == demo.parent / "signing-key.pem"
    assert key_path_for_db(f"sqlite:///{tmp_path / 'other' / 'tutela.db'}") is None
    assert key_path_for_db("postgresql+psycopg://u:p@127.0.0.1/tutela-demo-x") is None
    assert key_path_for_db("sqlite://") is None


def test_export_through_the_console_script(
    demo_db: tuple[Path, int], tmp_path: Path, run_cli: RunCli
) -> None:
    folder = copy_db(demo_db[0], tmp_path)
    url = f"sqlite:///{folder / 'tutela.db'}"
    fp = Signer.load_or_create(folder / "signing-key.pem").fingerprint()
    out = tmp_path / "out" / "case.zip"
    cmd = [sys.executable, "-m", "tutela", "export", str(demo_db[1]), "--out", str(out)]
    env = {**os.environ, "TUTELA_DB": url}
    # the demo case has no approved referral: only a --draft export (issue 10, item 11)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 2 and "no approved referral" in r.stderr and not out.exists()
    r = subprocess.run([*cmd, "--draft"], capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr
    assert fp in r.stdout  # the demo database's own key was used
    assert "NON-EVIDENTIAL" in r.stderr and "DRAFT" in r.stderr
    code, out_text, err = run_cli("verify", str(out), "--expect-fingerprint", fp)
    assert code == 0, err
    assert "intact" in out_text and f"{fp} (matches --expect-fingerprint)" in out_text
    code, _, err = run_cli("verify", str(tmp_path))
    assert code == 2 and err.startswith("error:")


def test_export_in_process_with_explicit_key_and_env_db(
    demo_db: tuple[Path, int], tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = copy_db(demo_db[0], tmp_path)
    monkeypatch.setenv("TUTELA_DB", f"sqlite:///{folder / 'tutela.db'}")
    key = folder / "signing-key.pem"
    out = tmp_path / "case.zip"
    code, _stdout, err = run_cli(
        "export", str(demo_db[1]), "--out", str(out), "--key", str(key), "--draft"
    )
    assert code == 0, err
    report = verify_package(out, expected_fingerprint=Signer.load_or_create(key).fingerprint())
    assert report.case_id == demo_db[1] and not report.evidential
    # a second export appends another export entry and still verifies
    code, _, err = run_cli("export", str(demo_db[1]), "--out", str(out), "--draft")
    assert code == 0, err
    assert verify_package(out).last_seq > report.last_seq


def test_export_with_a_foreign_key_is_refused(
    demo_db: tuple[Path, int], tmp_path: Path, run_cli: RunCli
) -> None:
    """A key that did not sign the ledger's checkpoints cannot export (nothing is appended)."""
    from tutela.store import iter_ledger, open_store

    folder = copy_db(demo_db[0], tmp_path)
    url = f"sqlite:///{folder / 'tutela.db'}"
    with open_store(url) as store:
        before = len(list(iter_ledger(store)))
    out = tmp_path / "case.zip"
    other = tmp_path / "other-key.pem"
    code, _, err = run_cli(
        "export", str(demo_db[1]), "--out", str(out), "--db", url, "--key", str(other), "--draft"
    )
    assert code == 2 and "signed by" in err and not out.exists()
    with open_store(url) as store:
        assert len(list(iter_ledger(store))) == before


def test_export_unknown_case_exits_two(
    demo_db: tuple[Path, int], tmp_path: Path, run_cli: RunCli
) -> None:
    folder = copy_db(demo_db[0], tmp_path)
    out = tmp_path / "none.zip"
    code, _, err = run_cli(
        "export", "999", "--out", str(out), "--db", f"sqlite:///{folder / 'tutela.db'}"
    )
    assert code == 2 and err.startswith("error:") and "999" in err
    assert not out.exists() and not list(tmp_path.glob("*.part"))


def test_package_layout(evidential_package: Exported) -> None:
    with zipfile.ZipFile(evidential_package.path) as z:
        names = set(z.namelist())
        manifest = json.loads(z.read("manifest.json"))
        ops = json.loads(z.read("operations.json"))
    assert names == {
        "manifest.json",
        "manifest.sig",
        "entries.jsonl",
        "checkpoints.jsonl",
        "messages.jsonl",
        "operations.json",
        "public_key.pem",
        "report.html",
        "report.pdf",
        "case.jsonld",
        "METHOD.md",
        "CERTIFICATE.md",
        "redactions.jsonl",
    }
    assert set(manifest["files"]) == names - {"manifest.json", "manifest.sig"}
    assert manifest["exported_by"] == "officer-7"
    assert ops[0]["authorisation_ref"] == "AUTH-2025-001" and ops[0]["evidential"] is True
    report = verify_package(
        evidential_package.path, expected_fingerprint=evidential_package.signer.fingerprint()
    )
    assert report.evidential and report.purged_messages == 1
    assert len(report.conversations) == 1  # the bystander's conversation is not in the case
    with zipfile.ZipFile(evidential_package.path) as z:  # nor another case's review
        assert not any(b"reviewer-of-another-case" in z.read(n) for n in names)
        assert b"supervisor-s" in z.read("entries.jsonl")
