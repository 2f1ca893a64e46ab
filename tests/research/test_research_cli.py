"""``tutela research export`` / ``stats`` through the console entry point."""

from __future__ import annotations

import io
import json
import sys
import uuid
from pathlib import Path

import pyotp
import pytest
from _research_store import HANDLE_A, Synthetic
from sqlalchemy import select

from tutela.accounts.users import UserStore
from tutela.cli import main
from tutela.store import open_store
from tutela.store.models import AuditLogRow


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


PASSWORD = "research-cli-pass-1"


def _audit_rows(url: str) -> list[tuple[str, str, dict]]:
    with open_store(url) as store, store.session() as s:
        rows = s.execute(select(AuditLogRow).order_by(AuditLogRow.id)).scalars()
        return [
            (r.actor, r.action, r.details if isinstance(r.details, dict) else json.loads(r.details))
            for r in rows
            if r.action.startswith("research_export")
        ]


@pytest.fixture
def accounts(synthetic: Synthetic) -> dict[str, str]:
    """A supervisor, an analyst, an admin and a supervisor with TOTP (unique names per test)."""
    users = UserStore(synthetic.store)
    tag = uuid.uuid4().hex[:8]
    names = {role: f"{role}-{tag}" for role in ("supervisor", "analyst", "admin")}
    for role, name in names.items():
        users.add(name, role, PASSWORD, actor="test")
    names["totp"] = f"totp-{tag}"
    users.add(names["totp"], "supervisor", PASSWORD, actor="test")
    names["totp_secret"] = users.set_totp(names["totp"], actor="test")
    return names


def _export(
    synthetic: Synthetic, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *extra: str,
    stdin: str | bytes = "",
) -> tuple[int, Path]:  # fmt: skip
    out = tmp_path / f"export-{uuid.uuid4().hex[:6]}"
    raw = stdin.encode() if isinstance(stdin, str) else stdin
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8"))
    code = _run(["research", "export", "--out", str(out), "--db", synthetic.url,
                 "--key-file", str(tmp_path / "key"), *extra])  # fmt: skip
    return code, out


def test_include_text_needs_a_login_not_a_typed_role(
    synthetic: Synthetic,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # issue 10 item 11: `--include-text --role supervisor` trusted a typed role
    monkeypatch.delenv("TUTELA_PASSWORD", raising=False)
    code, out = _export(synthetic, tmp_path, monkeypatch, "--include-text")
    assert code == 2 and "--user" in capsys.readouterr().err and not out.exists()
    code, out = _export(synthetic, tmp_path, monkeypatch, "--include-text", "--role", "supervisor")
    assert code == 2 and "--role is not accepted" in capsys.readouterr().err
    assert not out.exists()


def test_include_text_as_a_supervisor_is_audited(
    synthetic: Synthetic,
    tmp_path: Path,
    accounts: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    name = accounts["supervisor"]
    code, out = _export(synthetic, tmp_path, monkeypatch, "--include-text", "--user", name,
                        "--password-stdin", stdin=PASSWORD + "\n")  # fmt: skip
    assert code == 0, capsys.readouterr().err
    assert "text" in (out / "messages.csv").read_text().splitlines()[0]
    actor, action, details = _audit_rows(synthetic.url)[-1]
    assert (actor, action) == (name, "research_export")
    assert details["include_text"] is True and details["operations"] == "all"
    assert details["rows"]["messages"] == len((out / "messages.csv").read_text().splitlines()) - 1
    # the password may come from TUTELA_PASSWORD instead
    monkeypatch.setenv("TUTELA_PASSWORD", PASSWORD)
    code, out = _export(synthetic, tmp_path, monkeypatch, "--include-text", "--user", name)
    assert code == 0 and (out / "messages.csv").is_file()


@pytest.mark.parametrize("who", ["analyst", "admin", "wrong_password", "unknown", "deactivated"])
def test_include_text_refused_and_audited(
    synthetic: Synthetic,
    tmp_path: Path,
    accounts: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    who: str,
) -> None:
    name = {"analyst": accounts["analyst"], "admin": accounts["admin"]}.get(
        who, accounts["supervisor"] if who != "unknown" else "nobody-here"
    )
    password = "not-the-password-1" if who == "wrong_password" else PASSWORD
    if who == "deactivated":
        UserStore(synthetic.store).deactivate(name, actor="test")
    before = len(_audit_rows(synthetic.url))
    code, out = _export(synthetic, tmp_path, monkeypatch, "--include-text", "--user", name,
                        "--password-stdin", stdin=password + "\n")  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and "Traceback" not in err
    assert not out.exists()
    rows = _audit_rows(synthetic.url)
    assert len(rows) == before + 1 and rows[-1][1] == "research_export_refused"


def test_include_text_with_totp(
    synthetic: Synthetic,
    tmp_path: Path,
    accounts: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    name = accounts["totp"]
    base = ("--include-text", "--user", name, "--password-stdin")
    code, out = _export(synthetic, tmp_path, monkeypatch, *base, stdin=PASSWORD + "\n")
    assert code == 2 and "--totp-code" in capsys.readouterr().err and not out.exists()
    code, out = _export(synthetic, tmp_path, monkeypatch, *base, "--totp-code", "000000",
                        stdin=PASSWORD + "\n")  # fmt: skip
    now = pyotp.TOTP(accounts["totp_secret"]).now()
    if now != "000000":
        assert code == 2 and "login failed" in capsys.readouterr().err and not out.exists()
    code, out = _export(synthetic, tmp_path, monkeypatch, *base, "--totp-code", now,
                        stdin=PASSWORD + "\n")  # fmt: skip
    assert code == 0, capsys.readouterr().err
    assert (out / "messages.csv").is_file()


def test_password_on_stdin_that_is_not_utf8(
    synthetic: Synthetic,
    tmp_path: Path,
    accounts: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    name = accounts["supervisor"]
    code, out = _export(synthetic, tmp_path, monkeypatch, "--include-text", "--user", name,
                        "--password-stdin", stdin=b"\xff\xfe\n")  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "not UTF-8" in err and "Traceback" not in err and not out.exists()
