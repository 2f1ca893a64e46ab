"""Shared fixtures: the research corpora in ../shared/data (optional) and a small trained model."""

from __future__ import annotations

import os
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
