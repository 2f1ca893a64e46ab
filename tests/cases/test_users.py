"""User accounts: argon2id hashes (never plaintext), login, TOTP, password policy, roles."""

from __future__ import annotations

import os
import stat
from datetime import timedelta
from pathlib import Path

import pyotp
import pytest
from argon2 import PasswordHasher
from cases_support import PASSWORD, Env
from sqlalchemy import select

from tutela.accounts.users import (
    FERNET_PREFIX,
    MIN_PASSWORD_LENGTH,
    Role,
    User,
    UserStore,
    default_totp_key_path,
    totp_uri,
)
from tutela.errors import ConfigError, InputError
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


@pytest.fixture
def users(env: Env, tmp_path: Path) -> UserStore:
    """``env``'s accounts through a UserStore whose TOTP key lives in the test's folder."""
    return UserStore(
        env.store,
        recorder=env.recorder,
        hasher=env.users.hasher,
        clock=env.clock,
        totp_key_path=tmp_path / "keys" / "totp-secrets.key",
    )


def _row(env: Env, name: str) -> UserRow:
    with env.store.session() as s:
        return s.execute(select(UserRow).where(UserRow.name == name)).scalar_one()


def test_totp_is_required_once_set(env: Env, users: UserStore) -> None:
    env.users = users
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


# -- issue 10: single-use TOTP codes, encrypted secrets, session epochs ------------------------
def test_a_totp_code_is_accepted_once(env: Env, users: UserStore) -> None:
    """Issue 10, defect 4: a code was accepted again, and the previous step's code too."""
    secret = users.set_totp("sue")
    totp = pyotp.TOTP(secret)
    code = totp.at(env.clock())
    assert users.authenticate("sue", PASSWORD, totp_code=code) is not None
    assert users.authenticate("sue", PASSWORD, totp_code=code) is None  # replay
    env.clock.advance(seconds=30)
    newer = totp.at(env.clock())
    older = totp.at(env.clock() - timedelta(seconds=30))  # still inside the drift window
    assert older == code and newer != code
    assert users.authenticate("sue", PASSWORD, totp_code=newer) is not None
    env.clock.advance(seconds=1)
    assert users.authenticate("sue", PASSWORD, totp_code=older) is None  # earlier step
    assert _row(env, "sue").totp_last_step == totp.timecode(env.clock())
    check = users.verify_password("sue", PASSWORD)
    replay = users.verify_totp(check.user.id, newer, epoch=check.epoch)  # type: ignore[union-attr]
    assert not replay.ok and replay.reason == "totp_replay"


def test_totp_secrets_are_encrypted_at_rest(env: Env, users: UserStore, tmp_path: Path) -> None:
    secret = users.set_totp("sue")
    stored = _row(env, "sue").totp_secret
    assert stored is not None and stored.startswith(FERNET_PREFIX) and secret not in stored
    key = tmp_path / "keys" / "totp-secrets.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(key.parent.stat().st_mode) == 0o700
    assert users.authenticate("sue", PASSWORD, totp_code=pyotp.TOTP(secret).at(env.clock()))
    other_key = UserStore(env.store, clock=env.clock, totp_key_path=tmp_path / "other.key")
    other_key.secrets.encrypt("AAAA")  # creates a different key
    with pytest.raises(ConfigError, match="does not decrypt"):
        other_key.verify_totp(env.supervisor.id, "123456", epoch=_row(env, "sue").session_epoch)
    missing = UserStore(env.store, clock=env.clock, totp_key_path=tmp_path / "gone.key")
    with pytest.raises(ConfigError, match="missing"):
        missing.verify_totp(env.supervisor.id, "123456", epoch=_row(env, "sue").session_epoch)
    os.chmod(key, 0o644)
    loose = UserStore(env.store, clock=env.clock, totp_key_path=key)
    with pytest.raises(ConfigError, match="group/others"):
        loose.set_totp("ana")


def test_a_legacy_plaintext_secret_still_works_and_is_encrypted(env: Env, users: UserStore) -> None:
    secret = pyotp.random_base32(length=32)
    with env.store.session() as s:
        s.execute(select(UserRow).where(UserRow.name == "ben")).scalar_one().totp_secret = secret
    assert users.get("ben").has_totp  # type: ignore[union-attr]
    assert users.authenticate("ben", PASSWORD) is None
    assert users.authenticate("ben", PASSWORD, totp_code=pyotp.TOTP(secret).at(env.clock()))
    stored = _row(env, "ben").totp_secret
    assert stored is not None and stored.startswith(FERNET_PREFIX) and secret not in stored
    env.clock.advance(seconds=60)
    code = pyotp.TOTP(secret).at(env.clock())
    assert users.authenticate("ben", PASSWORD, totp_code=code) is not None  # same secret


def test_default_totp_key_sits_beside_the_signing_key(tmp_path: Path, monkeypatch) -> None:
    demo = tmp_path / "tutela-demo-x" / "tutela.db"
    assert default_totp_key_path(f"sqlite:///{demo}") == demo.parent / "totp-secrets.key"
    from tutela.ledger.signing import default_key_path

    monkeypatch.delenv("TUTELA_TOTP_KEY_FILE", raising=False)
    other = default_totp_key_path(f"sqlite:///{tmp_path / 'x.db'}")
    assert other == default_key_path().parent / "totp-secrets.key"
    (tmp_path / "x.db.demo-signing-key.pem").write_text("")  # `tutela demo` ran against it
    assert default_totp_key_path(f"sqlite:///{tmp_path / 'x.db'}") == other  # never moves
    monkeypatch.setenv("TUTELA_TOTP_KEY_FILE", str(tmp_path / "k"))
    assert default_totp_key_path("postgresql://h/db") == tmp_path / "k"


@pytest.mark.parametrize(
    "change",
    [
        lambda u: u.deactivate("ana"),
        lambda u: u.set_password("ana", "another long password"),
        lambda u: u.set_totp("ana"),
        lambda u: u.set_role("ana", "supervisor"),
        lambda u: u.revoke_sessions("ana"),
    ],
    ids=["deactivate", "password", "totp", "role", "revoke"],
)
def test_account_changes_bump_the_session_epoch(env: Env, users: UserStore, change) -> None:
    before = _row(env, "ana")
    assert before.session_epoch == 0 and before.credentials_changed_at is None
    change(users)
    after = _row(env, "ana")
    assert after.session_epoch == 1 and after.credentials_changed_at == env.clock()
    assert _row(env, "ben").session_epoch == 0


def test_set_role_is_checked_and_audited(env: Env, users: UserStore) -> None:
    assert users.set_role("ana", "supervisor").role is Role.SUPERVISOR
    with pytest.raises(InputError, match="role"):
        users.set_role("ana", "superuser")
    with pytest.raises(NotFoundError):
        users.set_role("ghost", "analyst")
    with env.store.session() as s:
        row = s.execute(
            select(AuditLogRow).where(AuditLogRow.action == "user_role_set")
        ).scalar_one()
    assert row.details == {"name": "ana", "from": "analyst", "to": "supervisor"}


def test_verify_password_reports_a_reason_category(env: Env, users: UserStore) -> None:
    assert users.verify_password("nobody", PASSWORD).reason == "unknown_user"
    assert users.verify_password("ana", "wrong password!").reason == "bad_password"
    ok = users.verify_password("ana", PASSWORD)
    assert ok.ok and not ok.needs_totp and ok.epoch == 0
    users.set_totp("sue")
    assert users.verify_password("sue", PASSWORD).needs_totp
    users.deactivate("ben")
    inactive = users.verify_password("ben", PASSWORD)
    assert not inactive.ok and inactive.reason == "inactive"


def test_cli_role_and_revoke_end_sessions(tmp_path: Path, capsys, monkeypatch) -> None:
    import io
    import sys

    from tutela.cli import main
    from tutela.store import open_store

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    store = open_store(url)
    try:
        UserStore(store, hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)).add(
            "ana", "analyst", PASSWORD
        )
    finally:
        store.close()

    def run(*args: str, stdin: object = None) -> int:
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", stdin)
        with pytest.raises(SystemExit) as info:
            main(list(args))
        return int(info.value.code or 0)

    assert run("users", "revoke", "ana", "--db", url) == 0
    assert run("users", "role", "ana", "--role", "supervisor", "--db", url) == 0
    assert run("users", "role", "ana", "--role", "root", "--db", url) == 2
    assert run("users", "revoke", "ghost", "--db", url) != 0
    binary = io.TextIOWrapper(io.BytesIO(b"\xff\xfe\xfa not text\n"), encoding="utf-8")
    code = run("users", "add", "bob", "--role", "analyst", "--password-stdin", "--db", url,
               stdin=binary)  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "not valid text" in err and "Traceback" not in err
    store = open_store(url)
    try:
        with store.session() as s:
            row = s.execute(select(UserRow).where(UserRow.name == "ana")).scalar_one()
            assert (row.session_epoch, row.role) == (2, "supervisor")
    finally:
        store.close()


def test_cli_grant_and_ungrant_operations(tmp_path: Path, capsys) -> None:
    """``tutela users grant/ungrant`` narrow and widen what a user sees; each change is audited."""
    import json

    from tutela.accounts.access import granted_operations
    from tutela.cli import main
    from tutela.store import open_store
    from tutela.store.models import AuditLogRow

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    store = open_store(url)
    try:
        fast = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
        ana = UserStore(store, hasher=fast).add("ana", "analyst", PASSWORD)
    finally:
        store.close()

    def run(*args: str) -> int:
        with pytest.raises(SystemExit) as info:
            main(list(args))
        return int(info.value.code or 0)

    assert run("operations", "add", "--organisation", "Unit", "--jurisdiction", "NL",
               "--legal-basis", "basis", "--authorisation-ref", "R-1", "--officer", "o",
               "--start", "2025-01-01T00:00:00Z", "--db", url) == 0  # fmt: skip
    capsys.readouterr()
    assert run("operations", "list", "--json", "--db", url) == 0
    (op,) = json.loads(capsys.readouterr().out)["operations"]
    assert run("users", "grant", "ana", str(op["id"]), "--db", url) == 0
    assert "now sees: " + str(op["id"]) in capsys.readouterr().out
    store = open_store(url)
    try:
        assert granted_operations(store, ana.id) == {op["id"]}
    finally:
        store.close()
    assert run("users", "grant", "ghost", str(op["id"]), "--db", url) == 2
    assert run("users", "grant", "ana", "999", "--db", url) == 2  # unknown operation
    assert run("users", "grant", "ana", "99999999999999999999", "--db", url) == 2
    assert run("users", "ungrant", "ana", str(op["id"]), "--db", url) == 0
    assert "every operation" in capsys.readouterr().out
    store = open_store(url)
    try:
        assert granted_operations(store, ana.id) == frozenset()
        with store.session() as s:
            actions = [r.action for r in s.execute(select(AuditLogRow)).scalars()]
        assert "operation_access_granted" in actions and "operation_access_revoked" in actions
    finally:
        store.close()
