"""The records of the trial analysis (:mod:`tutela.research.trial`): proportions with their
Wilson interval, per-window re-contact, per-contact and per-arm outcomes, comparisons, power lines,
exclusions and the report itself. Definitions of every outcome: :mod:`tutela.research.trial`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tutela.research.trial_stats import DEFAULT_CONFIDENCE, wilson_interval
from tutela.store.queries import trial_outcomes as tq

__all__ = [
    "ArmOutcomes",
    "Comparison",
    "ContactOutcome",
    "Exclusions",
    "PowerLine",
    "Proportion",
    "TrialReport",
    "WindowOutcome",
]


@dataclass(frozen=True, slots=True)
class Proportion:
    """``k`` of ``n`` with its Wilson interval (``rate`` is ``None`` for ``n == 0``)."""

    k: int
    n: int
    rate: float | None
    low: float
    high: float

    @classmethod
    def of(cls, k: int, n: int, confidence: float = DEFAULT_CONFIDENCE) -> Proportion:
        low, high = wilson_interval(k, n, confidence)
        return cls(k, n, (k / n) if n else None, low, high)


@dataclass(frozen=True, slots=True)
class WindowOutcome:
    """Re-contact within ``days``: ``proportion`` among the ``at_risk`` contacts whose window
    has elapsed; ``censored`` the others; ``upper_if_recall`` / ``high_if_recall``: ``rate / r``
    and ``high / r`` (capped at 1) for the linker recall ``r`` (module docstring)."""

    days: int
    proportion: Proportion
    censored: int
    upper_if_recall: float | None
    high_if_recall: float


@dataclass(frozen=True, slots=True)
class ContactOutcome:
    """One allocated contact's outcomes. ``further_solicitation``: ``None`` when its allocation
    conversation holds no warning; ``recontact[days]``: ``None`` when censored."""

    arm: str
    stratum: str
    operation_id: int
    allocated_at: datetime
    warned: bool
    further_solicitation: bool | None
    recontact: dict[int, bool | None]
    escalated: bool
    referral_proposed: bool
    referral_approved: bool


@dataclass(frozen=True, slots=True)
class ArmOutcomes:
    """Outcomes of one arm, pooled (``stratum`` ``None``) or within one stratum."""

    arm: str
    stratum: str | None
    allocated: int
    warned: int
    no_further_solicitation: Proportion
    recontact: tuple[WindowOutcome, ...]
    escalated: Proportion
    referral_proposed: Proportion
    referral_approved: Proportion
    clicks: int
    clicks_per_contact: tuple[float, float, float] | None  # rate, low, high (Garwood); no n


@dataclass(frozen=True, slots=True)
class Comparison:
    """``treatment - comparator`` for one outcome, with Newcombe's interval (``difference`` is
    ``None`` when a group is empty)."""

    outcome: str
    treatment: str
    comparator: str
    difference: float | None
    low: float
    high: float


@dataclass(frozen=True, slots=True)
class PowerLine:
    """Achieved power of one comparison for the plan's target, with the contacts it rests on
    (``basis``: ``"allocated"`` or ``"recontact_<days>d"``: contacts at risk)."""

    comparator: str
    basis: str
    n_treatment: int
    n_comparator: int
    power: float


@dataclass(frozen=True, slots=True)
class Exclusions:
    """Allocations left out: of the demo operation, of another non-evidential operation, without
    a known operation, outside the ``operations`` filter, or a second allocation of a person
    (after a merge)."""

    demo: int = 0
    non_evidential: int = 0
    no_operation: int = 0
    filtered_out: int = 0
    merged_duplicates: int = 0


@dataclass(frozen=True, slots=True)
class TrialReport:
    """The trial analysis (:func:`analyse_trial`). JSON shape: :func:`tutela.research.
    trial_report.report_dict`."""

    trial: tq.TrialFacts
    as_of: datetime
    first_allocated_at: datetime | None
    stamped_before_first_allocation: bool | None
    registered_before_first_allocation: bool | None
    operations: tuple[int, ...]
    exclusions: Exclusions
    treatment: str
    comparators: tuple[str, ...]
    pooled: tuple[ArmOutcomes, ...]
    strata: tuple[ArmOutcomes, ...]
    comparisons: tuple[Comparison, ...]
    power: tuple[PowerLine, ...]
    target: tuple[float, float]
    alpha: float
    planned_power: float
    required_n_per_arm: int
    required_n_per_arm_arcsine: int
    linker_recall: float
    windows: tuple[int, ...]
    confidence: float = DEFAULT_CONFIDENCE
