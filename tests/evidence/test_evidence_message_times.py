"""Both times of a contact's message in the evidence package and the report: when Tutela received
it and when the platform says it was sent ("not stated" without a stamp). Packages and databases
from before the sent time existed keep verifying."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from _evidence_packages import members, rewrite
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tutela.evidence import export_package, verified_contents, verify_package
from tutela.evidence.contents import TranscriptLine
from tutela.evidence.report import _line_times, report_context
from tutela.ledger import Signer, TamperError, canonical_json
from tutela.store import Recorder, open_store

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
SENT = datetime(2025, 3, 1, 11, 40, 5, tzinfo=UTC)
STORE_DATA = Path(__file__).resolve().parents[1] / "store" / "data"


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in members(path)["messages.jsonl"].splitlines()]


@pytest.fixture
def exported(tmp_path: Path) -> tuple[Path, Signer]:
    signer = Signer.generate()
    store = open_store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    rec = Recorder(store, signer=signer, checkpoint_every=4)
    op = rec.ensure_demo_operation()
    cid = rec.get_or_create_contact("xmpp", "bob@localhost")
    conv = rec.open_conversation(
        operation_id=op.id, persona_id="p", platform="xmpp", account="mia@localhost",
        contact_id=cid, lang="en", started_at=T0,
    ).id  # fmt: skip
    rec.record_inbound(
        conversation_id=conv, author="bob@localhost", text="left while you were offline",
        wire=b"<message>1</message>", received_at=T0, sent_at=SENT, contact_line=1,
    )  # fmt: skip
    rec.record_outbound(conversation_id=conv, text="hi", origin="bank:x", sent_at=T0)
    rec.record_inbound(
        conversation_id=conv, author="bob@localhost", text="and now live",
        wire=b"<message>2</message>", received_at=T0 + timedelta(minutes=1), contact_line=2,
    )  # fmt: skip
    rec.record_outbound(
        conversation_id=conv, text="typed on the phone", origin="human:device:phone",
        sent_at=T0 + timedelta(minutes=2), wire=b"<carbon/>", platform_msg_id="own-1",
    )  # fmt: skip
    case = rec.get_or_create_case(cid)
    out = tmp_path / "case.zip"
    export_package(store, case.id, out, signer=signer)
    store.close()
    return out, signer


def test_package_rows_carry_both_times(exported) -> None:
    path, signer = exported
    verify_package(path, expected_fingerprint=signer.fingerprint())
    rows = _rows(path)
    inbound = [r for r in rows if r["direction"] == "in"]
    outbound = [r for r in rows if r["direction"] == "out"]
    assert [(r["at"], r["sent_at"]) for r in inbound] == [
        ("2025-03-01T12:00:00.000000Z", "2025-03-01T11:40:05.000000Z"),
        ("2025-03-01T12:01:00.000000Z", None),
    ]
    assert all("sent_at" not in r for r in outbound)  # an outbound row's ``at`` is its send
    assert outbound[1]["wire"] is not None  # the carbon the own line was seen in


def test_report_shows_received_and_sent_or_not_stated(exported) -> None:
    path, signer = exported
    html = members(path)["report.html"].decode("utf-8")
    ts = '<span class="ts">{}</span>'.format  # whole timestamps: never wrapped (white-space)
    assert f"received {ts('2025-03-01T12:00:00.000000Z')}" in html
    assert f"sent {ts('2025-03-01T11:40:05.000000Z')} (platform's stamp)" in html
    assert f"received {ts('2025-03-01T12:01:00.000000Z')}<br><small>sent not stated" in html
    assert "human:device:phone" in html
    contents = verified_contents(path, expected_fingerprint=signer.fingerprint())
    lines = [ln for v in report_context(contents)["views"] for ln in v.lines]
    assert [_line_times(ln) for ln in lines] == [
        "received 2025-03-01T12:00:00.000000Z\nsent 2025-03-01T11:40:05.000000Z (platform's stamp)",
        "sent 2025-03-01T12:00:00.000000Z",
        "received 2025-03-01T12:01:00.000000Z\nsent not stated",
        "sent 2025-03-01T12:02:00.000000Z",
    ]
    assert members(path)["report.pdf"].startswith(b"%PDF")


def test_line_times_of_a_bare_line() -> None:
    line = TranscriptLine(
        message_seq=1, direction="in", contact_line=1, author="a", text="t", at="X", ledger_seq=1
    )
    assert _line_times(line) == "received X\nsent not stated"


def _edit_rows(path: Path, dst: Path, signer: Signer, change) -> Path:
    rows = _rows(path)
    for r in rows:
        change(r)
    data = b"".join(canonical_json(r) + b"\n" for r in rows)
    return rewrite(path, dst, {"messages.jsonl": data}, mode="resigned", signer=signer)


def test_a_changed_sent_time_is_detected(exported, tmp_path: Path) -> None:
    path, signer = exported

    def later(r: dict) -> None:
        if r.get("sent_at"):
            r["sent_at"] = "2025-03-01T11:59:59.000000Z"

    def invented(r: dict) -> None:
        if r["direction"] == "in" and r["sent_at"] is None:
            r["sent_at"] = "2025-03-01T11:00:00.000000Z"

    def on_outbound(r: dict) -> None:
        if r["direction"] == "out":
            r["sent_at"] = r["at"]

    def other_wire(r: dict) -> None:
        if r["direction"] == "out" and r["wire"]:
            r["wire"] = "PGZvcmdlZC8+"  # "<forged/>"

    for n, change in enumerate((later, invented, on_outbound, other_wire)):
        forged = _edit_rows(path, tmp_path / f"forged{n}.zip", signer, change)
        with pytest.raises(TamperError, match=r"sent_at|wire_sha256"):
            verify_package(forged, expected_fingerprint=signer.fingerprint())


def test_package_written_before_sent_times_still_verifies(exported, tmp_path: Path) -> None:
    """A package of the earlier layout: its rows have no ``sent_at`` key at all."""
    path, signer = exported

    def old_layout(r: dict) -> None:
        if r.get("sent_at") is None:
            r.pop("sent_at", None)

    old = _edit_rows(path, tmp_path / "old.zip", signer, old_layout)
    assert all("sent_at" not in r for r in _rows(old) if r["message_seq"] != 1)
    verify_package(old, expected_fingerprint=signer.fingerprint())


def test_case_of_a_database_of_0005_exports_and_verifies(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    con = sqlite3.connect(db)
    con.executescript((STORE_DATA / "store_0005.sql").read_text())
    con.close()
    db.chmod(0o600)
    raw = bytes.fromhex((STORE_DATA / "store_0005.key.hex").read_text().strip())
    signer = Signer(Ed25519PrivateKey.from_private_bytes(raw))
    store = open_store(f"sqlite:///{db}")  # upgrades to 0006
    try:
        rec = Recorder(store, signer=signer, checkpoint_every=0)
        (conv,) = rec.open_conversations()
        case = rec.get_or_create_case(conv.contact_id)
        out = tmp_path / "old-case.zip"
        export_package(store, case.id, out, signer=signer)
    finally:
        store.close()
    verify_package(out, expected_fingerprint=signer.fingerprint())
    inbound = [r for r in _rows(out) if r["direction"] == "in"]
    assert len(inbound) == 3 and all(r["sent_at"] is None for r in inbound)
    html = members(out)["report.html"].decode("utf-8")
    assert html.count("sent not stated") == 3


def test_report_names_whose_stamp_a_sent_time_is(tmp_path: Path) -> None:
    signer = Signer.generate()
    store = open_store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    rec = Recorder(store, signer=signer, checkpoint_every=4)
    op = rec.ensure_demo_operation()
    cid = rec.get_or_create_contact("xmpp", "bob@localhost")
    conv = rec.open_conversation(
        operation_id=op.id, persona_id="p", platform="xmpp", account="mia@localhost",
        contact_id=cid, lang="en", started_at=T0,
    ).id  # fmt: skip
    rec.record_inbound(
        conversation_id=conv, author="bob@localhost", text="stored by the server",
        wire=b"<message>1</message>", received_at=T0, sent_at=SENT, sent_by="localhost",
        contact_line=1, answer=False,
    )  # fmt: skip
    out = tmp_path / "case.zip"
    export_package(store, rec.get_or_create_case(cid).id, out, signer=signer)
    store.close()
    verify_package(out, expected_fingerprint=signer.fingerprint())
    html = members(out)["report.html"].decode("utf-8")
    assert (
        'sent <span class="ts">2025-03-01T11:40:05.000000Z</span> (as stamped by localhost, '
        "the server&#39;s claim)" in html
    )
    assert "stamp of localhost" not in html  # reads as if the stamp were checked: it is not
    assert "platform&#39;s stamp" not in html and "platform's stamp" not in html
    contents = verified_contents(out, expected_fingerprint=signer.fingerprint())
    ctx = report_context(contents)
    (line,) = [ln for v in ctx["views"] for ln in v.lines]
    assert _line_times(line, ctx["sent_by"].get(line.ledger_seq)) == (
        "received 2025-03-01T12:00:00.000000Z\n"
        "sent 2025-03-01T11:40:05.000000Z (as stamped by localhost, the server's claim)"
    )
    assert members(out)["report.pdf"].startswith(b"%PDF")


# ---------------------------------------------------------------------------------------------
# "not answered by design" and purged rows (review of issue 11)


@pytest.fixture
def quiet_case(tmp_path: Path) -> tuple[Path, Signer, Path]:
    """A case with a line stored ``answer = false``, a plain one, and a purged one; returns the
    package, the signer and the database file."""
    signer = Signer.generate()
    db = tmp_path / "db.sqlite"
    store = open_store(f"sqlite:///{db}")
    rec = Recorder(store, signer=signer, checkpoint_every=4)
    op = rec.ensure_demo_operation()
    cid = rec.get_or_create_contact("xmpp", "bob@localhost")
    conv = rec.open_conversation(
        operation_id=op.id, persona_id="p", platform="xmpp", account="mia@localhost",
        contact_id=cid, lang="en", started_at=T0,
    ).id  # fmt: skip
    for n, answer in ((1, False), (2, True), (3, True)):
        m = rec.record_inbound(
            conversation_id=conv, author="bob@localhost", text=f"line {n}",
            wire=f"<message>{n}</message>".encode(), received_at=T0 + timedelta(minutes=n),
            contact_line=n, answer=answer,
        )  # fmt: skip
    rec.purge_messages([m.id], actor="retention", reason="expired")
    out = tmp_path / "case.zip"
    export_package(store, rec.get_or_create_case(cid).id, out, signer=signer)
    store.close()
    return out, signer, db


def test_a_line_not_to_be_answered_is_marked_and_nothing_more(quiet_case, monkeypatch) -> None:
    path, signer, _ = quiet_case
    verify_package(path, expected_fingerprint=signer.fingerprint())
    rows = _rows(path)
    assert [(r.get("answer"), r.get("answer_note")) for r in rows] == [
        (False, "not answered by design"), (None, None), (None, None),
    ]  # fmt: skip
    assert "answer" not in rows[1] and "answer_note" not in rows[1]  # earlier layout kept
    html = members(path)["report.html"].decode("utf-8")
    assert html.count("[not answered by design]") == 1
    assert '<td>line 1<br><small class="quiet">[not answered by design]</small></td>' in html
    contents = verified_contents(path, expected_fingerprint=signer.fingerprint())
    lines = [ln for v in contents.conversation_views() for ln in v.lines]
    assert [ln.not_answered for ln in lines] == [True, False, False]

    import io

    from pypdf import PdfReader

    from tutela.evidence.report import render_pdf

    pdf = PdfReader(io.BytesIO(render_pdf(contents)))  # the PDF is the HTML above, rendered
    text = "".join(p.extract_text().replace("\x00", "") for p in pdf.pages)
    assert "".join(text.split()).count("[notansweredbydesign]") == 1


def test_a_forged_or_dropped_not_answered_mark_is_detected(quiet_case, tmp_path: Path) -> None:
    path, signer, _ = quiet_case

    def dropped(r: dict) -> None:
        r.pop("answer", None)
        r.pop("answer_note", None)

    def invented(r: dict) -> None:
        if r["message_seq"] == 2:
            r.update(answer=False, answer_note="not answered by design")

    def reworded(r: dict) -> None:
        if r.get("answer") is False:
            r["answer_note"] = "not answered: the contact was an adult"

    for n, change in enumerate((dropped, invented, reworded)):
        forged = _edit_rows(path, tmp_path / f"quiet{n}.zip", signer, change)
        with pytest.raises(TamperError, match="answer"):
            verify_package(forged, expected_fingerprint=signer.fingerprint())


def test_a_purged_row_carrying_text_is_refused(quiet_case, tmp_path: Path) -> None:
    path, signer, _ = quiet_case
    assert [(r["purged"], r["text"], r["wire"]) for r in _rows(path)][2] == (True, None, None)
    for name, value in (("text", "line 3"), ("wire", "PG0+")):

        def restored(r: dict, name=name, value=value) -> None:
            if r["purged"]:
                r[name] = value

        forged = _edit_rows(path, tmp_path / f"purged-{name}.zip", signer, restored)
        with pytest.raises(TamperError, match=f"{name} of a purged message"):
            verify_package(forged, expected_fingerprint=signer.fingerprint())


def test_content_written_on_a_purged_row_is_not_exported(quiet_case, tmp_path: Path) -> None:
    """Text put back on a purged row behind the dropped guard: the collector leaves it out (the
    ledger verify names the row, see tests/store/test_store_message_times.py)."""
    from tutela.store.queries.evidence import message_rows

    _, _, db = quiet_case
    con = sqlite3.connect(db)
    con.execute("DROP TRIGGER messages_guard_update")
    con.execute("UPDATE messages SET text = 'made up', wire = X'00' WHERE purged_at IS NOT NULL")
    con.commit()
    con.close()
    store = open_store(f"sqlite:///{db}")
    try:
        rows = message_rows(store, [1], max_seq=10_000)
    finally:
        store.close()
    assert [(r["purged"], r["text"], r["wire"]) for r in rows] == [
        (False, "line 1", "PG1lc3NhZ2U+MTwvbWVzc2FnZT4="),
        (False, "line 2", "PG1lc3NhZ2U+MjwvbWVzc2FnZT4="),
        (True, None, None),
    ]
