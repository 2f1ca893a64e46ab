"""Batch results into cases: ``import_analysis`` and ``tutela analyze --operation``."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tutela.cases.imports import IMPORT_PERSONA, file_sha256, import_analysis
from tutela.detect.analyze import analyze
from tutela.detect.persistence import load_model
from tutela.errors import InputError
from tutela.ingest import read_corpus
from tutela.store import iter_ledger
from tutela.store.ledger_verify import verify_ledger

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "chats.jsonl"


@pytest.fixture(scope="module")
def analysed():
    model = load_model()
    result = analyze(read_corpus(EXAMPLE, fmt="generic"), model)
    return result


def _operation(recorder) -> int:
    op = recorder.create_operation(
        organisation="NGO",
        jurisdiction="NL",
        legal_basis="test",
        authorisation_ref="T-1",
        officer="O. Fficer",
        starts_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    return op.id


def _import(env, analysed, operation_id: int):
    return import_analysis(
        env.recorder,
        path=EXAMPLE,
        fmt="generic",
        result=analysed,
        conversations=lambda: read_corpus(EXAMPLE, fmt="generic"),
        operation_id=operation_id,
        actor="cli:tester",
    )


def test_flagged_authors_reach_the_review_queue_with_provenance(env, analysed):
    op = _operation(env.recorder)
    summary = _import(env, analysed, op)
    flagged = {a.id: a for a in analysed.authors if a.label}
    assert flagged, "the example file has flagged authors"
    assert summary.conversations_analysed == len(analysed.conversations)
    assert summary.conversations_recorded >= len(flagged)
    assert len(summary.cases) == len(flagged)

    queue = env.workflow.review_queue()
    assert {c.case_id for c in queue} == set(summary.cases)
    # highest risk first, and the case carries the author's risk
    risks = sorted((round(a.risk, 6) for a in flagged.values()), reverse=True)
    assert [round(c.risk, 6) for c in queue] == risks

    sha = file_sha256(EXAMPLE)
    opened = [
        e.payload for e in iter_ledger(env.store) if e.payload.get("event") == "conversation_opened"
    ]
    assert len(opened) == summary.conversations_recorded
    for p in opened:
        assert p["persona_id"] == IMPORT_PERSONA
        assert p["provenance"]["kind"] == "imported_file"
        assert p["provenance"]["sha256"] == sha
        assert p["provenance"]["file"] == EXAMPLE.name
        assert p["provenance"]["author"] in flagged
    audits = [e.payload for e in iter_ledger(env.store) if e.kind.value == "audit"]
    actions = [a.get("action") for a in audits]
    assert "import_started" in actions and "import_finished" in actions
    verify_ledger(env.store, [env.signer.public_key])


def test_every_line_is_recorded_under_its_own_author(env, analysed):
    op = _operation(env.recorder)
    _import(env, analysed, op)
    by_id = {c.id: c for c in read_corpus(EXAMPLE, fmt="generic")}
    for case in env.workflow.review_queue():
        detail = env.workflow.case_detail(case.case_id)
        for view in detail.conversations:
            record = env.recorder.conversation(view.id)
            source = by_id[record.state["provenance"]["conversation"]]
            rows = env.recorder.conversation_messages(view.id)
            assert [(m.author, m.text) for m in rows] == [
                (m.author, m.text) for m in source.messages
            ]
            assert all(m.direction == "in" for m in rows)  # no persona took part
            wire = json.loads(rows[0].wire)
            assert wire["file_sha256"] == file_sha256(EXAMPLE)
            assert wire["source"] == source.messages[0].source
            decisions = env.recorder.conversation_decisions(view.id)
            assert [d.action for d in decisions] == ["escalate"]
            assert decisions[0].rule == "import.analysis"
            assert record.ended_at is not None


def test_the_same_file_is_not_imported_twice(env, analysed):
    op = _operation(env.recorder)
    _import(env, analysed, op)
    with pytest.raises(InputError, match="already imported into operation"):
        _import(env, analysed, op)


def test_unknown_operation_is_refused(env, analysed):
    with pytest.raises(InputError, match="no such operation"):
        _import(env, analysed, 99)


def test_cli_analyze_operation_then_export_says_imported(tmp_path):
    db = f"sqlite:///{tmp_path / 't.db'}"
    envvars = {"TUTELA_DB": db, "TUTELA_HOME": str(tmp_path / "home")}
    import os

    env = {**os.environ, **envvars, "XDG_DATA_HOME": str(tmp_path / "xdg")}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tutela", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )

    missing = run("analyze", str(EXAMPLE), "--operation", "1")
    assert missing.returncode == 2 and "no such operation" in missing.stderr
    r = run(
        "operations", "add", "--organisation", "NGO", "--jurisdiction", "NL",
        "--legal-basis", "test", "--authorisation-ref", "T1", "--officer", "O",
        "--start", "2026-01-01T00:00Z",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    r = run("analyze", str(EXAMPLE), "--operation", "1", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["format"] == "generic"
    assert data["import"]["sha256"] == file_sha256(EXAMPLE)
    case = data["import"]["cases"][0]
    out = tmp_path / "p.zip"
    r = run("export", str(case), "--draft", "--out", str(out))
    assert r.returncode == 0, r.stderr
    with zipfile.ZipFile(out) as z:
        report = z.read("report.html").decode()
    assert "Imported from the file chats.jsonl" in report
    assert file_sha256(EXAMPLE) in report
    again = run("analyze", str(EXAMPLE), "--operation", "1")
    assert again.returncode == 2 and "already imported" in again.stderr
    assert "analysing" not in again.stderr  # refused before the analysis runs
    ledger = run("ledger", "verify", "--json")
    assert ledger.returncode == 0, ledger.stderr
    assert "not signed" not in ledger.stdout + ledger.stderr  # the import signed its entries
