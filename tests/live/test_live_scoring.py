"""``tutela.live.scoring``: labelled scenarios, the first-warning rule, the summaries, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tutela.errors import InputError
from tutela.live.demo import Scenario
from tutela.live.scoring import (
    evaluate_live,
    load_live_scenario,
    load_live_scenarios,
    score_scenario,
    summarize,
)

# short synthetic lines written for these tests
BENIGN = {
    "persona": None,
    "contact": "t-benign",
    "lang": "en",
    "lines": ["hi", "how was school today", "did you finish the maths homework", "see you"],
    "expect": "none",
    "kind": "benign_peer",
}
WEBCAM = {
    "persona": None,
    "contact": "t-webcam",
    "lang": "en",
    "lines": [
        "hey",
        "what games do you play",
        "i play football on saturdays",
        "can you turn on your webcam for me",
        "just for a minute",
    ],
    "expect": "deter",
    "not_before": 4,
    "by": 5,
    "kind": "webcam",
}
PAID = {
    "persona": None,
    "contact": "t-paid",
    "lang": "nl",
    "lines": ["hoi", "hoe oud ben je", "ik betaal je voor een show op de camera"],
    "expect": "refer",
    "not_before": 3,
    "by": 3,
    "kind": "paid_show",
}


def _write(folder: Path, name: str, data: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / f"{name}.json"
    p.write_text(json.dumps(data), encoding="utf-8")
    return p


def _decisions(*actions: str, rule: str = "test.rule") -> dict:
    return {
        "decisions": [
            {"after_line": i, "action": a, "risk": 0.0, "indicators": [], "rule": rule}
            for i, a in enumerate(actions, start=1)
        ]
    }


@pytest.fixture
def scenario_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "scenarios"
    _write(folder, "en-benign", BENIGN)
    _write(folder, "en-webcam", WEBCAM)
    _write(folder, "nl-paid", PAID)
    (folder / "README.md").write_text("not a scenario\n", encoding="utf-8")
    return folder


# --- loading -------------------------------------------------------------------------------------


def test_load_reads_base_fields_and_labels(scenario_dir: Path) -> None:
    s = load_live_scenario(scenario_dir / "en-webcam.json")
    assert isinstance(s.scenario, Scenario)
    assert s.scenario.lines == tuple(WEBCAM["lines"]) and s.scenario.contact == "t-webcam"
    assert (s.expect, s.not_before, s.by, s.kind, s.name) == ("deter", 4, 5, "webcam", "en-webcam")
    assert s.soliciting
    b = load_live_scenario(scenario_dir / "en-benign.json")
    assert (b.expect, b.not_before, b.by, b.soliciting) == ("none", None, None, False)


def test_directory_gives_sorted_json_files_and_skips_the_readme(scenario_dir: Path) -> None:
    names = [s.name for s in load_live_scenarios(scenario_dir)]
    assert names == ["en-benign", "en-webcam", "nl-paid"]


@pytest.mark.parametrize(
    "change, message",
    [
        ({"expect": None}, "missing 'expect'"),
        ({"expect": "warn"}, "'expect' must be one of"),
        ({"not_before": None}, "missing 'not_before'"),
        ({"by": "5"}, "'by' must be an integer"),
        ({"by": True}, "'by' must be an integer"),
        ({"not_before": 5, "by": 4}, "is after 'by'"),
        ({"by": 9}, "between 1 and the number of lines (5)"),
        ({"not_before": 0}, "between 1 and"),
        ({"kind": 3}, "'kind' must be a non-empty string"),
        ({"lines": []}, "'lines' must be a non-empty list"),
    ],
)
def test_malformed_scenario_is_an_input_error_naming_the_file(
    tmp_path: Path, change: dict, message: str
) -> None:
    data = {k: v for k, v in {**WEBCAM, **change}.items() if v is not None}
    p = _write(tmp_path, "bad", data)
    with pytest.raises(InputError) as e:
        load_live_scenario(p)
    assert message in str(e.value)
    assert str(e.value).startswith(f"{p}:")


def test_benign_with_line_labels_is_rejected(tmp_path: Path) -> None:
    p = _write(tmp_path, "b", {**BENIGN, "not_before": 2})
    with pytest.raises(InputError, match="only for soliciting scenarios"):
        load_live_scenario(p)


def test_a_bad_json_file_in_a_folder_is_an_error_not_skipped(scenario_dir: Path) -> None:
    (scenario_dir / "zz-notes.json").write_text('{"lines": ["hello"]}', encoding="utf-8")
    with pytest.raises(InputError, match=r"zz-notes\.json: missing 'expect'"):
        load_live_scenarios(scenario_dir)


def test_missing_path_and_empty_folder_are_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file or folder"):
        load_live_scenarios(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=r"no scenario files \(\*\.json\)"):
        load_live_scenarios(tmp_path / "empty")


# --- scoring one scenario ------------------------------------------------------------------------


@pytest.fixture
def webcam(scenario_dir: Path):
    return load_live_scenario(scenario_dir / "en-webcam.json")  # not_before 4, by 5


def test_warning_in_time_at_the_first_soliciting_line(webcam) -> None:
    o = score_scenario(webcam, _decisions("continue", "continue", "continue", "deter", "continue"))
    assert o.first_warning_line == 4 and o.first_warning_action == "deter"
    assert o.rule == "test.rule"
    assert (o.warned_in_time, o.premature, o.late, o.missed) == (True, False, False, False)
    assert not o.false_warning and not o.failed


def test_warning_before_not_before_is_premature_even_if_repeated_in_time(webcam) -> None:
    o = score_scenario(webcam, _decisions("continue", "escalate", "continue", "deter", "deter"))
    assert o.first_warning_line == 2 and o.first_warning_action == "escalate"
    assert o.premature and not o.warned_in_time and o.failed


def test_warning_after_by_is_late_and_no_warning_is_missed(webcam) -> None:
    late = score_scenario(webcam, _decisions("continue", "continue", "continue", "continue"))
    assert late.first_warning_line is None and late.missed and not late.late
    late = score_scenario(
        webcam, _decisions("continue", "continue", "continue", "continue", "continue", "deter")
    )
    assert late.first_warning_line == 6 and late.late and not late.missed
    assert not late.warned_in_time and late.failed


def test_benign_with_any_warning_is_a_false_warning(scenario_dir: Path) -> None:
    benign = load_live_scenario(scenario_dir / "en-benign.json")
    ok = score_scenario(benign, _decisions("continue", "continue", "continue", "continue"))
    assert not ok.false_warning and ok.first_warning_line is None and not ok.failed
    assert not (ok.warned_in_time or ok.premature or ok.late or ok.missed)
    bad = score_scenario(benign, _decisions("continue", "continue", "refer", "continue"))
    assert bad.false_warning and bad.referred and bad.first_warning_line == 3 and bad.failed


def test_referral_due_and_referred(scenario_dir: Path) -> None:
    paid = load_live_scenario(scenario_dir / "nl-paid.json")  # not_before 3, by 3
    deter_only = score_scenario(paid, _decisions("continue", "continue", "deter"))
    assert deter_only.referral_due and deter_only.warned_in_time and not deter_only.referred
    assert deter_only.failed  # warned, but the referral was not proposed
    referred = score_scenario(paid, _decisions("continue", "continue", "refer"))
    assert referred.referred and referred.warned_in_time and not referred.failed


# --- summaries and the whole evaluation ----------------------------------------------------------


def test_summary_math(scenario_dir: Path, webcam) -> None:
    paid = load_live_scenario(scenario_dir / "nl-paid.json")
    benign = load_live_scenario(scenario_dir / "en-benign.json")
    outcomes = [
        score_scenario(webcam, _decisions("continue", "continue", "continue", "continue", "deter")),
        score_scenario(webcam, _decisions("continue", "deter")),  # premature: 2 - 4 = -2
        score_scenario(webcam, _decisions("continue")),  # missed
        score_scenario(paid, _decisions("continue", "continue", "refer")),  # 3 - 3 = 0
        score_scenario(benign, _decisions("continue", "deter")),
        score_scenario(benign, _decisions("continue", "continue")),
    ]
    s = summarize(outcomes)
    assert s == {
        "soliciting": 4,
        "warned_in_time": 2,
        "recall_by": 0.5,
        "premature": 1,
        "late": 0,
        "missed": 1,
        "benign": 2,
        "false_warnings": 1,
        "refer_due": 1,
        "referred": 1,
        "refer_recall": 1.0,
        "median_lines_to_warning": 0.0,  # median of 1, -2, 0
    }


def test_summary_ratios_are_null_without_a_denominator(scenario_dir: Path) -> None:
    benign = load_live_scenario(scenario_dir / "en-benign.json")
    s = summarize([score_scenario(benign, _decisions("continue"))])
    assert s["recall_by"] is None and s["refer_recall"] is None
    assert s["median_lines_to_warning"] is None
    assert (s["benign"], s["false_warnings"], s["soliciting"]) == (1, 0, 0)


def test_evaluate_live_with_a_fake_run(scenario_dir: Path, tmp_path: Path) -> None:
    script = {
        "t-benign": ("continue", "continue", "continue", "continue"),
        "t-webcam": ("continue", "continue", "continue", "deter", "continue"),
        "t-paid": ("continue", "deter", "continue"),  # premature, never referred
    }
    db_root = tmp_path / "dbs"
    db_root.mkdir()
    seen: list[str] = []

    def fake_run(scenario: Scenario, *, db_url: str) -> dict:
        db = Path(db_url.removeprefix("sqlite:///"))
        assert db.parent.parent == db_root and db.parent.name.startswith("tutela-demo-")
        assert db.parent.is_dir() and not db.exists()  # a fresh database per scenario
        db.write_text("x")
        seen.append(db_url)
        return _decisions(*script[scenario.contact])

    report = evaluate_live(scenario_dir, run=fake_run, db_dir=db_root)
    assert len(set(seen)) == 3
    assert list(db_root.iterdir()) == []  # every temporary database deleted
    assert report["task"] == "live" and report["n"] == 3
    by_name = {s["name"]: s for s in report["scenarios"]}
    assert [s["name"] for s in report["scenarios"]] == ["en-benign", "en-webcam", "nl-paid"]
    web = by_name["en-webcam"]
    assert {
        "name",
        "lang",
        "kind",
        "expect",
        "not_before",
        "by",
        "first_warning_line",
        "rule",
        "warned_in_time",
        "premature",
        "late",
        "missed",
        "false_warning",
        "referred",
        "referral_due",
    } <= web.keys()
    assert web["first_warning_line"] == 4 and web["warned_in_time"] and web["kind"] == "webcam"
    assert by_name["nl-paid"]["premature"] and not by_name["nl-paid"]["referred"]
    assert set(report["languages"]) == {"en", "nl"}
    en, nl = report["languages"]["en"], report["languages"]["nl"]
    assert (en["soliciting"], en["warned_in_time"], en["benign"], en["false_warnings"]) == (
        1,
        1,
        1,
        0,
    )
    assert (nl["premature"], nl["refer_due"], nl["referred"], nl["refer_recall"]) == (1, 1, 0, 0.0)
    assert report["overall"]["soliciting"] == 2 and report["overall"]["recall_by"] == 0.5
    json.dumps(report)  # JSON-ready


def test_evaluate_live_checks_every_file_before_running(scenario_dir: Path) -> None:
    _write(scenario_dir, "zz-bad", {**WEBCAM, "expect": "maybe"})
    calls: list[Scenario] = []

    def fake_run(scenario: Scenario, *, db_url: str) -> dict:
        calls.append(scenario)
        return _decisions("continue")

    with pytest.raises(InputError, match=r"zz-bad\.json"):
        evaluate_live(scenario_dir, run=fake_run)
    assert calls == []


# --- the CLI, with the real live path ------------------------------------------------------------


def test_cli_evaluate_task_live_json_runs_the_real_live_path(tmp_path: Path) -> None:
    from tutela.cli import app

    folder = tmp_path / "live"
    _write(folder, "en-benign", BENIGN)
    _write(folder, "en-webcam", WEBCAM)
    r = CliRunner().invoke(app, ["evaluate", str(folder), "--task", "live", "--json"])
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    assert report["task"] == "live" and report["n"] == 2
    assert [s["name"] for s in report["scenarios"]] == ["en-benign", "en-webcam"]
    overall = report["overall"]
    assert (overall["soliciting"], overall["benign"]) == (1, 1)
    web = next(s for s in report["scenarios"] if s["name"] == "en-webcam")
    # an explicit webcam request to a child persona is warned right after it, not before
    assert web["warned_in_time"] and web["first_warning_line"] in (4, 5), web
    assert web["rule"]
    assert not next(s for s in report["scenarios"] if s["name"] == "en-benign")["false_warning"]


def test_cli_evaluate_task_live_table_and_errors(tmp_path: Path) -> None:
    from tutela.cli import app

    folder = tmp_path / "live"
    _write(folder, "en-benign", BENIGN)
    r = CliRunner().invoke(app, ["evaluate", str(folder), "--task", "live"])
    assert r.exit_code == 0, r.output
    assert "live path" in r.stdout and "premature" in r.stdout
    assert "every scenario as labelled" in r.stdout
    r = CliRunner().invoke(app, ["evaluate", str(folder), "--task", "live", "--model", "m.skops"])
    assert isinstance(r.exception, InputError) and "--model does not apply" in str(r.exception)
    _write(folder, "zz-bad", {**BENIGN, "expect": None})
    r = CliRunner().invoke(app, ["evaluate", str(folder), "--task", "live"])
    assert isinstance(r.exception, InputError) and "missing 'expect'" in str(r.exception)
