"""``tutela demo``: one persona against a scripted contact over the in-memory connector.

The whole live path runs — durable record, incremental scoring, policy ladder, outgoing guard,
deterrence — under the built-in demonstration operation (marked non-evidential), built by
:mod:`tutela.runtime` as every entry point is. Scenario JSON::

    {"persona": ID (optional), "lang": CODE, "platform": "local", "contact": ID,
     "lines": [str, ...]}

Unknown keys are ignored. Output::

    {"transcript": [{"from": "contact"|"persona", "text", "at"}],
     "decisions": [{"after_line", "action", "risk", "indicators", "rule", "reason"}],
     "final_action", "case_id", "db"}

The clock is simulated (typing delays appear in ``at``, nothing is slept) unless ``realtime``.
Every time recorded for a demo conversation comes from that one clock: messages, decisions, the
case's opening and updates, a policy referral proposal (the engine hands its clock to the case
workflow). A run over a reused database starts its simulated clock after the latest instant that
database records (``tutela.store.queries.demo.latest_instant``), so a contact's case never shows
an update before its opening; such a run's times may then lie up to the scenario's length ahead
of the wall clock. When the script ends, every conversation the demo still holds open is ended
(``conversation_ended``, reason :data:`DEMO_ENDED`), as the live path ends a conversation, so no
demo conversation stays "open" on the dashboard's live page.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

from tutela.connectors import InboundMessage, InMemoryConnector, MemoryHub
from tutela.domain import Action
from tutela.errors import InputError
from tutela.ledger.signing import DEMO_FOLDER_PREFIX, Signer
from tutela.live.clock import Clock, SimulatedClock, WallClock
from tutela.live.engine import PersonaEngine
from tutela.runtime import (
    Detection,
    ShadowPolicy,
    build_live,
    load_detection,
    load_shadow_policy,
    load_signer,
    select_persona,
    signing_key_path,
)
from tutela.safeload import loads_json
from tutela.store import Store

__all__ = [
    "DEMO_ENDED",
    "Scenario",
    "load_scenario",
    "read_scenario_json",
    "run_demo",
    "scenario_from_data",
    "shipped_scenarios",
]

MAX_LINES = 500
MAX_LINE_CHARS = 4000
CONTACT_TYPING_CPS = 4.0  # simulated contact typing speed (characters per second)
DEMO_ENDED = "demo_ended"
"""The end reason of a conversation still open when the demo's script ends."""


@dataclass(frozen=True, slots=True)
class Scenario:
    """A scripted contact: who talks to which persona, in which language, saying what."""

    lines: tuple[str, ...]
    lang: str = "en"
    persona: str | None = None
    platform: str = "local"
    contact: str = "contact-1"


def shipped_scenarios() -> dict[str, Path]:
    """Scenario name → path of the synthetic scenarios shipped in ``tutela/live/scenarios``."""
    root = resources.files("tutela.live") / "scenarios"
    return {Path(str(p)).stem: Path(str(p)) for p in root.iterdir() if str(p).endswith(".json")}


def load_scenario(path: str | Path | None) -> Scenario:
    """Read a scenario file; ``None`` or a shipped scenario's name loads that shipped scenario.

    Raises
    ------
    InputError: unreadable file, malformed JSON, missing or wrongly typed fields.
    """
    shipped = shipped_scenarios()
    if path is None:
        path = shipped["grooming_en"]
    elif str(path) in shipped:
        path = shipped[str(path)]
    p = Path(path)
    return scenario_from_data(read_scenario_json(p, shipped=shipped), where=str(p))


def read_scenario_json(p: Path, *, shipped: dict[str, Path] | None = None) -> dict:
    """The JSON object of a scenario file. ``InputError`` (naming the file) for an unreadable
    file, a file that is not UTF-8, malformed JSON or a top level that is not an object."""
    try:
        raw = p.read_bytes()
    except OSError as e:
        names = sorted(shipped or shipped_scenarios())
        hint = "" if p.suffix else f"; shipped scenarios: {', '.join(names)}"
        raise InputError(f"cannot read scenario: {e.strerror or e}{hint}", path=str(p)) from e
    try:
        data = loads_json(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise InputError("scenario is not UTF-8 text", path=str(p)) from e
    except json.JSONDecodeError as e:
        raise InputError(f"malformed JSON: {e.msg}", path=str(p), line=e.lineno) from e
    if not isinstance(data, dict):
        raise InputError("a scenario must be a JSON object", path=str(p))
    return data


def scenario_from_data(data: dict, *, where: str) -> Scenario:
    """A :class:`Scenario` from a scenario's JSON object. ``InputError`` naming ``where`` for
    missing, wrongly typed or oversized fields; unknown keys are ignored."""
    lines = data.get("lines")
    if not isinstance(lines, list) or not lines or not all(isinstance(x, str) for x in lines):
        raise InputError("'lines' must be a non-empty list of strings", path=where)
    if len(lines) > MAX_LINES or any(len(x) > MAX_LINE_CHARS for x in lines):
        raise InputError(
            f"scenario too large (at most {MAX_LINES} lines of {MAX_LINE_CHARS} characters)",
            path=where,
        )
    fields: dict[str, str] = {}
    for key in ("lang", "persona", "platform", "contact"):
        value = data.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or not value.strip():
            raise InputError(f"'{key}' must be a non-empty string", path=where)
        fields[key] = value.strip()
    return Scenario(lines=tuple(lines), **fields)


async def _run(
    scenario: Scenario,
    db_url: str,
    clock: Clock,
    detection: Detection | None = None,
    shadow: ShadowPolicy | None = None,
) -> dict:
    persona = select_persona(scenario.persona, lang=scenario.lang)
    lang = scenario.lang if scenario.lang in persona.languages else None
    detection = detection if detection is not None else load_detection()
    # the demo key (tutela.runtime, signing key rule step 3), never the production key
    key_path = signing_key_path(db_url, demo=True)
    made_key = not key_path.exists()
    signer = load_signer(db_url, demo=True)
    system = build_live(
        db_url, detection=detection, signer=signer, clock=clock.now, shadow_policy=shadow
    )
    store, recorder = system.store, system.recorder
    try:
        try:
            _check_demo_ledger(store, signer)
        except InputError:
            # refused before anything was written: leave no demo key beside that database, or
            # the signing-key rule (step 2) would pick it for the database's next writer
            if made_key:
                key_path.unlink(missing_ok=True)
            raise
        if isinstance(clock, SimulatedClock):
            _start_after_records(store, clock)
        operation = recorder.ensure_demo_operation()
        hub = MemoryHub(now=clock.now)
        connector = InMemoryConnector(hub, account=persona.id, now=clock.now)
        contact = hub.client(scenario.contact)
        engine = system.engine(
            PersonaEngine,
            connector=connector,
            persona=persona,
            operation_id=operation.id,
            clock=clock,
            lang=lang,
        )
        transcript: list[dict] = []
        decisions: list[dict] = []
        final = Action.CONTINUE
        case_id = None
        await connector.start()
        try:
            for text in scenario.lines:
                await clock.sleep(2.0 + len(text) / CONTACT_TYPING_CPS)
                await contact.say(persona.id, text)
                got = await connector.next_message(timeout=10)
                # what a scripted contact says arrives as an inbound message, never an own line
                assert isinstance(got, InboundMessage)
                msg = dataclasses.replace(
                    got,
                    platform=scenario.platform,
                    sender=dataclasses.replace(got.sender, platform=scenario.platform),
                )
                transcript.append({"from": "contact", "text": text, "at": _iso(msg.received_at)})
                handled = await engine.handle(msg)
                # the in-memory connector gives no durable ids, so no line is a dropped copy
                assert handled is not None
                d = handled.decision
                decisions.append(
                    {
                        "after_line": d.after_line,
                        "action": d.action.value,
                        "risk": round(d.risk, 4),
                        "indicators": list(d.indicators),
                        "rule": d.rule,
                        "reason": d.reason,
                        **({"variant": d.variant} if d.variant else {}),
                    }
                )
                if d.action.rank > final.rank:
                    final = d.action
                case_id = handled.case_id or case_id
                for reply in handled.replies:
                    event = await contact.next_reply(timeout=10)
                    transcript.append({"from": "persona", "text": event.text, "at": _iso(reply.at)})
            for conversation_id, live in engine.sessions.open_by_id().items():
                # the script is over: the conversation ends, as the live path ends one
                live.ended_at = clock.now()
                recorder.end_conversation(
                    conversation_id, ended_at=live.ended_at, reason=DEMO_ENDED
                )
            recorder.checkpoint()
        finally:
            await connector.stop()
    finally:
        system.close()
    return {
        "transcript": transcript,
        "decisions": decisions,
        "final_action": final.value,
        "case_id": case_id,
        "persona": persona.id,
        "db": db_url,
    }


def _check_demo_ledger(store: Store, signer: Signer) -> None:
    """A demo signs with its own demo key (``demo_key_path``): refuse a database whose ledger
    another key signed, or that holds an evidential operation (a production database), so demo
    data never enters it and the demo key never becomes its key."""
    from tutela.store import iter_checkpoints
    from tutela.store.queries.operations import list_operations

    evidential = [op.id for op in list_operations(store) if op.evidential]
    if evidential:  # its next writer would sign that operation's records with the demo key
        raise InputError(
            f"this database holds an evidential operation ({evidential[0]}): run the demo in a "
            "fresh database (omit --db)",
            path=store.url,
        )
    foreign = sorted({c.key_fingerprint for c in iter_checkpoints(store)} - {signer.fingerprint()})
    if foreign:
        raise InputError(
            f"this database's ledger is signed by another key ({foreign[0]}), not the demo key: "
            "run the demo in a fresh database (omit --db)",
            path=store.url,
        )


def _start_after_records(store: Store, clock: SimulatedClock) -> None:
    """Move ``clock`` past the latest instant ``store`` records (a reused database), so this
    run's times follow every earlier run's (module docstring)."""
    from tutela.store.queries.demo import latest_instant

    latest = latest_instant(store)
    if latest is not None and clock.now() <= latest:
        clock.advance((latest - clock.now()).total_seconds() + 1.0)


def _iso(at) -> str:
    return at.isoformat().replace("+00:00", "Z")


def run_demo(
    scenario: Scenario,
    *,
    db_url: str | None = None,
    realtime: bool = False,
    config: str | Path | None = None,
    model: str | Path | None = None,
    shadow_policy: str | Path | None = None,
) -> dict:
    """Run a scenario end to end and return the demo output (see module docstring).

    ``db_url``: ``None`` writes a new SQLite file in a new ``tutela-demo-*`` temporary folder; a
    reused database keeps its contacts (a repeat contact climbs the ladder) and continues the
    deterrence-variant rotation (``tutela.runtime``). ``config``/``model``: the detection config
    and model (``tutela.runtime.load_detection``; default: the packaged ones), loaded before any
    database is touched; so is ``shadow_policy``, a candidate policy evaluated beside the active
    one (``tutela.live.shadow``, never acted on). Raises ``InputError`` for a database another
    key signed, and what ``tutela.runtime`` raises for a bad config, model or key.
    """
    detection = load_detection(config, model)
    shadow = None if shadow_policy is None else load_shadow_policy(shadow_policy)
    if db_url is None:
        folder = Path(tempfile.mkdtemp(prefix=DEMO_FOLDER_PREFIX))
        db_url = f"sqlite:///{folder / 'tutela.db'}"
    clock: Clock = WallClock() if realtime else SimulatedClock(_simulated_start(scenario))
    return asyncio.run(_run(scenario, db_url, clock, detection, shadow))


def _simulated_start(scenario: Scenario) -> datetime:
    """Start of the simulated clock: before now by more than the scenario can take (each line's
    typing time plus two persona replies at the profile's longest delay), so every recorded time
    lies in the past and an export made right after the demo is never dated before the
    conversation's end."""
    delay = select_persona(scenario.persona, lang=scenario.lang).reply_delay_s.max
    span = sum(2.0 + len(t) / CONTACT_TYPING_CPS + 2 * delay for t in scenario.lines)
    return datetime.now(UTC) - timedelta(seconds=span + 1.0)
