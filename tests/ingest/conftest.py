"""Fixtures for the corpus-reader tests: tiny synthetic files written into ``tmp_path``."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str | bytes], Path]:
    """Write ``content`` (text as UTF-8, or raw bytes) to ``tmp_path / name``; return the path."""

    def _write(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    return _write


@pytest.fixture
def write_jsonl(
    write: Callable[[str, str | bytes], Path],
) -> Callable[[str, Iterable[object]], Path]:
    """Write one JSON value per line to ``tmp_path / name``."""

    def _write_jsonl(name: str, rows: Iterable[object]) -> Path:
        return write(name, "".join(json.dumps(r) + "\n" for r in rows))

    return _write_jsonl
