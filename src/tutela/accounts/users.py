"""Dashboard and CLI user accounts: roles, argon2id password hashes, optional TOTP.

Passwords are hashed with argon2id (argon2-cffi's ``PasswordHasher``, RFC 9106 low-memory
profile: t=3, m=64 MiB, p=4); the plaintext is never stored or logged. A hash made with other
parameters is re-hashed on the next successful login. ``authenticate`` verifies against a dummy
hash when the user does not exist, so the time taken does not reveal which names exist. At most
``max_concurrent_hashes`` argon2 computations run at once per ``UserStore`` (a bounded semaphore):
64 MiB each, so a burst of logins cannot grow the server's memory without bound.

TOTP (RFC 6238, 30 s steps, 6 digits, one step of clock drift accepted) is required at login once a
user has a secret (``set_totp``). A code is accepted **once**: the accepted time step is kept in
``users.totp_last_step`` and a code whose step is not later than it is refused (the same code
again, or the previous step's code after a newer one was used; RFC 6238 section 5.2: "the verifier
MUST NOT accept the second attempt of the OTP after the successful validation").

TOTP secrets are encrypted at rest with Fernet (``cryptography``: AES-128-CBC + HMAC-SHA256) under
a key file ``totp-secrets.key`` kept beside the signing key (:func:`default_totp_key_path`: the
user data dir, or a demo database's own folder; ``TUTELA_TOTP_KEY_FILE`` overrides it), created
with mode 0600 in a 0700 folder on first use. Stored values carry the prefix ``fernet:v1:``; a
secret stored in plain text by an older version still works and is encrypted on the next
successful TOTP login (or replaced by ``set_totp``). Back the key file up with the database:
losing it means re-enrolling every TOTP user.

Every change that must end open dashboard sessions (password, TOTP secret, role, deactivation,
``revoke_sessions``) increments ``users.session_epoch``, sets ``credentials_changed_at`` and
deletes the user's ``web_sessions`` rows in the same transaction; a session is only honoured
while its epoch equals the user's (``tutela.web.sessions``).

Roles (``docs/architecture.md``; the case workflow enforces them in ``tutela.cases.workflow``):

==============  ===================================================================================
``analyst``     reviews cases: dismiss, keep watching, propose a referral, reveal masked lines
``supervisor``  everything an analyst does, and approves or rejects referral proposals made by
                *someone else* (four-eyes)
``admin``       manages user accounts; takes no case decisions
==============  ===================================================================================

Errors: ``InputError`` (bad name, role or password; duplicate name), ``NotFoundError`` (unknown user
for ``set_totp``/``deactivate``/``set_password``/``set_role``/``revoke_sessions``), ``ConfigError``
(the TOTP key file is unreadable, group/other-accessible, or does not decrypt a stored secret),
``StoreError`` (database).
"""

from __future__ import annotations

import hmac
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet, InvalidToken

from tutela.errors import ConfigError, InputError
from tutela.private import secret_file
from tutela.store import Recorder, Store
from tutela.store.queries import accounts as rows
from tutela.store.queries.accounts import TotpUpdate, UserRecord

__all__ = [
    "FERNET_PREFIX",
    "MAX_NAME_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "TOTP_KEY_FILE",
    "LoginCheck",
    "Role",
    "TotpSecretBox",
    "User",
    "UserStore",
    "default_totp_key_path",
    "totp_uri",
]

MIN_PASSWORD_LENGTH = 12
"""Minimum password length in characters (NIST SP 800-63B-4 asks >= 15 for single-factor
passwords, >= 8 with a second factor; 12 is the project's floor for both)."""


MAX_NAME_LENGTH = 100
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._-@")
TOTP_ISSUER = "Tutela"
TOTP_KEY_FILE = "totp-secrets.key"
FERNET_PREFIX = "fernet:v1:"
"""Prefix of an encrypted ``users.totp_secret`` value (anything else is a legacy plain secret)."""

_log = logging.getLogger(__name__)


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


@dataclass(frozen=True, slots=True)
class LoginCheck:
    """The outcome of one login check (:meth:`UserStore.verify_password`/``verify_totp``).

    ``user``: the account the name belongs to (``None``: no such name), also on failure, so the
    caller can audit it; ``ok``: the checked factor is right and the account active;
    ``reason``: when not ``ok``, the failure category for the audit trail (``unknown_user``,
    ``bad_password``, ``inactive``, ``bad_totp``, ``totp_replay``, ``credentials_changed``) --
    never shown to the person logging in; ``needs_totp``: the password was right and a code is
    still required; ``epoch``: the account's ``session_epoch`` when it was read.
    """

    user: User | None
    ok: bool
    reason: str | None = None
    needs_totp: bool = False
    epoch: int | None = None


def totp_uri(name: str, secret: str, *, issuer: str = TOTP_ISSUER) -> str:
    """The ``otpauth://totp/...`` provisioning URI for an authenticator app (shown as QR code)."""
    return pyotp.TOTP(secret).provisioning_uri(name=name, issuer_name=issuer)


def default_totp_key_path(url: str) -> Path:
    """Where the TOTP key of the database at ``url`` lives: ``$TUTELA_TOTP_KEY_FILE`` if set;
    for a SQLite file in a ``tutela-demo-*`` folder, that folder (where its signing key is);
    else the folder of the default signing key (``tutela.ledger.signing.default_key_path()``,
    the user data dir). It depends on the URL only, so the CLI and every ``tutela serve`` process
    over one database use the same key, and it never moves (a key that moved would no longer
    decrypt the stored secrets)."""
    env = os.environ.get("TUTELA_TOTP_KEY_FILE")
    if env:
        return Path(env)
    from tutela.ledger.signing import DEMO_FOLDER_PREFIX, default_key_path

    if url.startswith("sqlite:///"):
        db = Path(url.removeprefix("sqlite:///").split("?", 1)[0])
        if db.parent.name.startswith(DEMO_FOLDER_PREFIX):
            return db.parent / TOTP_KEY_FILE
    return default_key_path().parent / TOTP_KEY_FILE


class TotpSecretBox:
    """Encrypts and decrypts TOTP secrets with the Fernet key at ``path`` (module docstring).

    The key file is read on first use and created (mode 0600, folder 0700 when it is made here)
    only when something must be encrypted. ``ConfigError``: the file is accessible by
    group/others, unreadable, not a Fernet key, or a stored value does not decrypt with it.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._fernet: Fernet | None = None
        self._lock = threading.Lock()

    @staticmethod
    def is_encrypted(stored: str) -> bool:
        return stored.startswith(FERNET_PREFIX)

    def encrypt(self, secret: str) -> str:
        """``fernet:v1:<token>`` for the base32 ``secret``."""
        token = self._key(create=True).encrypt(secret.encode("ascii"))
        return FERNET_PREFIX + token.decode("ascii")

    def decrypt(self, stored: str) -> str:
        """The plain secret of a stored value (a legacy plain value is returned as it is)."""
        if not self.is_encrypted(stored):
            return stored
        try:
            return (
                self._key(create=False)
                .decrypt(stored.removeprefix(FERNET_PREFIX).encode("ascii"))
                .decode("ascii")
            )
        except (InvalidToken, UnicodeError) as e:
            raise ConfigError(
                f"{self.path}: this key does not decrypt a stored TOTP secret "
                "(wrong or replaced key file?); re-enrol the user with `tutela users totp`"
            ) from e

    def _key(self, *, create: bool) -> Fernet:
        with self._lock:
            if self._fernet is None:
                self._fernet = Fernet(self._load(create=create))
            return self._fernet

    def _load(self, *, create: bool) -> bytes:
        path = self.path
        if not create and not path.exists():
            raise ConfigError(
                f"{path}: TOTP key file is missing but the database holds encrypted TOTP "
                "secrets; restore the file or re-enrol the users with `tutela users totp`"
            )
        key = secret_file(path, what="the TOTP key file", new=Fernet.generate_key)
        try:
            Fernet(key)
        except (ValueError, TypeError) as e:
            raise ConfigError(f"{path}: not a Fernet key (44 url-safe base64 characters)") from e
        return key


def _user(row: UserRecord) -> User:
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
    totp_key_path: the Fernet key file of TOTP secrets (default:
        ``default_totp_key_path(store.url)``).
    max_concurrent_hashes: argon2 computations allowed at once (>= 1, default 2); further
        callers wait.
    """

    def __init__(
        self,
        store: Store,
        *,
        recorder: Recorder | None = None,
        hasher: PasswordHasher | None = None,
        clock: Callable[[], datetime] | None = None,
        totp_key_path: Path | None = None,
        max_concurrent_hashes: int = 2,
    ) -> None:
        if not isinstance(max_concurrent_hashes, int) or max_concurrent_hashes < 1:
            raise InputError(f"max_concurrent_hashes must be >= 1, got {max_concurrent_hashes!r}")
        self.store = store
        self.recorder = recorder or Recorder(store)
        self.hasher = hasher or PasswordHasher()
        self._clock = clock or (lambda: datetime.now(UTC))
        self._dummy_hash: str | None = None
        self.secrets = TotpSecretBox(
            totp_key_path if totp_key_path is not None else default_totp_key_path(store.url)
        )
        self._hash_slots = threading.BoundedSemaphore(max_concurrent_hashes)

    # -- writes ------------------------------------------------------------------------------
    def add(self, name: str, role: Role | str, password: str, *, actor: str = "system") -> User:
        """Create an active user. ``InputError``: empty/overlong name or characters outside
        ``a-z 0-9 . _ - @``, unknown role, password shorter than ``MIN_PASSWORD_LENGTH``, name
        taken. Audited (``user_added``)."""
        name = _check_name(name)
        role = _check_role(role)
        pw_hash = self._hash(_check_password(password))  # outside the write lock
        row = rows.add_user(
            self.recorder,
            name=name,
            role=role.value,
            password_hash=pw_hash,
            created_at=self._clock(),
            actor=actor,
        )
        if row is None:
            raise InputError(f"user {name!r} already exists")
        return _user(row)

    def set_totp(self, name: str, *, actor: str = "system") -> str:
        """Give ``name`` a new random TOTP secret (base32, 160 bits) and return it; from now on
        logins need a code. Replaces an earlier secret; stored encrypted (module docstring).
        Ends the user's sessions. Audited (``user_totp_set``; the secret is not).
        ``NotFoundError`` for an unknown user, ``ConfigError`` for an unusable key file."""
        secret = pyotp.random_base32(length=32)
        stored = self.secrets.encrypt(secret)
        rows.set_user_totp(self.recorder, name, stored, actor=actor, now=self._clock())
        return secret

    def set_password(self, name: str, password: str, *, actor: str = "system") -> User:
        """Replace a user's password (same policy as ``add``); ends the user's sessions.
        Audited (``user_password_set``)."""
        pw_hash = self._hash(_check_password(password))
        return _user(
            rows.set_user_password(self.recorder, name, pw_hash, actor=actor, now=self._clock())
        )

    def set_role(self, name: str, role: Role | str, *, actor: str = "system") -> User:
        """Give a user another role; ends the user's sessions (the next login carries the new
        role). Audited (``user_role_set``). ``InputError`` for an unknown role."""
        new_role = _check_role(role)
        return _user(
            rows.set_user_role(self.recorder, name, new_role.value, actor=actor, now=self._clock())
        )

    def deactivate(self, name: str, *, actor: str = "system") -> User:
        """Disable a user's logins and case actions and end their open sessions (the row
        stays: events and audit rows name it). Audited (``user_deactivated``).
        ``NotFoundError`` for an unknown user."""
        return _user(rows.deactivate_user(self.recorder, name, actor=actor, now=self._clock()))

    def revoke_sessions(self, name: str, *, actor: str = "system") -> User:
        """End every open dashboard session of ``name`` (e.g. a lost laptop) without changing the
        account. Audited (``user_sessions_revoked``). ``NotFoundError`` for an unknown user."""
        return _user(rows.revoke_user_sessions(self.recorder, name, actor=actor, now=self._clock()))

    # -- login -------------------------------------------------------------------------------
    def verify_password(self, name: str, password: str) -> LoginCheck:
        """Check ``password`` for ``name`` (first factor).

        ``ok`` when the password is right and the account active; ``needs_totp`` then says a
        code must follow (:meth:`verify_totp`). An unknown name still costs one argon2
        verification (against a dummy hash) and an inactive account is only reported after the
        password check, so timing does not tell which names exist. A hash made with older argon2
        parameters is replaced after a successful check.
        """
        if not isinstance(name, str) or not isinstance(password, str):
            return LoginCheck(user=None, ok=False, reason="unknown_user")
        row = rows.user_by_name(self.store, name)
        if row is None:
            self._verify(self._dummy(), password)
            return LoginCheck(user=None, ok=False, reason="unknown_user")
        pw_hash, has_totp, epoch, user = (
            row.password_hash,
            row.totp_secret is not None,
            row.session_epoch,
            _user(row),
        )
        if not self._verify(pw_hash, password):
            return LoginCheck(user=user, ok=False, reason="bad_password", epoch=epoch)
        if not user.active:
            return LoginCheck(user=user, ok=False, reason="inactive", epoch=epoch)
        if self.hasher.check_needs_rehash(pw_hash):
            new_hash = self._hash(password)
            rows.replace_password_hash(self.recorder, user.id, pw_hash, new_hash)
        return LoginCheck(user=user, ok=True, needs_totp=has_totp, epoch=epoch)

    def verify_totp(self, user_id: int, code: str | None, *, epoch: int | None) -> LoginCheck:
        """Check a TOTP code for the user whose password was verified at ``epoch`` (second factor).

        ``ok`` when the account still exists, is active, its ``session_epoch`` still equals
        ``epoch`` (no password/TOTP/role change in between: else ``credentials_changed``), and
        ``code`` is the code of the current step or one step either side (RFC 6238 section 5.2
        drift) *later* than the last accepted step (else ``totp_replay``). The accepted step is
        stored in the same write transaction, so two concurrent uses of one code cannot both
        succeed. A legacy plain secret is encrypted on success. A user without TOTP: ``ok``.
        """
        if not isinstance(code, str):
            code = ""
        code = code.strip().replace(" ", "")
        now = self._clock()

        def _decide(row: UserRecord | None) -> tuple[LoginCheck, TotpUpdate | None]:
            if row is None:
                return LoginCheck(user=None, ok=False, reason="unknown_user"), None
            user = _user(row)
            at = row.session_epoch
            if not row.active:
                return LoginCheck(user=user, ok=False, reason="inactive", epoch=at), None
            if epoch is None or row.session_epoch != epoch:
                return LoginCheck(user=user, ok=False, reason="credentials_changed", epoch=at), None
            if row.totp_secret is None:
                return LoginCheck(user=user, ok=True, epoch=at), None
            secret = self.secrets.decrypt(row.totp_secret)
            step = _matching_step(secret, code, now)
            if step is None:
                return LoginCheck(user=user, ok=False, reason="bad_totp", epoch=at), None
            if row.totp_last_step is not None and step <= row.totp_last_step:
                return LoginCheck(user=user, ok=False, reason="totp_replay", epoch=at), None
            upgraded: str | None = None
            if not self.secrets.is_encrypted(row.totp_secret):
                try:
                    upgraded = self.secrets.encrypt(secret)
                except ConfigError as e:  # keep the login working; say why it stays plain
                    _log.warning("TOTP secret of user %s left unencrypted: %s", row.id, e)
            return LoginCheck(user=user, ok=True, epoch=at), TotpUpdate(step, upgraded)

        return rows.update_totp_locked(self.recorder, user_id, _decide)

    def authenticate(
        self, name: str, password: str, *, totp_code: str | None = None
    ) -> User | None:
        """The user when ``password`` (and, if the user has TOTP, ``totp_code``) are right and the
        account is active; ``None`` otherwise (it never says which part failed). A code is
        accepted once (module docstring). Same timing rules as :meth:`verify_password`.
        """
        check = self.verify_password(name, password)
        if not check.ok or check.user is None:
            return None
        if check.needs_totp:
            if totp_code is None:
                return None
            second = self.verify_totp(check.user.id, totp_code, epoch=check.epoch)
            if not second.ok:
                return None
        return check.user

    # -- reads -------------------------------------------------------------------------------
    def get(self, name: str) -> User | None:
        """The user called ``name``, or ``None``."""
        row = rows.user_by_name(self.store, name)
        return None if row is None else _user(row)

    def get_by_id(self, user_id: int) -> User | None:
        """The user with id ``user_id``, or ``None``."""
        row = rows.user_by_id(self.store, user_id)
        return None if row is None else _user(row)

    def list(self) -> list[User]:
        """All users (active or not), by name."""
        return [_user(r) for r in rows.list_users(self.store)]

    # -- internals ---------------------------------------------------------------------------
    def _hash(self, password: str) -> str:
        with self._hash_slots:
            return self.hasher.hash(password)

    def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = self._hash("tutela-dummy-password-for-timing")
        return self._dummy_hash

    def _verify(self, pw_hash: str, password: str) -> bool:
        with self._hash_slots:
            try:
                return self.hasher.verify(pw_hash, password)
            except (VerificationError, InvalidHashError):
                return False


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The RFC 6238 time step (30 s) in ``now - 1 .. now + 1`` whose code is ``code``, latest
    first, or ``None``. ``code`` must be 6 digits."""
    if not (len(code) == 6 and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in (current + 1, current, current - 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None
