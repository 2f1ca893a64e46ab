"""An imported file's flagged authors in the dashboard: the queue lists them, the case page shows
the lines under their own authors and says where they came from (issue 11, batch into cases)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from tutela.cases.imports import import_analysis
from tutela.detect.analyze import analyze
from tutela.detect.persistence import load_model
from tutela.ingest import read_corpus

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "chats.jsonl"


def test_imported_cases_in_queue_and_case_page(web):
    rec = web.services.recorder
    op = rec.create_operation(
        organisation="NGO",
        jurisdiction="NL",
        legal_basis="test",
        authorisation_ref="IMP-1",
        officer="O",
        starts_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    result = analyze(read_corpus(EXAMPLE, fmt="generic"), load_model())
    summary = import_analysis(
        rec,
        path=EXAMPLE,
        fmt="generic",
        result=result,
        conversations=lambda: read_corpus(EXAMPLE, fmt="generic"),
        operation_id=op.id,
        actor="cli:test",
    )
    assert summary.cases
    client = web.login("ana")
    queue = client.get("/queue")
    assert queue.status_code == 200
    for case_id in summary.cases:
        assert f"/cases/{case_id}" in queue.text
    page = client.get(f"/cases/{summary.cases[0]}")
    assert page.status_code == 200, page.text[:500]
    assert "generic" in page.text  # the platform is the file's format
    assert "Imported from the file" in page.text and "chats.jsonl" in page.text
