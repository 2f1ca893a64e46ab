"""Keyed pseudonyms and the pseudonym key file."""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

import pytest

from tutela.errors import InputError
from tutela.research import key_id, load_or_create_key, pseudonym
from tutela.research.pseudonym import PSEUDONYM_DOMAIN

KEY = b"k" * 32


def test_pseudonym_is_truncated_domain_separated_hmac() -> None:
    expected = hmac.new(KEY, PSEUDONYM_DOMAIN + b"contact\x0042", hashlib.sha256).hexdigest()
    assert pseudonym(KEY, "contact", 42) == expected[:16]
    assert pseudonym(KEY, "contact", 42) == pseudonym(KEY, "contact", "42")
    assert pseudonym(KEY, "conversation", 42) != pseudonym(KEY, "contact", 42)
    assert pseudonym(b"j" * 32, "contact", 42) != pseudonym(KEY, "contact", 42)
    assert len({pseudonym(KEY, "contact", i) for i in range(1000)}) == 1000


def test_bad_key_or_kind() -> None:
    with pytest.raises(InputError):
        pseudonym(b"short", "contact", 1)
    with pytest.raises(InputError):
        pseudonym(KEY, "", 1)
    assert key_id(KEY) != key_id(b"j" * 32) and len(key_id(KEY)) == 16


def test_key_file_created_0600_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "research-key"
    key = load_or_create_key(path)
    assert len(key) == 32
    if os.name == "posix":
        assert path.stat().st_mode & 0o777 == 0o600
    assert load_or_create_key(path) == key
    assert load_or_create_key(tmp_path / "other") != key


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_key_file_accessible_by_others_refused(tmp_path: Path) -> None:
    path = tmp_path / "key"
    load_or_create_key(path)
    path.chmod(0o644)
    with pytest.raises(InputError, match="chmod 600"):
        load_or_create_key(path)


def test_key_file_garbage_refused(tmp_path: Path) -> None:
    path = tmp_path / "key"
    path.write_text("not hex at all\n")
    path.chmod(0o600)
    with pytest.raises(InputError, match="hex"):
        load_or_create_key(path)
    path.write_text("abcd\n")
    with pytest.raises(InputError, match="shorter"):
        load_or_create_key(path)
