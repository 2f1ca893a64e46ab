"""Renderings of a :class:`~tutela.research.trial.TrialReport`: a JSON-ready dict
(:func:`report_dict`), plain text and Markdown (:func:`render_report`).

Like every output of :mod:`tutela.research` the report holds no contact, handle or text; the only
instant tied to contacts (the first allocation) is given as its UTC day, while the comparison
"plan stamped before the first allocation" uses the exact instants. The header carries the
plan's SHA-256, the RFC 3161 time the TSA asserted (and the SHA-256 of its reply), so a reader
can check the plan against its stamp.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from tutela.errors import InputError
from tutela.research.trial_records import ArmOutcomes, Proportion, TrialReport, WindowOutcome

__all__ = ["FORMATS", "render_report", "report_dict"]

FORMATS = ("text", "markdown")


def _r(x: float | None, digits: int = 4) -> float | None:
    return None if x is None else round(x, digits)


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat().replace("+00:00", "Z")


def _prop(p: Proportion) -> dict[str, Any]:
    return {"k": p.k, "n": p.n, "rate": _r(p.rate), "low": _r(p.low), "high": _r(p.high)}


def _window(w: WindowOutcome) -> dict[str, Any]:
    return {
        "days": w.days,
        **_prop(w.proportion),
        "at_risk": w.proportion.n,
        "censored": w.censored,
        "upper_if_recall": _r(w.upper_if_recall),
        "high_if_recall": _r(w.high_if_recall),
    }


def _arm(a: ArmOutcomes) -> dict[str, Any]:
    per = a.clicks_per_contact
    return {
        "arm": a.arm,
        "stratum": a.stratum,
        "allocated": a.allocated,
        "warned": a.warned,
        "no_further_solicitation": _prop(a.no_further_solicitation),
        "recontact": {f"{w.days}d": _window(w) for w in a.recontact},
        "escalated": _prop(a.escalated),
        "referral_proposed": _prop(a.referral_proposed),
        "referral_approved": _prop(a.referral_approved),
        "help_link_clicks": a.clicks,
        "clicks_per_contact": None
        if per is None
        else {"rate": _r(per[0]), "low": _r(per[1]), "high": _r(per[2])},
    }


def _token_sha(report: TrialReport) -> str | None:
    token = report.trial.timestamp_token
    return None if token is None else hashlib.sha256(token).hexdigest()


def report_dict(report: TrialReport) -> dict[str, Any]:
    """The report as one JSON-ready dict::

        {"trial": {"id", "name", "plan_sha256", "arms", "block_size", "timestamped_at",
                   "timestamp_token_sha256", "registered_at", "registered_by", "active"},
         "first_allocation_day", "stamped_before_first_allocation" (bool or null: no
         allocation), "registered_before_first_allocation", "as_of",
         "operations" (ids analysed), "exclusions": {"demo", "non_evidential", "no_operation",
         "filtered_out", "merged_duplicates"},
         "treatment", "comparators", "confidence", "linker_recall", "windows_days",
         "pooled": [ARM], "strata": [ARM],
         "comparisons": [{"outcome", "treatment", "comparator", "difference", "low", "high"}],
         "power": {"target": {"comparator", "treatment"}, "alpha", "planned_power",
                   "required_n_per_arm", "required_n_per_arm_arcsine",
                   "achieved": [{"comparator", "basis", "n_treatment", "n_comparator",
                                 "power"}]}}

    ARM = ``{"arm", "stratum" (null: pooled), "allocated", "warned", "no_further_solicitation":
    P, "recontact": {"30d": P + {"days", "at_risk", "censored", "upper_if_recall",
    "high_if_recall"}, ...}, "escalated": P, "referral_proposed": P, "referral_approved": P,
    "help_link_clicks", "clicks_per_contact": {"rate", "low", "high"} or null}``,
    P = ``{"k", "n", "rate" (null for n = 0), "low", "high"}`` (Wilson, 4 decimals).
    """
    t = report.trial
    return {
        "trial": {
            "id": t.id,
            "name": t.name,
            "plan_sha256": t.plan_sha256,
            "arms": list(t.arms),
            "block_size": t.block_size,
            "timestamped_at": _iso(t.timestamped_at),
            "timestamp_token_sha256": _token_sha(report),
            "registered_at": _iso(t.registered_at),
            "registered_by": t.registered_by,
            "active": t.active,
        },
        "first_allocation_day": None
        if report.first_allocated_at is None
        else report.first_allocated_at.date().isoformat(),
        "stamped_before_first_allocation": report.stamped_before_first_allocation,
        "registered_before_first_allocation": report.registered_before_first_allocation,
        "as_of": _iso(report.as_of),
        "operations": list(report.operations),
        "exclusions": {
            "demo": report.exclusions.demo,
            "non_evidential": report.exclusions.non_evidential,
            "no_operation": report.exclusions.no_operation,
            "filtered_out": report.exclusions.filtered_out,
            "merged_duplicates": report.exclusions.merged_duplicates,
        },
        "treatment": report.treatment,
        "comparators": list(report.comparators),
        "confidence": report.confidence,
        "linker_recall": report.linker_recall,
        "windows_days": list(report.windows),
        "pooled": [_arm(a) for a in report.pooled],
        "strata": [_arm(a) for a in report.strata],
        "comparisons": [
            {
                "outcome": c.outcome,
                "treatment": c.treatment,
                "comparator": c.comparator,
                "difference": _r(c.difference),
                "low": _r(c.low),
                "high": _r(c.high),
            }
            for c in report.comparisons
        ],
        "power": {
            "target": {"comparator": report.target[0], "treatment": report.target[1]},
            "alpha": report.alpha,
            "planned_power": report.planned_power,
            "required_n_per_arm": report.required_n_per_arm,
            "required_n_per_arm_arcsine": report.required_n_per_arm_arcsine,
            "achieved": [
                {
                    "comparator": p.comparator,
                    "basis": p.basis,
                    "n_treatment": p.n_treatment,
                    "n_comparator": p.n_comparator,
                    "power": _r(p.power),
                }
                for p in report.power
            ],
        },
    }


# -- text and Markdown -----------------------------------------------------------------------


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _cell(p: Proportion) -> str:
    if p.n == 0:
        return "0/0"
    return f"{p.k}/{p.n} {_pct(p.rate)} [{_pct(p.low)}, {_pct(p.high)}]"


def _wcell(w: WindowOutcome) -> str:
    base = _cell(w.proportion)
    bound = "" if w.upper_if_recall is None else f" <={_pct(w.upper_if_recall)}"
    return f"{base}{bound} cens {w.censored}"


def _clicks(a: ArmOutcomes) -> str:
    per = a.clicks_per_contact
    if per is None:
        return str(a.clicks)
    return f"{a.clicks} ({per[0]:.3f} [{per[1]:.3f}, {per[2]:.3f}]/contact)"


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], markdown: bool) -> list[str]:
    if markdown:
        out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
        return out + ["| " + " | ".join(r) + " |" for r in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows, strict=True)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return [fmt.format(*head).rstrip(), *(fmt.format(*r).rstrip() for r in rows)]


def _arm_rows(arms: Sequence[ArmOutcomes], with_stratum: bool) -> list[list[str]]:
    rows = []
    for a in arms:
        row = [a.stratum or "", a.arm] if with_stratum else [a.arm]
        row += [str(a.allocated), str(a.warned), _cell(a.no_further_solicitation)]
        row += [_wcell(w) for w in a.recontact]
        row += [_cell(a.escalated), _cell(a.referral_proposed), _cell(a.referral_approved)]
        row.append(_clicks(a))
        rows.append(row)
    return rows


def _yes(v: bool | None, none: str) -> str:
    return none if v is None else ("yes" if v else "NO")


def render_report(report: TrialReport, fmt: str = "text") -> str:
    """The report as plain text (``fmt="text"``) or Markdown (``"markdown"``); ``InputError``
    for another format. Cells are ``k/n rate [low, high]`` (Wilson 95 %); a re-contact cell adds
    ``<=p/r`` (the bound for the linker's recall) and the censored count."""
    if fmt not in FORMATS:
        raise InputError(f"format must be one of {FORMATS}, got {fmt!r}")
    md = fmt == "markdown"
    t = report.trial
    h1, h2 = ("# ", "## ") if md else ("", "")
    stamp = (
        f"{_iso(t.timestamped_at)} (RFC 3161 reply SHA-256 {_token_sha(report)})"
        if t.timestamped_at is not None
        else "not stamped"
    )
    ex = report.exclusions
    conf = f"{100 * report.confidence:g} %"
    lines = [
        f"{h1}Deterrence trial report: {t.name} (trial {t.id})",
        "",
        f"- plan SHA-256: {t.plan_sha256}",
        f"- RFC 3161 time of the plan's hash: {stamp}",
        f"- registered: {_iso(t.registered_at)} by {t.registered_by}; arms "
        f"{', '.join(t.arms)}; block size {t.block_size}",
        f"- first allocation (UTC day): "
        f"{'none yet' if report.first_allocated_at is None else report.first_allocated_at.date()}",
        f"- plan stamped before the first allocation: "
        f"{_yes(report.stamped_before_first_allocation, 'no allocation yet')}; registered "
        f"before it in the ledger: "
        f"{_yes(report.registered_before_first_allocation, 'no allocation yet')}",
        f"- follow-up as of {_iso(report.as_of)}; operations analysed (evidential, not demo): "
        f"{', '.join(map(str, report.operations)) or 'none'}",
        f"- allocations left out: demo {ex.demo}, other non-evidential {ex.non_evidential}, "
        f"no operation {ex.no_operation}, outside the filter {ex.filtered_out}, merged "
        f"duplicates {ex.merged_duplicates}",
        f"- treatment arm {report.treatment}; comparators {', '.join(report.comparators)}; "
        f"intervals {conf} (Wilson; differences: Newcombe method 10; clicks: exact Poisson)",
        f"- re-contact is a LOWER BOUND: identity linking has recall r = "
        f"{report.linker_recall:g}; '<=x' is the observed proportion divided by r",
        "",
    ]
    head = ["arm", "allocated", "warned", "no further solicitation"]
    head += [f"re-contact {d}d" for d in report.windows]
    head += ["escalated", "referral proposed", "referral approved", "help-link clicks"]
    lines += [f"{h2}Pooled", ""]
    lines += _table(head, _arm_rows(report.pooled, False), md)
    lines += ["", f"{h2}Per stratum (language)", ""]
    lines += _table(["stratum", *head], _arm_rows(report.strata, True), md)
    lines += ["", f"{h2}Differences ({report.treatment} - comparator, {conf} Newcombe)", ""]
    comp_rows = [
        [
            c.outcome,
            c.comparator,
            "-"
            if c.difference is None
            else f"{100 * c.difference:+.1f} pts [{100 * c.low:+.1f}, {100 * c.high:+.1f}]",
        ]
        for c in report.comparisons
    ]
    lines += _table(["outcome", "comparator", "difference"], comp_rows, md)
    p_comp, p_treat = report.target
    lines += [
        "",
        f"{h2}Power",
        "",
        f"Target: re-contact {_pct(p_comp)} (comparator) -> {_pct(p_treat)} ({report.treatment}),"
        f" alpha {report.alpha:g} two-sided, power {report.planned_power:g}: required n per arm "
        f"{report.required_n_per_arm} (normal approximation, Fleiss et al. 2003; arcsine "
        f"formula {report.required_n_per_arm_arcsine}).",
        "",
    ]
    power_rows = [
        [
            p.comparator,
            p.basis,
            f"{p.n_treatment} / {p.n_comparator}",
            str(report.required_n_per_arm),
            f"{p.power:.3f}",
        ]
        for p in report.power
    ]
    lines += _table(
        ["comparator", "basis", f"achieved n ({report.treatment} / comparator)",
         "required n per arm", "achieved power"],
        power_rows,
        md,
    )  # fmt: skip
    return "\n".join(lines) + "\n"
