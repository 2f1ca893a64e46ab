"""A returning contact re-opens its case in the queue (issue 12), through the whole live path:
the shipped ``grooming_en`` demo made the case; it is dismissed or referred; the shipped
``return_en`` scenario (the same contact, later) runs the engine on the same database."""

from __future__ import annotations

from sqlalchemy import select

from tutela.live.demo import load_scenario, run_demo
from tutela.store.models import AuditLogRow


def _return(web) -> dict:
    out = run_demo(load_scenario("return_en"), db_url=web.settings.db_url)
    assert out["case_id"] == web.case_id  # the same contact, the same case
    assert out["final_action"] in ("escalate", "refer")
    return out


def test_contact_returning_after_dismissal_reopens_the_case(web):
    wf = web.services.workflow
    ana = web.services.users.get("ana")
    wf.dismiss(web.case_id, ana, "looked like a misunderstanding")
    page = web.login("ana").get("/queue").text
    assert f"/cases/{web.case_id}" not in page
    _return(web)
    summary = wf.case_summary(web.case_id)
    assert summary.status == "open" and summary.returned
    assert summary.strongest_action in ("escalate", "refer") and summary.returns >= 1
    reopen = wf.case_events(web.case_id)[-1]
    assert (reopen.actor, reopen.action) == ("system", "reopen")
    assert reopen.details["reason"] == "contact_returned"
    with web.services.store.session() as s:
        audited = s.execute(
            select(AuditLogRow).where(
                AuditLogRow.action == "reopen", AuditLogRow.target == f"case:{web.case_id}"
            )
        ).scalar_one()
    assert audited.actor == "system" and audited.ledger_seq is not None
    c = web.login("ana")
    page = c.get("/queue").text
    assert f"/cases/{web.case_id}" in page and 'class="flag-returned">returned<' in page
    wf.keep_watching(web.case_id, ana, "back under watch")  # an analyst acted: flag cleared
    assert "flag-returned" not in c.get("/queue").text


def test_contact_returning_after_referral_is_listed_as_returned(web):
    wf = web.services.workflow
    ana, sue = web.services.users.get("ana"), web.services.users.get("sue")
    ref = wf.propose_referral(web.case_id, ana, "repeated solicitation")
    wf.approve_referral(ref.id, sue)
    c = web.login("ana")
    assert f"/cases/{web.case_id}" not in c.get("/queue").text
    _return(web)
    summary = wf.case_summary(web.case_id)
    assert summary.status == "referred" and summary.returned  # the police already hold it
    assert summary.strongest_action == "refer"
    page = c.get("/queue").text
    assert f"/cases/{web.case_id}" in page and "returned after referral" in page
    assert all(e.actor != "system" for e in wf.case_events(web.case_id))  # not reopened
