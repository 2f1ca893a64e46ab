"""CSRF: every state-changing request needs the session's synchronizer token."""

from __future__ import annotations

from web_support import PASSWORD, csrf_of


def test_login_post_without_token_is_refused(web):
    c = web.client()
    c.get("/login")
    r = c.post("/login", data={"name": "ana", "password": PASSWORD})
    assert r.status_code == 403


def test_post_without_or_with_wrong_token_is_refused(web):
    c = web.login("ana")
    url = f"/cases/{web.case_id}/watch"
    assert c.post(url, data={"note": "x"}).status_code == 403
    assert c.post(url, data={"note": "x", "csrf_token": "wrong"}).status_code == 403
    assert c.post(url, data={"note": "x"}, headers={"X-CSRF-Token": "wrong"}).status_code == 403
    assert web.services.workflow.case_events(web.case_id) == []


def test_token_of_another_session_is_refused(web):
    a = web.login("ana")
    b = web.login("ben")
    r = a.post(f"/cases/{web.case_id}/watch", data={"csrf_token": csrf_of(b, "/queue")})
    assert r.status_code == 403


def test_form_field_and_htmx_header_are_accepted(web):
    c = web.login("ana")
    token = csrf_of(c, "/queue")
    r = c.post(f"/cases/{web.case_id}/watch", data={"note": "form", "csrf_token": token})
    assert r.status_code == 303
    r = c.post(
        f"/cases/{web.case_id}/watch",
        data={"note": "htmx"},
        headers={"X-CSRF-Token": token, "HX-Request": "true"},
    )
    assert r.status_code == 303
    notes = [e.note for e in web.services.workflow.case_events(web.case_id)]
    assert notes == ["form", "htmx"]


def test_pages_carry_the_token_for_htmx(web):
    c = web.login("ana")
    page = c.get(f"/cases/{web.case_id}").text
    token = csrf_of(c, "/queue")
    assert f'hx-headers=\'{{"X-CSRF-Token": "{token}"}}\'' in page
