"""``tutela users/cases/operations``: the password path through a real subprocess, the rest
in-process through ``tutela.cli.main`` (each subprocess pays the whole package import)."""

from __future__ import annotations

import io
import json
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tutela.cli import main

PASSWORD = "a long enough password"


def _tutela(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tutela", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


class Result:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.returncode, self.stdout, self.stderr = code, out, err


Run = Callable[..., Result]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Run:
    def _run(*args: str, stdin: str = "") -> Result:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        with pytest.raises(SystemExit) as info:
            main(list(args))
        out, err = capsys.readouterr()
        return Result(int(info.value.code or 0), out, err)

    return _run


@pytest.fixture
def db(tmp_path: Path) -> tuple[str, Path]:
    path = tmp_path / "cli.db"
    return f"sqlite:///{path}", path


def test_users_add_reads_password_from_stdin(db: tuple[str, Path]) -> None:
    url, path = db
    res = _tutela("users", "add", "alice", "--role", "supervisor", "--password-stdin", "--db", url,
                  stdin=PASSWORD + "\n")  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert PASSWORD not in res.stdout + res.stderr
    with sqlite3.connect(path) as conn:
        (stored,) = conn.execute("SELECT password_hash FROM users WHERE name='alice'").fetchone()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_users_list_totp_and_refusals(db: tuple[str, Path], run: Run) -> None:
    url, _ = db
    added = run("users", "add", "alice", "--role", "supervisor", "--password-stdin", "--db", url,
                stdin=PASSWORD + "\n")  # fmt: skip
    assert added.returncode == 0, added.stderr
    listed = run("users", "list", "--json", "--db", url)
    assert json.loads(listed.stdout)["users"][0]["role"] == "supervisor"
    totp = run("users", "totp", "alice", "--db", url)
    assert totp.returncode == 0 and totp.stdout.startswith("otpauth://totp/")
    short = run("users", "add", "bob", "--role", "analyst", "--password-stdin", "--db", url,
                stdin="short\n")  # fmt: skip
    assert short.returncode == 2 and "at least 12" in short.stderr
    none = run("users", "add", "bob", "--role", "analyst", "--db", url)
    assert none.returncode == 2 and "--password-stdin" in none.stderr


def test_cases_queue_retention_and_operations(db: tuple[str, Path], run: Run) -> None:
    url, _ = db
    queue = run("cases", "queue", "--json", "--db", url)
    assert queue.returncode == 0 and json.loads(queue.stdout) == {"cases": []}
    ret = run("cases", "retention", "--days", "30", "--dry-run", "--json", "--db", url)
    assert json.loads(ret.stdout) == {"dry_run": True, "days": 30, "cases": []}
    add = run("operations", "add", "--organisation", "Unit", "--jurisdiction", "NL",
              "--legal-basis", "basis", "--authorisation-ref", "R-9", "--officer", "o",
              "--start", "2025-01-01T00:00:00Z", "--db", url)  # fmt: skip
    assert add.returncode == 0, add.stderr
    ops = json.loads(run("operations", "list", "--json", "--db", url).stdout)["operations"]
    assert [(o["authorisation_ref"], o["active"]) for o in ops] == [("R-9", True)]
    naive = run("operations", "add", "--organisation", "U", "--jurisdiction", "NL",
                "--legal-basis", "b", "--authorisation-ref", "R-10", "--officer", "o",
                "--start", "2025-01-01T00:00:00", "--db", url)  # fmt: skip
    assert naive.returncode == 2 and "UTC offset" in naive.stderr
