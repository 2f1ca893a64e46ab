"""Store fixtures: a SQLite file per test (PostgreSQL: ``pg_url`` in ``tests/conftest.py``, a
schema per test when ``TUTELA_TEST_PG_URL`` is set)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tutela.ledger import Signer


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'tutela.db'}"


@pytest.fixture
def signer() -> Signer:
    return Signer.generate()
