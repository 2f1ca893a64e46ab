"""The deterrence trial analysis: interval methods against published values, the power formula,
scope (demo and non-evidential operations left out, the operation filter), censoring of windows
not yet elapsed, the lower-bound re-contact through identity links, help-link clicks per arm, the
report's header (plan hash, stamp before the first allocation), the CLI and a simulated
population whose strong effect the report shows."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from scipy.stats import norm

from tutela.research.stats import returns_after_warning, summary
from tutela.research.trial import analyse_facts, analyse_trial, contact_outcomes
from tutela.research.trial_report import render_report, report_dict
from tutela.research.trial_stats import (
    achieved_power,
    arcsine_n_per_arm,
    newcombe_difference,
    poisson_interval,
    required_n_per_arm,
    wilson_interval,
)
from tutela.store import Recorder, open_store
from tutela.store.queries import trial_outcomes as tq
from tutela.store.queries.helplinks import count_help_link_click

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


# -- interval methods and power -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611),
     (1, 29, 0.0061, 0.1718)],
)  # fmt: skip
def test_wilson_interval_matches_newcombe_1998(k: int, n: int, low: float, high: float) -> None:
    got = wilson_interval(k, n)
    assert (round(got[0], 4), round(got[1], 4)) == (low, high)


def test_wilson_edge_cases() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)
    assert wilson_interval(5, 5)[1] == 1.0
    with pytest.raises(Exception, match="k <= n"):
        wilson_interval(3, 2)


@pytest.mark.parametrize(
    ("k1", "n1", "k2", "n2", "low", "high"),
    [(56, 70, 48, 80, 0.0524, 0.3339), (9, 10, 3, 10, 0.1705, 0.8090),
     (6, 7, 2, 7, 0.0582, 0.8062)],
)  # fmt: skip
def test_newcombe_difference_matches_newcombe_1998(k1, n1, k2, n2, low, high) -> None:
    d, lo, hi = newcombe_difference(k1, n1, k2, n2)
    assert d == pytest.approx(k1 / n1 - k2 / n2)
    assert (round(lo, 4), round(hi, 4)) == (low, high)


def test_poisson_interval_garwood() -> None:
    assert poisson_interval(10, 1.0) == pytest.approx((4.7954, 18.3904), abs=1e-4)
    assert poisson_interval(0, 2.0) == pytest.approx((0.0, 3.6889 / 2), abs=1e-4)


def test_power_formula() -> None:
    # textbook: 0.60 vs 0.40, alpha 0.05 two-sided, 80 % -> 97 per group (Fleiss et al. 2003)
    assert required_n_per_arm(0.6, 0.4) == 97
    # the plan's target, checked against the formula written out with scipy's quantiles
    za, zb = norm.ppf(0.975), norm.ppf(0.8)
    exact = (za * math.sqrt(2 * 0.175 * 0.825) + zb * math.sqrt(0.2 * 0.8 + 0.15 * 0.85)) ** 2
    exact /= 0.05**2
    assert required_n_per_arm(0.20, 0.15) == math.ceil(exact) == 906
    assert arcsine_n_per_arm(0.20, 0.15) == 903  # Cohen's h: the "about 900"
    assert achieved_power(0.2, 0.15, 906, 906) >= 0.80 > achieved_power(0.2, 0.15, 905, 905)
    assert achieved_power(0.2, 0.15, 100, 100) < 0.2
    assert achieved_power(0.2, 0.15, 0, 10) == 0.0


# -- a small hand-built store --------------------------------------------------------------------


@dataclass
class Clock:
    now: datetime = T0 - timedelta(days=2)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Built:
    url: str
    trial_id: int
    trial_name: str
    ops: dict[str, int]
    arms: dict[str, str] = field(default_factory=dict)  # contact label -> arm
    as_of: datetime = T0 + timedelta(days=200)


def _register(rec: Recorder, **kw):
    from tutela.policy.trial import TrialDesign
    from tutela.store.queries import trials

    def allocate(recorder: Recorder, *, stratum: str, **args):
        def choose(t, n):
            place = TrialDesign(t.id, t.arms, t.seed, t.block_size).arm_at(stratum, n)
            return place.arm, place.block_index

        return trials.allocate(recorder, stratum=stratum, choose=choose, **args)

    return trials.register_trial(rec, **kw), allocate


def _line(rec, clock, conv, n, author, at, action, inds, variant):
    clock.now = at
    msg = rec.record_inbound(
        conversation_id=conv, author=author, text=f"synthetic line {n}", wire=b"x",
        received_at=at, contact_line=n,
    )  # fmt: skip
    return rec.record_decision(
        conversation_id=conv, message_id=msg.id, after_line=n, action=action, risk=0.5,
        indicators=inds, rule="test", reason="test", variant=variant,
    ), msg  # fmt: skip


def _conv(rec, clock, op, contact, platform, at, lang="en"):
    clock.now = at
    return rec.open_conversation(
        operation_id=op, persona_id="gb-ellie", platform=platform, account="decoy",
        contact_id=contact, lang=lang, started_at=at,
    ).id  # fmt: skip


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    url = f"sqlite:///{tmp_path_factory.mktemp('trial') / 'trial.db'}"
    store = open_store(url)
    clock = Clock()
    rec = Recorder(store, signer=None, clock=clock)

    def op(ref: str, evidential: bool) -> int:
        return rec.create_operation(
            organisation="Test", jurisdiction="none", legal_basis="test", authorisation_ref=ref,
            officer="test", starts_at=clock.now, evidential=evidential,
        ).id  # fmt: skip

    ops = {"e1": op("e1", True), "e2": op("e2", True), "train": op("t", False)}
    ops["demo"] = rec.ensure_demo_operation().id
    trial, allocate = _register(
        rec, name="t-1", plan_text="plan of the test trial", arms=("combined", "legal"),
        seed=7, block_size=2, actor="test", timestamp_token=b"token",
        timestamped_at=T0 - timedelta(days=1),
    )  # fmt: skip
    b = Built(url, trial.id, trial.name, ops)
    media, meet = "en.media_request.cam", "en.meeting.meet"

    def warned(label: str, op_id: int, at: datetime, platform: str = "xmpp") -> tuple[int, int]:
        clock.now = at
        contact = rec.get_or_create_contact(platform, f"h-{label}", seen_at=at)
        conv = _conv(rec, clock, op_id, contact, platform, at)
        _line(rec, clock, conv, 1, label, at, "continue", [], None)
        alloc = allocate(rec, trial_id=trial.id, contact_id=contact, conversation_id=conv,
                         stratum="en")  # fmt: skip
        b.arms[label] = alloc.arm
        _line(rec, clock, conv, 2, label, at + timedelta(minutes=1), "deter", [media], alloc.arm)
        return contact, conv

    # a: returns after 10 days under its own handle, then is escalated there
    a, _ = warned("a", ops["e1"], T0)
    conv = _conv(rec, clock, ops["e1"], a, "xmpp", T0 + timedelta(days=10))
    _line(rec, clock, conv, 1, "a", T0 + timedelta(days=10), "escalate", [media], "combined")
    # b: never returns; solicits again in the session (a new solicitation indicator)
    _, conv_b = warned("b", ops["e1"], T0 + timedelta(hours=1))
    _line(rec, clock, conv_b, 3, "b", T0 + timedelta(hours=1, minutes=3), "continue",
          [media, meet], None)  # fmt: skip
    # c (operation e2): a harmless line after the warning (no further solicitation); returns
    # after 50 days under another handle on another platform, linked by a volunteered phone
    c, conv_c = warned("c", ops["e2"], T0 + timedelta(hours=2))
    _, msg = _line(rec, clock, conv_c, 3, "c", T0 + timedelta(hours=2, minutes=5), "continue",
                   [media], None)  # fmt: skip
    rec.link_identity(c, "disclosed", "phone", "+15550001", msg.id)
    at = T0 + timedelta(days=50)
    clock.now = at
    other = rec.get_or_create_contact("irc", "h-c-other", seen_at=at)
    conv = _conv(rec, clock, ops["e2"], other, "irc", at)
    _, msg = _line(rec, clock, conv, 1, "c2", at, "continue", [], None)
    assert rec.link_identity(other, "disclosed", "phone", "+15550001", msg.id).contact_id == c
    # d: returns after 20 days under another handle that is never linked (missed by the linker)
    warned("d", ops["e1"], T0 + timedelta(hours=3))
    at = T0 + timedelta(days=20)
    clock.now = at
    stranger = rec.get_or_create_contact("matrix", "h-d-other", seen_at=at)
    _line(rec, clock, _conv(rec, clock, ops["e1"], stranger, "matrix", at), 1, "d2", at,
          "continue", [], None)  # fmt: skip
    # e: warned 150 days in (as_of = day 200): 30 days elapsed, 90 and 180 censored
    warned("e", ops["e1"], T0 + timedelta(days=150))
    # f: training operation; g: demo operation (both allocated, both left out)
    f, _ = warned("f", ops["train"], T0 + timedelta(hours=4))
    _line(rec, clock, _conv(rec, clock, ops["train"], f, "xmpp", T0 + timedelta(days=3)), 1,
          "f", T0 + timedelta(days=3), "continue", [], None)  # fmt: skip
    warned("g", ops["demo"], T0 + timedelta(hours=5))
    for label in ("a", "a", "b"):
        count_help_link_click(rec, trial_id=trial.id, arm=b.arms[label], lang="en",
                              day=T0.date().isoformat())  # fmt: skip
    store.close()
    return b


def _facts(built: Built) -> tq.TrialOutcomeFacts:
    with open_store(built.url) as store:
        return tq.trial_outcome_facts(store, built.trial_id)


def test_contact_outcomes_scope_and_definitions(built: Built) -> None:
    rows, excluded = contact_outcomes(_facts(built), as_of=built.as_of)
    assert (excluded.demo, excluded.non_evidential, excluded.filtered_out) == (1, 1, 0)
    assert len(rows) == 5  # a b c d e; f (training) and g (demo) left out
    by = {r.allocated_at: r for r in rows}
    a, b, c, d, e = (by[t] for t in sorted(by))
    assert all(r.warned for r in rows)
    assert (a.further_solicitation, b.further_solicitation, c.further_solicitation) == (
        False, True, False,
    )  # fmt: skip
    assert a.recontact == {30: True, 90: True, 180: True}
    assert b.recontact == {30: False, 90: False, 180: False}
    assert c.recontact == {30: False, 90: True, 180: True}  # found through the identity link
    assert d.recontact == {30: False, 90: False, 180: False}  # unlinked: the lower bound
    assert e.recontact == {30: False, 90: None, 180: None}  # censored, not "no re-contact"
    assert (a.escalated, b.escalated) == (True, False)


def test_windows_report_at_risk_and_censored(built: Built) -> None:
    report = analyse_facts(_facts(built), as_of=built.as_of, linker_recall=0.5)
    total = {w: (0, 0, 0) for w in (30, 90, 180)}
    for arm in report.pooled:
        for w in arm.recontact:
            k, n, cens = total[w.days]
            total[w.days] = (k + w.proportion.k, n + w.proportion.n, cens + w.censored)
            if w.proportion.rate is not None:
                assert w.upper_if_recall == pytest.approx(min(1.0, w.proportion.rate / 0.5))
    assert total == {30: (1, 5, 0), 90: (2, 4, 1), 180: (2, 4, 1)}
    assert sum(a.allocated for a in report.pooled) == 5
    assert sum(a.clicks for a in report.pooled) == 3
    clicks = {a.arm: a.clicks for a in report.pooled}
    expected = {arm: 0 for arm in ("combined", "legal")}
    for label in ("a", "a", "b"):
        expected[built.arms[label]] += 1
    assert clicks == expected


def test_operation_filter(built: Built) -> None:
    facts = _facts(built)
    only_e2 = analyse_facts(facts, as_of=built.as_of, operations=[built.ops["e2"]])
    assert sum(a.allocated for a in only_e2.pooled) == 1
    assert only_e2.operations == (built.ops["e2"],)
    assert only_e2.exclusions.filtered_out == 4
    # asking for the demo operation by id still analyses nothing of it
    demo = analyse_facts(facts, as_of=built.as_of, operations=[built.ops["demo"]])
    assert sum(a.allocated for a in demo.pooled) == 0 and demo.exclusions.demo == 1


def test_report_header_and_renderings(built: Built) -> None:
    with open_store(built.url) as store:
        report = analyse_trial(store, trial=built.trial_name, as_of=built.as_of)
    assert report.stamped_before_first_allocation is True
    assert report.registered_before_first_allocation is True
    d = report_dict(report)
    assert json.loads(json.dumps(d)) == d
    assert d["trial"]["plan_sha256"] == report.trial.plan_sha256
    assert d["trial"]["timestamped_at"] == "2026-03-01T09:00:00Z"
    assert d["power"]["required_n_per_arm"] == 906
    assert {c["comparator"] for c in d["comparisons"]} == {"legal"}
    for fmt in ("text", "markdown"):
        text = render_report(report, fmt)
        assert (
            report.trial.plan_sha256 in text and "stamped before the first allocation: yes" in text
        )
        assert "h-a" not in text and "synthetic line" not in text  # nothing identifying


def test_unstamped_plan_is_flagged(built: Built) -> None:
    from dataclasses import replace

    facts = _facts(built)
    late = replace(facts.trial, timestamped_at=facts.first_allocated_at + timedelta(seconds=1))
    assert analyse_facts(replace(facts, trial=late)).stamped_before_first_allocation is False
    none = replace(facts.trial, timestamped_at=None, timestamp_token=None)
    report = analyse_facts(replace(facts, trial=none), as_of=built.as_of)
    assert report.stamped_before_first_allocation is False
    assert "not stamped" in render_report(report)


def test_research_stats_deterrence_excludes_demo_and_filters(built: Built) -> None:
    with open_store(built.url) as store:
        rates = returns_after_warning(store)
        # warned: a b d e (e1) and c (e2), never f (training) nor g (demo); returned: a, c
        assert sum(r.warned for r in rates.values()) == 5
        assert sum(r.returned for r in rates.values()) == 2
        only = returns_after_warning(store, operations=[built.ops["e2"]])
        assert sum(r.warned for r in only.values()) == 1
        assert returns_after_warning(store, operations=[built.ops["demo"]]) == {}
        s = summary(store)
    for r in s["returns_after_warning"].values():
        assert 0.0 <= r["low"] <= r["rate"] <= r["high"] <= 1.0


def test_cli_trial_report(built: Built, capsys: pytest.CaptureFixture[str]) -> None:
    from tutela.cli import main

    def run(argv: list[str]) -> int:
        with pytest.raises(SystemExit) as exc:
            main(argv)
        return int(exc.value.code or 0)

    assert run(["research", "trial-report", "--db", built.url, "--json",
                "--operation", str(built.ops["e1"])]) == 0  # fmt: skip
    out = json.loads(capsys.readouterr().out)
    assert out["operations"] == [built.ops["e1"]]
    assert sum(a["allocated"] for a in out["pooled"]) == 4
    assert run(["research", "trial-report", "--db", built.url, "--markdown"]) == 0
    assert "| arm |" in capsys.readouterr().out
    assert run(["research", "trial-report", "--db", built.url, "--trial", "nope"]) == 2


# -- a simulated population ----------------------------------------------------------------------


@pytest.mark.slow
def test_simulated_population_shows_a_strong_effect(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location(
        "simulate_trial", ROOT / "tools/simulate_trial.py"
    )
    assert spec is not None and spec.loader is not None
    sim_mod = importlib.util.module_from_spec(spec)
    sys.modules["simulate_trial"] = sim_mod  # dataclasses resolve annotations through it
    spec.loader.exec_module(sim_mod)
    strong = {arm: {"recontact": 0.0, "further": 0.0, "click": 0.0} for arm in sim_mod.ARMS}
    strong["help"] = {"recontact": 1.0, "further": 1.0, "click": 1.0}
    url = f"sqlite:///{tmp_path / 'sim.db'}"
    sim = sim_mod.simulate(url, n=48, seed=5, enrol_days=5, follow_days=200, effects=strong,
                           demo_share=0.1, training_share=0.1)  # fmt: skip
    with open_store(url) as store:
        report = analyse_trial(store, trial=sim.trial_name, as_of=sim.as_of)
    assert report.exclusions.demo + report.exclusions.non_evidential > 0
    diff = {(c.comparator, c.outcome): c for c in report.comparisons}
    help_180 = diff[("help", "recontact_180d")]
    assert help_180.high < 0  # combined - help: clearly negative
    assert diff[("legal", "recontact_180d")].low <= 0 <= diff[("legal", "recontact_180d")].high
    pooled = {a.arm: a for a in report.pooled}
    # every help contact clicked; the counter is not scoped (demo/training clicks count too)
    assert pooled["help"].clicks >= pooled["help"].allocated > 0
    assert pooled["combined"].clicks == 0
    assert pooled["help"].no_further_solicitation.k == 0
