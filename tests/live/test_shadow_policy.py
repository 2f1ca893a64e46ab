"""The shadow policy (``tutela.live.shadow``): a candidate policy decides beside the active one
after every inbound message and is recorded, never acted on. Lines are short synthetic texts
written for these tests."""

from __future__ import annotations

import asyncio
import io
import sys
from pathlib import Path

import pytest

from tutela.connectors import InMemoryConnector, MemoryHub
from tutela.errors import ConfigError
from tutela.ledger import EntryKind, sha256_hex
from tutela.live.clock import SimulatedClock
from tutela.live.engine import PersonaEngine
from tutela.runtime import build_live, load_shadow_policy, select_persona
from tutela.store import iter_ledger
from tutela.store.queries.shadow import SHADOW_STARTED, record_shadow, shadow_summary

# the first line asks before the persona has said anything (its age is not yet disclosed)
LINES = ["turn on your webcam", "how old are you", "turn on your webcam", "send a photo", "ok"]
STRICTER = "ladder: {require_age_disclosed: false}\n"  # warns before the age is known
LOOSER = "solicitation: {categories: [sexual_content]}\n"  # a webcam request is not enough


def _talk(tmp_path: Path, detection, name: str, shadow: Path | None, *, patch=None):
    """Run LINES through a fresh engine (database ``name``); returns (system, engine, handled,
    outbound (text, origin) pairs, what the contact received)."""
    clock = SimulatedClock()
    hub = MemoryHub(now=clock.now)
    conn = InMemoryConnector(hub, account="gb-ellie", now=clock.now)
    system = build_live(
        f"sqlite:///{tmp_path / name}",
        detection=detection,
        signer=None,
        clock=clock.now,
        shadow_policy=shadow,
    )
    engine = system.engine(
        PersonaEngine,
        connector=conn,
        persona=select_persona("gb-ellie"),
        operation_id=system.recorder.ensure_demo_operation().id,
        clock=clock,
        delay_scale=0.0,
    )
    if patch is not None:
        patch(engine)

    async def go():
        await conn.start()
        contact = hub.client("kim@chat.example")
        handled, received = [], []
        for text in LINES:
            await contact.say("gb-ellie", text)
            handled.append(await engine.handle(await conn.next_message(timeout=5)))
            while contact.pending():
                received.append((await contact.next_reply(timeout=1)).text)
        await conn.stop()
        return handled, received

    handled, received = asyncio.run(go())
    conv = handled[0].conversation_id
    outbound = [
        (m.text, m.origin)
        for m in system.recorder.conversation_messages(conv)
        if m.direction == "out"
    ]
    return system, engine, handled, outbound, received


def _policy(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _state(system, handled) -> tuple:
    """What the live path did, apart from the shadow table: decisions, cases, warnings."""
    rec = system.recorder
    decisions = [(h.decision.action.value, h.decision.variant, h.decision.rule) for h in handled]
    kinds = [e.kind for e in iter_ledger(system.store) if e.kind is not EntryKind.AUDIT]
    return decisions, [h.case_id for h in handled], rec.warnings_issued(), kinds


def test_stricter_and_looser_shadows_record_disagreements_and_change_nothing(
    tmp_path: Path, detection
) -> None:
    base, _, base_handled, base_out, base_received = _talk(tmp_path, detection, "a.db", None)
    results = {}
    for label, text in (("stricter", STRICTER), ("looser", LOOSER)):
        path = _policy(tmp_path, f"{label}.yaml", text)
        system, engine, handled, out, received = _talk(tmp_path, detection, f"{label}.db", path)
        # the engine's sends and records are identical with and without the shadow policy
        assert out == base_out and received == base_received and out
        assert _state(system, handled) == _state(base, base_handled)
        (summary,) = shadow_summary(system.store)
        assert summary.policy_sha256 == sha256_hex(path.read_bytes())
        assert summary.policy_name == f"{label}.yaml"
        assert summary.compared == len(LINES) == engine.shadow.evaluated
        assert engine.shadow.failures == 0
        starts = [
            e.payload["details"]
            for e in iter_ledger(system.store)
            if e.kind is EntryKind.AUDIT and e.payload["action"] == SHADOW_STARTED
        ]
        assert starts == [
            {"policy_sha256": summary.policy_sha256, "policy_name": path.name, "path": str(path)}
        ]
        results[label] = summary
        system.close()
    base.close()
    active = [h.decision.action.value for h in base_handled]
    assert active == ["continue", "continue", "deter", "continue", "continue"]

    stricter = results["stricter"]
    assert (stricter.extra_warnings, stricter.fewer_warnings) == (1, 0)
    (d,) = stricter.disagreements
    assert (d.line, d.active_action, d.action, d.variant) == (1, "continue", "deter", "combined")
    assert d.rule == "ladder.first_solicitation"
    assert stricter.agreed == 4 and stricter.agreement == pytest.approx(0.8)
    assert stricter.stricter == 1 and stricter.looser == 0

    looser = results["looser"]
    assert (looser.extra_warnings, looser.fewer_warnings) == (0, 1)
    (d,) = looser.disagreements
    assert (d.line, d.active_action, d.active_variant, d.action) == (
        3,
        "deter",
        "combined",
        "continue",
    )
    assert looser.looser == 1 and looser.agreement == pytest.approx(0.8)


def test_a_failing_shadow_policy_does_not_break_the_run(tmp_path: Path, detection) -> None:
    path = _policy(tmp_path, "boom.yaml", LOOSER)

    def boom(*args, **kwargs):
        raise RuntimeError("shadow policy crashed")

    def patch(engine):
        engine.shadow.shadow.policy.decide = boom

    base, _, base_handled, base_out, _ = _talk(tmp_path, detection, "a.db", None)
    system, engine, handled, out, _ = _talk(tmp_path, detection, "b.db", path, patch=patch)
    assert out == base_out and _state(system, handled) == _state(base, base_handled)
    assert engine.shadow.failures == len(LINES) and engine.shadow.evaluated == 0
    assert shadow_summary(system.store) == []
    system.close()
    base.close()


def test_summary_counts_escalations_referrals_and_filters_by_policy(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from tutela.runtime import open_runtime

    rt = open_runtime(f"sqlite:///{tmp_path / 's.db'}", signer=None)
    rec = rt.recorder
    op = rec.ensure_demo_operation()
    contact = rec.get_or_create_contact("local", "c", seen_at=datetime.now(UTC))
    conv = rec.open_conversation(
        operation_id=op.id,
        persona_id="p",
        platform="local",
        account="p@local",
        contact_id=contact,
        lang="en",
        started_at=datetime.now(UTC),
    )
    rows = [  # (shadow action, variant, active action, active variant)
        ("escalate", None, "deter", "legal"),  # extra escalation, fewer warnings
        ("refer", None, "escalate", None),  # extra referral
        ("escalate", "help", "escalate", None),  # extra warning, same action
        ("deter", "legal", "deter", "help"),  # agrees: the variant name is not compared
        ("continue", None, "continue", None),
    ]
    for n, (action, variant, active, active_variant) in enumerate(rows, start=1):
        msg = rec.record_inbound(
            conversation_id=conv.id,
            author="c",
            text=f"line {n}",
            wire=b"x",
            received_at=datetime.now(UTC),
            contact_line=n,
        )
        for sha in ("a" * 64, "b" * 64):
            record_shadow(
                rec,
                message_id=msg.id,
                conversation_id=conv.id,
                policy_sha256=sha,
                policy_name=f"{sha[0]}.yaml",
                action=action,
                variant=variant,
                rule="test",
                active_action=active,
                active_variant=active_variant,
            )
    (s,) = shadow_summary(rt.store, "a" * 64, limit=2)
    assert (s.policy_name, s.compared, s.agreed) == ("a.yaml", 5, 2)
    assert (s.extra_escalations, s.extra_referrals) == (1, 1)
    assert (s.extra_warnings, s.fewer_warnings) == (1, 1)
    assert (s.stricter, s.looser) == (2, 0)
    assert [d.line for d in s.disagreements] == [3, 2]  # newest first, at most the limit
    assert {x.policy_sha256 for x in shadow_summary(rt.store)} == {"a" * 64, "b" * 64}
    assert shadow_summary(rt.store, "c" * 64) == []
    rt.close()


def test_bad_shadow_policy_is_refused_before_the_store(tmp_path: Path, detection) -> None:
    bad = _policy(tmp_path, "bad.yaml", "ladder: {warnings_before_escalate: 0}\n")
    with pytest.raises(ConfigError, match="warnings_before_escalate"):
        build_live(f"sqlite:///{tmp_path / 'x.db'}", detection=detection, shadow_policy=bad)
    assert not (tmp_path / "x.db").exists()
    with pytest.raises(ConfigError):
        load_shadow_policy(tmp_path / "missing.yaml")
    empty = load_shadow_policy(_policy(tmp_path, "empty.yaml", ""))  # the defaults, as active
    assert empty.sha256 == sha256_hex(b"") and empty.name == "empty.yaml"


# -- the CLI ---------------------------------------------------------------------------------
def _cli(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    from tutela.cli import main

    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


def test_demo_takes_a_shadow_policy(tmp_path: Path, monkeypatch, capsys) -> None:
    from tutela.store import open_store

    folder = tmp_path / "tutela-demo-shadow"
    folder.mkdir()
    url = f"sqlite:///{folder / 'tutela.db'}"
    path = _policy(tmp_path, "cand.yaml", LOOSER)
    code, _, err = _cli(
        monkeypatch, capsys, "demo", "--json", "--db", url, "--shadow-policy", str(path)
    )
    assert code == 0, err
    store = open_store(url)
    (s,) = shadow_summary(store)
    assert s.policy_sha256 == sha256_hex(path.read_bytes()) and s.compared > 0
    store.close()

    other = tmp_path / "tutela-demo-bad"
    code, _, err = _cli(
        monkeypatch,
        capsys,
        "demo",
        "--db",
        f"sqlite:///{other / 'tutela.db'}",
        "--shadow-policy",
        str(tmp_path / "missing.yaml"),
    )
    assert code == 2 and "missing.yaml" in err and not other.exists()


def test_run_passes_the_shadow_policy(tmp_path: Path, monkeypatch, capsys) -> None:
    import yaml

    import tutela.live.runner as runner

    cfg = tmp_path / "run.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "operation": {
                    "organisation": "Test NGO",
                    "jurisdiction": "NL",
                    "legal_basis": "test",
                    "authorisation_ref": "TEST-1",
                    "officer": "T. Officer",
                    "starts_at": "2020-01-01T00:00:00Z",
                },
                "personas": [{"persona": "gb-ellie", "connectors": [{"kind": "memory"}]}],
            }
        )
    )
    db = tmp_path / "run.db"
    bad = _policy(tmp_path, "bad.yaml", "deterrence: {variants: []}\n")
    code, _, err = _cli(
        monkeypatch, capsys, "run", "--config", str(cfg), "--db", f"sqlite:///{db}",
        "--shadow-policy", str(bad),
    )  # fmt: skip
    assert code == 2 and "bad.yaml" in err and not db.exists()

    seen = {}

    async def fake(cfg, *, db_url=None, stop=None, shadow_policy=None):
        seen["shadow_policy"] = shadow_policy

    monkeypatch.setattr(runner, "run_personas", fake)
    good = _policy(tmp_path, "good.yaml", LOOSER)
    code, _, err = _cli(
        monkeypatch, capsys, "run", "--config", str(cfg), "--shadow-policy", str(good)
    )
    assert code == 0, err
    assert seen == {"shadow_policy": good}
