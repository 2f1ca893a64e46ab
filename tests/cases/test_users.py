"""User accounts: argon2id hashes (never plaintext), login, TOTP, password policy, roles."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest
from argon2 import PasswordHasher
from cases_support import PASSWORD, Env
from sqlalchemy import select

from tutela.cases.users import MIN_PASSWORD_LENGTH, Role, User, UserStore, totp_uri
from tutela.errors import InputError
from tutela.store import NotFoundError
from tutela.store.models import AuditLogRow, UserRow


def _hash_of(env: Env, name: str) -> str:
    with env.store.session() as s:
        return s.execute(select(UserRow.password_hash).where(UserRow.name == name)).scalar_one()


def test_passwords_are_stored_as_argon2id_only(env: Env) -> None:
    stored = _hash_of(env, "ana")
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    with env.store.session() as s:
        dump = " ".join(
            str(v) for row in s.execute(select(UserRow)).all() for v in row[0].__dict__.values()
        )
    assert PASSWORD not in dump


def test_authenticate(env: Env) -> None:
    user = env.users.authenticate("ana", PASSWORD)
    assert user == User(
        id=env.analyst.id, name="ana", role=Role.ANALYST, active=True, has_totp=False
    )
    assert env.users.authenticate("ana", PASSWORD + "x") is None
    assert env.users.authenticate("nobody", PASSWORD) is None
    env.users.deactivate("ana")
    assert env.users.authenticate("ana", PASSWORD) is None
    assert env.users.get("ana") is not None and not env.users.get("ana").active  # type: ignore[union-attr]


def test_password_policy_and_duplicates(env: Env) -> None:
    with pytest.raises(InputError, match=str(MIN_PASSWORD_LENGTH)):
        env.users.add("short", "analyst", "x" * (MIN_PASSWORD_LENGTH - 1))
    with pytest.raises(InputError, match="already exists"):
        env.users.add("ana", "analyst", PASSWORD)
    with pytest.raises(InputError, match="role"):
        env.users.add("newbie", "superuser", PASSWORD)
    with pytest.raises(InputError):
        env.users.add("Bad Name", "analyst", PASSWORD)
    assert env.users.get("short") is None and env.users.get("newbie") is None
    assert env.users.add("x" * 3, "analyst", "y" * MIN_PASSWORD_LENGTH).role is Role.ANALYST


def test_totp_is_required_once_set(env: Env) -> None:
    secret = env.users.set_totp("sue")
    assert env.users.get("sue").has_totp  # type: ignore[union-attr]
    now = env.clock()
    code = pyotp.TOTP(secret).at(now)
    assert env.users.authenticate("sue", PASSWORD) is None
    assert (
        env.users.authenticate(
            "sue", PASSWORD, totp_code="000000" if code != "000000" else "111111"
        )
        is None
    )
    assert env.users.authenticate("sue", "wrong password!!", totp_code=code) is None
    assert env.users.authenticate("sue", PASSWORD, totp_code=code) is not None
    stale = pyotp.TOTP(secret).at(now - timedelta(minutes=5))
    if stale != code:
        assert env.users.authenticate("sue", PASSWORD, totp_code=stale) is None
    uri = totp_uri("sue", secret)
    assert uri.startswith("otpauth://totp/") and f"secret={secret}" in uri
    with env.store.session() as s:
        details = [r.details for r in s.execute(select(AuditLogRow)).scalars()]
    assert secret not in str(details)


def test_rehash_on_parameter_change(env: Env) -> None:
    old = _hash_of(env, "ben")
    stronger = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1)
    users = UserStore(env.store, recorder=env.recorder, hasher=stronger, clock=env.clock)
    assert users.authenticate("ben", PASSWORD) is not None
    new = _hash_of(env, "ben")
    assert new != old and "m=2048,t=2" in new
    assert users.authenticate("ben", PASSWORD) is not None
    assert _hash_of(env, "ben") == new  # no rehash when the parameters already match


def test_lookups_and_account_changes(env: Env) -> None:
    assert [u.name for u in env.users.list()] == ["ana", "ben", "root", "sam", "sue"]
    assert env.users.get_by_id(env.supervisor.id) == env.supervisor
    assert env.users.get_by_id(9999) is None and env.users.get("ghost") is None
    with pytest.raises(NotFoundError):
        env.users.deactivate("ghost")
    with pytest.raises(NotFoundError):
        env.users.set_totp("ghost")
    env.users.set_password("ana", "another long password")
    assert env.users.authenticate("ana", PASSWORD) is None
    assert env.users.authenticate("ana", "another long password") is not None
    with env.store.session() as s:
        actions = [r.action for r in s.execute(select(AuditLogRow)).scalars()]
    assert actions.count("user_added") == 5 and "user_password_set" in actions
