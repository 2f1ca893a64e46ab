"""The policy ladder (``docs/architecture.md``, "Policy ladder"): Sweetie 2.0's, made explicit
and configurable.

:func:`ladder_rules` builds the ladder as an :class:`~tutela.policy.rules.AnyOf` of small rules in
priority order (first match wins); :class:`Policy` turns the firing rule into a
:class:`tutela.domain.Decision`. Rule ids and when they fire, strongest precedence first:

==================================  ==========  ==================================================
rule id                             action      fires when
==================================  ==========  ==================================================
``ladder.threat``                   REFER       threat on this line (intent flag or a
                                                ``threats.categories`` hit); age not required;
                                                warning sent only if age disclosed and not warned
``ladder.await_age``                CONTINUE    soliciting or commercial line, age not yet stated
                                                (the engine has the persona state its age next)
``ladder.commercial_exploitation``  REFER       every ``commercial.categories`` seen in this
                                                conversation and this line carries evidence;
                                                warning unless already warned
``ladder.already_warned``           CONTINUE    a warning was sent in this conversation
``ladder.repeat_referral``          REFER       soliciting and ``prior_warnings >=
                                                warnings_before_referral`` ("third contact")
``ladder.repeat_contact``           ESCALATE    soliciting and ``prior_warnings >=
                                                warnings_before_escalate`` (second warning sent)
``ladder.first_solicitation``       DETER       soliciting, age known (first warning)
``ladder.high_risk_review``         ESCALATE    the conversation model's risk (incremental
                                                scorer) ``>= escalate_risk_threshold`` and no
                                                rule above fired (no warning sent)
``none``                            CONTINUE    nothing fired
==================================  ==========  ==================================================

REFER and the high-risk review do not fire again once ``ctx.strongest_action`` already reached
them in this conversation. "Soliciting" is defined in
:class:`~tutela.policy.params.SolicitationParams`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from tutela.detect.corroboration import carries
from tutela.domain import Action, Category, Decision, IndicatorHit, LineEvidence
from tutela.errors import ConfigError
from tutela.policy.context import PolicyContext
from tutela.policy.params import PolicyParams, load_policy
from tutela.policy.rules import AnyOf, Rule, RuleResult

__all__ = [
    "AlreadyWarned",
    "AwaitAge",
    "CommercialExploitation",
    "FirstSolicitation",
    "HighRiskReview",
    "Policy",
    "RepeatContact",
    "RepeatReferral",
    "Signals",
    "Threat",
    "ladder_rules",
    "signals",
]

_MAX_IDS_IN_REASON = 3


@dataclass(frozen=True, slots=True)
class Signals:
    """What the ladder reads off one context (derived, never stored).

    Attributes
    ----------
    soliciting: this line counts as solicitation (see ``SolicitationParams``).
    commercial: the commercial exploitation signal is complete and this line carries evidence.
    threat: a threat on this line.
    age_ok: a warning may be sent (age disclosed, or not required).
    evidence: the hits that make the case, strongest first (solicitation/commercial/threat hits,
        else every hit so far).
    risk: the decision's risk: the larger of the conversation scorer's risk and, with line
        evidence, the highest context-adjusted line probability so far (calibrated, comparable
        across languages and lengths).
    carried: the categories this line carries (``line_evidence``; empty without a detector).
    """

    soliciting: bool
    commercial: bool
    threat: bool
    age_ok: bool
    evidence: tuple[IndicatorHit, ...]
    risk: float = 0.0
    carried: frozenset[Category] = frozenset()


def _qualifying(
    hits: tuple[IndicatorHit, ...], categories: frozenset[Category], min_weight: float, upto: int
) -> list[IndicatorHit]:
    return [
        h for h in hits if h.category in categories and h.weight >= min_weight and h.line <= upto
    ]


def established_contexts(
    ctx: PolicyContext, params: PolicyParams, *, before: int | None = None
) -> frozenset[str]:
    """Benign contexts established by the contact's lines up to ``ctx.line`` (``line_evidence``),
    or, with ``before``, by the lines before that line only (a context never reaches back)."""
    lp = params.line_evidence
    upto = ctx.line if before is None else before - 1
    return frozenset(
        e.context
        for e in ctx.evidence
        if e.line <= upto
        and e.context
        and e.probability <= lp.context_max_probability
        and e.context_similarity >= lp.context_similarity
    )


def adjusted_probability(
    evidence: LineEvidence, contexts: frozenset[str], params: PolicyParams
) -> float:
    """The detector's probability for one line after the context weights (log-odds)."""
    weights = params.line_evidence.context_weights
    main = evidence.categories[0] if evidence.categories else None
    w = max((weights.get(c, {}).get(main, 0.0) for c in contexts), default=0.0) if main else 0.0
    p = min(max(evidence.probability, 1e-6), 1 - 1e-6)
    return 1.0 / (1.0 + math.exp(-(math.log(p / (1 - p)) - w)))


def carried_categories(
    evidence: LineEvidence,
    lexicon: frozenset[Category],
    contexts: frozenset[str],
    params: PolicyParams,
    *,
    earlier_line_over_threshold: bool = False,
    classifier: bool = False,
) -> frozenset[Category]:
    """Categories one contact line carries: one very confident detector signal, or the detector
    with a second, independent signal: a qualifying lexicon hit on the line, or an earlier contact
    line of the conversation that the detector also read as soliciting; or a qualifying lexicon
    hit while the conversation scorer's risk is over ``solicitation.risk_threshold``
    (``classifier``; see :class:`~tutela.policy.params.LineEvidenceParams` and
    :func:`tutela.detect.corroboration.carries`).
    """
    lp = params.line_evidence
    p = adjusted_probability(evidence, contexts, params)
    if carries(
        p,
        lexicon=bool(lexicon),
        earlier_over=earlier_line_over_threshold,
        threshold=lp.threshold,
        confident=lp.confident,
        sustained=lp.sustained,
        classifier=classifier,
    ):
        return frozenset(evidence.categories) | lexicon
    return frozenset()


_MEMO: list[tuple[PolicyContext, PolicyParams, Signals]] = []


def signals(ctx: PolicyContext, params: PolicyParams) -> Signals:
    """Derive :class:`Signals` from ``ctx`` under ``params`` (pure; the last result is reused
    while the same context and parameters objects are asked again, as the ladder's rules do)."""
    if _MEMO and _MEMO[0][0] is ctx and _MEMO[0][1] is params:
        return _MEMO[0][2]
    sig = _signals(ctx, params)
    _MEMO[:] = [(ctx, params, sig)]
    return sig


def _signals(ctx: PolicyContext, params: PolicyParams) -> Signals:
    sp = params.solicitation
    a = ctx.assessment
    hits = tuple(h for h in a.indicators if h.line <= ctx.line)
    on_line = ctx.line in a.lines or any(h.line == ctx.line for h in hits)

    sol_hits = _qualifying(hits, sp.categories, sp.min_weight, ctx.line)
    sol_here = [h for h in sol_hits if h.line == ctx.line]
    by_warning = sp.use_warning_rule and a.warning and (on_line or not sp.require_line_evidence)
    by_risk = a.risk >= sp.risk_threshold and bool(
        sol_here if sp.require_line_evidence else sol_hits
    )
    by_explicit = any(h.weight >= sp.explicit_weight for h in sol_here)

    cp = params.commercial
    # qualifying hits of the solicitation and commercial categories, up to this line
    com_hits = _qualifying(hits, cp.categories | sp.categories, sp.min_weight, ctx.line)
    risk = a.risk
    carried_here: frozenset[Category] = frozenset()
    carried_all: set[Category] = set()
    threat_line = False
    lp = params.line_evidence
    use_lines = lp.enabled and bool(ctx.evidence)
    if use_lines:
        lexicon_by_line: dict[int, set[Category]] = {}
        for h in com_hits:
            lexicon_by_line.setdefault(h.line, set()).add(h.category)
        over = False  # an earlier contact line read as soliciting (adjusted P >= threshold)
        over_categories: set[Category] = set()
        for e in sorted(ctx.evidence, key=lambda x: x.line):
            if e.line > ctx.line:
                continue
            contexts = established_contexts(ctx, params, before=e.line)
            lex = frozenset(lexicon_by_line.get(e.line, ()))
            p_adj = adjusted_probability(e, contexts, params)
            carried = carried_categories(
                e,
                lex,
                contexts,
                params,
                earlier_line_over_threshold=over,
                classifier=e.line == ctx.line and a.risk >= sp.risk_threshold,
            )
            if carried and over:
                carried |= over_categories  # the earlier line is corroborated by this one
            if e.line == ctx.line:
                carried_here = carried
                # a threat is referred whatever the age: only a very confident reading counts
                threat_line = e.threat and p_adj >= lp.confident
            if p_adj >= lp.threshold and e.categories:
                over = True
                over_categories.update(e.categories)
            carried_all |= carried
            risk = max(risk, p_adj)
        # a paired category (secrecy, a move to a private channel) solicits only in company
        distinct = carried_all & (sp.categories | cp.categories)
        here = carried_here & sp.categories
        by_lines = bool(here - sp.paired_categories) or (bool(here) and len(distinct) >= 2)
        soliciting = by_lines or by_warning or by_explicit
        seen = frozenset(carried_all)
        com_here = bool(carried_here & (cp.categories | sp.categories))
    else:
        seen = ctx.categories_seen | {h.category for h in hits}
        here = frozenset(h.category for h in sol_here)
        paired_only = bool(here) and here <= sp.paired_categories
        if paired_only and len(seen & (sp.categories | cp.categories)) < 2:
            by_risk = by_explicit = False  # a lone secret or app switch is not a solicitation
        soliciting = by_warning or by_risk or by_explicit
        com_here = any(h.line == ctx.line for h in com_hits)
    commercial = cp.enabled and cp.categories <= seen and (com_here or not sp.require_line_evidence)

    tp = params.threats
    threat_hits = [h for h in hits if h.line == ctx.line and h.category in tp.categories]
    threat = tp.enabled and (
        (tp.use_intent_flag and ctx.threat) or bool(threat_hits) or threat_line
    )

    age_ok = ctx.age_disclosed or not params.ladder.require_age_disclosed
    focus = threat_hits + [h for h in com_hits if h.category in cp.categories] + sol_hits
    evidence = tuple(dict.fromkeys(focus)) if focus else hits
    return Signals(soliciting, commercial, threat, age_ok, evidence, risk, carried_here)


def _facts(ctx: PolicyContext, sig: Signals) -> str:
    ids = list(dict.fromkeys(h.indicator for h in sig.evidence))
    shown = ", ".join(ids[:_MAX_IDS_IN_REASON]) if ids else "none"
    if len(ids) > _MAX_IDS_IN_REASON:
        shown += f" and {len(ids) - _MAX_IDS_IN_REASON} more"
    flag = ", early warning up" if ctx.assessment.warning else ""
    line = next((e for e in reversed(ctx.evidence) if e.line == ctx.line), None)
    detector = ""
    if line is not None:
        near = ", ".join(line.nearest[:2]) or "none"
        cats = "/".join(line.categories) or "none"
        detector = f", line detector {line.probability:.2f} ({cats}; nearest {near})"
    return f"risk {sig.risk:.2f}{flag}, indicators {shown}{detector}"


@dataclass(frozen=True, slots=True)
class _LadderRule:
    params: PolicyParams


class Threat(_LadderRule):
    """``ladder.threat``: a threat on this line -> REFER (whatever the age disclosure)."""

    def evaluate(self, ctx: PolicyContext) -> RuleResult | None:
        sig = signals(ctx, self.params)
        if not sig.threat or ctx.strongest_action.rank >= Action.REFER.rank:
            return None
        warn = sig.age_ok and not ctx.warned_in_conversation
        what = "intent flag" if ctx.threat and self.params.threats.use_intent_flag else "indicator"
        return RuleResult(
            Action.REFER,
            "ladder.threat",
            f"Threat on line {ctx.line} ({what}; {_facts(ctx, sig)}): referral proposal"
            f"{' and deterrence warning' if warn else ', no warning sent'}.",
            warn=warn,
        )


class AwaitAge(_LadderRule):
    """``ladder.await_age``: soliciting or commercial line before the age is stated -> CONTINUE."""

    def evaluate(self, ctx: PolicyContext) -> RuleResult | None:
        sig = signals(ctx, self.params)
        if sig.age_ok or not (sig.soliciting or sig.commercial):
            return None
        return RuleResult(
            Action.CONTINUE,
            "ladder.await_age",
            f"Solicitation on line {ctx.line} ({_facts(ctx, sig)}) before the persona stated its "
            "age: no warning until the age is known.",
        )


class CommercialExploitation(_LadderRule):
    """``ladder.commercial_exploitation``: payment + media request in one conversation -> REFER."""

    def evaluate(self, ctx: PolicyContext) -> RuleResult | None:
        sig = signals(ctx, self.params)
        if not (sig.commercial and sig.age_ok) or ctx.strongest_action.rank >= Action.REFER.rank:
            return None
        cats = ", ".join(sorted(self.params.commercial.categories))
        warn = not ctx.warned_in_conversation
        return RuleResult(
            Action.REFER,
            "ladder.commercial_exploitation",
            f"Commercial exploitation signal ({cats} in one conversation; {_facts(ctx, sig)}) on "
            f"line {ctx.line}: referral proposal"
            f"{' and deterrence warning' if warn else ', already warned'}.",
            warn=warn,
        )


class AlreadyWarned(_LadderRule):
    """``ladder.already_warned``: a warning was sent in this conversation -> CONTINUE."""

    def evaluate(self, ctx: PolicyContext) -> RuleResult | None:
        if not ctx.warned_in_conversation:
            return None
        sig = signals(ctx, self.params)
        return RuleResult(
            Action.CONTINUE,
            "ladder.already_warned",
            f"Already warned in this conversation ({_facts(ctx, sig)}): no further warning.",
        )


class RepeatReferral(_LadderRule):
    """``ladder.repeat_referral``: soliciting after ``warnings_before_referral`` warnings ->
    REFER."""

    def evaluate(self, ctx: PolicyContext) -> RuleResult | None:
        sig = signals(ctx, self.params)
        n = self.params.ladder.warnings_before_referral
        if not (sig.soliciting and sig.age_ok and ctx.prior_warnings >= n):
            return None
        if ctx.strongest_action.rank >= Action.REFER.rank:
            return None
        warn = not ctx.warned_in_conversation
        return RuleResult(
            Action.REFER,
            "ladder.repeat_referral",
            f"Solicitation on line {ctx.line} ({_facts(ctx, sig)}) after {ctx.prior_warnings} "
            f"earlier warnings (referral from {n}): referral proposal"
            f"{' and deterrence warning' if warn else ''}.",
            warn=warn,
        )


class RepeatContact(_LadderRule):
    """``ladder.repeat_contact``: soliciting after ``warnings_before_escalate`` warnings -> ESCALATE
    with a second warning."""

    def evaluate(self, ctx: PolicyContext) -> RuleResult | None:
        sig = signals(ctx, self.params)
        n = self.params.ladder.warnings_before_escalate
        if not (sig.soliciting and sig.age_ok and ctx.prior_warnings >= n):
            return None
        return RuleResult(
            Action.ESCALATE,
            "ladder.repeat_contact",
            f"Returning contact solicits on line {ctx.line} ({_facts(ctx, sig)}) after "
            f"{ctx.prior_warnings} earlier warning(s): deterrence warning and human review.",
            warn=True,
        )


class FirstSolicitation(_LadderRule):
    """``ladder.first_solicitation``: soliciting once the age is known -> DETER."""

    def evaluate(self, ctx: PolicyContext) -> RuleResult | None:
        sig = signals(ctx, self.params)
        if not (sig.soliciting and sig.age_ok):
            return None
        return RuleResult(
            Action.DETER,
            "ladder.first_solicitation",
            f"Solicitation on line {ctx.line} after the persona's age was stated "
            f"({_facts(ctx, sig)}): deterrence warning.",
            warn=True,
        )


class HighRiskReview(_LadderRule):
    """``ladder.high_risk_review``: high risk, no solicitation line -> ESCALATE, no warning."""

    def evaluate(self, ctx: PolicyContext) -> RuleResult | None:
        lp = self.params.ladder
        sig = signals(ctx, self.params)
        if not lp.escalate_high_risk or ctx.assessment.risk < lp.escalate_risk_threshold:
            return None
        if ctx.strongest_action.rank >= Action.ESCALATE.rank:
            return None
        return RuleResult(
            Action.ESCALATE,
            "ladder.high_risk_review",
            f"High risk without a solicitation line ({_facts(ctx, sig)}, review from "
            f"{lp.escalate_risk_threshold:.2f}): human review, no warning.",
        )


def ladder_rules(params: PolicyParams) -> AnyOf:
    """The ladder as a first-match rule list (order = precedence, see the module table)."""
    steps: list[Rule] = [
        Threat(params),
        AwaitAge(params),
        CommercialExploitation(params),
        AlreadyWarned(params),
        RepeatReferral(params),
        RepeatContact(params),
        FirstSolicitation(params),
        HighRiskReview(params),
    ]
    return AnyOf(steps)


class Policy:
    """Maps a :class:`PolicyContext` to a :class:`tutela.domain.Decision` (pure, sends nothing).

    Parameters
    ----------
    params: policy parameters (``PolicyParams()`` = the packaged defaults).
    rules: the rule set; default :func:`ladder_rules` ``(params)``.
    """

    def __init__(self, params: PolicyParams | None = None, *, rules: Rule | None = None) -> None:
        self.params = params if params is not None else PolicyParams()
        self.rules: Rule = rules if rules is not None else ladder_rules(self.params)

    @classmethod
    def load(cls, path: str | Path | None = None) -> Policy:
        """A policy with parameters from ``path`` (``None``: packaged defaults).

        Raises ``ConfigError`` as :func:`~tutela.policy.params.load_policy`."""
        return cls(load_policy(path))

    def decide(self, ctx: PolicyContext, *, variant: str | None = None) -> Decision:
        """Decide after one contact line.

        Parameters
        ----------
        ctx: the state after the line.
        variant: the deterrence variant to use if this decision sends a warning (pass
            ``VariantAssigner.peek()`` and ``advance()`` the assigner when ``Decision.variant`` is
            set); ``None`` uses the first configured variant.

        Returns
        -------
        Decision
            ``after_line=ctx.line``, ``risk`` = :attr:`Signals.risk`, ``indicators`` = ids of
            the assessment's distinct hits up to this line (strongest first), ``rule`` = the rule id
            (``"none"`` when none fired), a one-sentence ``reason``, and ``variant`` set exactly
            when a warning is sent.

        Raises
        ------
        ConfigError
            ``variant`` is not one of ``deterrence.variants``.
        """
        result = self.rules.evaluate(ctx)
        sig = signals(ctx, self.params)
        if result is None:
            result = RuleResult(
                Action.CONTINUE,
                "none",
                f"No policy rule fired on line {ctx.line} ({_facts(ctx, sig)}).",
            )
        chosen: str | None = None
        if result.warn:
            variants = self.params.deterrence.variants
            chosen = variant if variant is not None else variants[0]
            if chosen not in variants:
                raise ConfigError(
                    f"unknown deterrence variant {chosen!r}; configured: {', '.join(variants)}"
                )
        ids = tuple(
            dict.fromkeys(h.indicator for h in ctx.assessment.indicators if h.line <= ctx.line)
        )
        return Decision(
            action=result.action,
            after_line=ctx.line,
            risk=sig.risk,
            indicators=ids,
            rule=result.rule_id,
            reason=result.reason,
            variant=chosen,
        )
