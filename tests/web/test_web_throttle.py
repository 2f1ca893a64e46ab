"""Login throttle in the database: atomic reservation before argon2, bounded argon2
concurrency, per-account lockout with decay, per-address ceiling that only slows, shared by
several processes (SQLite file; PostgreSQL with ``TUTELA_TEST_PG_URL``)."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from web_support import PASSWORD, csrf_of

from tutela.cases.users import UserStore
from tutela.errors import InputError
from tutela.store import open_store
from tutela.web.throttle import LoginThrottle

PG_URL = os.environ.get("TUTELA_TEST_PG_URL")


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


@pytest.fixture
def pg_url() -> Iterator[str]:
    if not PG_URL:
        pytest.skip("PostgreSQL contract tests need TUTELA_TEST_PG_URL (a throwaway database)")
    schema = f"tutela_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_reservations_are_atomic_on_postgresql(pg_url: str):
    assert _concurrent_reservations(pg_url) == 5
