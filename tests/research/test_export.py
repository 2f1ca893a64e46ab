"""The research export: de-identification (every byte scanned), stable keyed pseudonyms, days
only, the text permission, valid PNGs, atomic writing, an empty store."""

from __future__ import annotations

import csv
import json
import re
import struct
from pathlib import Path

import pytest
from _research_store import KEY, OTHER_KEY, Synthetic
from sqlalchemy import select

from tutela.accounts.users import Role, User, UserStore
from tutela.errors import InputError, TutelaError
from tutela.research import PermissionDenied, export_research, key_id, pseudonym
from tutela.store import Store
from tutela.store.models import AuditLogRow

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TABLES = ("conversations", "messages", "decisions", "contacts")
STATS = (
    "stats_contacts_per_day",
    "stats_time_to_first_solicitation",
    "stats_indicator_frequencies",
    "stats_warnings",
    "stats_returns_after_warning",
)
PLOTS = (
    "plot_contacts_per_day",
    "plot_time_to_first_solicitation",
    "plot_indicator_frequencies",
    "plot_warnings_per_variant",
    "plot_returns_after_warning",
)
EXPECTED_FILES = sorted(
    [f"{t}.csv" for t in TABLES + STATS] + [f"{p}.png" for p in PLOTS]
    + ["README.txt", "summary.json"]
)  # fmt: skip


def _rows(folder: Path, name: str) -> list[dict[str, str]]:
    with open(folder / name, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    length, kind = struct.unpack(">I4s", data[8:16])
    assert (length, kind) == (13, b"IHDR")
    width, height = struct.unpack(">II", data[16:24])
    assert width > 100 and height > 100
    assert data[-12:] == b"\x00\x00\x00\x00IEND\xaeB`\x82"


@pytest.fixture(scope="module")
def exported(synthetic: Synthetic, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("x") / "export"
    report = export_research(synthetic.store, out, key=KEY)
    assert report.out_dir == out
    assert list(report.files) == EXPECTED_FILES
    assert dict(report.rows) == {"conversations": 3, "messages": 12, "decisions": 6, "contacts": 2}
    assert report.key_id == key_id(KEY) and not report.include_text
    return report.out_dir


def test_files_and_no_temporary_leftovers(exported: Path) -> None:
    assert sorted(p.name for p in exported.iterdir()) == EXPECTED_FILES
    assert [p.name for p in exported.parent.iterdir() if p.name.startswith(".")] == []


def test_no_raw_identifier_text_or_time_of_day_in_any_byte(
    exported: Path, synthetic: Synthetic
) -> None:
    needles = synthetic.texts + synthetic.secrets
    assert len(needles) > 15
    for path in exported.iterdir():
        data = path.read_bytes()
        for needle in needles:
            assert needle.encode() not in data, (path.name, needle)
        if path.suffix != ".png":
            text = data.decode("utf-8")
            assert not re.search(r"\d{1,2}:\d{2}", text), path.name  # no time of day
            assert not re.search(r"\d{4}-\d{2}-\d{2}T", text), path.name


def test_tables_content(exported: Path) -> None:
    convs = {r["conversation"]: r for r in _rows(exported, "conversations.csv")}
    c1 = convs[pseudonym(KEY, "conversation", 1)]
    assert c1 == {
        "conversation": pseudonym(KEY, "conversation", 1),
        "contact": pseudonym(KEY, "contact", 1),
        "persona": "ellie",
        "platform": "xmpp",
        "lang": "en",
        "start_day": "2025-05-06",
        "messages_in": "3",
        "messages_out": "3",
        "final_action": "deter",
    }
    assert convs[pseudonym(KEY, "conversation", 2)]["final_action"] == "continue"
    assert convs[pseudonym(KEY, "conversation", 2)]["contact"] == c1["contact"]
    contacts = {r["contact"]: r for r in _rows(exported, "contacts.csv")}
    assert contacts[pseudonym(KEY, "contact", 1)] == {
        "contact": pseudonym(KEY, "contact", 1),
        "conversations": "2",
        "platforms": "1",
        "personas": "2",
        "warnings": "1",
    }
    decisions = _rows(exported, "decisions.csv")
    assert {d["risk"] for d in decisions} >= {"0.123", "0.247", "0.370"}
    warned = [d for d in decisions if d["variant"]]
    assert sorted((d["variant"], d["day"], d["action"]) for d in warned) == [
        ("v_help", "2025-05-07", "deter"),
        ("v_legal", "2025-05-06", "deter"),
    ]
    messages = _rows(exported, "messages.csv")
    assert "text" not in messages[0]
    line3 = next(
        m for m in messages if m["conversation"] == c1["conversation"] and m["contact_line"] == "3"
    )
    assert line3["direction"] == "in"
    assert line3["indicators"] == "en.age_probe.how_old;en.media_request.cam"
    assert {m["attachments"] for m in messages} == {"0", "1"}
    returns = _rows(exported, "stats_returns_after_warning.csv")
    assert returns == [
        {"variant": "v_help", "warned": "1", "returned": "0", "rate": "0.0000", "low": "0.0000",
         "high": "0.7935"},
        {"variant": "v_legal", "warned": "1", "returned": "1", "rate": "1.0000", "low": "0.2065",
         "high": "1.0000"},
    ]  # fmt: skip
    summary = json.loads((exported / "summary.json").read_text())
    assert summary["totals"]["conversations"] == 3
    readme = (exported / "README.txt").read_text()
    assert key_id(KEY) in readme and "HMAC-SHA256" in readme
    for name in EXPECTED_FILES:
        assert name in readme or name.removesuffix(".png") in readme


def test_pngs_are_valid(exported: Path) -> None:
    for name in PLOTS:
        _assert_png(exported / f"{name}.png")


def test_pseudonyms_stable_per_key(synthetic: Synthetic, tmp_path: Path, exported: Path) -> None:
    target = tmp_path / "out"
    target.mkdir()  # an existing empty folder is replaced
    again = export_research(synthetic.store, target, key=KEY).out_dir
    other = export_research(synthetic.store, tmp_path / "other", key=OTHER_KEY).out_dir
    for name in ("conversations.csv", "contacts.csv", "decisions.csv", "messages.csv"):
        assert (again / name).read_bytes() == (exported / name).read_bytes()
    mine = {r["conversation"] for r in _rows(exported, "conversations.csv")}
    theirs = {r["conversation"] for r in _rows(other, "conversations.csv")}
    assert len(mine) == len(theirs) == 3 and mine.isdisjoint(theirs)
    mine_c = {r["contact"] for r in _rows(exported, "contacts.csv")}
    assert mine_c.isdisjoint(r["contact"] for r in _rows(other, "contacts.csv"))
    assert mine.isdisjoint(mine_c)  # domain separation between tables


PASSWORD = "research-export-pass-1"


def _user(store: Store, name: str, role: str) -> User:
    users = UserStore(store)
    return users.add(name, role, PASSWORD, actor="test")


def _audits(store: Store, action: str) -> list[AuditLogRow]:
    with store.session() as s:
        rows = s.execute(select(AuditLogRow).where(AuditLogRow.action == action)).scalars()
        return list(rows)


@pytest.mark.parametrize("actor", [None, "supervisor", "cli:alice"])
def test_text_refused_without_an_authenticated_user(
    synthetic: Synthetic, tmp_path: Path, actor: str | None
) -> None:
    # a role or name given as text is not trusted (issue 10 item 11: --role was taken on faith)
    with pytest.raises(PermissionDenied, match="authenticated supervisor") as err:
        export_research(synthetic.store, tmp_path / "t", key=KEY, include_text=True, actor=actor)
    assert isinstance(err.value, TutelaError)  # printed by the CLI as "error: ...", exit 2
    assert list(tmp_path.iterdir()) == []  # refused before anything was written


@pytest.mark.parametrize("role", ["analyst", "admin"])
def test_text_refused_for_other_roles(synthetic: Synthetic, tmp_path: Path, role: str) -> None:
    user = _user(synthetic.store, f"x-{role}", role)
    with pytest.raises(PermissionDenied, match=f"is {role}"):
        export_research(synthetic.store, tmp_path / "t", key=KEY, include_text=True, actor=user)
    assert list(tmp_path.iterdir()) == []


def test_text_refused_for_a_stale_or_forged_user(synthetic: Synthetic, tmp_path: Path) -> None:
    user = _user(synthetic.store, "x-stale", "supervisor")
    forged = User(
        id=user.id, name="someone-else", role=Role.SUPERVISOR, active=True, has_totp=False
    )
    with pytest.raises(PermissionDenied, match="not an active account"):
        export_research(synthetic.store, tmp_path / "t", key=KEY, include_text=True, actor=forged)
    UserStore(synthetic.store).deactivate("x-stale", actor="test")
    with pytest.raises(PermissionDenied, match="not an active account"):
        export_research(synthetic.store, tmp_path / "t", key=KEY, include_text=True, actor=user)
    assert list(tmp_path.iterdir()) == []


def test_text_with_an_active_supervisor_is_audited(synthetic: Synthetic, tmp_path: Path) -> None:
    user = _user(synthetic.store, "x-supervisor", "supervisor")
    before = len(_audits(synthetic.store, "research_export"))
    report = export_research(
        synthetic.store, tmp_path / "t", key=KEY, include_text=True, actor=user
    )
    assert report.include_text
    texts = [m["text"] for m in _rows(report.out_dir, "messages.csv")]
    assert set(texts) == set(synthetic.texts)
    other = (report.out_dir / "conversations.csv").read_bytes()
    for needle in [*synthetic.secrets[:5]]:
        assert needle.encode() not in other
    audits = _audits(synthetic.store, "research_export")
    assert len(audits) == before + 1
    row = audits[-1]
    assert row.actor == "x-supervisor" and row.target == f"research:{key_id(KEY)}"
    details = row.details if isinstance(row.details, dict) else json.loads(row.details)
    assert details["include_text"] is True
    assert details["rows"] == dict(report.rows)
    assert details["operations"] == "all"
    assert details["out_dir"] == str((tmp_path / "t").absolute())


def test_export_without_text_is_audited_too(synthetic: Synthetic, tmp_path: Path) -> None:
    before = len(_audits(synthetic.store, "research_export"))
    export_research(synthetic.store, tmp_path / "t", key=KEY, actor="cli:bob")
    row = _audits(synthetic.store, "research_export")[before]
    details = row.details if isinstance(row.details, dict) else json.loads(row.details)
    assert row.actor == "cli:bob" and details["include_text"] is False


def test_existing_folder_refused_unless_overwrite(synthetic: Synthetic, tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    (target / "keep.txt").write_text("old")
    with pytest.raises(InputError, match="not empty"):
        export_research(synthetic.store, target, key=KEY)
    assert (target / "keep.txt").exists()
    export_research(synthetic.store, target, key=KEY, overwrite=True)
    assert not (target / "keep.txt").exists()
    assert sorted(p.name for p in target.iterdir()) == EXPECTED_FILES
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(InputError, match="not a folder"):
        export_research(synthetic.store, tmp_path / "a_file", key=KEY)


def test_bad_key_refused(synthetic: Synthetic, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="at least 16 bytes"):
        export_research(synthetic.store, tmp_path / "x", key=b"short")
    assert not (tmp_path / "x").exists()


def test_empty_store_export(empty_store: Store, tmp_path: Path) -> None:
    report = export_research(empty_store, tmp_path / "empty", key=KEY)
    assert list(report.files) == EXPECTED_FILES
    assert dict(report.rows) == dict.fromkeys(TABLES, 0)
    assert _rows(report.out_dir, "conversations.csv") == []
    header = (report.out_dir / "conversations.csv").read_text().splitlines()
    assert header == ["conversation,contact,persona,platform,lang,start_day,messages_in,"
                      "messages_out,final_action"]  # fmt: skip
    for name in PLOTS:
        _assert_png(report.out_dir / f"{name}.png")
