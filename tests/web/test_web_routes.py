"""Every route refuses anonymous callers (checked over the whole route list), pages render, and
role checks answer 403."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute
from web_support import csrf_of

try:  # FastAPI >= 0.130 keeps included routers lazy; this flattens them
    from fastapi.routing import iter_route_contexts
except ImportError:  # pragma: no cover - older FastAPI lists every route in app.routes
    iter_route_contexts = None

from tutela.web.deps import PUBLIC_ROUTES


def all_routes(app):
    """(path, methods, name) of every API route of the app, however it was included."""
    if iter_route_contexts is None:
        found = [(r.path, r.methods, r.name) for r in app.routes if isinstance(r, APIRoute)]
    else:
        found = [
            (c.path, c.original_route.methods, c.name)
            for c in iter_route_contexts(app.routes)
            if isinstance(c.original_route, APIRoute)
        ]
    assert len(found) > 15
    return found


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_every_route_but_the_public_ones_refuses_anonymous_callers(web):
    c = web.client()
    token = csrf_of(c)  # an anonymous session with a valid CSRF token: login is still needed
    checked = 0
    for path, methods, name in all_routes(web.app):
        if name in PUBLIC_ROUTES:
            continue
        url = _concrete(path)
        for method in methods:
            page = c.request(method, url, data={"csrf_token": token} if method == "POST" else None)
            assert page.status_code == 303, (method, path, page.status_code)
            assert page.headers["location"] == "/login"
            htmx = c.request(method, url, headers={"HX-Request": "true", "X-CSRF-Token": token})
            assert htmx.status_code == 401, (method, path)
            api = c.request(method, url, headers={"Accept": "application/json"})
            assert api.status_code in (401, 403), (method, path)  # 403: POST without CSRF
            checked += 1
    assert checked >= 20


def test_public_routes(web):
    c = web.client()
    assert c.get("/healthz").json() == {"status": "ok"}
    assert c.get("/login").status_code == 200
    r = c.get("/static/htmx.min.js")
    assert r.status_code == 200 and "htmx" in r.text[:2000]
    assert c.get("/static/tutela.css").status_code == 200


def test_security_headers(web):
    r = web.client().get("/login")
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["cache-control"] == "no-store"


def test_no_external_resources_in_pages(web):
    c = web.login("sue")
    for path in ("/queue", f"/cases/{web.case_id}", "/live", "/personas", "/stats", "/audit"):
        page = c.get(path)
        assert page.status_code == 200, path
        assert not re.search(r'(src|href)="(https?:)?//', page.text), path


@pytest.mark.parametrize("path", ["/queue", "/personas", "/stats", "/live", "/contacts/1"])
def test_pages_render_for_an_analyst(web, path):
    assert web.login("ana").get(path).status_code == 200


def test_queue_lists_the_demo_case(web):
    page = web.login("ana").get("/queue").text
    assert f'href="/cases/{web.case_id}"' in page


def test_stats_charts_are_svg(web):
    c = web.login("ana")
    for name in ("contacts_per_day", "first_solicitation", "indicators", "warnings", "returns"):
        r = c.get(f"/stats/charts/{name}.svg")
        assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
        assert "<svg" in r.text and "<script" not in r.text
    assert c.get("/stats/charts/nope.svg").status_code == 404


def test_audit_log_is_for_supervisors_and_admins(web):
    assert web.login("ana").get("/audit").status_code == 403
    assert web.login("sue").get("/audit").status_code == 200
    page = web.login("root").get("/audit")
    assert page.status_code == 200 and "case_opened" in page.text


def test_workflow_permission_denied_becomes_403(web):
    admin = web.login("root")  # admins take no case decisions (workflow rule)
    r = admin.post(
        f"/cases/{web.case_id}/dismiss",
        data={"reason": "x", "csrf_token": csrf_of(admin, "/queue")},
    )
    assert r.status_code == 403


def test_analyst_cannot_approve_and_proposer_cannot_approve_own(web):
    sue = web.login("sue")
    r = sue.post(
        f"/cases/{web.case_id}/referrals",
        data={"note": "third solicitation", "csrf_token": csrf_of(sue, "/queue")},
    )
    assert r.status_code == 303
    ref = web.services.workflow.pending_referrals()[0]
    page = sue.get(f"/cases/{web.case_id}").text
    assert f"/referrals/{ref.id}/approve" not in page  # hidden from the proposer
    approve = f"/cases/{web.case_id}/referrals/{ref.id}/approve"
    assert sue.post(approve, data={"csrf_token": csrf_of(sue, "/queue")}).status_code == 403
    ana = web.login("ana")
    assert ana.post(approve, data={"csrf_token": csrf_of(ana, "/queue")}).status_code == 403
    assert web.services.workflow.referral(ref.id).status == "proposed"
    sam = web.login("sam")
    assert f"/referrals/{ref.id}/approve" in sam.get(f"/cases/{web.case_id}").text
    assert sam.post(approve, data={"csrf_token": csrf_of(sam, "/queue")}).status_code == 303
    assert web.services.workflow.referral(ref.id).status == "approved"


def test_missing_required_reason_is_400(web):
    c = web.login("ana")
    r = c.post(
        f"/cases/{web.case_id}/dismiss",
        data={"reason": "   ", "csrf_token": csrf_of(c, "/queue")},
    )
    assert r.status_code == 400


def test_unknown_case_is_404(web):
    assert web.login("ana").get("/cases/999999").status_code == 404
