"""The deterrence trial's analysis: outcomes per arm, per stratum and pooled, with 95 % intervals,
the comparisons with the comparator arms and the achieved power (issue 13, item 6).

:func:`analyse_trial` reads one snapshot (:func:`tutela.store.queries.trial_outcomes.
trial_outcome_facts`) and returns a :class:`TrialReport`; :mod:`tutela.research.trial_report`
renders it as text, Markdown or JSON. The methods (Wilson, Newcombe, Garwood, Fleiss) and their
sources are in :mod:`tutela.research.trial_stats`.

Unit and scope
--------------
The unit is an allocated contact (``trial_allocations``: one per contact identity and trial, at
its first warning, in the stratum of that conversation's language), resolved to the surviving
contact after identity merges; two allocations that a later merge shows to be one person count
once, with the earlier allocation (``merged_duplicates``). Only allocations made in a
conversation of an operation *in the study* count: evidential and not the demonstration operation
(:class:`~tutela.store.queries.trial_outcomes.OperationScope`); ``operations`` narrows that to
the given operation ids. Re-contacts, escalations and further solicitations are searched in the
same in-scope conversations only. Arms are analysed as allocated (intention to treat).

Outcomes (time zero: the allocation, ``allocated_at`` and its ledger entry, written just before
the first warning is sent)
--------------------------------------------------------------------------------------------------
no further solicitation in the session
    Among allocated contacts whose allocation conversation holds a warning decision
    (:func:`tutela.domain.is_warning`, the first one in ledger order is *the* warning): no later
    decision of that conversation (ledger order) took an action in
    :data:`tutela.domain.WARNING_ACTIONS` or listed an indicator of a solicitation category
    (:data:`tutela.research.stats.SOLICITATION_CATEGORIES`) that no decision up to the warning
    had listed. (Decisions list every indicator seen so far in the conversation, so only a new
    one shows a new solicitation; a repeat of an earlier indicator counts only when the policy
    acted on it.) Lines after the warning are recorded even when the persona has stopped.
re-contact within 30/90/180 days (a LOWER BOUND)
    Another conversation of the same (resolved) contact, with any persona on any platform, whose
    first ledger entry follows the allocation and which started within the window. Identity
    linking misses links, so an observed proportion ``p`` is a lower bound of the true one: if
    the linker finds a cross-identity return with probability ``r`` (its measured recall,
    :data:`LINKER_RECALL`; a return under the same handle is always found), the proportion
    corrected for the measured misses is ``p / r``; the report prints both (``high / r`` for the
    interval). With random
    allocation the miss rate is the same in every arm, so arm differences are attenuated (by at
    most ``r``), not reversed.
    *Censoring*: a contact whose window has not elapsed at ``as_of`` (``allocated_at + days >
    as_of``) is censored for that window and left out of its denominator (``at_risk``), even if
    it already came back: counting early returns of incomplete follow-up would bias the
    proportion upwards. ``censored`` is reported beside ``at_risk``.
help-link clicks
    Aggregate counts per arm (and per language = stratum) from ``help_link_clicks``; clicks
    cannot be tied to contacts (the redirect stores nothing identifying), so they are given as
    a rate per allocated contact with an exact Poisson interval, not as a proportion. The click
    counter is not scoped by operation (it does not know one).
escalated / referral proposed / referral approved
    A later decision (after the warning, ledger order) in scope with action ``escalate`` or
    ``refer``; a referral of the contact's case proposed at or after ``allocated_at``; of those,
    approved by a human.

Proportions carry Wilson 95 % intervals; each comparator arm is compared with the treatment arm
(``combined`` when the trial has it, else its first arm) by the difference ``treatment -
comparator`` with Newcombe's interval. Power is the two-proportion normal approximation for the
plan's target (re-contact 20 % in a comparator vs 15 % in the treatment, alpha 0.05 two-sided).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from tutela.domain import WARNING_ACTIONS, is_warning
from tutela.errors import InputError
from tutela.research.stats import SOLICITATION_CATEGORIES, indicator_category
from tutela.research.trial_records import (
    ArmOutcomes,
    Comparison,
    ContactOutcome,
    Exclusions,
    PowerLine,
    Proportion,
    TrialReport,
    WindowOutcome,
)
from tutela.research.trial_stats import (
    DEFAULT_CONFIDENCE,
    achieved_power,
    arcsine_n_per_arm,
    newcombe_difference,
    poisson_interval,
    required_n_per_arm,
)
from tutela.store import Store
from tutela.store.queries import trial_outcomes as tq

__all__ = [
    "ALPHA",
    "ESCALATION_ACTIONS",
    "LINKER_RECALL",
    "POWER",
    "TARGET_COMPARATOR",
    "TARGET_TREATMENT",
    "TREATMENT_ARM",
    "WINDOWS_DAYS",
    "ArmOutcomes",
    "Comparison",
    "ContactOutcome",
    "Exclusions",
    "PowerLine",
    "Proportion",
    "TrialReport",
    "WindowOutcome",
    "analyse_facts",
    "analyse_trial",
    "contact_outcomes",
]

WINDOWS_DAYS: tuple[int, ...] = (30, 90, 180)
"""Follow-up windows of the re-contact outcome, in days after the allocation."""
LINKER_RECALL = 0.878
"""Recall of identity linking (share of true cross-identity returns the linker attributes to the
right contact), measured by the synthetic multi-platform suite (``docs/identity-linking.md``:
``python benchmarks/bench_identity.py --contacts 200 --seed 0``, 2026-12-01: pairwise recall
0.878 at precision 1.000). That suite's returners all repeat an identifier (in forms the linker
partly cannot read); a real returner who repeats none cannot be linked at all, so real recall is
lower and ``p / LINKER_RECALL`` is a correction for the measured misses, not a proven ceiling."""
TARGET_COMPARATOR = 0.20
"""Plan's assumed re-contact proportion under a comparator arm (issue 13: 20 % -> 15 %)."""
TARGET_TREATMENT = 0.15
"""Plan's target re-contact proportion under the treatment (combined) arm."""
ALPHA = 0.05
"""Two-sided significance level of the plan."""
POWER = 0.80
"""Power the plan's sample size is computed for."""
TREATMENT_ARM = "combined"
"""The arm every comparator is compared with, when the trial has it (else its first arm)."""
ESCALATION_ACTIONS = frozenset({"escalate", "refer"})


def _solicitation_indicators(indicators: Iterable[str]) -> set[str]:
    return {i for i in indicators if indicator_category(i) in SOLICITATION_CATEGORIES}


def _further_solicitation(decisions: Sequence[tq.DecisionFacts]) -> tuple[bool, bool | None, int]:
    """``(warned, further, warning_seq)`` for one conversation's decisions (ledger order)."""
    seen: set[str] = set()
    warning_seq: int | None = None
    further = False
    for d in decisions:
        if warning_seq is None:
            seen |= _solicitation_indicators(d.indicators)
            if is_warning(d.action, d.variant):
                warning_seq = d.ledger_seq
            continue
        if d.action in WARNING_ACTIONS or _solicitation_indicators(d.indicators) - seen:
            further = True
            break
    if warning_seq is None:
        return (False, None, 0)
    return (True, further, warning_seq)


def _scope(
    facts: tq.TrialOutcomeFacts, operations: Iterable[int] | None
) -> tuple[frozenset[int], dict[int, tq.OperationScope]]:
    wanted = None if operations is None else frozenset(operations)
    by_id = {o.id: o for o in facts.operations}
    ok = frozenset(
        o.id for o in facts.operations if o.in_study and (wanted is None or o.id in wanted)
    )
    return ok, by_id


def contact_outcomes(
    facts: tq.TrialOutcomeFacts,
    *,
    as_of: datetime,
    operations: Iterable[int] | None = None,
    windows: Sequence[int] = WINDOWS_DAYS,
) -> tuple[list[ContactOutcome], Exclusions]:
    """Every in-scope allocated contact's :class:`ContactOutcome` and what was left out
    (module docstring), in allocation order. ``as_of``: aware; the end of follow-up."""
    if as_of.tzinfo is None:
        raise InputError("as_of must be an aware datetime")
    scope, op_by_id = _scope(facts, operations)
    excluded: dict[str, int] = defaultdict(int)
    convs_of: dict[int, list[tq.ConversationFacts]] = defaultdict(list)
    for c in facts.conversations:
        if c.operation_id in scope:
            convs_of[c.contact_id].append(c)
    decisions_of: dict[int, list[tq.DecisionFacts]] = defaultdict(list)
    for d in facts.decisions:
        decisions_of[d.conversation_id].append(d)
    cases_of: dict[int, set[int]] = defaultdict(set)
    for case in facts.cases:
        cases_of[case.contact_id].add(case.id)
    out: list[ContactOutcome] = []
    done: set[int] = set()
    for a in sorted(facts.allocations, key=lambda x: x.ledger_seq):
        if a.contact_id in done:
            excluded["merged_duplicates"] += 1
            continue
        done.add(a.contact_id)
        op = None if a.operation_id is None else op_by_id.get(a.operation_id)
        if op is None or a.conversation_id is None:
            excluded["no_operation"] += 1
            continue
        if op.id not in scope:
            key = "demo" if op.demo else "non_evidential" if not op.evidential else "filtered_out"
            excluded[key] += 1
            continue
        warned, further, w_seq = _further_solicitation(decisions_of.get(a.conversation_id, ()))
        after = w_seq if warned else a.ledger_seq
        mine = convs_of.get(a.contact_id, [])
        delays = [
            max(timedelta(0), c.started_at - a.allocated_at)
            for c in mine
            if c.id != a.conversation_id and c.first_seq > a.ledger_seq
        ]
        first_back = min(delays, default=None)
        recontact: dict[int, bool | None] = {}
        for days in windows:
            window = timedelta(days=days)
            if a.allocated_at + window > as_of:
                recontact[days] = None
            else:
                recontact[days] = first_back is not None and first_back <= window
        escalated = any(
            d.action in ESCALATION_ACTIONS and d.ledger_seq > after
            for c in mine
            for d in decisions_of.get(c.id, ())
        )
        refs = [
            r
            for r in facts.referrals
            if r.case_id in cases_of.get(a.contact_id, ()) and r.proposed_at >= a.allocated_at
        ]
        out.append(
            ContactOutcome(
                arm=a.arm,
                stratum=a.stratum,
                operation_id=op.id,
                allocated_at=a.allocated_at,
                warned=warned,
                further_solicitation=further,
                recontact=recontact,
                escalated=escalated,
                referral_proposed=bool(refs),
                referral_approved=any(r.status == "approved" for r in refs),
            )
        )
    return out, Exclusions(**excluded)


def _arm_outcomes(
    arm: str,
    stratum: str | None,
    rows: Sequence[ContactOutcome],
    clicks: int,
    windows: Sequence[int],
    recall: float,
    confidence: float,
) -> ArmOutcomes:
    n = len(rows)
    warned = [r for r in rows if r.warned]
    windows_out = []
    for days in windows:
        known = [r.recontact[days] for r in rows if r.recontact.get(days) is not None]
        p = Proportion.of(sum(1 for v in known if v), len(known), confidence)
        windows_out.append(
            WindowOutcome(
                days=days,
                proportion=p,
                censored=n - len(known),
                upper_if_recall=None if p.rate is None else min(1.0, p.rate / recall),
                high_if_recall=min(1.0, p.high / recall),
            )
        )
    per_contact = None
    if n:
        low, high = poisson_interval(clicks, n, confidence)
        per_contact = (clicks / n, low, high)
    return ArmOutcomes(
        arm=arm,
        stratum=stratum,
        allocated=n,
        warned=len(warned),
        no_further_solicitation=Proportion.of(
            sum(1 for r in warned if r.further_solicitation is False), len(warned), confidence
        ),
        recontact=tuple(windows_out),
        escalated=Proportion.of(sum(r.escalated for r in rows), n, confidence),
        referral_proposed=Proportion.of(sum(r.referral_proposed for r in rows), n, confidence),
        referral_approved=Proportion.of(sum(r.referral_approved for r in rows), n, confidence),
        clicks=clicks,
        clicks_per_contact=per_contact,
    )


def _outcome_props(a: ArmOutcomes) -> dict[str, Proportion]:
    props = {"no_further_solicitation": a.no_further_solicitation}
    props |= {f"recontact_{w.days}d": w.proportion for w in a.recontact}
    props |= {
        "escalated": a.escalated,
        "referral_proposed": a.referral_proposed,
        "referral_approved": a.referral_approved,
    }
    return props


def analyse_facts(
    facts: tq.TrialOutcomeFacts,
    *,
    as_of: datetime | None = None,
    operations: Iterable[int] | None = None,
    linker_recall: float = LINKER_RECALL,
    target: tuple[float, float] = (TARGET_COMPARATOR, TARGET_TREATMENT),
    alpha: float = ALPHA,
    power: float = POWER,
    treatment: str | None = None,
    windows: Sequence[int] = WINDOWS_DAYS,
    confidence: float = DEFAULT_CONFIDENCE,
) -> TrialReport:
    """:func:`analyse_trial` on facts already read (tests, the simulation)."""
    if not 0.0 < linker_recall <= 1.0:
        raise InputError(f"linker recall must be in (0, 1], got {linker_recall!r}")
    as_of = as_of or datetime.now(UTC)
    ops = None if operations is None else tuple(sorted(set(operations)))
    rows, excluded = contact_outcomes(facts, as_of=as_of, operations=ops, windows=windows)
    arms = facts.trial.arms
    treat = treatment or (TREATMENT_ARM if TREATMENT_ARM in arms else arms[0])
    if treat not in arms:
        raise InputError(f"arm {treat!r} is not an arm of trial {facts.trial.name!r}: {arms}")
    comparators = tuple(a for a in arms if a != treat)
    clicks: dict[tuple[str, str], int] = defaultdict(int)
    for c in facts.clicks:
        clicks[(c.arm, c.lang)] += c.clicks
    strata = sorted({r.stratum for r in rows} | {lang for _, lang in clicks})
    args = (windows, linker_recall, confidence)
    pooled = tuple(
        _arm_outcomes(
            arm,
            None,
            [r for r in rows if r.arm == arm],
            sum(n for (a, _), n in clicks.items() if a == arm),
            *args,
        )
        for arm in arms
    )
    by_stratum = tuple(
        _arm_outcomes(
            arm,
            s,
            [r for r in rows if r.arm == arm and r.stratum == s],
            clicks.get((arm, s), 0),
            *args,
        )
        for s in strata
        for arm in arms
    )
    of = {a.arm: a for a in pooled}
    comparisons = []
    for comp in comparators:
        t_props, c_props = _outcome_props(of[treat]), _outcome_props(of[comp])
        for name, tp in t_props.items():
            cp = c_props[name]
            d, low, high = newcombe_difference(tp.k, tp.n, cp.k, cp.n, confidence)
            comparisons.append(
                Comparison(name, treat, comp, None if d != d else d, low, high)  # nan: empty
            )
    p_comp, p_treat = target
    power_lines = []
    for comp in comparators:
        t, other = of[treat], of[comp]
        power_lines.append(
            PowerLine(
                comp,
                "allocated",
                t.allocated,
                other.allocated,
                achieved_power(p_treat, p_comp, t.allocated, other.allocated, alpha=alpha),
            )
        )
        for tw, cw in zip(t.recontact, other.recontact, strict=True):
            nt, nc = tw.proportion.n, cw.proportion.n
            power_lines.append(
                PowerLine(
                    comp,
                    f"recontact_{tw.days}d",
                    nt,
                    nc,
                    achieved_power(p_treat, p_comp, nt, nc, alpha=alpha),
                )
            )
    trial = facts.trial
    first_at = facts.first_allocated_at
    stamped: bool | None
    if first_at is None:
        stamped = None
    else:
        stamped = trial.timestamped_at is not None and trial.timestamped_at <= first_at
    registered = (
        None
        if facts.first_allocation_seq is None
        else trial.ledger_seq < facts.first_allocation_seq
    )
    in_scope = sorted({r.operation_id for r in rows})
    return TrialReport(
        trial=trial,
        as_of=as_of,
        first_allocated_at=first_at,
        stamped_before_first_allocation=stamped,
        registered_before_first_allocation=registered,
        operations=tuple(in_scope),
        exclusions=excluded,
        treatment=treat,
        comparators=comparators,
        pooled=pooled,
        strata=by_stratum,
        comparisons=tuple(comparisons),
        power=tuple(power_lines),
        target=target,
        alpha=alpha,
        planned_power=power,
        required_n_per_arm=required_n_per_arm(p_comp, p_treat, alpha=alpha, power=power),
        required_n_per_arm_arcsine=arcsine_n_per_arm(p_comp, p_treat, alpha=alpha, power=power),
        linker_recall=linker_recall,
        windows=tuple(windows),
        confidence=confidence,
    )


def analyse_trial(
    store: Store,
    *,
    trial: str | None = None,
    operations: Iterable[int] | None = None,
    as_of: datetime | None = None,
    linker_recall: float = LINKER_RECALL,
    target: tuple[float, float] = (TARGET_COMPARATOR, TARGET_TREATMENT),
    alpha: float = ALPHA,
    power: float = POWER,
    treatment: str | None = None,
) -> TrialReport:
    """Analyse trial ``trial`` (by name; default the active trial, else the latest registered).

    ``operations``: operation ids to keep (default every in-study operation; demo and
    non-evidential operations are never analysed). ``as_of``: end of follow-up (aware; default
    now, UTC). ``linker_recall``: in (0, 1] (default :data:`LINKER_RECALL`). ``target``:
    ``(comparator, treatment)`` re-contact proportions for the power figures. ``treatment``: the
    arm compared with every other (default :data:`TREATMENT_ARM` or the first arm).

    Raises ``NotFoundError`` (no such trial), ``InputError`` (bad parameters), ``StoreError``.
    """
    found = tq.find_trial(store, trial)
    facts = tq.trial_outcome_facts(store, found.id)
    return analyse_facts(
        facts,
        as_of=as_of,
        operations=operations,
        linker_recall=linker_recall,
        target=target,
        alpha=alpha,
        power=power,
        treatment=treatment,
    )
