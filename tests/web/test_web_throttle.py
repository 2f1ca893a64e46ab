"""Login throttle in the database: atomic reservation before argon2, bounded argon2
concurrency, per-account lockout with decay, per-address ceiling that only slows, device cookies
(OWASP) that keep known browsers out of others' lockouts, shared by several processes (SQLite
file; PostgreSQL with ``TUTELA_TEST_PG_URL``)."""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select
from web_support import PASSWORD, csrf_of

from tutela.accounts.users import UserStore
from tutela.errors import InputError
from tutela.store import open_store
from tutela.store.models import AuditLogRow
from tutela.web.throttle import DEVICE_COOKIE_PREFIX, DeviceCookies, LoginThrottle


class CountingHasher(PasswordHasher):
    """A cheap argon2id hasher that counts ``verify`` calls and the most running at once."""

    def __init__(self, delay_s: float = 0.0) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.delay_s = delay_s
        self.calls = 0
        self.running = 0
        self.peak = 0
        self._lock = threading.Lock()

    def verify(self, hash, password):
        with self._lock:
            self.calls += 1
            self.running += 1
            self.peak = max(self.peak, self.running)
        try:
            time.sleep(self.delay_s)  # widen the race window
            return super().verify(hash, password)
        finally:
            with self._lock:
                self.running -= 1


def _post(c, name, password):
    return c.post("/login", data={"name": name, "password": password, "csrf_token": csrf_of(c)})


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# -- through the dashboard -------------------------------------------------------------------
def test_40_concurrent_wrong_logins_check_at_most_the_limit(web):
    """Issue 10, defect 2: 40 concurrent wrong logins for one account were all checked."""
    hasher = CountingHasher(delay_s=0.05)
    web.services.users = UserStore(  # type: ignore[misc]
        web.services.store,
        recorder=web.services.recorder,
        hasher=hasher,
        max_concurrent_hashes=2,
    )
    clients = []
    for _ in range(40):
        c = web.client()
        clients.append((c, csrf_of(c)))
    barrier = threading.Barrier(40)

    def attempt(pair):
        c, token = pair
        barrier.wait()
        data = {"name": "ana", "password": "wrong password!", "csrf_token": token}
        return c.post("/login", data=data).status_code

    with ThreadPoolExecutor(max_workers=40) as pool:
        statuses = list(pool.map(attempt, clients))
    limit = web.settings.throttle_max_failures
    assert set(statuses) <= {401, 429}
    assert hasher.calls <= limit
    assert statuses.count(401) == hasher.calls
    assert statuses.count(429) == 40 - hasher.calls >= 40 - limit
    assert hasher.peak <= 2  # argon2 concurrency bounded


def test_argon2_concurrency_is_bounded_in_the_user_store(tmp_path: Path):
    store = open_store(f"sqlite:///{tmp_path / 'u.db'}")
    try:
        hasher = CountingHasher(delay_s=0.05)
        users = UserStore(
            store, hasher=hasher, max_concurrent_hashes=2, totp_key_path=tmp_path / "k.key"
        )
        users.add("ana", "analyst", PASSWORD)
        with ThreadPoolExecutor(max_workers=12) as pool:
            results = list(pool.map(lambda _: users.authenticate("ana", PASSWORD), range(12)))
        assert all(r is not None for r in results)
        assert hasher.calls == 12 and hasher.peak <= 2
        with pytest.raises(InputError):
            UserStore(store, max_concurrent_hashes=0)
    finally:
        store.close()


def test_one_users_typos_do_not_lock_out_another_user_on_the_same_address(web):
    """Issue 10, defect 3: one analyst's typos locked every user of that address out."""
    c = web.client()
    for _ in range(5):
        assert _post(c, "ana", "wrong password!").status_code == 401
    locked = _post(c, "ana", PASSWORD)  # right password, but the account is locked
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0
    other = web.client()  # same address (the test client's)
    r = _post(other, "ben", PASSWORD)
    assert r.status_code == 303 and r.headers["location"] == "/queue"


def test_account_lockout_decays_and_a_success_clears_it(web):
    clock = Clock()
    web.services.throttle = LoginThrottle(  # type: ignore[misc]
        web.services.store, max_failures=5, base_s=30, max_s=3600, decay_s=600, clock=clock
    )
    c = web.client()
    for _ in range(5):
        assert _post(c, "ana", "wrong password!").status_code == 401
    assert _post(c, "ana", PASSWORD).status_code == 429
    assert web.services.throttle.score("user:ana") == pytest.approx(5)
    clock.now += 600  # one half-life (and past the 30 s lockout)
    assert web.services.throttle.score("user:ana") == pytest.approx(2.5)
    r = _post(c, "ana", PASSWORD)
    assert r.status_code == 303
    assert web.services.throttle.score("user:ana") == 0  # success clears the account


# -- device cookies (OWASP "Slow brute-force attacks" / "Device Cookies") ----------------------
TEST_ADDRESS = "testclient"  # the address Starlette's TestClient reports


def _device_cookies(c) -> dict[str, object]:
    """The client's device cookies as ``{name: http.cookiejar.Cookie}``."""
    return {k.name: k for k in c.cookies.jar if k.name.startswith(DEVICE_COOKIE_PREFIX)}


def _browser_that_logged_in(web, name: str):
    """A client that logged in as ``name`` and out again: it keeps only its device cookie."""
    c = web.login(name)
    assert len(_device_cookies(c)) == 1
    assert c.post("/logout", data={"csrf_token": csrf_of(c, "/queue")}).status_code == 303
    return c


def _audit_details(web, action: str) -> list[dict]:
    with web.services.store.session() as s:
        q = select(AuditLogRow).where(AuditLogRow.action == action).order_by(AuditLogRow.id)
        return [dict(row.details) for row in s.execute(q).scalars()]


def _set_cookie_like(c, model, name: str, value: str) -> None:
    c.cookies.set(name, value, domain=model.domain, path=model.path)


def _lock_account_elsewhere(web, name: str, address: str = "203.0.113.7") -> None:
    t = web.services.throttle
    for _ in range(web.settings.throttle_max_failures):
        a = t.reserve(name, address)
        assert a.allowed
        t.failed(a)
    assert t.retry_after(f"user:{name}") > 0


def _spray_address(web, c) -> None:
    """Wrong passwords for unknown names through the dashboard until the address is slowed."""
    for n in range(web.settings.throttle_address_max_failures):
        assert _post(c, f"nobody{n}", "wrong password!").status_code == 401
    assert web.services.throttle.retry_after(f"ip:{TEST_ADDRESS}") > 0


@pytest.fixture
def attacked(make_web):
    """ana and ben each logged in once from their own browser; then the shared address was
    sprayed past its ceiling and ana's account locked by wrong guesses from elsewhere."""
    web = make_web(throttle_address_max_failures=5, throttle_address_slow_s=600)
    ana = _browser_that_logged_in(web, "ana")
    ben = _browser_that_logged_in(web, "ben")
    _spray_address(web, web.client())
    _lock_account_elsewhere(web, "ana")
    return web, ana, ben


def test_a_known_browser_logs_in_despite_account_lockout_and_address_ceiling(attacked):
    """Review finding (HIGH): behind the shared proxy address one attacker kept every user out
    (429 on 10 of 10 correct logins), and any account could be kept locked from anywhere."""
    web, ana, _ = attacked
    for _ in range(3):  # at once, and again: the attacker cannot hold it locked
        r = _post(ana, "ana", PASSWORD)
        assert r.status_code == 303 and r.headers["location"] == "/queue"
        assert "ana (analyst)" in ana.get("/queue").text
        assert ana.post("/logout", data={"csrf_token": csrf_of(ana, "/queue")}).status_code == 303
    assert web.services.throttle.retry_after("user:ana", f"ip:{TEST_ADDRESS}") > 0  # still held
    assert [d["device"] for d in _audit_details(web, "login")] == [False, False, True, True, True]


def test_without_its_device_cookie_a_locked_account_still_waits(attacked):
    """The documented trade-off: a new browser (or one that cleared its cookies) waits."""
    web, ana, _ = attacked
    r = _post(web.client(), "ana", PASSWORD)
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    ana.cookies.clear()
    assert _post(ana, "ana", PASSWORD).status_code == 429


def test_a_device_cookie_helps_only_the_account_it_names(attacked):
    web, ana, _ = attacked
    r = _post(ana, "ben", PASSWORD)  # ana's browser, ben's (unlocked) account, slowed address
    assert r.status_code == 429
    (model,) = _device_cookies(ana).values()
    ben_cookie = DeviceCookies("s" * 64, max_age_s=3600).cookie_name("ben")
    stranger = web.client()  # ana's device cookie presented under ben's cookie name
    _set_cookie_like(stranger, model, ben_cookie, model.value)
    assert _post(stranger, "ben", PASSWORD).status_code == 429


def test_forged_unsigned_tampered_or_expired_device_cookies_are_ignored(attacked, monkeypatch):
    web, ana, _ = attacked
    (model,) = _device_cookies(ana).values()
    name, real = model.name, model.value
    payload = {"u": "ana", "n": "A" * 22}
    unsigned = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    other_key = URLSafeTimedSerializer("t" * 64, salt="tutela-device-cookie").dumps(payload)
    tampered = real[:-2] + ("AA" if not real.endswith("AA") else "BB")
    ours = URLSafeTimedSerializer("s" * 64, salt="tutela-device-cookie")
    with monkeypatch.context() as m:  # signed by us, but 181 days ago
        m.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - 181 * 86400)
        expired = ours.dumps(payload)
    assert DeviceCookies("s" * 64, max_age_s=3600).nonce({name: ours.dumps(payload)}, "ana")
    for value in ("garbage", unsigned, other_key, tampered, expired, "x" * 5000):
        c = web.client()
        _set_cookie_like(c, model, name, value)
        assert _post(c, "ana", PASSWORD).status_code == 429, value[:40]


def test_wrong_passwords_from_a_known_browser_lock_only_that_browser(web):
    first = _browser_that_logged_in(web, "ana")
    second = _browser_that_logged_in(web, "ana")
    t = web.services.throttle
    (device,) = _device_cookies(first).values()
    nonce = DeviceCookies("s" * 64, max_age_s=3600).nonce({device.name: device.value}, "ana")
    assert nonce is not None
    for _ in range(web.settings.throttle_max_failures):
        assert _post(first, "ana", "wrong password!").status_code == 401
    assert _post(first, "ana", PASSWORD).status_code == 429  # this device is locked
    assert t.retry_after(f"device:{nonce}") > 0
    assert t.score(f"device:{nonce}") == pytest.approx(web.settings.throttle_max_failures, 0.01)
    assert t.score("user:ana") == 0 and t.score(f"ip:{TEST_ADDRESS}") == 0
    assert t.retry_after("user:ana", f"ip:{TEST_ADDRESS}") == 0
    assert _post(second, "ana", PASSWORD).status_code == 303  # ana's other browser
    assert _post(web.client(), "ana", PASSWORD).status_code == 303  # and a new one
    assert [d["scope"] for d in _audit_details(web, "login_locked")] == ["device"]


def test_device_cookie_attributes_and_content(make_web):
    web = make_web(cookie_secure=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient
    c = TestClient(web.app, base_url="https://127.0.0.1", follow_redirects=False)
    r = _post(c, "ana", PASSWORD)
    assert r.status_code == 303
    (header,) = [h for h in r.headers.get_list("set-cookie") if h.startswith(DEVICE_COOKIE_PREFIX)]
    attrs = {a.strip().split("=")[0].lower() for a in header.split(";")[1:]}
    assert {"httponly", "secure", "samesite", "path", "max-age"} <= attrs
    assert "samesite=strict" in header.lower() and "path=/login;" in header.lower() + ";"
    assert f"max-age={web.settings.device_cookie_max_age_s}" in header.lower()
    value = header.split(";")[0].split("=", 1)[1]
    payload = URLSafeTimedSerializer("s" * 64, salt="tutela-device-cookie").loads(value)
    assert set(payload) == {"u", "n"} and payload["u"] == "ana"
    assert PASSWORD not in header


def test_a_known_browser_passes_the_totp_step_of_a_locked_account(web):
    import pyotp

    sue = _browser_that_logged_in(web, "sue")  # before sue had a second factor
    secret = web.services.users.set_totp("sue")
    _lock_account_elsewhere(web, "sue")
    assert _post(web.client(), "sue", PASSWORD).status_code == 429
    r = _post(sue, "sue", PASSWORD)
    assert r.status_code == 200 and 'action="/login/totp"' in r.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', r.text).group(1)  # type: ignore[union-attr]
    ok = sue.post("/login/totp", data={"totp": pyotp.TOTP(secret).now(), "csrf_token": token})
    assert ok.status_code == 303 and ok.headers["location"] == "/queue"


# -- the throttle itself -----------------------------------------------------------------------
@pytest.fixture
def store(tmp_path: Path):
    s = open_store(f"sqlite:///{tmp_path / 'throttle.db'}")
    yield s
    s.close()


def _fail(t: LoginThrottle, name: str, ip: str = "10.0.0.1"):
    a = t.reserve(name, ip)
    if a.allowed:
        t.failed(a)
    return a


def test_account_backoff_doubles_and_is_capped(store):
    clock = Clock()
    t = LoginThrottle(store, max_failures=3, base_s=10, max_s=25, decay_s=1e12, clock=clock)
    for _ in range(2):
        assert _fail(t, "ana").allowed
    third = _fail(t, "ana")
    assert third.allowed and third.locks == {"account": 10}
    refused = t.reserve("ana", "10.0.0.2")  # another address: the account is locked
    assert not refused.allowed and refused.scope == "account" and refused.retry_after == 10
    assert t.reserve("ben", "10.0.0.1").allowed  # another account from the same address
    clock.now += 10
    assert _fail(t, "ana").locks == {"account": 20}
    clock.now += 20
    assert _fail(t, "ana").locks == {"account": 25}  # 40 s, capped
    clock.now += 25
    ok = t.reserve("ana", "10.0.0.1")
    assert ok.allowed
    t.succeeded(ok)
    assert t.score("user:ana") == 0 and t.retry_after("user:ana") == 0
    assert _fail(t, "ana").locks == {}  # the count was reset


def test_failures_decay_with_an_injectable_clock(store):
    clock = Clock()
    t = LoginThrottle(store, max_failures=5, decay_s=100, clock=clock)
    for _ in range(4):
        _fail(t, "ana")
    assert t.score("user:ana") == pytest.approx(4)
    clock.now += 100
    assert t.score("user:ana") == pytest.approx(2)
    clock.now += 300
    assert t.score("user:ana") == pytest.approx(0.25)
    for _ in range(4):  # without decay the first of these would lock (4 + 1 = 5)
        assert _fail(t, "ana").locks == {}
    assert _fail(t, "ana").locks == {"account": 30}  # 0.25 + 5 rounds to 5


def test_address_ceiling_only_slows_and_never_locks_out(store):
    clock = Clock()
    t = LoginThrottle(
        store, max_failures=5, address_max_failures=3, address_slow_s=2, decay_s=1e12, clock=clock
    )
    for n in range(2):
        assert _fail(t, f"guess{n}").locks == {}
    assert _fail(t, "guess2").locks == {"address": 2}
    slowed = t.reserve("ben", "10.0.0.1")
    assert not slowed.allowed and slowed.scope == "address" and slowed.retry_after == 2
    assert t.reserve("ben", "10.0.0.9").allowed  # other addresses are not affected
    for _ in range(20):  # a long spray: each failure pauses the address 2 s, never more
        clock.now += 2
        assert _fail(t, f"guess{clock.now}").locks == {"address": 2}
    clock.now += 2
    ok = t.reserve("ben", "10.0.0.1")  # a correct login gets through after the pause
    assert ok.allowed
    t.succeeded(ok)


def test_neutral_refunds_the_charge(store):
    t = LoginThrottle(store, max_failures=2, decay_s=1e12)
    for _ in range(5):
        a = t.reserve("sue", "10.0.0.1")
        assert a.allowed
        t.neutral(a)  # right password, code pending: not a failure
    assert t.score("user:sue") == 0 and t.score("ip:10.0.0.1") == 0


def test_a_device_attempt_is_checked_and_charged_on_its_own_key(store):
    t = LoginThrottle(
        store, max_failures=2, address_max_failures=2, address_slow_s=60, decay_s=1e12
    )
    for _ in range(2):
        _fail(t, "ana")  # locks the account and slows the address
    assert not t.reserve("ana", "10.0.0.1").allowed
    a = t.reserve("ana", "10.0.0.1", device="N" * 22)
    assert a.allowed and a.charged == {"device:" + "N" * 22: "device"}
    assert t.failed(a) == {}
    assert t.score("user:ana") == pytest.approx(2) and t.score("ip:10.0.0.1") == pytest.approx(2)
    assert t.failed(t.reserve("ana", "10.0.0.1", device="N" * 22)) == {"device": 30}
    refused = t.reserve("ana", "10.0.0.9", device="N" * 22)
    assert not refused.allowed and refused.scope == "device"
    assert t.reserve("ana", "10.0.0.9", device="M" * 22).allowed  # another device
    ok = t.reserve("ana", "10.0.0.1", device="M" * 22)
    t.succeeded(ok)
    assert t.score("device:" + "M" * 22) == 0
    assert t.retry_after("user:ana") > 0  # a device's success leaves the account's lock


def test_invalid_settings_are_refused(store):
    for bad in ({"max_failures": 0}, {"decay_s": -1}, {"address_slow_s": float("nan")}):
        with pytest.raises(InputError):
            LoginThrottle(store, **bad)


def _concurrent_reservations(url: str, n: int = 30, stores: int = 2) -> int:
    """``n`` concurrent reservations for one account through ``stores`` separate Store objects
    (as separate processes would have); returns how many were allowed."""
    opened = [open_store(url) for _ in range(stores)]
    try:
        throttles = [LoginThrottle(s, max_failures=5, decay_s=1e12) for s in opened]
        barrier = threading.Barrier(n)

        def one(i: int) -> bool:
            barrier.wait()
            a = throttles[i % stores].reserve("ana", f"10.0.0.{i}")
            if a.allowed:
                throttles[i % stores].failed(a)
            return a.allowed

        with ThreadPoolExecutor(max_workers=n) as pool:
            return sum(pool.map(one, range(n)))
    finally:
        for s in opened:
            s.close()


def test_reservations_are_atomic_across_stores_over_one_sqlite_file(tmp_path: Path):
    assert _concurrent_reservations(f"sqlite:///{tmp_path / 'shared.db'}") == 5


def test_reservations_are_atomic_on_postgresql(pg_url: str):
    assert _concurrent_reservations(pg_url) == 5
