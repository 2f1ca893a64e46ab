"""Item 9 of the security issue: the database is private to its user (0600 file, 0700 folder)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tutela import private
from tutela.store import open_store

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_new_database_file_and_folders_are_private(tmp_path: Path) -> None:
    db = tmp_path / "new" / "deeper" / "t.db"
    open_store(f"sqlite:///{db}").close()
    assert _mode(db) == 0o600
    assert _mode(db.parent) == 0o700 and _mode(db.parent.parent) == 0o700


def test_existing_world_readable_database_is_tightened(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    open_store(f"sqlite:///{db}").close()
    os.chmod(db, 0o644)
    open_store(f"sqlite:///{db}").close()
    assert _mode(db) == 0o600


def test_a_folder_tutela_did_not_create_is_left_alone(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    os.chmod(shared, 0o755)
    open_store(f"sqlite:///{shared / 't.db'}").close()
    assert _mode(shared) == 0o755
    assert _mode(shared / "t.db") == 0o600


def test_own_data_folder_is_tightened(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    own = tmp_path / "data" / "tutela"
    own.mkdir(parents=True)
    os.chmod(own, 0o755)
    monkeypatch.setattr(private, "data_dir", lambda: own)
    open_store(f"sqlite:///{own / 'tutela.db'}").close()
    assert _mode(own) == 0o700


def test_secret_file_is_created_private_and_refused_when_others_can_read(tmp_path: Path) -> None:
    from tutela.errors import ConfigError

    path = tmp_path / "keys" / "k.key"
    assert private.secret_file(path, what="test key", new=lambda: b"s3cret\n") == b"s3cret"
    assert _mode(path) == 0o600 and _mode(path.parent) == 0o700
    # an existing file is read, never replaced
    assert private.secret_file(path, what="test key", new=lambda: b"other") == b"s3cret"
    os.chmod(path, 0o640)
    with pytest.raises(ConfigError, match="test key is accessible by group/others"):
        private.secret_file(path, what="test key")
    with pytest.raises(ConfigError, match="cannot read test key"):
        private.secret_file(tmp_path / "missing.key", what="test key")
