"""Shared fixtures: the research corpora in ../shared/data (optional), a small trained model, and a
throwaway PostgreSQL schema per test when ``TUTELA_TEST_PG_URL`` is set."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``; skips when absent (fails instead under TUTELA_REQUIRE_SHARED_DATA=1)."""
    if not (SHARED_DATA / "README.md").is_file():
        if os.environ.get("TUTELA_REQUIRE_SHARED_DATA") == "1":
            pytest.fail(f"{SHARED_DATA} is required (TUTELA_REQUIRE_SHARED_DATA=1) but absent")
        pytest.skip(f"{SHARED_DATA} is absent")
    return SHARED_DATA


@pytest.fixture(scope="session")
def examples_dir() -> Path:
    return ROOT / "examples"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A URL of ``TUTELA_TEST_PG_URL`` whose ``search_path`` is a fresh schema, dropped after the
    test; skips without the variable (``.ci/run`` sets it)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = os.environ.get("TUTELA_TEST_PG_URL")
    if not base:
        pytest.skip("PostgreSQL contract tests need TUTELA_TEST_PG_URL (a throwaway database)")
    schema = f"tutela_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
