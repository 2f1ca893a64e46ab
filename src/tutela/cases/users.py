"""Dashboard and CLI user accounts: roles, argon2id password hashes, optional TOTP.

Passwords are hashed with argon2id (argon2-cffi's ``PasswordHasher``, RFC 9106 low-memory
profile: t=3, m=64 MiB, p=4); the plaintext is never stored or logged. A hash made with other
parameters is re-hashed on the next successful login. ``authenticate`` verifies against a dummy
hash when the user does not exist, so the time taken does not reveal which names exist. TOTP
(RFC 6238, 30 s steps, 6 digits, one step of clock drift accepted) is required at login once a
user has a secret (``set_totp``).

Roles (DESIGN.md, ``web``; the case workflow enforces them in ``tutela.cases.workflow``):

==============  ===================================================================================
``analyst``     reviews cases: dismiss, keep watching, propose a referral, reveal masked lines
``supervisor``  everything an analyst does, and approves or rejects referral proposals made by
                *someone else* (four-eyes)
``admin``       manages user accounts; takes no case decisions
==============  ===================================================================================

Errors: ``InputError`` (bad name, role or password; duplicate name), ``NotFoundError`` (unknown user
for ``set_totp``/``deactivate``/``set_password``), ``StoreError`` (database).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tutela.errors import InputError
from tutela.store import NotFoundError, Recorder, Store, StoreError
from tutela.store.models import UserRow

__all__ = [
    "MAX_NAME_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "Role",
    "User",
    "UserStore",
    "totp_uri",
]

MIN_PASSWORD_LENGTH = 12
"""Minimum password length in characters (NIST SP 800-63B-4 asks >= 15 for single-factor
passwords, >= 8 with a second factor; 12 is the project's floor for both)."""


MAX_NAME_LENGTH = 100
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._-@")
TOTP_ISSUER = "Tutela"


class Role(StrEnum):
    """A user's role (module docstring)."""

    ANALYST = "analyst"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class User:
    """A user account as the rest of Tutela sees it (no hash, no secret).

    ``has_totp``: a TOTP secret is set, so ``authenticate`` requires a code.
    """

    id: int
    name: str
    role: Role
    active: bool
    has_totp: bool


def totp_uri(name: str, secret: str, *, issuer: str = TOTP_ISSUER) -> str:
    """The ``otpauth://totp/...`` provisioning URI for an authenticator app (shown as QR code)."""
    return pyotp.TOTP(secret).provisioning_uri(name=name, issuer_name=issuer)


def _user(row: UserRow) -> User:
    return User(
        id=row.id,
        name=row.name,
        role=Role(row.role),
        active=row.active,
        has_totp=row.totp_secret is not None,
    )


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not name:
        raise InputError("user name must not be empty")
    if len(name) > MAX_NAME_LENGTH:
        raise InputError(f"user name must be at most {MAX_NAME_LENGTH} characters")
    if not set(name) <= _NAME_CHARS:
        raise InputError(f"user name {name!r} may only hold lower-case letters, digits and . _ - @")
    return name


def _check_role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError as e:
        raise InputError(
            f"role must be one of {', '.join(r.value for r in Role)}, got {role!r}"
        ) from e


def _check_password(password: str) -> str:
    if not isinstance(password, str):
        raise InputError("password must be text")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InputError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    return password


class UserStore:
    """User accounts in the store's ``users`` table.

    Parameters
    ----------
    store: an open ``Store``.
    recorder: writes the audit rows of account changes (default: ``Recorder(store)``).
    hasher: argon2 ``PasswordHasher`` (default: argon2-cffi's RFC 9106 low-memory profile).
    clock: "now" for ``created_at`` and TOTP checks (aware UTC); default wall clock.
    """

    def __init__(
        self,
        store: Store,
        *,
        recorder: Recorder | None = None,
        hasher: PasswordHasher | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.store = store
        self.recorder = recorder or Recorder(store)
        self.hasher = hasher or PasswordHasher()
        self._clock = clock or (lambda: datetime.now(UTC))
        self._dummy_hash: str | None = None

    # -- writes ------------------------------------------------------------------------------
    def add(self, name: str, role: Role | str, password: str, *, actor: str = "system") -> User:
        """Create an active user. ``InputError``: empty/overlong name or characters outside
        ``a-z 0-9 . _ - @``, unknown role, password shorter than ``MIN_PASSWORD_LENGTH``, name
        taken. Audited (``user_added``)."""
        name = _check_name(name)
        role = _check_role(role)
        pw_hash = self.hasher.hash(_check_password(password))  # outside the write lock

        def _work(s: Session) -> User:
            if s.execute(select(UserRow.id).where(UserRow.name == name)).first() is not None:
                raise InputError(f"user {name!r} already exists")
            row = UserRow(
                name=name,
                role=role.value,
                password_hash=pw_hash,
                totp_secret=None,
                active=True,
                created_at=self._clock(),
            )
            s.add(row)
            s.flush()
            self.recorder._audit(
                s, actor, "user_added", f"user:{row.id}", {"name": name, "role": role.value}
            )
            return _user(row)

        try:
            return self.store.write(_work)
        except StoreError as e:
            if isinstance(e.__cause__, IntegrityError):
                raise InputError(f"user {name!r} already exists") from e
            raise

    def set_totp(self, name: str, *, actor: str = "system") -> str:
        """Give ``name`` a new random TOTP secret (base32, 160 bits) and return it; from now on
        logins need a code. Replaces an earlier secret. Audited (``user_totp_set``; the secret is
        not). ``NotFoundError`` for an unknown user."""
        secret = pyotp.random_base32(length=32)

        def _work(s: Session) -> str:
            row = self._row(s, name)
            row.totp_secret = secret
            self.recorder._audit(s, actor, "user_totp_set", f"user:{row.id}", {"name": name})
            return secret

        return self.store.write(_work)

    def set_password(self, name: str, password: str, *, actor: str = "system") -> User:
        """Replace a user's password (same policy as ``add``). Audited (``user_password_set``)."""
        pw_hash = self.hasher.hash(_check_password(password))

        def _work(s: Session) -> User:
            row = self._row(s, name)
            row.password_hash = pw_hash
            self.recorder._audit(s, actor, "user_password_set", f"user:{row.id}", {"name": name})
            return _user(row)

        return self.store.write(_work)

    def deactivate(self, name: str, *, actor: str = "system") -> User:
        """Disable a user's logins and case actions (the row stays: events and audit rows name
        it). Audited (``user_deactivated``). ``NotFoundError`` for an unknown user."""

        def _work(s: Session) -> User:
            row = self._row(s, name)
            row.active = False
            self.recorder._audit(s, actor, "user_deactivated", f"user:{row.id}", {"name": name})
            return _user(row)

        return self.store.write(_work)

    # -- reads -------------------------------------------------------------------------------
    def authenticate(
        self, name: str, password: str, *, totp_code: str | None = None
    ) -> User | None:
        """The user when ``password`` (and, if the user has TOTP, ``totp_code``) are right and the
        account is active; ``None`` otherwise (it never says which part failed).

        An unknown name still costs one argon2 verification (against a dummy hash), so timing
        does not tell which names exist. A hash made with older argon2 parameters is replaced by
        a fresh one after a successful check.
        """
        if not isinstance(name, str) or not isinstance(password, str):
            return None
        with self.store.session() as s:
            row = s.execute(select(UserRow).where(UserRow.name == name)).scalar_one_or_none()
            found = (
                None if row is None else (row.id, row.password_hash, row.totp_secret, _user(row))
            )
        if found is None:
            self._verify(self._dummy(), password)
            return None
        user_id, pw_hash, secret, user = found
        if not self._verify(pw_hash, password):
            return None
        if secret is not None and not self._totp_ok(secret, totp_code):
            return None
        if not user.active:
            return None
        if self.hasher.check_needs_rehash(pw_hash):
            new_hash = self.hasher.hash(password)

            def _rehash(s: Session) -> None:
                r = s.get(UserRow, user_id)
                if r is not None and r.password_hash == pw_hash:
                    r.password_hash = new_hash

            self.store.write(_rehash)
        return user

    def get(self, name: str) -> User | None:
        """The user called ``name``, or ``None``."""
        with self.store.session() as s:
            row = s.execute(select(UserRow).where(UserRow.name == name)).scalar_one_or_none()
            return None if row is None else _user(row)

    def get_by_id(self, user_id: int) -> User | None:
        """The user with id ``user_id``, or ``None``."""
        with self.store.session() as s:
            row = s.get(UserRow, user_id)
            return None if row is None else _user(row)

    def list(self) -> list[User]:
        """All users (active or not), by name."""
        with self.store.session() as s:
            return [_user(r) for r in s.execute(select(UserRow).order_by(UserRow.name)).scalars()]

    # -- internals ---------------------------------------------------------------------------
    @staticmethod
    def _row(s: Session, name: str) -> UserRow:
        row = s.execute(select(UserRow).where(UserRow.name == name)).scalar_one_or_none()
        if row is None:
            raise NotFoundError(f"user {name!r} does not exist")
        return row

    def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = self.hasher.hash("tutela-dummy-password-for-timing")
        return self._dummy_hash

    def _verify(self, pw_hash: str, password: str) -> bool:
        try:
            return self.hasher.verify(pw_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def _totp_ok(self, secret: str, code: str | None) -> bool:
        if code is None:
            return False
        code = code.strip().replace(" ", "")
        if not (len(code) == 6 and code.isdigit()):
            return False
        return pyotp.TOTP(secret).verify(code, for_time=self._clock(), valid_window=1)
