"""``tutela run`` warns, per persona, about a deterrence helpline not yet verified (P8)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from structlog.testing import capture_logs

from tutela.live import runner
from tutela.persona import load_persona
from tutela.persona.deterrence import helpline_for
from tutela.store import StoreError


def _unverified(logs: list[dict]) -> list[dict]:
    return [e for e in logs if e["event"] == "helpline.unverified"]


def test_each_persona_with_an_unverified_helpline_is_warned_about_once() -> None:
    personas = [load_persona("gb-ellie"), load_persona("nl-daan")]
    with capture_logs() as logs:
        warned = runner.warn_unverified_helplines(personas)
    assert warned == ["gb-ellie", "nl-daan"]
    events = _unverified(logs)
    assert [e["persona"] for e in events] == warned
    assert all(e["log_level"] == "warning" for e in events)
    gb = helpline_for("GB", "en")
    assert gb is not None and events[0]["helplines"] == [gb.name]


def test_a_verified_helpline_is_not_warned_about(monkeypatch: pytest.MonkeyPatch) -> None:
    def verified(country: str, lang: str):
        found = helpline_for(country, lang)
        return (
            None if found is None else found.model_copy(update={"verify_before_deployment": False})
        )

    monkeypatch.setattr("tutela.persona.deterrence.helpline_for", verified)
    with capture_logs() as logs:
        assert runner.warn_unverified_helplines([load_persona("gb-ellie")]) == []
    assert _unverified(logs) == []


def test_run_personas_warns_before_it_opens_the_store() -> None:
    cfg = runner.RunConfig.model_validate(
        {
            "operation": {
                "organisation": "Test NGO",
                "jurisdiction": "GB",
                "legal_basis": "test",
                "authorisation_ref": "TEST-1",
                "officer": "T. Officer",
                "starts_at": datetime(2020, 1, 1, tzinfo=UTC),
            },
            "personas": [
                {"persona": "gb-ellie", "connectors": [{"kind": "irc", "host": "127.0.0.1"}]}
            ],
        }
    )
    with capture_logs() as logs, pytest.raises(StoreError):
        asyncio.run(runner.run_personas(cfg, db_url="mysql://nowhere/db"))  # refused: no store
    assert [e["persona"] for e in _unverified(logs)] == ["gb-ellie"]


def test_the_demo_does_not_warn(tmp_path) -> None:
    from tutela.live.demo import load_scenario, run_demo

    with capture_logs() as logs:
        out = run_demo(load_scenario("grooming_en"), db_url=f"sqlite:///{tmp_path / 'demo.db'}")
    assert out["case_id"] is not None  # the demo ran its persona (gb-ellie, unverified GB)
    assert _unverified(logs) == []
