"""Login, logout, TOTP (single-use codes, no username enumeration), the login audit trail and
the session secret. Sessions: test_web_sessions.py; throttling: test_web_throttle.py."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import stat
import threading
from concurrent.futures import ThreadPoolExecutor

import pyotp
import pytest
from sqlalchemy import select
from web_support import PASSWORD, csrf_of

from tutela.errors import ConfigError
from tutela.store.models import AuditLogRow, WebSessionRow
from tutela.web.sessions import COOKIE_NAME
from tutela.web.settings import load_or_create_secret


def _token(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m is not None
    return m.group(1)


def _post_login(c, name, password, **extra):
    data = {"name": name, "password": password, "csrf_token": csrf_of(c), **extra}
    return c.post("/login", data=data)


def _audit(web, *actions: str) -> list[AuditLogRow]:
    with web.services.store.session() as s:
        q = select(AuditLogRow).where(AuditLogRow.action.in_(actions)).order_by(AuditLogRow.id)
        return list(s.execute(q).scalars())


def test_login_sets_strict_httponly_cookie_and_rotates_session(web):
    c = web.client()
    c.get("/login")
    before = c.cookies[COOKIE_NAME]
    r = _post_login(c, "ana", PASSWORD)
    assert r.status_code == 303 and r.headers["location"] == "/queue"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert c.cookies[COOKIE_NAME] != before  # no session fixation
    page = c.get("/queue")
    assert page.status_code == 200 and "ana (analyst)" in page.text


def test_wrong_password_is_refused(web):
    c = web.client()
    r = _post_login(c, "ana", "wrong password!")
    assert r.status_code == 401 and "Wrong name, password or code" in r.text
    assert c.get("/queue").status_code == 303


def test_forged_cookie_is_ignored(web):
    c = web.client()
    c.cookies.set(COOKIE_NAME, "not-a-signed-token")
    assert c.get("/queue").status_code == 303


def test_logout_ends_the_session_and_is_audited(web):
    c = web.login("ana")
    token = csrf_of(c, "/queue")
    r = c.post("/logout", data={"csrf_token": token})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert c.get("/queue").status_code == 303
    assert web.services.sessions.count(authenticated=True) == 0
    (row,) = _audit(web, "logout")
    assert row.actor == "ana" and row.details["address"]


def test_totp_user_is_asked_for_the_code(web):
    secret = web.services.users.set_totp("sue")
    c = web.client()
    r = _post_login(c, "sue", PASSWORD)
    assert r.status_code == 200 and 'name="totp"' in r.text and 'action="/login/totp"' in r.text
    assert c.get("/queue").status_code == 303  # not logged in yet
    token = _token(r.text)  # (opening /login again would cancel the pending login)
    wrong = c.post("/login/totp", data={"totp": "000000", "csrf_token": token})
    assert wrong.status_code == 401
    r = _post_login(c, "sue", PASSWORD)
    code = pyotp.TOTP(secret).now()
    ok = c.post("/login/totp", data={"totp": code, "csrf_token": _token(r.text)})
    assert ok.status_code == 303 and ok.headers["location"] == "/queue"
    assert "sue (supervisor)" in c.get("/queue").text


def test_totp_step_without_pending_login_is_refused(web):
    c = web.client()
    r = c.post("/login/totp", data={"totp": "123456", "csrf_token": csrf_of(c)})
    assert r.status_code == 401


def test_pending_totp_step_keeps_no_password(web):
    """The pending code step used to keep name and plaintext password in the session."""
    web.services.users.set_totp("sue")
    c = web.client()
    r = _post_login(c, "sue", PASSWORD)
    assert r.status_code == 200 and 'name="totp"' in r.text
    with web.services.store.session() as s:
        rows = s.execute(select(WebSessionRow)).scalars().all()
        dump = json.dumps([r.data for r in rows])
    assert PASSWORD not in dump
    (pending,) = [r.data["pending_login"] for r in rows if "pending_login" in r.data]
    assert set(pending) == {"user_id", "epoch", "at"}
    assert pending["user_id"] == web.services.users.get("sue").id


def test_pending_totp_step_fails_after_a_credential_change(web):
    secret = web.services.users.set_totp("sue")
    c = web.client()
    r = _post_login(c, "sue", PASSWORD)
    web.services.users.set_password("sue", "another long password")
    ok = c.post(
        "/login/totp", data={"totp": pyotp.TOTP(secret).now(), "csrf_token": _token(r.text)}
    )
    assert ok.status_code == 401
    assert _audit(web, "login_failed")[-1].details["reason"] == "credentials_changed"


def test_a_totp_code_is_accepted_once(web):
    """Issue 10, defect 4: the same code was accepted again in later logins."""
    secret = web.services.users.set_totp("sue")
    code = pyotp.TOTP(secret).now()
    first = web.client()
    r = _post_login(first, "sue", PASSWORD)
    assert (
        first.post("/login/totp", data={"totp": code, "csrf_token": _token(r.text)}).status_code
        == 303
    )
    again = web.client()
    r = _post_login(again, "sue", PASSWORD)
    replay = again.post("/login/totp", data={"totp": code, "csrf_token": _token(r.text)})
    assert replay.status_code == 401 and "Wrong name, password or code" in replay.text
    assert again.get("/queue").status_code == 303
    one_form = _post_login(web.client(), "sue", PASSWORD, totp=code)  # code sent with the password
    assert one_form.status_code == 401
    assert {row.details["reason"] for row in _audit(web, "login_failed")} == {"totp_replay"}


def _without_token(html: str) -> str:
    """The page without its session's CSRF token (hidden field and HTMX header)."""
    return html.replace(_token(html), "")


def test_no_username_enumeration_through_the_totp_step(web):
    """Issue 10, defect 15: a wrong password for a TOTP user opened the code step, so the
    answer told which names exist and which of them use TOTP."""
    web.services.users.set_totp("sue")
    answers = []
    for name in ("nobody", "sue", "ana"):  # unknown, TOTP user, plain user; all wrong passwords
        r = _post_login(web.client(), name, "wrong password!")
        answers.append((r.status_code, _without_token(r.text), r.headers.get("retry-after")))
    assert answers[0] == answers[1] == answers[2]
    assert answers[0][0] == 401 and 'name="totp"' not in answers[0][1]


def test_deactivated_user_with_the_right_password_gets_the_same_refusal(web):
    plain = _post_login(web.client(), "ana", "wrong password!")
    web.services.users.deactivate("ben")
    inactive = _post_login(web.client(), "ben", PASSWORD)
    assert inactive.status_code == plain.status_code == 401
    assert _without_token(inactive.text) == _without_token(plain.text)


def test_logins_failures_and_lockouts_are_audited_without_passwords(web):
    web.login("ana")
    c = web.client()
    _post_login(c, "nobody", "secret typo one!")
    for n in range(5):
        _post_login(c, "ben", f"secret typo {n}!")
    rows = _audit(web, "login", "login_failed", "login_locked")
    login = [r for r in rows if r.action == "login"]
    failed = [r for r in rows if r.action == "login_failed"]
    locked = [r for r in rows if r.action == "login_locked"]
    assert [r.actor for r in login] == ["ana"] and login[0].details["method"] == "password"
    assert [r.details["reason"] for r in failed] == ["unknown_user"] + ["bad_password"] * 5
    assert failed[0].target == "user:unknown" and "nobody" not in json.dumps(failed[0].details)
    assert failed[1].details["name"] == "ben" and failed[1].actor == "anonymous"
    assert len(locked) == 1 and locked[0].details["scope"] == "account"
    assert locked[0].details["name"] == "ben" and locked[0].details["seconds"] > 0
    dump = json.dumps([r.details for r in rows])
    assert "typo" not in dump and PASSWORD not in dump
    assert _post_login(c, "ben", PASSWORD).status_code == 429


def test_an_unknown_name_is_audited_only_as_a_keyed_hmac(web):
    """Review finding: an unknown name was stored as an unsalted SHA-256 prefix, and what was
    typed may be a mistyped password (crackable offline from the audit log)."""
    typed = "Tr0ub4dor&3"  # a password typed into the name field
    assert _post_login(web.client(), typed, "wrong password!").status_code == 401
    (row,) = _audit(web, "login_failed")
    dump = json.dumps(row.details) + row.target + row.actor
    plain = hashlib.sha256(typed.encode()).hexdigest()
    assert plain[:16] not in dump and typed not in dump and "name_sha256" not in row.details
    keyed = hmac.new(
        b"s" * 64, b"tutela-audit-login-name\x00" + typed.encode(), hashlib.sha256
    ).hexdigest()[:16]
    assert row.details["name_hmac"] == keyed
    assert row.details["reason"] == "unknown_user" and row.target == "user:unknown"


def test_two_simultaneous_code_posts_of_one_pending_login_get_one_try(web, monkeypatch):
    """Review finding: two simultaneous POST /login/totp from one pending session both got a
    try. The middleware read of both requests is held until both have read the session (the
    widest window), so both in-memory copies still hold the pending marker."""
    web.services.users.set_totp("sue")
    first = web.client()
    r = _post_login(first, "sue", PASSWORD)
    assert r.status_code == 200 and 'action="/login/totp"' in r.text
    token = _token(r.text)
    second = web.client()
    second.cookies.set(COOKIE_NAME, first.cookies[COOKIE_NAME])
    sessions, users = web.services.sessions, web.services.users
    both_read = threading.Barrier(2, timeout=10)
    read, checked = sessions.get, []
    verify = users.verify_totp

    def get_then_wait(tok):
        found = read(tok)
        both_read.wait()
        return found

    def counting_verify(*args, **kw):
        checked.append(args)
        return verify(*args, **kw)

    monkeypatch.setattr(sessions, "get", get_then_wait)
    monkeypatch.setattr(users, "verify_totp", counting_verify)

    def post(c):
        return c.post("/login/totp", data={"totp": "000000", "csrf_token": token})

    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(post, (first, second)))
    monkeypatch.undo()
    assert len(checked) == 1  # one code checked
    assert sorted(a.status_code for a in answers) == [401, 401]
    assert sum("Please log in again" in a.text for a in answers) == 1
    assert [r.details["reason"] for r in _audit(web, "login_failed")] == ["bad_totp"]


def test_session_secret_is_created_with_mode_0600(tmp_path):
    path = tmp_path / "d" / "web-session-secret"
    value = load_or_create_secret(path)
    assert re.fullmatch(r"[0-9a-f]{64}", value)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_secret(path) == value
    os.chmod(path, 0o644)
    with pytest.raises(ConfigError, match="group/others"):
        load_or_create_secret(path)
