"""Tables fit an 80-column terminal (issue 12 item 7): no line is wider, nothing is lost.

``analyze`` on the shipped example, then its flagged authors imported into an operation, so that
``cases queue`` and ``operations list`` have rows; each printed at COLUMNS=80 in a real process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "chats.jsonl"


def _tutela(*args: str, columns: int = 80) -> str:
    env = {**os.environ, "COLUMNS": str(columns), "NO_COLOR": "1"}
    env.pop("TUTELA_DB", None)
    r = subprocess.run(
        [sys.executable, "-m", "tutela", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert r.returncode == 0, r.stderr
    return r.stdout


def _fits(text: str, width: int = 80) -> None:
    wide = [line for line in text.splitlines() if len(line) > width]
    assert not wide, wide


def _column(text: str, index: int) -> str:
    """Column ``index`` of a one-row table's body, its folded pieces joined again."""
    body = text.split("┩", 1)[1]
    pieces = [line.split("│")[index + 1].strip() for line in body.splitlines() if "│" in line]
    return "".join(pieces)  # a value folded at a space loses that space here


def test_tables_fit_80_columns(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 't.db'}"
    out = _tutela("analyze", str(EXAMPLE))
    _fits(out)
    assert "…" not in out  # values fold, never cut
    for author in ("tom_r", "paul_67", "mark_44", "ms_de_vries"):
        assert author in out
    assert "de.platform_switch.1" in out.replace("│", "").replace(" ", "").replace("\n", "")
    assert "stage" not in out.split("┩")[0]  # at 80 columns stage and convs give way
    _tutela(
        "operations", "add", "--organisation", "Example Child Protection NGO with a long name",
        "--jurisdiction", "NL", "--legal-basis", "Approved undercover operation",
        "--authorisation-ref", "OM-2026-0001-LONG-REFERENCE", "--officer", "J. Jansen",
        "--start", "2026-01-01T00:00Z", "--db", db,
    )  # fmt: skip
    ops = _tutela("operations", "list", "--db", db)
    _fits(ops)
    assert _column(ops, 1) == "OM-2026-0001-LONG-REFERENCE"
    assert " ".join(_column(ops, 2).split()) == "ExampleChildProtectionNGO with along name"
    assert _column(ops, 3) == "2026-01-0100:00"
    _tutela("analyze", str(EXAMPLE), "--operation", "1", "--db", db)
    queue = _tutela("cases", "queue", "--db", db)
    _fits(queue)
    assert "…" not in queue
    assert queue.count("open") >= 3
