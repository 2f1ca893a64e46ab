"""The case page's case work (timeline, risk chart, notes, assignment, only the actions the state
allows, the strongest action in the header) and the contact page's identity graph."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from sqlalchemy import select
from web_support import csrf_of, explicit_line

from tutela.cases.casework import CaseWork
from tutela.store.models import AuditLogRow
from tutela.store.queries.casework import CASE_ASSIGNED, NOTE_ADDED
from tutela.web.render import _when

SOURCE = "placeholder source line standing for explicit content"


def _audit(web, action: str) -> list[AuditLogRow]:
    with web.services.store.session() as s:
        return list(
            s.execute(
                select(AuditLogRow).where(AuditLogRow.action == action).order_by(AuditLogRow.id)
            ).scalars()
        )


def _forms(page: str) -> set[str]:
    return set(re.findall(r'<form[^>]*action="([^"]+)"', page))


def test_case_page_timeline_chart_notes_and_assignment(web) -> None:
    explicit_line(web)  # a masked line: its text must not appear anywhere, timeline included
    case = f"/cases/{web.case_id}"
    ana = web.login("ana")
    page = ana.get(case).text
    assert '<ol class="timeline">' in page and "data:image/svg+xml;base64," in page
    assert "placeholder line standing for explicit content" not in page
    assert page.count("[masked: sexual content]") >= 2  # transcript and timeline
    summary = web.services.workflow.case_summary(web.case_id)
    assert summary.strongest_action is not None  # the demo contact was warned
    assert "Strongest action:" in page and _when(summary.strongest_at) in page
    assert f"{case}/notes" in _forms(page) and f"{case}/assign" in _forms(page)

    token = csrf_of(ana, "/queue")
    r = ana.post(f"{case}/notes", data={"text": "asked to move platform", "csrf_token": token})
    assert r.status_code == 303 and r.headers["location"] == f"{case}#notes"
    r = ana.post(f"{case}/assign", data={"assignee": "ben", "csrf_token": token})
    assert r.status_code == 303
    page = ana.get(case).text
    assert "asked to move platform" in page and "Assigned to ben" in page
    assert "Note by ana" in page and "Assigned to ben by ana" in page  # in the timeline
    assert [r.actor for r in _audit(web, NOTE_ADDED)] == ["ana"]
    assert [(r.actor, r.details["assignee"]) for r in _audit(web, CASE_ASSIGNED)] == [
        ("ana", "ben")
    ]
    r = ana.post(f"{case}/assign", data={"assignee": "", "csrf_token": token})
    assert r.status_code == 303 and "Not assigned" in ana.get(case).text


def test_bad_notes_and_assignees_are_refused(web) -> None:
    case = f"/cases/{web.case_id}"
    ana = web.login("ana")
    token = csrf_of(ana, "/queue")
    assert ana.post(f"{case}/notes", data={"text": "no token"}).status_code == 403
    r = ana.post(f"{case}/notes", data={"text": "x" * 4001, "csrf_token": token})
    assert r.status_code == 422
    for bad in ("   ", "bell\x07"):
        r = ana.post(f"{case}/notes", data={"text": bad, "csrf_token": token})
        assert r.status_code == 400, bad
    for who in ("root", "nobody"):
        r = ana.post(f"{case}/assign", data={"assignee": who, "csrf_token": token})
        assert r.status_code == 400, who
    root = web.login("root")
    rtoken = csrf_of(root, "/audit")
    assert root.post(f"{case}/notes", data={"text": "x", "csrf_token": rtoken}).status_code == 403
    r = root.post(f"{case}/assign", data={"assignee": "ana", "csrf_token": rtoken})
    assert r.status_code == 403
    assert CaseWork(web.services.recorder).notes(web.case_id) == []
    assert _audit(web, NOTE_ADDED) == [] and _audit(web, CASE_ASSIGNED) == []


def test_only_the_actions_the_state_allows_are_offered(web) -> None:
    case = f"/cases/{web.case_id}"
    wf = web.services.workflow
    ana, sue = web.login("ana"), web.login("sue")
    ana_user, sue_user = web.services.users.get("ana"), web.services.users.get("sue")
    status = wf.case_summary(web.case_id).status
    pending = wf.pending_referrals()
    if status == "referral_proposed":  # the demo's policy proposed a referral
        assert pending
        forms = _forms(ana.get(case).text)
        assert not forms & {f"{case}/dismiss", f"{case}/watch", f"{case}/referrals"}
        assert not any(f.endswith("/approve") for f in forms)  # analysts do not decide
        ref = pending[0]
    else:
        forms = _forms(ana.get(case).text)
        assert {f"{case}/dismiss", f"{case}/watch", f"{case}/referrals"} <= forms
        ref = wf.propose_referral(web.case_id, ana_user, "grounds")
    assert f"{case}/referrals/{ref.id}/approve" in _forms(sue.get(case).text)
    wf.approve_referral(ref.id, sue_user, "agreed")
    for client in (ana, sue):
        forms = _forms(client.get(case).text)
        assert f"{case}/reopen" in forms
        assert not forms & {f"{case}/dismiss", f"{case}/watch", f"{case}/referrals"}
        assert not any(f.endswith(("/approve", "/reject")) for f in forms)


def test_a_returned_referred_case_offers_acknowledge_return(web) -> None:
    case = f"/cases/{web.case_id}"
    wf, rec = web.services.workflow, web.services.recorder
    ana_user, sue_user = web.services.users.get("ana"), web.services.users.get("sue")
    pending = wf.pending_referrals()
    ref = pending[0] if pending else wf.propose_referral(web.case_id, ana_user, "grounds")
    wf.approve_referral(ref.id, sue_user, "agreed")
    ana = web.login("ana")
    assert f"{case}/acknowledge-return" not in _forms(ana.get(case).text)  # not returned
    contact = rec.get_case(web.case_id).contact_id
    conv = rec.open_conversation(
        operation_id=rec.ensure_demo_operation().id, persona_id="gb-other", platform="local",
        account="gb-other", contact_id=contact, lang="en", started_at=wf._now(),
    )  # fmt: skip
    msg = rec.record_inbound(
        conversation_id=conv.id, author="back", text="a rude remark", wire=b"x",
        received_at=wf._now(), contact_line=1,
    )  # fmt: skip
    rec.record_decision(
        conversation_id=conv.id, message_id=msg.id, after_line=1, action="escalate", risk=0.9,
        indicators=[], rule="test", reason="test", variant=None,
    )  # fmt: skip
    page = ana.get(case).text
    assert f"{case}/acknowledge-return" in _forms(page)
    assert "Acknowledge the return (stays referred)" in page
    assert f'href="/cases/{web.case_id}"' in ana.get("/queue").text  # in the active queue
    token = csrf_of(ana, "/queue")
    r = ana.post(f"{case}/acknowledge-return", data={"note": "seen", "csrf_token": token})
    assert r.status_code == 303
    summary = wf.case_summary(web.case_id)
    assert summary.status == "referred" and not summary.returned
    assert f"{case}/acknowledge-return" not in _forms(ana.get(case).text)
    assert f'href="/cases/{web.case_id}"' not in ana.get("/queue").text
    acks = [a for a in _audit(web, "watch") if a.details.get("reason") == "return_acknowledged"]
    assert [a.actor for a in acks] == ["ana"]
    r = ana.post(f"{case}/acknowledge-return", data={"note": "", "csrf_token": token})
    assert r.status_code in (409, 422)  # nothing left to acknowledge


def test_contact_page_draws_the_identity_graph_with_masked_evidence(web) -> None:
    rec = web.services.recorder
    contact_id = rec.get_case(web.case_id).contact_id
    msg_id = explicit_line(web, contact_id=contact_id, text=SOURCE, author="contact-x")
    rec.link_identity(contact_id, "local", "email", "someone@example.org", msg_id)
    page = web.login("ana").get(f"/contacts/{contact_id}").text
    svg = re.search(r"<svg .*?</svg>", page, re.S)
    assert svg is not None
    root = ET.fromstring(svg.group(0))
    assert f"/cases/{web.case_id}#msg-{msg_id}" in [a.get("href") for a in root.iter()]
    assert "someone@example.org" in svg.group(0)
    assert SOURCE not in page and "[masked: sexual content]" in page  # masked in the list too
    assert "Personas and platforms spoken to" in page and "Merged contacts" in page
    assert "<script" not in svg.group(0)


def test_a_note_at_the_limit_with_browser_line_breaks_is_kept(web) -> None:
    case = f"/cases/{web.case_id}"
    ana = web.login("ana")
    token = csrf_of(ana, "/queue")
    lines = ["note line"] * 400  # 400 * 9 + 399 line breaks = 3999 characters with LF
    text = "\r\n".join(lines)  # what a browser sends for a textarea: 4398 characters
    r = ana.post(f"{case}/notes", data={"text": text, "csrf_token": token})
    assert r.status_code == 303
    kept = CaseWork(web.services.recorder).notes(web.case_id)
    assert [len(n.text) for n in kept] == [3999] and "\r" not in kept[0].text
    r = ana.post(f"{case}/notes", data={"text": "x\r\n" * 2001, "csrf_token": token})
    assert r.status_code == 422  # 4001 characters once the line breaks are counted once
