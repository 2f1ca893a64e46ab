"""The dashboard's one typed settings object.

``WebSettings.load()`` reads the environment (``TUTELA_DB``, ``TUTELA_WEB_COOKIE_SECURE``) and the
session secret file; tests build ``WebSettings(...)`` directly. The session secret signs the
session cookie and the login device cookies (``itsdangerous``), so a forged or guessed cookie is
refused before any lookup, and keys the HMAC of unknown login names in the audit log. It
is generated on first use into ``<user data dir>/web-session-secret`` with mode 0600.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from tutela import private
from tutela.errors import ConfigError
from tutela.private import secret_file

__all__ = ["SECRET_FILE", "WebSettings", "load_or_create_secret"]

SECRET_FILE = "web-session-secret"


def load_or_create_secret(path: Path) -> str:
    """The secret stored at ``path``, created (64 hex chars, mode 0600) when absent
    (:func:`tutela.private.secret_file`).

    Raises ``ConfigError`` when the file is readable by group/others or cannot be read/written.
    """
    raw = secret_file(path, what="session secret", new=lambda: secrets.token_hex(32).encode())
    try:
        value = raw.decode("ascii")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: cannot read session secret: {e}") from e
    if len(value) < 32:
        raise ConfigError(f"{path}: session secret is too short (need >= 32 characters)")
    return value


class WebSettings(BaseModel):
    """Dashboard settings.

    Attributes
    ----------
    db_url: SQLAlchemy URL of the store.
    session_secret: key that signs session cookies (>= 32 characters).
    cookie_secure: set the ``Secure`` flag on cookies (True behind HTTPS; False for plain
        ``http://127.0.0.1`` only).
    session_ttl_s: absolute session lifetime in seconds (default 8 h, one shift).
    session_idle_s: a session unused this long expires (default 30 min).
    throttle_max_failures: failed logins per account before it is locked (default 5, OWASP
        Authentication Cheat Sheet's "small number"); see ``tutela.web.throttle``.
    throttle_base_lockout_s: first account lockout in seconds; doubles with every further failure.
    throttle_max_lockout_s: account lockout cap in seconds.
    throttle_decay_s: half-life in seconds of a failure score (default 15 min): the count
        decays instead of piling up for ever.
    throttle_address_max_failures: failures from one client address (any account) before that
        address is slowed down (default 50: far above typos, so users sharing an address are not
        locked out by one another).
    throttle_address_slow_s: the pause in seconds after each failure past that ceiling.
    device_cookie_max_age_s: lifetime in seconds of the device cookie a successful login sets
        (default 180 days); a browser holding a valid one for the account it logs in to is
        throttled on its own and not locked out by others' failures (OWASP "Device Cookies";
        see ``tutela.web.throttle``).
    argon2_max_concurrency: argon2 password checks running at once (64 MiB each; default 2);
        further logins wait for a slot.
    reveal_masking: mask lines with sexual-content indicators until an analyst reveals them
        (each reveal audited); they stay masked whatever ``mask_contact_text`` says.
    mask_contact_text: mask every contact line's text (and blur its media metadata) on the case
        page and the live feed until an analyst reveals the line or the conversation, each
        reveal audited (analyst protection; default on).
    signing_key_path: Ed25519 key that signs the recorder's checkpoints and the exports
        (``None``: the rule of :mod:`tutela.runtime`: the database's own key, else the user's
        ledger key).
    live_poll_s: seconds between HTMX refreshes of the live view.
    exposure_max_cases, exposure_max_high_risk, exposure_high_risk_threshold,
    exposure_max_case_work_min, exposure_break_after_min, exposure_break_min: the exposure
        limits of one dashboard session (cases, high-risk cases, minutes of case work, a
        break of ``exposure_break_min`` minutes after ``exposure_break_after_min``; ``0`` or
        ``None`` = off); meaning, defaults and their sources in ``tutela.web.exposure``.
        ``load()`` reads each from ``TUTELA_WEB_<FIELD NAME IN CAPITALS>`` when set.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    db_url: str
    session_secret: SecretStr
    cookie_secure: bool = False
    session_ttl_s: int = Field(default=8 * 3600, gt=0)
    session_idle_s: int = Field(default=30 * 60, gt=0)
    throttle_max_failures: int = Field(default=5, ge=1)
    throttle_base_lockout_s: float = Field(default=30.0, gt=0)
    throttle_max_lockout_s: float = Field(default=3600.0, gt=0)
    throttle_decay_s: float = Field(default=900.0, gt=0)
    throttle_address_max_failures: int = Field(default=50, ge=1)
    throttle_address_slow_s: float = Field(default=2.0, gt=0)
    device_cookie_max_age_s: int = Field(default=180 * 86400, gt=0, le=400 * 86400)
    argon2_max_concurrency: int = Field(default=2, ge=1, le=64)
    reveal_masking: bool = True
    mask_contact_text: bool = True
    signing_key_path: Path | None = None
    live_poll_s: int = Field(default=5, ge=1)
    exposure_max_cases: int | None = Field(default=40, ge=0)
    exposure_max_high_risk: int | None = Field(default=10, ge=0)
    exposure_high_risk_threshold: float = Field(default=0.7, ge=0.0, le=1.0)
    exposure_max_case_work_min: int | None = Field(default=240, ge=0)
    exposure_break_after_min: int | None = Field(default=50, ge=0)
    exposure_break_min: int | None = Field(default=10, ge=0)

    @classmethod
    def load(
        cls, *, db_url: str | None = None, data_dir: Path | None = None, **overrides: object
    ) -> WebSettings:
        """Settings from arguments, the environment and the secret file.

        ``db_url`` defaults to ``tutela.store.default_url()`` (``TUTELA_DB`` or the user data dir);
        ``TUTELA_WEB_COOKIE_SECURE=1`` sets ``cookie_secure``. The secret lives in ``data_dir``
        (default: the user data dir). Raises ``ConfigError`` for invalid values.
        """
        from pydantic import ValidationError

        from tutela.store import default_url

        folder = data_dir if data_dir is not None else private.data_dir()
        values: dict[str, object] = {
            "db_url": db_url or default_url(),
            "session_secret": load_or_create_secret(folder / SECRET_FILE),
            "cookie_secure": os.environ.get("TUTELA_WEB_COOKIE_SECURE", "") == "1",
        }
        for name in cls.model_fields:  # the exposure limits (tutela.web.exposure)
            raw = os.environ.get(f"TUTELA_WEB_{name.upper()}", "") if "exposure" in name else ""
            if raw.strip():
                values[name] = raw.strip()
        values.update(overrides)
        try:
            return cls.model_validate(values)
        except ValidationError as e:
            raise ConfigError(f"invalid dashboard settings: {e}") from e
