"""The export is recorded through the caller's Recorder (``record_export``): its clock stamps the
draft audit row, the export entry and the checkpoint, in one transaction and in that order, and
no automatic checkpoint of the recorder comes between them."""

from __future__ import annotations

import json
import sqlite3
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from _evidence_packages import build_case

from tutela.errors import InputError
from tutela.evidence import export_package, verify_package
from tutela.ledger import format_instant
from tutela.store import Recorder, iter_checkpoints, iter_ledger, open_store

T1 = datetime(2025, 4, 2, 9, 30, tzinfo=UTC)


def test_draft_export_goes_through_the_callers_recorder(tmp_path: Path) -> None:
    url, case_id, signer = build_case(tmp_path, evidential=True)
    out = tmp_path / "draft.zip"
    with open_store(url) as store:
        head_before = max(e.seq for e in iter_ledger(store))
        # checkpoint_every=1 would sign every entry: the export must still sign only its own
        rec = Recorder(store, signer=signer, checkpoint_every=1, clock=lambda: T1)
        report = export_package(
            store, case_id, out, signer=signer, actor="ana", draft=True, recorder=rec
        )
        new = [e for e in iter_ledger(store) if e.seq > head_before]
        cps = [c for c in iter_checkpoints(store) if c.seq > head_before]
    assert [e.kind.value for e in new] == ["audit", "export"]
    audit, export = new
    assert audit.payload is not None and audit.payload["action"] == "export_draft"
    assert audit.payload["details"] == {"case_id": case_id, "draft": True, "out": "draft.zip"}
    assert export.payload is not None and export.payload["draft"] is True
    assert {e.at for e in new} == {format_instant(T1)}
    assert [(c.seq, c.at) for c in cps] == [(export.seq, format_instant(T1))]
    assert report.last_seq == export.seq
    assert verify_package(out, expected_fingerprint=signer.fingerprint()).last_seq == export.seq
    with zipfile.ZipFile(out) as z:
        manifest = json.loads(z.read("manifest.json"))
    assert manifest["last_seq"] == export.seq and manifest["draft"] is True
    con = sqlite3.connect(tmp_path / "tutela.db")
    try:
        rows = con.execute(
            "SELECT actor, target, ledger_seq FROM audit_log WHERE action = 'export_draft'"
        ).fetchall()
    finally:
        con.close()
    assert rows == [("ana", f"case:{case_id}", audit.seq)]


def test_a_recorder_of_another_store_is_refused(tmp_path: Path) -> None:
    url, case_id, signer = build_case(tmp_path, evidential=True)
    with open_store(url) as store, open_store(url) as other:
        head = max(e.seq for e in iter_ledger(store))
        with pytest.raises(InputError, match="another store"):
            export_package(
                store,
                case_id,
                tmp_path / "x.zip",
                signer=signer,
                recorder=Recorder(other, signer=signer),
            )
        assert max(e.seq for e in iter_ledger(store)) == head
    assert not (tmp_path / "x.zip").exists()
