"""Dashboard errors (issue 10, item 14): huge ids answer 404/422 with the security headers, an
unexpected exception is a 500 page with the security headers and no traceback, and takeover on a
conversation of a custom (not shipped) persona is a clear 409 instead of a 500."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from web_support import PASSWORD, csrf_of

HUGE = "99999999999999999999999"
OVER_INT32 = str(2**31)  # fits SQLite's 64-bit INTEGER, not PostgreSQL's integer


def _headers_ok(r) -> None:
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["cache-control"] == "no-store"


def _login(client, name: str = "ana"):
    client.get("/login")
    r = client.post(
        "/login", data={"name": name, "password": PASSWORD, "csrf_token": csrf_of(client)}
    )
    assert r.status_code == 303
    return client


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/cases/{n}"),
        ("GET", "/contacts/{n}"),
        ("GET", "/audit?before={n}"),
        ("POST", "/cases/{case}/messages/{n}/reveal"),
        ("POST", "/cases/{n}/messages/1/reveal"),
        ("POST", "/cases/{case}/referrals/{n}/approve"),
        ("POST", "/cases/{case}/referrals/{n}/reject"),
        ("POST", "/cases/{n}/dismiss"),
        ("POST", "/cases/{n}/export"),
        ("POST", "/contacts/{n}/identities/1/reveal"),
        ("POST", "/contacts/1/identities/{n}/reveal"),
        ("POST", "/live/{n}/takeover"),
    ],
)
def test_out_of_range_ids_are_4xx_with_security_headers(web, method, path):
    c = web.client(raise_server_exceptions=False)
    _login(c, "sue")  # a supervisor: may open every page, the audit log included
    token = csrf_of(c, "/queue")
    data = {"csrf_token": token, "reason": "r", "note": "n", "text": "hi"}
    for big in (HUGE, OVER_INT32, "-1", "0"):
        url = path.format(n=big, case=web.case_id)
        for headers in ({}, {"HX-Request": "true"}, {"Accept": "application/json"}):
            r = c.request(method, url, data=data if method == "POST" else None, headers=headers)
            assert r.status_code in (404, 422), (url, headers, r.status_code)
            _headers_ok(r)
            assert "Traceback" not in r.text
    assert HUGE not in r.text  # the value is not echoed


def test_unexpected_exception_is_a_500_page_with_headers_and_no_traceback(web, monkeypatch, caplog):
    def boom(*args, **kwargs):
        raise RuntimeError("internal detail that must not leak")

    monkeypatch.setattr(web.services.workflow, "pending_referrals", boom)
    c = _login(web.client(raise_server_exceptions=False))
    for headers in ({}, {"HX-Request": "true"}, {"Accept": "application/json"}):
        r = c.get("/queue", headers=headers)
        assert r.status_code == 500
        _headers_ok(r)
        assert "internal detail" not in r.text and "Traceback" not in r.text
    assert "Error 500" in c.get("/queue").text
    assert any("internal detail" in str(rec.exc_info) for rec in caplog.records if rec.exc_info)


def _custom_persona_conversation(web) -> int:
    rec = web.services.recorder
    case = rec.get_case(web.case_id)
    conv = rec.open_conversation(
        operation_id=rec.ensure_demo_operation().id,
        persona_id="custom-yaml-persona",
        platform="local",
        account="custom",
        contact_id=case.contact_id,
        lang="en",
        started_at=datetime.now(UTC),
    )
    return conv.id


def test_takeover_of_a_custom_persona_is_a_clear_409(web):
    conv_id = _custom_persona_conversation(web)
    c = web.login("ana")
    page = c.get("/live").text
    assert "custom-yaml-persona is a custom persona" in page
    assert f'action="/live/{conv_id}/takeover"' not in page
    r = c.post(
        f"/live/{conv_id}/takeover",
        data={"text": "haha yeah i like drawing", "csrf_token": csrf_of(c, "/queue")},
        headers={"HX-Request": "true"},
    )
    assert r.status_code == 409
    assert "custom-yaml-persona" in r.text and "shipped persona" in r.text
    _headers_ok(r)
    assert len(web.services.outbox) == 0


def test_takeover_never_opens_a_stored_persona_id_as_a_file(web, tmp_path, monkeypatch):
    # ``load_persona`` treats a non-shipped id ending in .yaml as a path; takeover must not
    profile = tmp_path / "evil.yaml"
    profile.write_text("id: evil\n")
    monkeypatch.chdir(tmp_path)
    rec = web.services.recorder
    conv = rec.open_conversation(
        operation_id=rec.ensure_demo_operation().id,
        persona_id="evil.yaml",
        platform="local",
        account="x",
        contact_id=rec.get_case(web.case_id).contact_id,
        lang="en",
        started_at=datetime.now(UTC),
    )
    c = web.login("ana")
    r = c.post(
        f"/live/{conv.id}/takeover",
        data={"text": "haha yeah", "csrf_token": csrf_of(c, "/queue")},
        headers={"HX-Request": "true"},
    )
    assert r.status_code == 409 and len(web.services.outbox) == 0


def test_htmx_error_fragment_escapes_the_message(web, monkeypatch):
    """An error message that carries user text is escaped in the HTMX fragment (defence in depth
    besides the CSP)."""
    from tutela.errors import InputError

    def refuse(*args, **kwargs):
        raise InputError("bad value <script>alert(1)</script>")

    monkeypatch.setattr(web.services.workflow, "pending_referrals", refuse)
    c = _login(web.client())
    r = c.get("/queue", headers={"HX-Request": "true"})
    assert r.status_code == 400
    assert "<script>" not in r.text and "&lt;script&gt;" in r.text
