"""``tutela export CASE --format cybertip`` (issue 13, item 1): a CyberTipline-style report,
validated against the schema kept in the repository, the decoy stated as a decoy (no victim
block), one message CSV per conversation with its SHA-256 in the XML; the export's rules (an
approved referral or ``--draft``, audited, atomic, ``0600``); field coverage on the demo cases."""

from __future__ import annotations

import csv
import hashlib
import json
import sqlite3
import stat
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as DET
import pytest
import xmlschema
from _evidence_packages import copy_db

from tutela.errors import InputError
from tutela.evidence.cybertip import (
    APPROVED_STATUS,
    SCHEMA_FILE,
    CyberTipReport,
    export_cybertip,
    validate_cybertip,
)
from tutela.evidence.cybertip_build import CSV_COLUMNS, INCIDENT_TYPE, csv_name
from tutela.evidence.layout import DRAFT_STATUS
from tutela.ledger import Signer, TamperError
from tutela.store import NotFoundError, Recorder, open_store

RunCli = Callable[..., tuple[int, str, str]]
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
CEST = timezone(timedelta(hours=2))
SCHEMA = Path(__file__).parents[2] / "src" / "tutela" / "evidence" / "schemas" / SCHEMA_FILE


@dataclass(frozen=True)
class Rich:
    """A case recorded through the Recorder: two conversations (XMPP; IRC in a room), a purged
    line, a formula-like line, a referral proposal by the policy, volunteered identifiers."""

    folder: Path
    case_id: int
    contact_id: int
    convs: tuple[int, int]
    inbound_ids: tuple[int, ...]


def _approve(url: str, signer: Signer, case_id: int) -> None:
    """An analyst proposes, another supervisor approves (four-eyes), as in the dashboard."""
    from argon2 import PasswordHasher

    from tutela.accounts.users import UserStore
    from tutela.cases.workflow import CaseWorkflow

    with open_store(url) as store:
        rec = Recorder(store, signer=signer)
        users = UserStore(
            store, recorder=rec, hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
        )
        ana = users.add("ana", "analyst", "correct horse battery")
        sue = users.add("sue", "supervisor", "correct horse battery")
        wf = CaseWorkflow(rec)
        ref = wf.propose_referral(case_id, ana, "solicitation after an age probe")
        wf.approve_referral(ref.id, sue, "agreed")
        assert wf.referral_ready(case_id)


def _build_rich(folder: Path, *, room: str = "#lobby") -> Rich:
    url = f"sqlite:///{folder / 'tutela.db'}"
    signer = Signer.load_or_create(folder / "signing-key.pem")
    store = open_store(url)
    rec = Recorder(store, signer=signer, checkpoint_every=5, clock=lambda: T0)
    op = rec.create_operation(
        organisation="Example Child Protection Unit",
        jurisdiction="NL",
        legal_basis="Art. 126j Sv (synthetic test record)",
        authorisation_ref="AUTH-2025-001",
        officer="officer-7",
        starts_at=T0,
        ends_at=T0 + timedelta(days=30),
        evidential=True,
    )
    contact = rec.get_or_create_contact("xmpp", "suspect@xmpp.example")
    rec.link_identity(contact, "irc", "platform_id", "suspect_irc")
    a = rec.open_conversation(
        operation_id=op.id,
        persona_id="p-test",
        platform="xmpp",
        account="decoy@xmpp.example",
        contact_id=contact,
        lang="en",
        started_at=T0,
    ).id
    lines = ["hello", "how old are you", "=1+1 keep it a secret", "mail me at x@example.org"]
    inbound = []
    for n, text in enumerate(lines, start=1):
        at = (T0 + timedelta(minutes=n)).astimezone(CEST)  # an offset the report turns to UTC
        m = rec.record_inbound(
            conversation_id=a,
            author="suspect@xmpp.example",
            text=text,
            wire=json.dumps({"body": text}).encode(),
            received_at=at,
            contact_line=n,
            sent_at=at - timedelta(seconds=2) if n == 2 else None,
        )
        inbound.append(m.id)
        refer = n == 3
        rec.record_decision(
            conversation_id=a,
            message_id=m.id,
            after_line=n,
            action="refer" if refer else "continue",
            risk=0.9 if refer else 0.1,
            indicators=["en.secrecy.dont_tell"] if refer else [],
            rule="ladder.commercial_exploitation" if refer else "none",
            reason="synthetic referral reason" if refer else "synthetic test decision",
            variant=None,
        )
        rec.record_outbound(
            conversation_id=a, text=f"ok {n}", origin="bank:test", sent_at=at + timedelta(seconds=5)
        )
    rec.link_identity(contact, "xmpp", "email", "x@example.org", inbound[3])
    rec.link_identity(contact, "xmpp", "phone", "+31 6 0000 0000", inbound[3])
    rec.link_identity(contact, "xmpp", "payment_ref", "pay-0001")
    rec.link_identity(contact, "xmpp", "handle", "suspect-handle")
    b = rec.open_conversation(
        operation_id=op.id,
        persona_id="p-test",
        platform="irc",
        account="decoy_irc",
        contact_id=contact,
        lang="en",
        started_at=T0 + timedelta(hours=1),
        room=room,
    ).id
    m = rec.record_inbound(
        conversation_id=b,
        author="suspect_irc",
        text="hi again",
        wire=b"hi again",
        received_at=T0 + timedelta(hours=1, minutes=1),
        contact_line=1,
    )
    inbound.append(m.id)
    rec.record_outbound(
        conversation_id=b,
        text="hey",
        origin="bank:test",
        sent_at=T0 + timedelta(hours=1, minutes=2),
    )
    rec.purge_messages(inbound[:1], actor="retention", reason="expired")
    case = rec.get_or_create_case(contact)
    rec.checkpoint()
    store.close()
    return Rich(folder, case.id, contact, (a, b), tuple(inbound))


@pytest.fixture(scope="module")
def rich_db(tmp_path_factory: pytest.TempPathFactory) -> Rich:
    folder = tmp_path_factory.mktemp("cybertip") / "case-db"
    folder.mkdir()
    return _build_rich(folder)


@pytest.fixture
def rich(rich_db: Rich, tmp_path: Path) -> Rich:
    """A fresh copy of the rich case's database (exports append audit rows)."""
    folder = copy_db(rich_db.folder, tmp_path)
    return Rich(folder, rich_db.case_id, rich_db.contact_id, rich_db.convs, rich_db.inbound_ids)


def _url(r: Rich) -> str:
    return f"sqlite:///{r.folder / 'tutela.db'}"


def _signer(r: Rich) -> Signer:
    return Signer.load_or_create(r.folder / "signing-key.pem")


def _export(r: Rich, out: Path, *, draft: bool = False, signer: bool = True) -> CyberTipReport:
    with open_store(_url(r)) as store:
        rec = Recorder(store, signer=_signer(r), checkpoint_every=0)
        return export_cybertip(
            store,
            r.case_id,
            out,
            recorder=rec,
            actor="officer-7",
            draft=draft,
            signer=_signer(r) if signer else None,
        )


def _xml(path: Path) -> Element:
    return DET.fromstring(path.read_bytes())


def _texts(root: Element, path: str) -> list[str]:
    return [e.text or "" for e in root.findall(path)]


def _audits(r: Rich) -> list[tuple[str, str, dict[str, object]]]:
    con = sqlite3.connect(r.folder / "tutela.db")
    try:
        rows = con.execute(
            "SELECT action, target, details FROM audit_log WHERE action = 'case_exported'"
        ).fetchall()
    finally:
        con.close()
    return [(a, t, json.loads(d)) for a, t, d in rows]


def test_report_validates_and_fills_every_field_from_the_case(rich: Rich, tmp_path: Path) -> None:
    _approve(_url(rich), _signer(rich), rich.case_id)
    out = tmp_path / "out" / "report.xml"
    result = _export(rich, out)
    data = out.read_bytes()
    # the schema kept in the repository accepts it, checked independently of the exporter
    xmlschema.XMLSchema10(str(SCHEMA)).validate(data.decode("utf-8"))
    validate_cybertip(data)
    assert result.sha256 == hashlib.sha256(data).hexdigest() and not result.draft
    root = _xml(out)
    assert root.tag == "report"
    # the decoy: no victim block anywhere, a decoy statement naming the operation's authority
    assert root.find(".//victim") is None and root.find(".//intendedRecipient") is None
    statement = root.findtext("decoy/statement") or ""
    assert "NO CHILD VICTIM" in statement and "AUTH-2025-001" in statement
    assert "Art. 126j Sv (synthetic test record)" in (root.findtext("additionalInfo") or "")
    op = root.find("decoy/operation")
    assert op is not None and op.get("evidential") == "true"
    assert op.findtext("legalBasis") == "Art. 126j Sv (synthetic test record)"
    assert op.findtext("authorisationRef") == "AUTH-2025-001"
    assert op.findtext("startsAt") == "2025-03-01T12:00:00.000000Z"
    # incident summary
    assert root.findtext("incidentSummary/incidentType") == INCIDENT_TYPE
    assert root.findtext("incidentSummary/platform") == "xmpp, irc"
    # the first inbound line was received at 12:01 UTC (recorded with a +02:00 offset)
    assert root.findtext("incidentSummary/incidentDateTime") == "2025-03-01T12:01:00.000000Z"
    assert "first message" in (root.findtext("incidentSummary/incidentDateTimeDescription") or "")
    high = root.findtext("incidentSummary/escalateToHighPriority") or ""
    assert "ladder.commercial_exploitation" in high and "synthetic referral reason" in high
    assert result.high_priority
    # one chat/IM incident per conversation: platform, room, the decoy's account, the transcript
    chats = root.findall("internetDetails/chatImIncident")
    assert [c.findtext("chatClient") for c in chats] == ["xmpp", "irc"]
    assert [c.findtext("chatRoomName") for c in chats] == [None, "#lobby"]
    assert [
        (c.findtext("decoyAccount"), c.find("decoyAccount").get("platform")) for c in chats
    ] == [  # type: ignore[union-attr]
        ("decoy@xmpp.example", "xmpp"),
        ("decoy_irc", "irc"),
    ]
    # reporter: the operation's officer and organisation
    assert root.findtext("reporter/reportingPerson/name") == "officer-7"
    assert root.findtext("reporter/organisation") == "Example Child Protection Unit"
    # the reported user: identifiers on each platform, volunteered e-mail and phone
    rep = root.find("personOrUserReported")
    assert rep is not None
    assert rep.findtext("espService") == "xmpp"
    assert rep.findtext("espIdentifier") == "suspect@xmpp.example"
    assert rep.findtext("screenName") == "suspect@xmpp.example"  # the sender name seen
    assert _texts(rep, "personOrUserReportedPerson/email") == ["x@example.org"]
    assert _texts(rep, "personOrUserReportedPerson/phone") == ["+31 6 0000 0000"]
    accounts = [
        (a.findtext("platform"), a.findtext("espIdentifier"), a.findtext("screenName"))
        for a in rep.findall("associatedAccount")
    ]
    assert accounts == [("irc", "suspect_irc", None), ("xmpp", None, "suspect-handle")]
    info = rep.findtext("additionalInfo") or ""
    assert "pay-0001" in info and "conversation 1, contact line 4" in info
    assert rep.find("ipCaptureEvent") is None  # the case holds none: absent, not invented
    # the export's own record: approved, the referral's decision
    assert root.findtext("tutelaExport/status") == APPROVED_STATUS
    assert root.findtext("tutelaExport/caseId") == str(rich.case_id)
    assert root.findtext("tutelaExport/referral/decidedBy") == "sue"
    assert root.findtext("tutelaExport/referral/proposedBy") == "ana"
    strongest = root.find("tutelaExport/strongestAction")
    assert strongest is not None and strongest.text == "refer"
    assert strongest.get("rule") == "ladder.commercial_exploitation"
    # files: 0600, the CSV hashes in the XML match the files written beside it
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert not list(out.parent.glob(".*.part"))
    for chat, conv in zip(chats, rich.convs, strict=True):
        tr = chat.find("transcript")
        assert tr is not None and tr.get("conversation") == str(conv)
        csv_path = out.parent / (tr.get("file") or "")
        assert csv_path.name == f"report.conversation-{conv}.csv"
        assert tr.get("sha256") == hashlib.sha256(csv_path.read_bytes()).hexdigest()
        assert stat.S_IMODE(csv_path.stat().st_mode) == 0o600
    # audited: the format and the SHA-256 of report.xml
    ((action, target, details),) = _audits(rich)
    assert (action, target) == ("case_exported", f"case:{rich.case_id}")
    assert details["format"] == "cybertip" and details["draft"] is False
    assert details["report_sha256"] == result.sha256
    assert details["files"] == {p.name: h for p, h in result.transcripts}


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames or ()) == CSV_COLUMNS
        return list(reader)


def test_csv_rows_are_the_conversations_messages_with_both_parties(
    rich: Rich, tmp_path: Path
) -> None:
    out = tmp_path / "report.xml"
    _export(rich, out, draft=True)
    a, b = rich.convs
    rows = _rows(tmp_path / f"report.conversation-{a}.csv")
    got = [(r["message_seq"], r["direction"], r["sender"], r["recipient"], r["text"]) for r in rows]
    them, me = "suspect@xmpp.example", "decoy@xmpp.example"
    assert got == [
        ("1", "in", them, me, ""),  # purged: the row stays, its text is gone
        ("2", "out", me, them, "ok 1"),
        ("3", "in", them, me, "how old are you"),
        ("4", "out", me, them, "ok 2"),
        ("5", "in", them, me, "'=1+1 keep it a secret"),  # never run as a spreadsheet formula
        ("6", "out", me, them, "ok 3"),
        ("7", "in", them, me, "mail me at x@example.org"),
        ("8", "out", me, them, "ok 4"),
    ]
    assert rows[0]["purged"] == "true" and rows[0]["text_sha256"] == ""
    formula = rows[4]  # the digest is of the text as stored (the ledger's)
    assert formula["text_sha256"] == hashlib.sha256(b"=1+1 keep it a secret").hexdigest()
    assert [r["sender_role"] for r in rows[:2]] == ["reported_user", "decoy"]
    assert rows[2]["recorded_at"] == "2025-03-01T12:02:00.000000Z"  # UTC, whatever the offset
    assert rows[2]["platform_sent_at"] == "2025-03-01T12:01:58.000000Z"
    assert rows[1]["platform_sent_at"] == "" and rows[1]["recorded_at"].endswith("Z")
    assert all(r["ledger_seq"].isdigit() and r["attachments"] == "0" for r in rows)
    irc = _rows(tmp_path / f"report.conversation-{b}.csv")
    assert [(r["sender"], r["recipient"], r["text"]) for r in irc] == [
        ("suspect_irc", "decoy_irc", "hi again"),
        ("decoy_irc", "suspect_irc", "hey"),
    ]
    chat = _xml(out).findall("internetDetails/chatImIncident")[0]
    tr = chat.find("transcript")
    assert tr is not None
    assert (tr.get("messages"), tr.get("fromReportedUser"), tr.get("fromDecoy")) == ("8", "4", "4")
    assert tr.get("purged") == "1"


def test_an_unapproved_case_is_refused_and_nothing_is_written(rich: Rich, tmp_path: Path) -> None:
    out = tmp_path / "report.xml"
    with pytest.raises(InputError, match="no approved referral"):
        _export(rich, out)
    assert list(tmp_path.iterdir()) == [rich.folder] and _audits(rich) == []


def test_a_draft_is_marked_not_evidential(rich: Rich, tmp_path: Path) -> None:
    out = tmp_path / "report.xml"
    result = _export(rich, out, draft=True)
    root = _xml(out)
    assert result.draft and root.findtext("tutelaExport/status") == DRAFT_STATUS
    assert (root.findtext("additionalInfo") or "").startswith(DRAFT_STATUS.upper())
    assert root.find("tutelaExport/referral") is None  # none approved
    ((_, _, details),) = _audits(rich)
    assert details["draft"] is True and details["report_sha256"] == result.sha256


def test_unknown_case_and_case_without_conversations(rich: Rich, tmp_path: Path) -> None:
    with open_store(_url(rich)) as store:
        rec = Recorder(store, signer=_signer(rich), checkpoint_every=0)
        with pytest.raises(NotFoundError):
            export_cybertip(store, 999, tmp_path / "r.xml", recorder=rec, actor="a", draft=True)
        lone = rec.get_or_create_case(rec.get_or_create_contact("xmpp", "nobody@xmpp.example"))
        with pytest.raises(InputError, match="no recorded conversations"):
            export_cybertip(store, lone.id, tmp_path / "r.xml", recorder=rec, actor="a", draft=True)
    assert not (tmp_path / "r.xml").exists()


def test_hostile_long_or_blank_identifiers_cannot_block_the_report(tmp_path: Path) -> None:
    """A room or id over the schema's 255 characters is clipped (the full value stays in the
    reported user's additionalInfo); a blank one is left out: the report still validates."""
    folder = tmp_path / "db"
    folder.mkdir()
    r = _build_rich(folder, room="#" + "r" * 300)
    long_id = "x" * 300 + "@xmpp.example"
    with open_store(_url(r)) as store:
        rec = Recorder(store, signer=_signer(r), checkpoint_every=0)
        rec.link_identity(r.contact_id, "matrix", "platform_id", long_id)
        rec.link_identity(r.contact_id, "matrix", "handle", "   ")
        rec.link_identity(r.contact_id, "mail", "email", "e" * 300 + "@mail.example")
        rec.checkpoint()
    out = tmp_path / "out" / "report.xml"
    out.parent.mkdir()
    _export(r, out, draft=True)  # validated before it was written
    root = _xml(out)
    rooms = _texts(root, "internetDetails/chatImIncident/chatRoomName")
    assert rooms and all(len(room) == 255 and room.endswith("…") for room in rooms)
    ids = _texts(root, "personOrUserReported/associatedAccount/espIdentifier")
    assert any(len(i) == 255 and i.endswith("…") for i in ids)
    assert "" not in _texts(root, "personOrUserReported/associatedAccount/screenName")
    emails = _texts(root, "personOrUserReported/personOrUserReportedPerson/email")
    assert any(len(e) == 255 and e.startswith("eee") for e in emails)
    assert max(map(len, emails)) <= 255
    (info,) = _texts(root, "personOrUserReported/additionalInfo")
    assert long_id in info  # the full value


def test_a_folder_in_the_way_writes_and_audits_nothing(rich: Rich, tmp_path: Path) -> None:
    out = tmp_path / "out" / "report.xml"
    out.parent.mkdir()
    before = _audits(rich)
    blocker = out.with_name(csv_name(out.name, rich.convs[-1]))
    blocker.mkdir()
    with pytest.raises(InputError, match="folder is in the way"):
        _export(rich, out, draft=True)
    assert sorted(p.name for p in out.parent.iterdir()) == [blocker.name]
    assert _audits(rich) == before


def test_the_schema_refuses_a_victim_block_and_a_wrong_hash(rich: Rich, tmp_path: Path) -> None:
    out = tmp_path / "report.xml"
    _export(rich, out, draft=True)
    good = out.read_bytes()
    victim = good.replace(b"<additionalInfo>DRAFT", b"<victim /><additionalInfo>DRAFT", 1)
    assert victim != good
    with pytest.raises(InputError, match="does not validate"):
        validate_cybertip(victim)
    digest = _xml(out).find("internetDetails/chatImIncident/transcript").get("sha256")  # type: ignore[union-attr]
    assert digest is not None
    with pytest.raises(InputError, match="does not validate"):
        validate_cybertip(good.replace(digest.encode(), b"X" * 64))
    with pytest.raises(InputError, match="not well-formed"):
        validate_cybertip(good[:-20])


def test_characters_xml_cannot_carry_are_escaped(rich: Rich, tmp_path: Path) -> None:
    with open_store(_url(rich)) as store:
        rec = Recorder(store, signer=_signer(rich), checkpoint_every=0)
        rec.link_identity(rich.contact_id, "xmpp", "handle", "bell\x07name")
        rec.checkpoint()
    out = tmp_path / "report.xml"
    _export(rich, out, draft=True)  # validated, so well-formed
    names = _texts(_xml(out), "personOrUserReported/associatedAccount/screenName")
    assert "bell\\u0007name" in names


def test_a_tampered_message_never_reaches_a_report(rich: Rich, tmp_path: Path) -> None:
    con = sqlite3.connect(rich.folder / "tutela.db")
    try:
        (trigger,) = con.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?",
            ("messages_guard_update",),
        ).fetchone()
        con.execute("DROP TRIGGER messages_guard_update")
        con.execute("UPDATE messages SET text = 'edited' WHERE id = ?", (rich.inbound_ids[1],))
        con.execute(trigger)
        con.commit()
    finally:
        con.close()
    out = tmp_path / "report.xml"
    with pytest.raises(TamperError):
        _export(rich, out, draft=True)
    assert not out.exists() and _audits(rich) == []


# -- the command line -----------------------------------------------------------------------------
def test_cli_format_cybertip(demo_db: tuple[Path, int], tmp_path: Path, run_cli: RunCli) -> None:
    folder = copy_db(demo_db[0], tmp_path)
    url = f"sqlite:///{folder / 'tutela.db'}"
    out = tmp_path / "out" / "report.xml"
    args = ["export", str(demo_db[1]), "--format", "cybertip", "--out", str(out), "--db", url]
    code, _, err = run_cli(*args)
    assert code == 2 and "no approved referral" in err and not out.exists()
    code, _, err = run_cli(*args, "--tsa-url", "http://127.0.0.1:9/tsa", "--draft")
    assert code == 2 and "--tsa-url" in err and not out.exists()
    code, _, err = run_cli(*args, "--format", "pdf")
    assert code == 2 and not out.exists()
    code, stdout, err = run_cli(*args, "--draft", "--actor", "ana")
    assert code == 0, err
    assert "DRAFT" in err and "NON-EVIDENTIAL" in err
    assert hashlib.sha256(out.read_bytes()).hexdigest() in stdout
    root = _xml(out)
    assert root.findtext("tutelaExport/exportedBy") == "ana"
    assert root.find(".//victim") is None
    (tr,) = root.findall("internetDetails/chatImIncident/transcript")
    assert (out.parent / (tr.get("file") or "")).exists()
    code, help_text, _ = run_cli("export", "--help")
    assert code == 0 and "package|cybertip" in help_text.replace(" ", "")


# -- field coverage on the demo cases -------------------------------------------------------------
FIELDS = {  # report field -> its path in the XML
    "incidentType": "incidentSummary/incidentType",
    "platform": "incidentSummary/platform",
    "escalateToHighPriority": "incidentSummary/escalateToHighPriority",
    "incidentDateTime": "incidentSummary/incidentDateTime",
    "incidentDateTimeDescription": "incidentSummary/incidentDateTimeDescription",
    "chatImIncident": "internetDetails/chatImIncident",
    "chatClient": "internetDetails/chatImIncident/chatClient",
    "chatRoomName": "internetDetails/chatImIncident/chatRoomName",
    "decoyAccount": "internetDetails/chatImIncident/decoyAccount",
    "transcript (CSV + SHA-256)": "internetDetails/chatImIncident/transcript",
    "reportingPerson/name": "reporter/reportingPerson/name",
    "reporter/organisation": "reporter/organisation",
    "espIdentifier": "personOrUserReported/espIdentifier",
    "espService": "personOrUserReported/espService",
    "screenName": "personOrUserReported/screenName",
    "reportedPerson email/phone": "personOrUserReported/personOrUserReportedPerson",
    "associatedAccount": "personOrUserReported/associatedAccount",
    "ipCaptureEvent": "personOrUserReported/ipCaptureEvent",
    "reported additionalInfo": "personOrUserReported/additionalInfo",
    "victim": "victim",
    "additionalInfo (decoy)": "additionalInfo",
    "decoy/operation": "decoy/operation",
    "legalBasis": "decoy/operation/legalBasis",
    "authorisationRef": "decoy/operation/authorisationRef",
    "strongestAction": "tutelaExport/strongestAction",
    "approved referral": "tutelaExport/referral",
}
ALWAYS = {
    "incidentType",
    "platform",
    "incidentDateTime",
    "incidentDateTimeDescription",
    "chatImIncident",
    "chatClient",
    "decoyAccount",
    "transcript (CSV + SHA-256)",
    "reportingPerson/name",
    "reporter/organisation",
    "espIdentifier",
    "espService",
    "screenName",
    "reported additionalInfo",
    "additionalInfo (decoy)",
    "decoy/operation",
    "legalBasis",
    "authorisationRef",
    "strongestAction",
}
NEVER_IN_THE_DEMO = {  # the demo has no rooms, no volunteered identifiers, no IP, no victim
    "chatRoomName",
    "reportedPerson email/phone",
    "associatedAccount",
    "ipCaptureEvent",
    "victim",
}


@pytest.mark.slow
def test_field_coverage_on_the_demo_cases(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tutela.live.demo import load_scenario, run_demo, shipped_scenarios
    from tutela.store.queries.cybertip import cybertip_facts

    folder = tmp_path / "tutela-demo-cybertip"  # the demo keeps its key beside such a database
    folder.mkdir()
    url = f"sqlite:///{folder / 'tutela.db'}"
    scenario_of: dict[int, str] = {}
    for name in sorted(shipped_scenarios()):
        case = run_demo(load_scenario(name), db_url=url)["case_id"]
        if case is not None:
            scenario_of.setdefault(int(case), name)
    signer = Signer.load_or_create(folder / "signing-key.pem")
    refer_case = next(c for c, n in scenario_of.items() if n == "commercial_tl")
    # the policy proposed this referral; a supervisor approves it: that case is exported as
    # evidence, every other one as a draft
    from argon2 import PasswordHasher

    from tutela.accounts.users import UserStore
    from tutela.cases.workflow import CaseWorkflow

    with open_store(url) as store:
        rec = Recorder(store, signer=signer)
        sue = UserStore(
            store, recorder=rec, hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
        ).add("sue", "supervisor", "correct horse battery")
        wf = CaseWorkflow(rec)
        (proposed,) = wf.case_detail(refer_case).referrals
        wf.approve_referral(proposed.id, sue, "agreed")
    filled: dict[int, set[str]] = {}
    with open_store(url) as store:
        rec = Recorder(store, signer=signer, checkpoint_every=0)
        for case_id in sorted(scenario_of):
            facts = cybertip_facts(store, case_id)
            assert facts.conversations  # every demo case has conversations
            out = tmp_path / f"case-{case_id}" / "report.xml"
            out.parent.mkdir()
            draft = case_id != refer_case
            export_cybertip(
                store, case_id, out, recorder=rec, actor="t", draft=draft, signer=signer
            )
            root = _xml(out)
            filled[case_id] = {f for f, p in FIELDS.items() if root.find(p) is not None}
            # one chat/IM incident and one CSV per conversation; each CSV row is a message
            chats = root.findall("internetDetails/chatImIncident/transcript")
            assert len(chats) == len(facts.conversations)
            for tr in chats:
                rows = _rows(out.parent / (tr.get("file") or ""))
                conv = int(tr.get("conversation") or 0)
                msgs = [m for m in facts.messages if m.conversation_id == conv]
                assert [int(r["message_seq"]) for r in rows] == [m.seq for m in msgs]
                assert {r["direction"] for r in rows} == {"in", "out"}  # both parties
            assert root.findtext("tutelaExport/status") == (
                DRAFT_STATUS if draft else APPROVED_STATUS
            )
    table = ["field".ljust(30) + "".join(f"{scenario_of[c]:>15}" for c in sorted(filled))]
    for f in FIELDS:
        marks = "".join(f"{'filled' if f in filled[c] else '-':>15}" for c in sorted(filled))
        table.append(f.ljust(30) + marks)
    with capsys.disabled():
        print("\nCyberTipline field coverage on the demo cases (case: scenario)")
        print("\n".join(table))
    assert set(scenario_of.values()) == {
        "commercial_tl",
        "grooming_de",
        "grooming_en",
        "grooming_nl",
    }  # return_en is grooming_en's contact coming back: the same case
    for case_id, fields in filled.items():
        assert fields >= ALWAYS, (scenario_of[case_id], ALWAYS - fields)
        assert not fields & NEVER_IN_THE_DEMO, (scenario_of[case_id], fields & NEVER_IN_THE_DEMO)
        # high priority and the approved referral: only the commercial-exploitation case
        refer = case_id == refer_case
        assert ("escalateToHighPriority" in fields) is refer
        assert ("approved referral" in fields) is refer
    returning = next(c for c, n in scenario_of.items() if n == "grooming_en")
    root = _xml(tmp_path / f"case-{returning}" / "report.xml")
    assert len(root.findall("internetDetails")) == 2  # the return conversation too
