"""Schema: migrations agree with the models; SQLite runs with the durability pragmas."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from tutela.errors import InputError
from tutela.store import StoreError, open_store
from tutela.store.models import Base, OperationRow


def test_migrations_match_models(sqlite_url: str) -> None:
    store = open_store(sqlite_url)
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    store.close()
    assert diff == []


def test_sqlite_pragmas(sqlite_url: str) -> None:
    store = open_store(sqlite_url)
    with store.session() as s:
        assert s.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert s.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        assert s.execute(text("PRAGMA foreign_keys")).scalar() == 1
    store.close()


def test_foreign_keys_enforced(sqlite_url: str) -> None:
    store = open_store(sqlite_url)
    with pytest.raises(StoreError) as info, store.session() as s:
        s.execute(
            text(
                "INSERT INTO conversations (operation_id, persona_id, platform, account, "
                "contact_id, lang, started_at, state) VALUES (99, 'p', 'x', 'a', 99, 'en', "
                "'2025-01-01 00:00:00', '{}')"
            )
        )
    assert info.value.__cause__ is not None
    store.close()


def test_naive_datetimes_refused(sqlite_url: str) -> None:
    from datetime import datetime

    store = open_store(sqlite_url)
    with pytest.raises((InputError, StoreError)), store.session() as s:
        s.add(
            OperationRow(
                organisation="o",
                jurisdiction="j",
                legal_basis="l",
                authorisation_ref="a",
                officer="x",
                starts_at=datetime(2025, 1, 1),
                ends_at=None,
                evidential=False,
                created_at=datetime(2025, 1, 1),
            )
        )
        s.flush()
    store.close()


def test_default_url_uses_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from tutela.store import default_url

    url = f"sqlite:///{tmp_path / 'x.db'}"
    monkeypatch.setenv("TUTELA_DB", url)
    assert default_url() == url
    monkeypatch.delenv("TUTELA_DB")
    assert default_url().startswith("sqlite:///") and default_url().endswith("tutela.db")


def test_invalid_url_is_store_error() -> None:
    with pytest.raises(StoreError):
        open_store("not a url")
