"""Case page: the legal hold is shown, set (analyst or supervisor) and released (supervisor) by
CSRF-protected forms with a required reason; every change is audited (``tutela.cases.hold``)."""

from __future__ import annotations

from web_support import csrf_of

from tutela.cases.hold import case_hold, case_holds
from tutela.store.queries.holds import HOLD_RELEASED, HOLD_SET


def _audit_actions(web) -> list[tuple[str, str]]:
    from tutela.ledger import EntryKind
    from tutela.store import iter_ledger

    return [
        (e.payload["actor"], e.payload["action"])
        for e in iter_ledger(web.services.store)
        if e.kind is EntryKind.AUDIT and e.payload["action"].startswith("legal_hold")
    ]


def test_set_show_and_release_a_hold(web):
    case = f"/cases/{web.case_id}"
    ana = web.login("ana")
    page = ana.get(case).text
    assert "No active legal hold." in page and f'action="{case}/hold"' in page
    r = ana.post(
        f"{case}/hold",
        data={"reason": "prosecutor's order 12", "csrf_token": csrf_of(ana, "/queue")},
    )
    assert r.status_code == 303 and r.headers["location"] == case
    page = ana.get(case).text
    assert "Under legal hold" in page and "prosecutor&#39;s order 12" in page
    assert f'action="{case}/hold/release"' not in page  # an analyst does not release
    r = ana.post(
        f"{case}/hold/release", data={"reason": "done", "csrf_token": csrf_of(ana, "/queue")}
    )
    assert r.status_code == 403
    assert case_hold(web.services.store, web.case_id) is not None

    sue = web.login("sue")
    assert f'action="{case}/hold/release"' in sue.get(case).text
    r = sue.post(
        f"{case}/hold/release",
        data={"reason": "order lifted", "csrf_token": csrf_of(sue, "/queue")},
    )
    assert r.status_code == 303
    assert case_hold(web.services.store, web.case_id) is None
    page = sue.get(case).text
    assert "No active legal hold." in page and "order lifted" in page  # the history stays
    assert _audit_actions(web) == [("ana", HOLD_SET), ("sue", HOLD_RELEASED)]


def test_hold_forms_need_csrf_a_reason_and_a_case_role(web):
    case = f"/cases/{web.case_id}"
    ana = web.login("ana")
    assert ana.post(f"{case}/hold", data={"reason": "order"}).status_code == 403  # no token
    r = ana.post(f"{case}/hold", data={"reason": "  ", "csrf_token": csrf_of(ana, "/queue")})
    assert r.status_code == 400
    root = web.login("root")
    r = root.post(f"{case}/hold", data={"reason": "order", "csrf_token": csrf_of(root, "/audit")})
    assert r.status_code == 403
    assert case_holds(web.services.store, web.case_id) == [] and _audit_actions(web) == []
