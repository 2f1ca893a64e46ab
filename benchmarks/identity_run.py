"""Runs an identity suite (``benchmarks/identity_suite.py``) through the live path and scores
the store's links against the truth.

:func:`run_suite` builds a live system (:func:`tutela.runtime.build_live`, unsigned, simulated
clock) and one :class:`~tutela.live.engine.PersonaEngine` per persona on an in-memory hub, and
sends every conversation's lines through ``engine.handle`` with the platform rewritten (as
``tests/live`` do), so the store's own linker decides. :func:`score` compares the resolved contacts
(after merges) with the truth over all conversation pairs (same true person <-> same resolved
contact) and checks that every ``contacts_merged`` audit row cites both evidence lines: the
message that first volunteered the identifier (the identity's ``source_message_id``) and the
message that repeated it, each a stored line from which the identifier is read again.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import itertools
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from tutela.connectors import InMemoryConnector, MemoryHub
from tutela.detect.identifiers import extract_identifiers
from tutela.live.clock import SimulatedClock
from tutela.live.engine import PersonaEngine
from tutela.runtime import Detection, build_live, select_persona
from tutela.store.queries.cases import reading
from tutela.store.queries.dashboard import audit_log

try:  # run as a script from benchmarks/ or imported as benchmarks.identity_run
    from identity_suite import CALLING, COUNTRY_OF, KINDS, Suite
except ImportError:  # imported as benchmarks.identity_run (the tests)
    from benchmarks.identity_suite import CALLING, COUNTRY_OF, KINDS, Suite

__all__ = ["Figures", "Outcome", "run_suite", "score"]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the store decided: conversation index -> (conversation id, resolved contact id),
    the ``contacts_merged`` audit rows' details, the messages by id ``(conversation, seq, text)``
    and each conversation's persona."""

    resolved: dict[int, tuple[int, int]]
    merges: list[dict[str, Any]]
    messages: dict[int, tuple[int, int, str]]
    persona_of: dict[int, str]  # conversation id -> persona


async def _run(suite: Suite, detection: Detection | None, url: str) -> Outcome:
    clock = SimulatedClock()
    system = build_live(url, detection=detection, signer=None, clock=clock.now)
    try:
        op = system.recorder.ensure_demo_operation()
        hub = MemoryHub(now=clock.now)
        engines: dict[str, tuple[InMemoryConnector, PersonaEngine]] = {}
        for persona_id in COUNTRY_OF:
            conn = InMemoryConnector(hub, account=persona_id, now=clock.now)
            engine = system.engine(
                PersonaEngine,
                connector=conn,
                persona=select_persona(persona_id),
                operation_id=op.id,
                clock=clock,
                delay_scale=0.0,
            )
            await conn.start()
            engines[persona_id] = (conn, engine)
        handled: dict[int, tuple[int, int]] = {}
        for i, conv in enumerate(suite.conversations):
            conn, engine = engines[conv.persona]
            contact = hub.client(conv.sender)
            for text in conv.lines:
                await contact.say(conv.persona, text)
                msg = await conn.next_message(timeout=5)
                msg = dataclasses.replace(
                    msg,
                    platform=conv.platform,
                    sender=dataclasses.replace(msg.sender, platform=conv.platform),
                )
                h = await engine.handle(msg)
                handled[i] = (h.conversation_id, h.contact_id)
                while contact.pending():
                    await contact.next_reply(timeout=1)
            clock.advance(12 * 3600)
        for conn, _ in engines.values():
            await conn.stop()
        recorder, store = system.recorder, system.store
        resolved = {i: (conv, recorder.resolve_contact(c)) for i, (conv, c) in handled.items()}
        merges = [
            dict(r.details) for r in audit_log(store, limit=10**7) if r.action == "contacts_merged"
        ]
        conv_ids = sorted({c for c, _ in resolved.values()})
        with reading(store) as reads:
            msgs = {
                m.id: (m.conversation_id, m.seq, m.text or "") for m in reads.messages(conv_ids)
            }
            persona_of = {}
            for c in conv_ids:
                rec = reads.conversation(c)
                if rec is not None:
                    persona_of[c] = rec.persona_id
        return Outcome(resolved, merges, msgs, persona_of)
    finally:
        system.close()


def run_suite(suite: Suite, detection: Detection | None = None, url: str = "sqlite://") -> Outcome:
    """Run every conversation of ``suite`` through the live path on a new store at ``url``."""
    return asyncio.run(_run(suite, detection, url))


# -- scoring ---------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Figures:
    """Pair counts and rates of one kind (or ``all``)."""

    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f05(self) -> float:
        p, r = self.precision, self.recall
        return 1.25 * p * r / (0.25 * p + r) if p + r else 0.0


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def _cites(outcome: Outcome, message_id: Any, kind: str, value_sha: str) -> bool:
    """True when message ``message_id`` is a stored line that yields the identifier itself."""
    if not isinstance(message_id, int) or message_id not in outcome.messages:
        return False
    conv, _, text = outcome.messages[message_id]
    region = COUNTRY_OF.get(outcome.persona_of.get(conv, ""))
    code = CALLING.get(region or "")
    found = extract_identifiers(text) + extract_identifiers(text, country_code=code)
    with contextlib.suppress(TypeError):  # an extractor without regions (before the fixes)
        found += extract_identifiers(text, region=region)
    return any(i.kind == kind and _sha(i.value) == value_sha for i in found)


def score(suite: Suite, outcome: Outcome) -> dict[str, Any]:
    """Pairwise figures per kind and overall, and the evidence citation shares.

    Returns ``{"kinds": {kind: Figures}, "all": Figures, "merges": n, "cited": share of merges
    whose audit row cites both evidence lines, "cited_repeat": share citing the repeating line,
    "cited_first": share citing the first line, "false_pairs": [(person, person, label)]}``.
    """
    truth = [c.person for c in suite.conversations]
    contact = [outcome.resolved[i][1] for i in range(len(truth))]
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    false_pairs: set[tuple[int, int, str]] = set()
    for i, j in itertools.combinations(range(len(truth)), 2):
        same = truth[i] == truth[j]
        linked = contact[i] == contact[j]
        if same:
            label = suite.link_kind.get(truth[i], "other")
        else:
            label = suite.negative_kind.get(frozenset((truth[i], truth[j])), "other")
        if same and linked:
            counts[label][0] += 1
        elif linked:
            counts[label][1] += 1
            a, b = sorted((truth[i], truth[j]))
            false_pairs.add((a, b, label))
        elif same:
            counts[label][2] += 1
    kinds = {k: Figures(*counts[k]) for k in (*KINDS, "other")}
    total = Figures(*(sum(v[n] for v in counts.values()) for n in range(3)))
    n = len(outcome.merges)
    repeat = sum(
        _cites(outcome, m.get("source_message_id"), m["kind"], m["value_sha256"])
        for m in outcome.merges
    )
    first = sum(
        _cites(outcome, m.get("identity_source_message_id"), m["kind"], m["value_sha256"])
        for m in outcome.merges
    )
    both = sum(
        _cites(outcome, m.get("source_message_id"), m["kind"], m["value_sha256"])
        and _cites(outcome, m.get("identity_source_message_id"), m["kind"], m["value_sha256"])
        for m in outcome.merges
    )
    return {
        "kinds": kinds,
        "all": total,
        "merges": n,
        "cited": both / n if n else 1.0,
        "cited_repeat": repeat / n if n else 1.0,
        "cited_first": first / n if n else 1.0,
        "false_pairs": sorted(false_pairs),
    }
