"""``tutela demo``: the whole live path on the in-memory connector, per shipped scenario."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tutela.ledger.signing import Signer
from tutela.live.demo import load_scenario, run_demo, shipped_scenarios
from tutela.persona import OutgoingGuard, load_persona
from tutela.store import open_store, verify_store

ACTIONS = ("continue", "deter", "escalate", "refer")


def _db(tmp_path: Path) -> str:
    folder = tmp_path / "tutela-demo-test"  # the demo keeps its signing key beside such a db
    folder.mkdir(exist_ok=True)
    return f"sqlite:///{folder / 'demo.db'}"


def _persona_lines(result: dict) -> list[str]:
    return [t["text"] for t in result["transcript"] if t["from"] == "persona"]


def _assert_contract(result: dict, n_lines: int) -> None:
    assert {"transcript", "decisions", "final_action", "case_id"} <= result.keys()
    assert [d["after_line"] for d in result["decisions"]] == list(range(1, n_lines + 1))
    assert all(d["action"] in ACTIONS and 0.0 <= d["risk"] <= 1.0 for d in result["decisions"])
    strongest = max((ACTIONS.index(d["action"]) for d in result["decisions"]), default=0)
    assert result["final_action"] == ACTIONS[strongest]
    ats = [t["at"] for t in result["transcript"]]
    assert ats == sorted(ats)  # simulated clock: typing delays show in the timestamps
    assert sum(t["from"] == "contact" for t in result["transcript"]) == n_lines


def _assert_all_guarded(result: dict) -> None:
    guard = OutgoingGuard(load_persona(result["persona"]))
    for text in _persona_lines(result):
        verdicts = [guard.check(text, origin=o) for o in ("bank", "deterrence")]
        assert any(v.allowed for v in verdicts), text


def test_grooming_scenario_deters_after_solicitation_and_after_age(tmp_path: Path) -> None:
    scenario = load_scenario("grooming_en")
    result = run_demo(scenario, db_url=_db(tmp_path))
    _assert_contract(result, len(scenario.lines))
    _assert_all_guarded(result)
    assert result["final_action"] == "deter" and result["case_id"] is not None
    deter = next(d for d in result["decisions"] if d["action"] == "deter")
    assert d_has_solicitation(deter)
    # the persona stated its age before the warning, and the warning is its last message
    persona = _persona_lines(result)
    age = str(load_persona(result["persona"]).age)
    first_age = next(i for i, t in enumerate(persona) if age in t)
    warning_idx = next(i for i, t in enumerate(persona) if "virtual" in t.lower())
    assert first_age < warning_idx == len(persona) - 1
    # no reply after the warning, though the contact kept writing
    assert result["transcript"][-1]["from"] == "contact"
    store = open_store(result["db"])
    try:
        key = Path(result["db"].removeprefix("sqlite:///")).parent / "signing-key.pem"
        assert verify_store(store, Signer.load_or_create(key).public_key_bytes()) > 0
    finally:
        store.close()


def d_has_solicitation(decision: dict) -> bool:
    return any(
        cat in ind
        for ind in decision["indicators"]
        for cat in ("media_request", "secrecy", "risk_check", "sexual", "meeting")
    )


@pytest.mark.parametrize("name", ["benign_peer_en", "benign_parent_en"])
def test_benign_scenarios_get_no_warning(tmp_path: Path, name: str) -> None:
    scenario = load_scenario(name)
    result = run_demo(scenario, db_url=_db(tmp_path))
    _assert_contract(result, len(scenario.lines))
    _assert_all_guarded(result)
    assert result["final_action"] == "continue" and result["case_id"] is None
    assert len(_persona_lines(result)) == len(scenario.lines)  # it answered every line
    assert not any("virtual" in t.lower() for t in _persona_lines(result))


def test_repeat_contact_climbs_the_ladder(tmp_path: Path) -> None:
    db = _db(tmp_path)
    first = run_demo(load_scenario("grooming_en"), db_url=db)
    second = run_demo(load_scenario("return_en"), db_url=db)
    third = run_demo(load_scenario("return_en"), db_url=db)
    assert first["final_action"] == "deter"
    assert second["final_action"] == "escalate"
    assert third["final_action"] == "refer"
    assert first["case_id"] == second["case_id"] == third["case_id"]
    # "refer" is only a proposal: it waits for a supervisor (hard rule 3)
    from tutela.cases.workflow import CaseWorkflow
    from tutela.store import Recorder

    store = open_store(db)
    try:
        (pending,) = CaseWorkflow(Recorder(store)).pending_referrals()
        assert pending.case_id == third["case_id"] and pending.status == "proposed"
        assert pending.decided_by is None
    finally:
        store.close()


@pytest.mark.parametrize("name, expected", [("grooming_nl", "deter"), ("commercial_tl", "refer")])
def test_other_languages(tmp_path: Path, name: str, expected: str) -> None:
    scenario = load_scenario(name)
    result = run_demo(scenario, db_url=_db(tmp_path))
    _assert_contract(result, len(scenario.lines))
    _assert_all_guarded(result)
    assert result["final_action"] == expected


def test_every_shipped_scenario_runs(tmp_path: Path) -> None:
    for i, name in enumerate(sorted(shipped_scenarios())):
        scenario = load_scenario(name)
        result = run_demo(scenario, db_url=f"sqlite:///{tmp_path / f'{i}.db'}")
        _assert_contract(result, len(scenario.lines))
        _assert_all_guarded(result)


def test_cli_json_and_bad_scenarios(tmp_path: Path) -> None:
    scenario = tmp_path / "s.json"
    scenario.write_text(
        json.dumps(
            {"lang": "en", "contact": "c1", "lines": ["hi", "how old are you"], "unknown_key": 1}
        )
    )
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "tutela",
            "demo",
            "--scenario",
            str(scenario),
            "--json",
            "--db",
            _db(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["final_action"] == "continue" and len(out["decisions"]) == 2
    for content, message in [
        ("{not json", "malformed JSON"),
        ('{"lines": []}', "lines"),
        ('{"lines": ["hi"], "lang": 3}', "lang"),
    ]:
        scenario.write_text(content)
        r = subprocess.run(
            [sys.executable, "-m", "tutela", "demo", "--scenario", str(scenario)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr


def test_a_reused_db_continues_the_deterrence_rotation(tmp_path: Path) -> None:
    """Issue 8: the demo restarted the variant rotation on a reused ``--db``; like ``tutela run``
    it continues after the warnings the database already holds (``tutela.runtime``)."""
    from dataclasses import replace

    from tutela.policy import VariantAssigner, load_policy

    db = _db(tmp_path)
    grooming = load_scenario("grooming_en")
    first = run_demo(grooming, db_url=db)
    second = run_demo(replace(grooming, contact="another-stranger"), db_url=db)
    variants = [d["variant"] for r in (first, second) for d in r["decisions"] if d.get("variant")]
    assigner = VariantAssigner(load_policy(None))
    assert variants == [assigner.advance(), assigner.advance()]
    assert variants[0] != variants[1]


def test_demo_takes_the_detection_config_and_model(tmp_path: Path) -> None:
    """Issue 8: ``tutela demo --config/--model``, the common options the README lists; both are
    loaded before any database is touched."""
    from _cli_harness import invoke

    config = tmp_path / "detection.yaml"
    config.write_text("model: nowhere.skops\n")
    folder = tmp_path / "tutela-demo-opts"
    folder.mkdir()
    db = f"sqlite:///{folder / 'demo.db'}"
    r = invoke(["demo", "--json", "--db", db, "--config", str(config)])
    assert r.code == 2 and "nowhere.skops" in r.err, r.text
    missing = tmp_path / "missing.skops"
    r = invoke(["demo", "--json", "--db", db, "--model", str(missing)])
    assert r.code == 2 and "missing.skops" in r.err, r.text
    assert not (folder / "demo.db").exists()
    from tutela.detect.persistence import default_model_path

    config.write_text("{}\n")
    r = invoke(
        [
            "demo",
            "--json",
            "--db",
            db,
            "--config",
            str(config),
            "--model",
            str(default_model_path()),
        ]
    )
    assert r.code == 0, r.text
    assert json.loads(r.out)["final_action"] == "deter"
