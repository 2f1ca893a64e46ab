"""Case content on the dashboard: identity source lines masked on the contact page with an audited
reveal (issue 10, item 8); admins read no case content and per-operation grants narrow what a user
sees (item 15); every export and every reveal is audited (item 15)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from web_support import PASSWORD, csrf_of, explicit_line

from tutela.accounts.access import grant_operation, revoke_operation
from tutela.store.models import AuditLogRow

SOURCE = "placeholder source line standing for explicit content"


def _audit(web, action: str) -> list[AuditLogRow]:
    with web.services.store.session() as s:
        return list(
            s.execute(
                select(AuditLogRow).where(AuditLogRow.action == action).order_by(AuditLogRow.id)
            ).scalars()
        )


def _explicit_identity(web, *, contact_id: int | None = None) -> tuple[int, int, int]:
    """An inbound line with a sexual-content decision that an identity was read from, on the demo
    case's contact (or ``contact_id``); returns (contact id, identity id, message id)."""
    rec = web.services.recorder
    if contact_id is None:
        contact_id = rec.get_case(web.case_id).contact_id
    msg_id = explicit_line(web, contact_id=contact_id, text=SOURCE, author="contact-x")
    rec.link_identity(contact_id, "local", "email", "someone@example.org", msg_id)
    ident = next(
        i
        for i in web.services.workflow.case_detail(web.case_id).identities
        if i.source_message_id == msg_id
    )
    return contact_id, ident.id, msg_id


# -- item 8: the contact page masks explicit identity source lines ---------------------------------


def test_contact_page_masks_explicit_source_line_and_reveal_is_recorded(web):
    contact_id, ident_id, msg_id = _explicit_identity(web)
    ana = web.login("ana")
    page = ana.get(f"/contacts/{contact_id}")
    assert page.status_code == 200
    assert SOURCE not in page.text
    assert "[masked: sexual content]" in page.text and "someone@example.org" in page.text
    url = f"/contacts/{contact_id}/identities/{ident_id}/reveal"
    assert url in page.text
    r = ana.post(url, headers={"HX-Request": "true", "X-CSRF-Token": csrf_of(ana, "/queue")})
    assert r.status_code == 200 and SOURCE in r.text
    (event,) = web.services.workflow.case_events(web.case_id)
    assert (event.actor, event.action) == ("ana", "reveal")
    assert event.details["message_id"] == msg_id and event.details["shown_on"] == "contact"
    (row,) = _audit(web, "reveal")
    assert row.actor == "ana" and row.details["message_id"] == msg_id
    assert row.ledger_seq is not None


def test_contact_reveal_needs_csrf_and_an_identity_of_this_contact(web):
    contact_id, ident_id, _ = _explicit_identity(web)
    ana = web.login("ana")
    url = f"/contacts/{contact_id}/identities/{ident_id}/reveal"
    r = ana.post(url, headers={"HX-Request": "true"})
    assert r.status_code == 403 and SOURCE not in r.text
    token = csrf_of(ana, "/queue")
    other = f"/contacts/{contact_id}/identities/999999/reveal"
    assert ana.post(other, headers={"HX-Request": "true", "X-CSRF-Token": token}).status_code == 404
    assert web.services.workflow.case_events(web.case_id) == []


def test_contact_page_source_line_unmasked_when_masking_is_off(make_web):
    web = make_web(reveal_masking=False, mask_contact_text=False)
    contact_id, _, _ = _explicit_identity(web)
    assert SOURCE in web.login("ana").get(f"/contacts/{contact_id}").text


# -- item 15: admins read no case content -------------------------------------------------------


def test_admin_reads_no_case_content(web):
    contact_id, _, _ = _explicit_identity(web)
    admin = web.login("root")
    assert admin.get("/login").headers["location"] == "/audit"  # lands on the audit log
    for path in (
        "/queue",
        f"/cases/{web.case_id}",
        f"/contacts/{contact_id}",
        "/live",
        "/live/feed",
    ):
        r = admin.get(path)
        assert r.status_code == 403, path
        assert SOURCE not in r.text and "someone@example.org" not in r.text, path
    token = csrf_of(admin, "/audit")
    r = admin.post(f"/cases/{web.case_id}/export", data={"csrf_token": token})
    assert r.status_code == 403
    r = admin.post(
        f"/cases/{web.case_id}/messages/1/reveal",
        headers={"HX-Request": "true", "X-CSRF-Token": token},
    )
    assert r.status_code == 403
    # what stays theirs: the audit log (hashes, no texts), and the start page leads there
    assert admin.get("/audit").status_code == 200
    assert admin.get("/").headers["location"] == "/audit"
    assert 'href="/queue"' not in admin.get("/audit").text


def test_analysts_and_supervisors_still_read_case_content(web):
    for name in ("ana", "sue"):
        c = web.login(name)
        for path in ("/queue", f"/cases/{web.case_id}", "/live", "/live/feed"):
            assert c.get(path).status_code == 200, (name, path)


# -- item 15: per-operation access --------------------------------------------------------------


def _other_operation(web) -> int:
    return web.services.recorder.find_or_create_operation(
        organisation="Test NGO",
        jurisdiction="GB",
        legal_basis="test basis",
        authorisation_ref="TEST-OP-2",
        officer="officer x",
        starts_at=datetime(2025, 1, 1, tzinfo=UTC),
    ).id


def _user_id(web, name: str) -> int:
    return web.services.users.get(name).id


def test_operation_grants_limit_what_a_user_sees(web):
    other = _other_operation(web)
    rec = web.services.recorder
    _explicit_identity(web)  # an open conversation of the demo case (demo operation)
    assert grant_operation(rec, _user_id(web, "ana"), other, actor="root")
    ana = web.login("ana")
    assert f'href="/cases/{web.case_id}"' not in ana.get("/queue").text
    assert ana.get(f"/cases/{web.case_id}").status_code == 403
    contact_id = rec.get_case(web.case_id).contact_id
    assert ana.get(f"/contacts/{contact_id}").status_code == 403
    assert ana.get("/live/feed").text.strip() == "<p>No open conversations.</p>"
    token = csrf_of(ana, "/queue")
    r = ana.post(f"/cases/{web.case_id}/watch", data={"csrf_token": token})
    assert r.status_code == 403
    r = ana.post("/live/1/takeover", data={"text": "haha yeah", "csrf_token": token})
    assert r.status_code == 403 and len(web.services.outbox) == 0
    # a user without grants is unaffected
    ben = web.login("ben")
    assert f'href="/cases/{web.case_id}"' in ben.get("/queue").text
    assert f'href="/cases/{web.case_id}"' in ben.get("/live/feed").text
    (granted,) = _audit(web, "operation_access_granted")
    assert granted.actor == "root" and granted.target == f"user:{_user_id(web, 'ana')}"
    # the demo operation granted as well: the case is visible again; revoking is audited
    demo = rec.ensure_demo_operation().id
    assert grant_operation(rec, _user_id(web, "ana"), demo, actor="root")
    assert ana.get(f"/cases/{web.case_id}").status_code == 200
    assert revoke_operation(rec, _user_id(web, "ana"), demo, actor="root")
    assert ana.get(f"/cases/{web.case_id}").status_code == 403
    (revoked,) = _audit(web, "operation_access_revoked")
    assert revoked.details == {
        "user_id": _user_id(web, "ana"),
        "operation_id": demo,
        "unrestricted": False,
    }


# -- item 15: every export and every reveal is audited ---------------------------------------------


def test_dashboard_export_is_audited(web):
    ana = web.login("ana")
    r = ana.post(
        f"/cases/{web.case_id}/referrals",
        data={"note": "grounds", "csrf_token": csrf_of(ana, "/queue")},
    )
    assert r.status_code == 303
    ref = web.services.workflow.pending_referrals()[0]
    sue = web.login("sue")
    token = csrf_of(sue, "/queue")
    approve = f"/cases/{web.case_id}/referrals/{ref.id}/approve"
    assert sue.post(approve, data={"csrf_token": token}).status_code == 303
    assert _audit(web, "case_exported") == []
    r = sue.post(f"/cases/{web.case_id}/export", data={"csrf_token": token})
    assert r.status_code == 200
    (row,) = _audit(web, "case_exported")
    assert row.actor == "sue" and row.target == f"case:{web.case_id}"
    assert row.ledger_seq is not None and row.details["via"] == "dashboard"
    from tutela.ledger import sha256_hex

    assert row.details["package_sha256"] == sha256_hex(r.content)


@pytest.mark.parametrize("page", ["case", "contact"])
def test_every_reveal_writes_an_audit_row(web, page):
    contact_id, ident_id, msg_id = _explicit_identity(web)
    ana = web.login("ana")
    token = csrf_of(ana, "/queue")
    url = (
        f"/cases/{web.case_id}/messages/{msg_id}/reveal"
        if page == "case"
        else f"/contacts/{contact_id}/identities/{ident_id}/reveal"
    )
    for _ in range(2):
        r = ana.post(url, headers={"HX-Request": "true", "X-CSRF-Token": token})
        assert r.status_code == 200
    rows = _audit(web, "reveal")
    assert [(r.actor, r.details["message_id"], r.details["shown_on"]) for r in rows] == [
        ("ana", msg_id, page)
    ] * 2


def test_dashboard_export_signs_with_the_databases_own_key(demo_dir, tmp_path):
    """Without ``signing_key_path`` the dashboard finds the demo database's key beside it (the rule
    ``tutela export`` uses), instead of the user's default key, which never signed this ledger."""
    from conftest import USERS, copy_demo, fast_users
    from tutela.store import open_store
    from tutela.web.app import create_app
    from tutela.web.services import Services
    from tutela.web.settings import WebSettings

    folder = copy_demo(demo_dir, tmp_path)
    settings = WebSettings(db_url=f"sqlite:///{folder / 'tutela.db'}", session_secret="s" * 64)
    assert settings.signing_key_path is None
    services = Services.from_settings(settings, store=open_store(settings.db_url))
    try:
        users = fast_users(services)
        for name, role in USERS.items():
            users.add(name, role, PASSWORD)
        from starlette.testclient import TestClient

        app = create_app(settings, services=services)
        case_id = int((folder / "case_id").read_text())

        def login(name: str) -> TestClient:
            c = TestClient(app, base_url="http://127.0.0.1", follow_redirects=False)
            c.get("/login")
            r = c.post(
                "/login", data={"name": name, "password": PASSWORD, "csrf_token": csrf_of(c)}
            )
            assert r.status_code == 303
            return c

        ana = login("ana")
        r = ana.post(
            f"/cases/{case_id}/referrals",
            data={"note": "grounds", "csrf_token": csrf_of(ana, "/queue")},
        )
        assert r.status_code == 303
        ref = services.workflow.pending_referrals()[0]
        sue = login("sue")
        token = csrf_of(sue, "/queue")
        assert (
            sue.post(
                f"/cases/{case_id}/referrals/{ref.id}/approve", data={"csrf_token": token}
            ).status_code
            == 303
        )
        r = sue.post(f"/cases/{case_id}/export", data={"csrf_token": token})
        assert r.status_code == 200, r.text
        from tutela.ledger import Signer

        own = Signer.load(folder / "signing-key.pem")
        assert services.signer.fingerprint() == own.fingerprint()
    finally:
        services.close()
