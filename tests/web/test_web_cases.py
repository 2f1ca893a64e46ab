"""Case page: masking and audited reveals; referral to export to verified package; takeover."""

from __future__ import annotations

from web_support import csrf_of, explicit_line

from tutela.evidence import verify_package


def test_explicit_line_is_masked_and_reveal_is_audited(web):
    mid = explicit_line(web)
    c = web.login("ana")
    page = c.get(f"/cases/{web.case_id}").text
    assert "placeholder line standing for explicit content" not in page
    assert f"/messages/{mid}/reveal" in page and "[masked: sexual content]" in page
    token = csrf_of(c, "/queue")
    r = c.post(
        f"/cases/{web.case_id}/messages/{mid}/reveal",
        headers={"HX-Request": "true", "X-CSRF-Token": token},
    )
    assert r.status_code == 200
    assert "placeholder line standing for explicit content" in r.text
    events = web.services.workflow.case_events(web.case_id)
    assert [(e.actor, e.action, e.details["message_id"]) for e in events] == [
        ("ana", "reveal", mid)
    ]


def test_reveal_is_refused_without_csrf_and_for_other_cases_messages(web):
    mid = explicit_line(web)
    c = web.login("ana")
    r = c.post(f"/cases/{web.case_id}/messages/{mid}/reveal", headers={"HX-Request": "true"})
    assert r.status_code == 403 and "placeholder" not in r.text
    r = c.post(
        f"/cases/{web.case_id}/messages/999999/reveal",
        headers={"HX-Request": "true", "X-CSRF-Token": csrf_of(c, "/queue")},
    )
    assert r.status_code == 404
    assert web.services.workflow.case_events(web.case_id) == []


def test_masking_can_be_turned_off(make_web):
    web = make_web(reveal_masking=False, mask_contact_text=False)
    explicit_line(web)
    page = web.login("ana").get(f"/cases/{web.case_id}").text
    assert "placeholder line standing for explicit content" in page


def test_propose_approve_export_verify(web, tmp_path):
    ana = web.login("ana")
    export = f"/cases/{web.case_id}/export"
    assert ana.post(export, data={"csrf_token": csrf_of(ana, "/queue")}).status_code == 409
    r = ana.post(
        f"/cases/{web.case_id}/referrals",
        data={"note": "repeated solicitation", "csrf_token": csrf_of(ana, "/queue")},
    )
    assert r.status_code == 303
    ref = web.services.workflow.pending_referrals()[0]
    sue = web.login("sue")
    r = sue.post(
        f"/cases/{web.case_id}/referrals/{ref.id}/approve",
        data={"note": "agreed", "csrf_token": csrf_of(sue, "/queue")},
    )
    assert r.status_code == 303
    assert "Export evidence package" in sue.get(f"/cases/{web.case_id}").text
    r = sue.post(export, data={"csrf_token": csrf_of(sue, "/queue")})
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    out = tmp_path / "package.zip"
    out.write_bytes(r.content)
    report = verify_package(out)
    assert report.case_id == web.case_id and report.messages > 0


def test_operator_takeover_refused_text_is_not_queued(web):
    c = web.login("ana")
    r = c.post(
        "/live/1/takeover",
        data={"text": "lets meet at the park", "csrf_token": csrf_of(c, "/queue")},
        headers={"HX-Request": "true"},
    )
    assert r.status_code == 422 and "Not sent" in r.text and "meeting" in r.text
    assert len(web.services.outbox) == 0
    audit = web.login("root").get("/audit").text
    assert "operator_message_queued" not in audit


def test_operator_takeover_accepted_text_is_queued_and_audited(web):
    c = web.login("ana")
    r = c.post(
        "/live/1/takeover",
        data={"text": "haha yeah i like drawing", "csrf_token": csrf_of(c, "/queue")},
        headers={"HX-Request": "true"},
    )
    assert r.status_code == 200 and "Queued" in r.text
    (item,) = web.services.outbox.take([1])  # what the running engine does
    assert item.text == "haha yeah i like drawing" and item.operator == "ana"
    assert web.services.outbox.pending(1) == []
    audit = web.login("root").get("/audit").text
    assert "operator_message_queued" in audit and "conversation:1" in audit


def test_admin_cannot_take_over(web):
    c = web.login("root")
    r = c.post(
        "/live/1/takeover",
        data={"text": "haha yeah", "csrf_token": csrf_of(c, "/queue")},
    )
    assert r.status_code == 403 and len(web.services.outbox) == 0
