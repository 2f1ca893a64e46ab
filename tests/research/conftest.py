"""Fixtures of the research tests: the synthetic store (built once per session, read only) and
an empty store. See ``_research_store`` for what the synthetic store holds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from _research_store import Synthetic, build_synthetic

from tutela.store import Store, open_store


@pytest.fixture(scope="session")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synthetic]:
    folder = tmp_path_factory.mktemp("research")
    syn = build_synthetic(f"sqlite:///{folder / 'synthetic.db'}")
    yield syn
    syn.store.close()


@pytest.fixture
def empty_store(tmp_path: Path) -> Iterator[Store]:
    store = open_store(f"sqlite:///{tmp_path / 'empty.db'}")
    yield store
    store.close()
