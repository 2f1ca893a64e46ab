"""Login, logout, server-side sessions, TOTP and login throttling."""

from __future__ import annotations

import os
import re
import stat

import pyotp
import pytest
from web_support import PASSWORD, csrf_of

from tutela.errors import ConfigError
from tutela.web.sessions import COOKIE_NAME, SessionStore
from tutela.web.settings import load_or_create_secret
from tutela.web.throttle import LoginThrottle


def _token(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m is not None
    return m.group(1)


def _post_login(c, name, password, **extra):
    data = {"name": name, "password": password, "csrf_token": csrf_of(c), **extra}
    return c.post("/login", data=data)


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


def test_logout_ends_the_session(web):
    c = web.login("ana")
    token = csrf_of(c, "/queue")
    r = c.post("/logout", data={"csrf_token": token})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert c.get("/queue").status_code == 303
    assert len([s for s in web.services.sessions._sessions.values() if s.authenticated]) == 0


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


def test_throttle_locks_a_username_after_five_failures(web):
    c = web.client()
    for _ in range(5):
        assert _post_login(c, "ana", "wrong password!").status_code == 401
    locked = _post_login(c, "ana", PASSWORD)  # right password, but locked
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0
    other = web.client()  # same IP (testclient): also locked for the IP
    assert _post_login(other, "ben", PASSWORD).status_code == 429


def test_throttle_is_per_ip_and_per_user():
    now = [0.0]
    t = LoginThrottle(max_failures=3, base_s=10, max_s=25, clock=lambda: now[0])
    ip_a, ip_b = "ip:10.0.0.1", "ip:10.0.0.2"
    for _ in range(3):
        t.failure("user:ana", ip_a)
    assert t.retry_after("user:ana", ip_b) == pytest.approx(10)
    assert t.retry_after("user:ben", ip_a) == pytest.approx(10)
    assert t.retry_after("user:ben", ip_b) == 0
    t.failure("user:ana")  # 4th: lockout doubles
    assert t.retry_after("user:ana") == pytest.approx(20)
    t.failure("user:ana")  # 5th: 40 s, capped at 25
    assert t.retry_after("user:ana") == pytest.approx(25)
    now[0] = 26.0
    assert t.retry_after("user:ana") == 0
    t.success("user:ana")
    t.failure("user:ana")
    assert t.retry_after("user:ana") == 0  # count was reset


def test_sessions_expire_when_idle_and_absolutely():
    now = [0.0]
    store = SessionStore(ttl_s=100, idle_s=10, clock=lambda: now[0])
    s = store.create(user_id=1, username="ana", role="analyst")
    now[0] = 9
    assert store.get(s.token) is s
    now[0] = 20
    assert store.get(s.token) is None  # idle
    s2 = store.create(user_id=1, username="ana", role="analyst")
    for t in range(25, 120, 5):  # created at 20: lives until 120
        now[0] = t
        assert store.get(s2.token) is s2
    now[0] = 121
    assert store.get(s2.token) is None  # absolute lifetime


def test_anonymous_sessions_are_capped():
    store = SessionStore(ttl_s=100, idle_s=100, max_anonymous=3)
    first = store.create()
    for _ in range(5):
        store.create()
    assert store.get(first.token) is None and len(store) == 3


def test_session_secret_is_created_with_mode_0600(tmp_path):
    path = tmp_path / "d" / "web-session-secret"
    value = load_or_create_secret(path)
    assert re.fullmatch(r"[0-9a-f]{64}", value)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_secret(path) == value
    os.chmod(path, 0o644)
    with pytest.raises(ConfigError, match="group/others"):
        load_or_create_secret(path)
