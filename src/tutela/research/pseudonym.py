"""Keyed pseudonyms for research outputs.

A pseudonym is ``HMAC-SHA256(key, DOMAIN + kind + b"\\x00" + str(raw_id))`` as lowercase hex,
truncated to 16 characters (64 bits), with ``DOMAIN = b"tutela-research-pseudonym-v1\\x00"``.

* **Keyed**: without the per-deployment secret key nobody can recompute a pseudonym from a
  database id (ids are small integers, so an unkeyed hash would be reversed by enumeration).
* **Domain-separated per kind** (``"contact"``, ``"conversation"``...): the same integer id in two
  tables gives two unrelated pseudonyms, so tables can only be joined through the columns that
  are meant to join them.
* **Stable**: the same key gives the same pseudonyms across exports; another key gives unrelated
  ones. 64 bits keep collisions negligible (birthday bound ~4e9 rows).

The key is 32 random bytes kept as hex text in a file created with mode 0600 on first use
(``load_or_create_key``; default ``<user_data_dir('tutela')>/research-pseudonym-key``), like the
ledger signing key. A key file readable or writable by group or others is refused (POSIX).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from tutela.errors import InputError
from tutela.private import data_dir, refuse_shared, write_new_file

__all__ = [
    "KEY_BYTES",
    "MIN_KEY_BYTES",
    "PSEUDONYM_DOMAIN",
    "PSEUDONYM_HEX",
    "default_key_path",
    "key_id",
    "load_or_create_key",
    "pseudonym",
]

PSEUDONYM_DOMAIN = b"tutela-research-pseudonym-v1\x00"
PSEUDONYM_HEX = 16
KEY_BYTES = 32
MIN_KEY_BYTES = 16
_KEY_ID_DOMAIN = b"tutela-research-key-id-v1\x00"


def default_key_path() -> Path:
    """``<tutela.private.data_dir()>/research-pseudonym-key``."""
    return data_dir() / "research-pseudonym-key"


def _check_key(key: bytes) -> bytes:
    if not isinstance(key, bytes | bytearray) or len(key) < MIN_KEY_BYTES:
        raise InputError(f"a pseudonym key must be at least {MIN_KEY_BYTES} bytes")
    return bytes(key)


def pseudonym(key: bytes, kind: str, raw_id: object) -> str:
    """The 16-hex-digit pseudonym of ``raw_id`` (any value; its ``str`` is hashed) in table
    ``kind``. Raises ``InputError`` for a key shorter than ``MIN_KEY_BYTES`` or an empty kind."""
    if not kind or "\x00" in kind:
        raise InputError(f"pseudonym kind must be a non-empty name, got {kind!r}")
    msg = PSEUDONYM_DOMAIN + kind.encode("utf-8") + b"\x00" + str(raw_id).encode("utf-8")
    return hmac.new(_check_key(key), msg, hashlib.sha256).hexdigest()[:PSEUDONYM_HEX]


def key_id(key: bytes) -> str:
    """A public 16-hex-digit name for a key (SHA-256, domain-separated): two exports with the
    same ``key_id`` share pseudonyms. Reveals nothing usable about the key."""
    return hashlib.sha256(_KEY_ID_DOMAIN + _check_key(key)).hexdigest()[:PSEUDONYM_HEX]


def load_or_create_key(path: str | os.PathLike[str] | None = None) -> bytes:
    """The pseudonym key at ``path`` (default ``default_key_path()``), created if absent.

    A new file holds 32 random bytes as hex text, mode 0600 (its folder 0700 when created).
    Raises ``InputError`` when the file is accessible by group/others (POSIX), unreadable, or not
    hex text of at least ``MIN_KEY_BYTES`` bytes.
    """
    p = Path(path) if path is not None else default_key_path()
    if not p.exists():
        try:
            write_new_file(p, (secrets.token_hex(KEY_BYTES) + "\n").encode("ascii"))
        except FileExistsError:  # created concurrently: load it below
            pass
        except OSError as e:
            raise InputError(f"cannot create pseudonym key: {e.strerror or e}", path=str(p)) from e
    try:
        refuse_shared(p, what="pseudonym key", error=InputError)
        text = p.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read pseudonym key: {e}", path=str(p)) from e
    try:
        key = bytes.fromhex(text)
    except ValueError as e:
        raise InputError("pseudonym key file is not hex text", path=str(p)) from e
    if len(key) < MIN_KEY_BYTES:
        raise InputError(f"pseudonym key is shorter than {MIN_KEY_BYTES} bytes", path=str(p))
    return key
