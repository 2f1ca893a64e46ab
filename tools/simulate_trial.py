"""Simulate a deterrence trial on a seeded synthetic population and print the trial report.

Usage::

    python tools/simulate_trial.py [--n 3600] [--seed 13] [--db URL] [--markdown | --json]

A temporary SQLite database (unless ``--db``) receives, through the project's own write path
(``Recorder``: operations, contacts, conversations, inbound lines, decisions, outbound warnings,
identity links; ``tutela.store.queries.trials``: registration and allocation; the help-link
counter), a population of ``--n`` contacts across languages (en, nl, de, tl), the shipped
personas of each language and three platforms. Every line is a short synthetic placeholder
("sim line 3"); indicators are synthetic ids of the right categories.

Each contact solicits, is allocated (permuted blocks per language, H6's ``allocate``) and warned
with its arm's variant; then, with the arm's TRUE probabilities (``TRUE_EFFECTS``), it solicits
again in the session, clicks the help link, and comes back within 180 days (uniform delay) --
35 % under its own handle, 65 % under a new handle on another platform, of which only
``--link-rate`` volunteer an identifier seen before (a phone number: the identity linker merges
them); the others stay unlinked, which is why observed re-contact is a lower bound. A returning
linked contact that solicits again is escalated (second warning), sometimes proposed for
referral (the policy's proposal path). Some contacts are recorded under the demo operation and a
non-evidential training operation and allocated all the same (the live path allocates only in
evidential operations, ``tutela.live.actions``; these rows stand for allocations made before an
operation was re-classified): the report must leave them out.

Enrolment runs ``--enrol-days`` (default 365) from 2026-01-05; the report is taken
``--follow-days`` (default 60) after the last enrolment, so later contacts' 90- and 180-day
windows are censored. The seed, the true effects and the report are printed.
"""

from __future__ import annotations

import argparse
import heapq
import json
import random
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tutela.store import Recorder, open_store

ARMS = ("combined", "legal_trace", "legal", "help")
TRUE_EFFECTS: dict[str, dict[str, float]] = {
    # re-contact within 180 days, further solicitation in the session, help-link click
    "combined": {"recontact": 0.15, "further": 0.10, "click": 0.08},
    "legal_trace": {"recontact": 0.20, "further": 0.15, "click": 0.02},
    "legal": {"recontact": 0.21, "further": 0.18, "click": 0.02},
    "help": {"recontact": 0.25, "further": 0.25, "click": 0.10},
}
LANGS = {"en": 0.45, "nl": 0.25, "de": 0.20, "tl": 0.10}
PERSONAS = {"en": ["gb-ellie"], "nl": ["nl-daan", "be-noor"], "de": ["de-lena"], "tl": ["ph-angel"]}
PLATFORMS = ("xmpp", "irc", "matrix")
DISCLOSED = "disclosed"  # tutela.live.engine.DISCLOSED: identifiers volunteered in a chat
START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
SAME_HANDLE = 0.35
PLAN = """Deterrence trial (simulation). Unit: contact identity, allocated at its first warning,
permuted blocks stratified by language. Arms: combined (treatment), legal_trace, legal, help.
Primary outcome: re-contact of any persona on any platform within 90 days (lower bound;
linker recall reported). Secondary: no further solicitation in the session; re-contact within 30
and 180 days; help-link clicks per arm; escalations and referrals. Analysis: Wilson 95 %
intervals, Newcombe differences vs combined; target 20 % -> 15 %, alpha 0.05 two-sided, 80 %.
"""


@dataclass
class Clock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now


@dataclass(order=True)
class Event:
    at: datetime
    order: int
    run: Callable[[], None] = field(compare=False)


@dataclass
class Simulation:
    url: str
    seed: int
    n: int
    trial_name: str
    as_of: datetime
    counts: dict[str, Any]


def _allocate_api(rec: Recorder) -> tuple[Any, Any]:
    """The trial's registration and allocation (``tutela.store.queries.trials``), the arm drawn
    by the registered design (``tutela.policy.trial.TrialDesign``) as the live path does
    (``tutela.live.actions``)."""
    from tutela.policy.trial import TrialDesign
    from tutela.store.queries.trials import allocate, register_trial

    def alloc(recorder: Recorder, *, stratum: str, **kw: Any) -> Any:
        def choose(t: Any, n: int) -> tuple[str, int]:
            place = TrialDesign(t.id, t.arms, t.seed, t.block_size).arm_at(stratum, n)
            return place.arm, place.block_index

        return allocate(recorder, stratum=stratum, choose=choose, **kw)

    return register_trial, alloc


def simulate(
    url: str,
    *,
    n: int = 3600,
    seed: int = 13,
    link_rate: float = 0.8,
    enrol_days: int = 365,
    follow_days: int = 60,
    demo_share: float = 0.04,
    training_share: float = 0.03,
    effects: dict[str, dict[str, float]] | None = None,
) -> Simulation:
    """Build the population in the database ``url`` (empty or new); returns what the report
    needs. Deterministic for a given seed."""
    from tutela.cases.workflow import CaseWorkflow
    from tutela.store.queries.helplinks import count_help_link_click

    effects = effects or TRUE_EFFECTS
    rng = random.Random(seed)
    store = open_store(url)
    clock = Clock(START - timedelta(days=1))
    rec = Recorder(store, signer=None, clock=clock, checkpoint_every=0)
    register_trial, allocate = _allocate_api(rec)
    name = f"sim-{seed}"
    trial = register_trial(
        rec,
        name=name,
        plan_text=PLAN,
        arms=ARMS,
        seed=seed,
        block_size=2 * len(ARMS),
        actor="simulation",
    )
    study = rec.create_operation(
        organisation="Simulated population",
        jurisdiction="none",
        legal_basis="Simulation of the trial analysis; synthetic contacts.",
        authorisation_ref=f"sim-trial-{seed}",
        officer="simulation",
        starts_at=clock.now,
        evidential=True,
    )
    training = rec.create_operation(
        organisation="Training",
        jurisdiction="none",
        legal_basis="Training run; not evidence.",
        authorisation_ref=f"sim-training-{seed}",
        officer="simulation",
        starts_at=clock.now,
        evidential=False,
    )
    demo = rec.ensure_demo_operation()
    counts: dict[str, Any] = {
        "contacts": 0,
        "demo": 0,
        "training": 0,
        "returns": 0,
        "returns_linked": 0,
        "returns_same_handle": 0,
        "returns_unlinked": 0,
        "clicks": 0,
    }
    events: list[Event] = []
    order = [0]

    def later(at: datetime, fn: Callable[[], None]) -> None:
        order[0] += 1
        heapq.heappush(events, Event(at, order[0], fn))

    def conversation(
        op: int, contact: int, persona: str, platform: str, handle: str, lang: str, at: datetime
    ) -> tuple[int, list[int]]:
        clock.now = at
        conv = rec.open_conversation(
            operation_id=op,
            persona_id=persona,
            platform=platform,
            account=f"{persona}@{platform}.sim",
            contact_id=contact,
            lang=lang,
            started_at=at,
        ).id
        return conv, [0]

    def line(
        conv: int,
        lines: list[int],
        handle: str,
        at: datetime,
        action: str,
        indicators: list[str],
        variant: str | None,
        text: str | None = None,
    ) -> tuple[int, int]:
        clock.now = at
        lines[0] += 1
        body = text or f"sim line {lines[0]}"
        msg = rec.record_inbound(
            conversation_id=conv,
            author=handle,
            text=body,
            wire=body.encode(),
            received_at=at,
            contact_line=lines[0],
        )
        d = rec.record_decision(
            conversation_id=conv,
            message_id=msg.id,
            after_line=lines[0],
            action=action,
            risk=0.9 if action != "continue" else 0.2,
            indicators=indicators,
            rule="sim.rule" if variant else "none",
            reason="simulated",
            variant=variant,
        )
        return msg.id, d.id

    def enrol(k: int, at: datetime) -> None:
        lang = rng.choices(list(LANGS), weights=list(LANGS.values()))[0]
        persona = rng.choice(PERSONAS[lang])
        platform = rng.choice(PLATFORMS)
        handle = f"sim-contact-{k}"
        phone = f"+100000{k:07d}"
        kind = rng.random()
        op = study.id
        if kind < demo_share:
            op, counts["demo"] = demo.id, counts["demo"] + 1
        elif kind < demo_share + training_share:
            op, counts["training"] = training.id, counts["training"] + 1
        clock.now = at
        contact = rec.get_or_create_contact(platform, handle, seen_at=at)
        counts["contacts"] += 1
        conv, lines = conversation(op, contact, persona, platform, handle, lang, at)
        t = at
        mid, _ = line(conv, lines, handle, t, "continue", [f"{lang}.age_probe.sim"], None)
        rec.link_identity(contact, DISCLOSED, "phone", phone, mid)  # volunteered early
        t += timedelta(minutes=3)
        inds = [f"{lang}.age_probe.sim", f"{lang}.media_request.sim"]
        clock.now = t
        alloc = allocate(
            rec, trial_id=trial.id, contact_id=contact, conversation_id=conv, stratum=lang
        )
        arm = alloc.arm
        _, _ = line(conv, lines, handle, t, "deter", inds, arm)
        rec.record_outbound(
            conversation_id=conv,
            text=f"sim warning {arm}",
            origin=f"deterrence:{arm}",
            sent_at=t + timedelta(seconds=5),
        )
        eff = effects[arm]
        if rng.random() < eff["further"]:
            t += timedelta(minutes=1)
            line(conv, lines, handle, t, "continue", [*inds, f"{lang}.meeting.sim"], None)
        if rng.random() < eff["click"]:
            clock.now = t
            count_help_link_click(
                rec, trial_id=trial.id, arm=arm, lang=lang, day=t.date().isoformat()
            )
            counts["clicks"] += 1
        if rng.random() < eff["recontact"]:
            delay = timedelta(days=rng.uniform(0.5, 180.0))
            way = rng.random()
            linked = way < SAME_HANDLE or rng.random() < link_rate
            later(
                at + delay,
                lambda: come_back(
                    k,
                    contact,
                    op,
                    lang,
                    platform,
                    handle,
                    phone,
                    way < SAME_HANDLE,
                    linked,
                    at + delay,
                ),
            )

    def come_back(
        k: int,
        contact: int,
        op: int,
        lang: str,
        platform: str,
        handle: str,
        phone: str,
        same: bool,
        linked: bool,
        at: datetime,
    ) -> None:
        counts["returns"] += 1
        persona = rng.choice(PERSONAS[lang])
        if same:
            counts["returns_same_handle"] += 1
            who, new_handle, plat = contact, handle, platform
        else:
            plat = rng.choice([p for p in PLATFORMS if p != platform])
            new_handle = f"sim-other-{k}"
            clock.now = at
            who = rec.get_or_create_contact(plat, new_handle, seen_at=at)
        conv, lines = conversation(op, who, persona, plat, new_handle, lang, at)
        mid, _ = line(conv, lines, new_handle, at, "continue", [], None)
        if not same:
            if linked:
                counts["returns_linked"] += 1
                rec.link_identity(who, DISCLOSED, "phone", phone, mid)  # merges into `contact`
            else:
                counts["returns_unlinked"] += 1
        if linked and rng.random() < 0.5:  # solicits again: second warning, escalated
            arm_now = "combined"  # the variant is irrelevant to the outcome read here
            action = "refer" if rng.random() < 0.2 else "escalate"
            _, did = line(
                conv,
                lines,
                new_handle,
                at + timedelta(minutes=4),
                action,
                [f"{lang}.media_request.sim"],
                arm_now,
            )
            case = rec.get_or_create_case(rec.resolve_contact(who))
            if action == "refer":
                CaseWorkflow(rec).record_policy_proposal(case.id, decision_id=did)

    for k in range(n):
        at = START + timedelta(days=rng.uniform(0, enrol_days))
        later(at, lambda k=k, at=at: enrol(k, at))
    while events:
        heapq.heappop(events).run()
    as_of = START + timedelta(days=enrol_days + follow_days)
    store.close()
    return Simulation(url, seed, n, name, as_of, counts)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=3600, help="contacts (default 3600)")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    ap.add_argument(
        "--link-rate",
        type=float,
        default=0.8,
        help="share of cross-platform returners the linker can join (default 0.8)",
    )
    ap.add_argument("--enrol-days", type=int, default=365)
    ap.add_argument("--follow-days", type=int, default=60)
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    from tutela.research.trial import analyse_trial
    from tutela.research.trial_report import render_report, report_dict

    with tempfile.TemporaryDirectory(prefix="tutela-sim-") as tmp:
        url = args.db or f"sqlite:///{Path(tmp) / 'sim.db'}"
        sim = simulate(
            url,
            n=args.n,
            seed=args.seed,
            link_rate=args.link_rate,
            enrol_days=args.enrol_days,
            follow_days=args.follow_days,
        )
        with open_store(url) as store:
            report = analyse_trial(
                store, trial=sim.trial_name, as_of=sim.as_of, linker_recall=args.link_rate
            )
    if args.json:
        out = {
            "seed": sim.seed,
            "n": sim.n,
            "true_effects": TRUE_EFFECTS,
            "counts": sim.counts,
            "report": report_dict(report),
        }
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
        return 0
    print(
        f"simulated population: seed {sim.seed}, {sim.n} contacts; command: python "
        f"tools/simulate_trial.py --n {sim.n} --seed {sim.seed} --link-rate {args.link_rate}"
    )
    print(
        "true effects (re-contact within 180 d, further solicitation, click): "
        + "; ".join(
            f"{a} {e['recontact']:.2f}/{e['further']:.2f}/{e['click']:.2f}"
            for a, e in TRUE_EFFECTS.items()
        )
    )
    print("population: " + ", ".join(f"{k} {v}" for k, v in sim.counts.items()))
    print()
    sys.stdout.write(render_report(report, "markdown" if args.markdown else "text"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
