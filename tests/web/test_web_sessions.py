"""Server-side sessions in the database: re-checked against the account on every request,
revocable, shared by several app instances over one database, only the token's SHA-256 stored."""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select
from web_support import PASSWORD, csrf_of

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from tutela.accounts.users import UserStore
from tutela.store import open_store
from tutela.store.models import WebSessionRow
from tutela.web.app import create_app
from tutela.web.services import Services
from tutela.web.sessions import COOKIE_NAME, SessionStore, token_digest

FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
AUTHED = WebSessionRow.user_id.is_not(None)


def _refused(r) -> bool:
    """Anonymous: 303 to /login (pages) or 401 (HTMX/JSON)."""
    return r.status_code == 401 or (r.status_code == 303 and r.headers["location"] == "/login")


def _propose_and_approve(web) -> None:
    ana = web.login("ana")
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


def test_deactivated_account_loses_its_open_session(web):
    """Issue 10, defect 1: after ``users deactivate`` the open session read pages, queued
    operator text and exported a signed package."""
    _propose_and_approve(web)
    ana, sue = web.login("ana"), web.login("sue")
    ana_csrf, sue_csrf = csrf_of(ana, "/queue"), csrf_of(sue, "/queue")
    export = f"/cases/{web.case_id}/export"
    assert sue.post(export, data={"csrf_token": sue_csrf}).status_code == 200  # before: allowed

    web.services.users.deactivate("ana", actor="root")
    web.services.users.deactivate("sue", actor="root")

    assert _refused(ana.get("/queue"))
    assert _refused(ana.get(f"/cases/{web.case_id}"))
    assert _refused(ana.get("/live/feed", headers={"HX-Request": "true"}))
    r = ana.post(
        "/live/1/takeover",
        data={"text": "haha yeah i like drawing", "csrf_token": ana_csrf},
        headers={"HX-Request": "true"},
    )
    assert _refused(r) and len(web.services.outbox) == 0
    r = sue.post(export, data={"csrf_token": sue_csrf})
    assert _refused(r) and r.headers.get("content-type") != "application/zip"
    assert web.services.sessions.count(authenticated=True) == 0


@pytest.mark.parametrize(
    "change",
    [
        lambda u: u.set_password("ana", "a brand new long password"),
        lambda u: u.set_totp("ana"),
        lambda u: u.set_role("ana", "supervisor"),
        lambda u: u.revoke_sessions("ana"),
    ],
    ids=["password", "totp", "role", "revoke"],
)
def test_credential_changes_end_the_session(web, change):
    ana, ben = web.login("ana"), web.login("ben")
    assert ana.get("/queue").status_code == 200
    change(web.services.users)
    assert _refused(ana.get("/queue"))
    assert ben.get("/queue").status_code == 200  # other users' sessions are untouched


def test_session_whose_epoch_or_role_no_longer_matches_is_ended(web):
    """The re-check itself (not only the row deletion done by UserStore): a session row whose
    epoch or role differs from the account's is refused and removed."""
    ana = web.login("ana")
    with web.services.store.session() as s:
        row = s.execute(select(WebSessionRow).where(AUTHED)).scalar_one()
        row.user_epoch = (row.user_epoch or 0) + 7  # as if opened before a credential change
    assert _refused(ana.get("/queue"))
    assert web.services.sessions.count(authenticated=True) == 0
    ben = web.login("ben")
    with web.services.store.session() as s:
        row = s.execute(select(WebSessionRow).where(AUTHED)).scalar_one()
        row.data = {**row.data, "role": "supervisor"}
    assert _refused(ben.get("/queue"))


def _second_app(web) -> tuple[TestClient, Services]:
    services = Services.from_settings(web.settings, store=open_store(web.settings.db_url))
    services.users = UserStore(services.store, recorder=services.recorder, hasher=FAST)  # type: ignore[misc]
    app = create_app(web.settings, services=services)
    return TestClient(app, base_url="http://127.0.0.1", follow_redirects=False), services


def test_two_app_instances_over_one_database_share_sessions(web):
    """Two ``tutela serve`` processes over one SQLite file: a login in one is valid in the
    other, a logout in one ends it in both, and a deactivation through another UserStore (the
    CLI) ends it in both."""
    other, other_services = _second_app(web)
    try:
        ana = web.login("ana")
        other.cookies.set(COOKIE_NAME, ana.cookies[COOKIE_NAME])
        page = other.get("/queue")
        assert page.status_code == 200 and "ana (analyst)" in page.text
        r = other.post("/logout", data={"csrf_token": csrf_of(other, "/queue")})
        assert r.status_code == 303
        assert _refused(ana.get("/queue"))  # logged out in the other instance

        ben = web.login("ben")
        other.cookies.set(COOKIE_NAME, ben.cookies[COOKIE_NAME])
        assert other.get("/queue").status_code == 200
        cli_store = open_store(web.settings.db_url)
        try:
            UserStore(cli_store, hasher=FAST).deactivate("ben", actor="cli:test")
        finally:
            cli_store.close()
        assert _refused(ben.get("/queue")) and _refused(other.get("/queue"))
    finally:
        other_services.close()


def test_only_the_token_digest_is_stored(web):
    ana = web.login("ana")
    with web.services.store.session() as s:
        rows = s.execute(select(WebSessionRow)).scalars().all()
        dump = repr([(r.token_sha256, r.csrf_token, r.data) for r in rows])
    (authed,) = [r for r in rows if r.user_id is not None]
    signed = ana.cookies[COOKIE_NAME]
    token = signed.rsplit(".", 1)[0]  # itsdangerous: value.signature
    assert authed.token_sha256 == hashlib.sha256(token.encode()).hexdigest() == token_digest(token)
    assert token not in dump


# -- the store itself ------------------------------------------------------------------------
@pytest.fixture
def user_store(tmp_path: Path):
    store = open_store(f"sqlite:///{tmp_path / 'sessions.db'}")
    users = UserStore(store, hasher=FAST, totp_key_path=tmp_path / "keys" / "totp-secrets.key")
    yield store, users
    store.close()


def test_sessions_expire_when_idle_and_absolutely(user_store):
    store, users = user_store
    ana = users.add("ana", "analyst", PASSWORD)
    now = [1_000.0]
    sessions = SessionStore(store, ttl_s=100, idle_s=10, touch_s=1, clock=lambda: now[0])

    def login():
        return sessions.create(user_id=ana.id, username="ana", role="analyst", user_epoch=0)

    s = login()
    now[0] += 9
    assert sessions.get(s.token).username == "ana"  # type: ignore[union-attr]
    now[0] += 11
    assert sessions.get(s.token) is None  # idle
    s2 = login()  # created at 1020: lives until 1120
    for _ in range(19):
        now[0] += 5
        assert sessions.get(s2.token) is not None
    now[0] = 1_121.0
    assert sessions.get(s2.token) is None  # absolute lifetime
    assert sessions.count() == 0  # expired rows are deleted


def test_anonymous_sessions_are_capped(user_store):
    store, _ = user_store
    now = [0.0]

    def tick() -> float:
        now[0] += 1
        return now[0]

    sessions = SessionStore(store, ttl_s=1000, idle_s=1000, max_anonymous=3, clock=tick)
    first = sessions.create()
    for _ in range(5):
        sessions.create()
    assert sessions.count(authenticated=False) == 3
    assert sessions.get(first.token) is None


def test_the_anonymous_cap_never_evicts_a_logged_in_session(user_store):
    """Review finding: a flood of cookie-less GET /login (each an anonymous session) evicts the
    oldest sessions; the cap must only ever drop anonymous ones, however old a login is."""
    store, users = user_store
    ana = users.add("ana", "analyst", PASSWORD)
    now = [0.0]

    def tick() -> float:
        now[0] += 1
        return now[0]

    sessions = SessionStore(store, ttl_s=10_000, idle_s=10_000, max_anonymous=3, clock=tick)
    logged_in = [  # the oldest, least recently used rows of all
        sessions.create(user_id=ana.id, username="ana", role="analyst", user_epoch=0)
        for _ in range(4)
    ]
    for _ in range(50):
        sessions.create()
    assert sessions.count(authenticated=True) == 4
    assert sessions.count(authenticated=False) == 3
    assert all(sessions.get(s.token) is not None for s in logged_in)


def test_a_flood_of_login_page_visits_keeps_logged_in_users_in(web):
    ana = web.login("ana")
    web.services.sessions.max_anonymous = 5  # the default is 10,000
    for _ in range(30):
        assert web.client().get("/login").status_code == 200  # cookie-less: a new session each
    assert web.services.sessions.count(authenticated=False) <= 5
    page = ana.get("/queue")
    assert page.status_code == 200 and "ana (analyst)" in page.text


def test_take_hands_a_value_out_once(user_store):
    store, _ = user_store
    a, b = SessionStore(store, ttl_s=100, idle_s=100), SessionStore(store, ttl_s=100, idle_s=100)
    s = a.create()
    s.data["pending_login"] = {"user_id": 1, "epoch": 0, "at": 1.0}
    s.data["other"] = 1
    a.save(s)
    stale = b.get(s.token)  # another process's copy, read before the take
    assert stale is not None and "pending_login" in stale.data
    assert a.take(s, "pending_login") == {"user_id": 1, "epoch": 0, "at": 1.0}
    assert "pending_login" not in s.data
    assert b.take(stale, "pending_login") is None  # its copy still had it; the store has not
    assert b.get(s.token).data == {"other": 1}  # type: ignore[union-attr]
    a.delete(s.token)
    assert a.take(s, "other") is None


def test_session_data_is_saved_and_shared(user_store):
    store, _ = user_store
    a = SessionStore(store, ttl_s=100, idle_s=100)
    s = a.create()
    s.data["pending_login"] = {"user_id": 1, "epoch": 0, "at": 1.0}
    a.save(s)
    b = SessionStore(store, ttl_s=100, idle_s=100)
    again = b.get(s.token)
    assert again is not None and again.data == s.data and again.csrf_token == s.csrf_token
    b.delete(s.token)
    assert a.get(s.token) is None


def test_delete_user_revokes_every_session_of_that_user(user_store):
    store, users = user_store
    ana, ben = users.add("ana", "analyst", PASSWORD), users.add("ben", "analyst", PASSWORD)
    sessions = SessionStore(store, ttl_s=100, idle_s=100)
    mine = [sessions.create(user_id=ana.id, username="ana", role="analyst", user_epoch=0)
            for _ in range(2)]  # fmt: skip
    theirs = sessions.create(user_id=ben.id, username="ben", role="analyst", user_epoch=0)
    assert sessions.delete_user(ana.id) == 2
    assert all(sessions.get(s.token) is None for s in mine)
    assert sessions.get(theirs.token) is not None


def test_garbage_tokens_are_unknown(user_store):
    store, _ = user_store
    sessions = SessionStore(store, ttl_s=100, idle_s=100)
    for token in (None, "", "x" * 5000, "not-a-token"):
        assert sessions.get(token) is None


# -- PostgreSQL (TUTELA_TEST_PG_URL) -----------------------------------------------------------
def test_sessions_and_single_use_totp_on_postgresql(pg_url: str, tmp_path: Path):
    import pyotp

    first, second = open_store(pg_url), open_store(pg_url)  # two processes' stores
    try:
        users = UserStore(first, hasher=FAST, totp_key_path=tmp_path / "totp.key")
        sue = users.add("sue", "supervisor", PASSWORD)
        secret = users.set_totp("sue")
        check = users.verify_password("sue", PASSWORD)
        assert check.ok and check.needs_totp
        code = pyotp.TOTP(secret).now()
        assert users.verify_totp(sue.id, code, epoch=check.epoch).ok
        assert users.verify_totp(sue.id, code, epoch=check.epoch).reason == "totp_replay"
        a = SessionStore(first, ttl_s=100, idle_s=100)
        b = SessionStore(second, ttl_s=100, idle_s=100)
        s = a.create(user_id=sue.id, username="sue", role="supervisor", user_epoch=check.epoch)
        s.data["x"] = [1, "two"]
        a.save(s)
        seen = b.get(s.token)
        assert seen is not None and seen.username == "sue" and seen.data["x"] == [1, "two"]
        assert b.take(seen, "x") == [1, "two"] and a.take(s, "x") is None  # single-use
        UserStore(second, hasher=FAST, totp_key_path=tmp_path / "totp.key").deactivate("sue")
        assert a.get(s.token) is None and b.get(s.token) is None
    finally:
        first.close()
        second.close()
