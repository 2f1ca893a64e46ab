"""``tutela analyze/evaluate --format/--columns`` and what they say about files they cannot read
(issue 11): an unknown file names the formats Tutela reads; valid JSON of an unknown shape is
"not a known export format"; reader warnings reach stderr and the JSON result."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from _cli_harness import invoke


@pytest.fixture(autouse=True)
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TUTELA_DB", f"sqlite:///{tmp_path / 'tutela.db'}")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    yield


def _error(r, *needles: str) -> None:
    assert r.code == 2, (r.code, r.err)
    assert "Traceback" not in r.text
    for needle in needles:
        assert needle in r.err, (needle, r.err)


def test_unknown_format_name_lists_the_formats(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text('{"conversation": "c", "author": "a", "text": "hi"}\n')
    r = invoke(["analyze", str(path), "--format", "xlsx"])
    _error(r, "unknown format 'xlsx'", "whatsapp", "telegram", "csv")


def test_valid_json_of_unknown_shape(tmp_path):
    path = tmp_path / "notes.json"
    path.write_text(json.dumps({"title": "x", "entries": [{"a": 1}]}, indent=2))
    r = invoke(["analyze", str(path)])
    _error(r, "not a known export format", "--format")
    assert "malformed" not in r.err and "fmt=" not in r.err


def test_columns_only_for_csv(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text('{"conversation": "c", "author": "a", "text": "hi"}\n')
    r = invoke(["analyze", str(path), "--columns", "author=From"])
    _error(r, "--columns applies to --format csv only")


def test_format_forces_a_reader_and_warnings_reach_the_json(tmp_path):
    path = tmp_path / "chat.txt"  # a WhatsApp export with a guessed date order
    path.write_text(
        "01/02/2024, 10:00 - Ann: hello there\n01/02/2024, 10:01 - Bob: hi, how was school\n",
        encoding="utf-8",
    )
    r = invoke(["analyze", str(path), "--format", "whatsapp", "--json"])
    assert r.code == 0, r.err
    data = json.loads(r.out)
    assert data["format"] == "whatsapp"
    assert {a["id"] for a in data["authors"]} == {"Ann", "Bob"}
    assert any("order" in w["message"] for w in data["warnings"])
    # the same file read as CSV is refused with the CSV reader's own error
    r = invoke(["analyze", str(path), "--format", "csv"])
    assert r.code == 2 and "Traceback" not in r.text


def test_csv_with_a_column_mapping(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text("Chat;From;Body\nc1;ann;hello\nc1;bob;hi there\n", encoding="utf-8")
    r = invoke(
        ["analyze", str(path), "--format", "csv", "--columns",
         "conversation=Chat,author=From,text=Body", "--json"]
    )  # fmt: skip
    assert r.code == 0, r.err
    data = json.loads(r.out)
    assert [c["id"] for c in data["conversations"]] == ["c1"]
    assert {a["id"] for a in data["authors"]} == {"ann", "bob"}


def test_logging_after_a_command_never_writes_to_its_closed_stderr(monkeypatch):
    """The CLI configures structlog on the stderr it had (pytest's capsys, an embedding program);
    once that stream is closed, a later log call must not fail on it."""
    import io
    import sys

    import structlog

    from tutela.cli._app import configure_logging

    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    configure_logging(False)
    monkeypatch.undo()
    stream.close()
    try:
        structlog.get_logger("tutela.test").warning("logged after that stderr closed")
    finally:
        structlog.reset_defaults()
