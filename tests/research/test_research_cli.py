"""``tutela research export`` / ``stats`` through the console entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _research_store import HANDLE_A, Synthetic

from tutela.cli import main


def _run(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    return int(exc.value.code or 0)


def test_export_and_stats(
    synthetic: Synthetic, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key_file = tmp_path / "key"
    out = tmp_path / "export"
    assert _run(["research", "export", "--out", str(out), "--db", synthetic.url,
                 "--key-file", str(key_file)]) == 0  # fmt: skip
    assert "conversations" in capsys.readouterr().out
    assert (out / "README.txt").is_file() and key_file.is_file()
    assert HANDLE_A.encode() not in (out / "messages.csv").read_bytes()
    assert _run(["research", "stats", "--db", synthetic.url, "--key-file", str(key_file)]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["totals"]["conversations"] == 3
    convs = (out / "conversations.csv").read_text()
    assert all(r["conversation"] in convs for r in stats["time_to_first_solicitation"])


def test_include_text_needs_role(
    synthetic: Synthetic, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "export"
    base = ["research", "export", "--out", str(out), "--db", synthetic.url,
            "--key-file", str(tmp_path / "key"), "--include-text"]  # fmt: skip
    assert _run(base) == 2
    assert "role" in capsys.readouterr().err
    assert not out.exists()
    assert _run([*base, "--role", "viewer"]) == 2
    assert not out.exists()
    assert _run([*base, "--role", "supervisor"]) == 0
    assert "text" in (out / "messages.csv").read_text().splitlines()[0]
