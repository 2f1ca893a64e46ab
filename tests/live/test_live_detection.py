"""The live path with the line detector: short synthetic conversations through ``run_demo``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tutela.connectors.base import InboundMessage
from tutela.live.demo import Scenario, run_demo
from tutela.live.engine import conversation_seed


def _db(tmp_path: Path) -> str:
    folder = tmp_path / "tutela-demo-x"
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'demo.db'}"


def _first(result: dict, *actions: str) -> int | None:
    return next((d["after_line"] for d in result["decisions"] if d["action"] in actions), None)


WARN = ("deter", "escalate", "refer")


def test_german_camera_question_in_ordinary_word_order_is_warned(tmp_path: Path) -> None:
    lines = (
        "hallo, na wie gehts",
        "wie alt bist du eigentlich",
        "und hast du eigentlich eine kamera an deinem laptop?",
        "mach die doch mal kurz an fuer mich",
    )
    r = run_demo(Scenario(lines=lines, lang="de", contact="tx-a"), db_url=_db(tmp_path))
    first = _first(r, *WARN)
    assert first is not None and first >= 3


def test_combining_marks_do_not_hide_a_webcam_request(tmp_path: Path) -> None:
    marked = "".join(c + "\u0332" if c.isalpha() else c for c in "turn on your webcam for me")
    lines = ("hey", "how old r u", marked, "just for a minute")
    r = run_demo(Scenario(lines=lines, lang="en", contact="tx-b"), db_url=_db(tmp_path))
    assert _first(r, *WARN) in (3, 4)


@pytest.mark.parametrize(
    "lines",
    [
        (
            "hey its jess from class",
            "we have sex ed tomorrow lol",
            "mr brown is gonna be so awkward",
            "did u finish the worksheet",
        ),
        (
            "hi its mum",
            "i'll pick you up at 4 from school",
            "send me a photo of your science project",
            "well done sweetheart",
        ),
    ],
)
def test_hard_negatives_are_not_warned(tmp_path: Path, lines: tuple[str, ...]) -> None:
    r = run_demo(Scenario(lines=lines, lang="en", contact="tx-c"), db_url=_db(tmp_path))
    assert _first(r, *WARN) is None, r["decisions"]


def test_paid_show_is_proposed_for_referral(tmp_path: Path) -> None:
    lines = ("hi", "how old are you", "want to earn some money?",
             "i pay you 40 on paypal for a private show on cam")  # fmt: skip
    r = run_demo(Scenario(lines=lines, lang="en", contact="tx-d"), db_url=_db(tmp_path))
    assert any(d["action"] == "refer" for d in r["decisions"])


def test_same_scenario_same_replies_and_decisions_in_every_process(tmp_path: Path) -> None:
    scenario = tmp_path / "s.json"
    scenario.write_text(
        json.dumps({"lang": "en", "contact": "tx-e",
                    "lines": ["hey", "what r u up to", "what school do u go to", "cool"]}),
        "utf-8",
    )  # fmt: skip
    runs = []
    for seed in ("1", "2"):  # Python's string hash differs between these processes
        out = subprocess.run(
            [sys.executable, "-m", "tutela", "demo", "--scenario", str(scenario), "--json"],
            capture_output=True, text=True, timeout=300, check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        )  # fmt: skip
        result = json.loads(out.stdout)
        runs.append(([t["text"] for t in result["transcript"]], result["decisions"]))
    assert runs[0] == runs[1]


def test_conversation_seed_is_stable_and_varies_by_contact() -> None:
    from datetime import UTC, datetime

    from tutela.connectors.base import Identity

    def msg(sender: str, text: str = "hi") -> InboundMessage:
        return InboundMessage(
            platform="irc", account="p1", sender=Identity("irc", sender), room=None, text=text,
            direct=True, mentioned=False, received_at=datetime(2026, 1, 1, tzinfo=UTC), wire=b"",
        )  # fmt: skip

    assert conversation_seed(msg("a"), "gb-ellie") == conversation_seed(msg("a"), "gb-ellie")
    assert conversation_seed(msg("a")) != conversation_seed(msg("b"))


def test_the_age_is_stated_once_early_not_in_every_reply(tmp_path: Path) -> None:
    lines = ("hey", "what r u up to", "what school do u go to", "cool", "what music do u like")
    r = run_demo(Scenario(lines=lines, contact="tx-f"), db_url=_db(tmp_path))
    replies = [t["text"] for t in r["transcript"] if t["from"] == "persona"]
    with_age = [t for t in replies if "13" in t.split() or "im 13" in t]
    assert len(with_age) == 1, replies
    assert replies.index(with_age[0]) <= 1  # by the second reply
