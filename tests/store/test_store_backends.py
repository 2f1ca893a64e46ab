"""Run the store contract against SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

import pytest
from _store_contract import StoreContract


class TestSQLite(StoreContract):
    @pytest.fixture
    def url(self, sqlite_url: str) -> str:
        return sqlite_url


class TestPostgreSQL(StoreContract):
    @pytest.fixture
    def url(self, pg_url: str) -> str:
        return pg_url
