"""Policy parameters: validated, immutable, loaded from YAML.

Every field has a default, and the packaged ``default.yaml`` repeats them with their sources
(:mod:`tutela.policy.ladder`; Terre des Hommes, Sweetie 2.0, 2013/2016; Vogt, Leser & Akbik 2021 for
the early-warning rule). A file may leave any key out; an unknown key, a wrong type or a value out
of range raises :class:`tutela.errors.ConfigError` naming the file, the line and the dotted field
(the format of :mod:`tutela.configfile`).

Shape of a file::

    version: 1
    solicitation: {risk_threshold, categories, min_weight, use_warning_rule, require_line_evidence}
    ladder: {require_age_disclosed, warnings_before_escalate, warnings_before_referral,
             escalate_high_risk, escalate_risk_threshold}
    commercial: {enabled, categories}
    threats: {enabled, use_intent_flag, categories}
    deterrence: {variants, assignment, seed, end_after_deterrence, help_link_base}
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    field_validator,
    model_validator,
)

from tutela.configfile import load_config
from tutela.domain import Category

__all__ = [
    "CommercialParams",
    "DeterrenceParams",
    "LadderParams",
    "LineEvidenceParams",
    "PolicyParams",
    "SolicitationParams",
    "ThreatParams",
    "default_policy_path",
    "load_policy",
]

_HELP_LINK_BASE = r"^https://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~-]+)*$"
"""``tutela.persona.deterrence.HELP_LINK_BASE_PATTERN`` anchored (policy sits beside persona and
does not import it; ``tests/policy/test_trial_allocation.py`` checks the two agree)."""

Probability = Annotated[float, Field(strict=True, ge=0.0, le=1.0)]
"""A float in [0, 1]; ints are accepted, strings are not."""


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SolicitationParams(_Params):
    """When a contact line counts as solicitation.

    A line *solicits* when (a) ``use_warning_rule`` and the scorer's early-warning flag is up
    (``Assessment.warning``, Vogt et al. 2021 k-of-n vote), or (b) ``risk >= risk_threshold`` and a
    hit in one of ``categories`` with ``weight >= min_weight`` exists on this line or earlier, or
    (c) a hit in one of ``categories`` with ``weight >= explicit_weight`` is on this line, whatever
    the risk: an explicit request for images, a webcam, a meeting or sexual content made to a
    persona whose age is known is solicitation by itself (Sweetie 2.0's trigger; Terre des Hommes
    2013). ``explicit_weight`` above 1 switches (c) off. With
    ``require_line_evidence`` the line itself must carry the evidence: for (a) any indicator hit on
    the line (``line in Assessment.lines``), for (b) a qualifying hit on the line.

    Attributes
    ----------
    risk_threshold: default 0.5, the scorer's own decision threshold.
    categories: default sexual_content, media_request, meeting, gift_or_money (Sweetie 2.0),
        secrecy and platform_switch (asking a child to keep the contact secret or move to a private
        channel: O'Connell 2003 "exclusivity"; Lorenzo-Dus et al. 2016 "isolation").
    paired_categories: default secrecy, platform_switch: with ``line_evidence``, a line carrying
        only these solicits when the conversation has carried at least two distinct categories
        (a surprise-party secret alone, or "add me on discord" alone, is not a solicitation; the
        same with a webcam request or a second grooming move is).
    min_weight: default 0.5, smallest lexicon weight of a qualifying hit (>= 0).
    use_warning_rule: default False: the k-of-n flag of the n-gram scorer is surface evidence
        only; with the line detector (``line_evidence``) a warning needs a carried line.
    require_line_evidence: default True (no warning for what was said before the age was stated).
    explicit_weight: default 1.5, i.e. off: a lexicon hit alone is one signal and
        ``line_evidence`` asks for two; 0.7 restores the first version's single-hit trigger.
    """

    risk_threshold: Probability = 0.5
    categories: frozenset[Category] = frozenset(
        {
            Category.SEXUAL_CONTENT,
            Category.MEDIA_REQUEST,
            Category.MEETING,
            Category.GIFT_OR_MONEY,
            Category.SECRECY,
            Category.PLATFORM_SWITCH,
        }
    )
    paired_categories: frozenset[Category] = frozenset({Category.SECRECY, Category.PLATFORM_SWITCH})
    min_weight: Annotated[float, Field(strict=True, ge=0.0)] = 0.5
    use_warning_rule: StrictBool = False
    require_line_evidence: StrictBool = True
    explicit_weight: Annotated[float, Field(strict=True, ge=0.0)] = 1.5


class LineEvidenceParams(_Params):
    """Corroboration by the line detector (``tutela.detect.lines``) and conversation context.

    A contact line *carries* category ``c`` when

    * the detector's probability after context (below) is ``>= confident`` and ``c`` is one of the
      detector's categories for the line or a qualifying lexicon hit on it (one very confident
      signal), or
    * it is ``>= threshold`` and a second, independent signal holds: a qualifying lexicon hit on
      the line (``c`` = the hit's category, or one of the detector's), or, with ``sustained``, an
      earlier contact line of the conversation that the detector also read as soliciting (two
      separate utterances).

    With ``enabled`` the ladder's solicitation and commercial signals use these carried categories
    (and the scorer's n-gram risk only through ``solicitation.risk_threshold``, which also needs a
    lexicon hit), so a line with no evidence is never acted on by n-gram surface alone.

    Context: a contact line whose nearest reviewed exemplar is a benign context (a school, a sex
    education lesson, family, paying back money, a surprise, peers) with cosine similarity
    ``>= context_similarity`` establishes that context for the conversation. Then every later line's
    detector log-odds is lowered by ``context_weights[context][category]`` for the line's main
    category (the largest weight among established contexts): a feature with a weight, not an
    exemption, so an explicit request still gets through a teacher's or a classmate's framing.
    Weights are log-odds (natural log); the defaults were set by hand from the category
    definitions and checked by cross-validation on synthetic exemplars, not tuned to scenario files.

    Attributes
    ----------
    enabled: default True.
    threshold: default 0.7. confident: default 0.95 (>= threshold).
    sustained: default True.
    context_similarity: default 0.45.
    context_max_probability: default 0.2; only a line the detector reads as clearly not soliciting
        establishes a context (a flattering or sexualised remark near a sex-education exemplar
        must not make the rest of the conversation look like a lesson).
    context_weights: context -> category -> log-odds (>= 0).
    """

    enabled: StrictBool = True
    threshold: Probability = 0.7
    confident: Probability = 0.95
    sustained: StrictBool = True
    context_similarity: Probability = 0.45
    context_max_probability: Probability = 0.2
    context_weights: dict[str, dict[Category, Annotated[float, Field(ge=0.0)]]] = {
        "benign_school": {Category.MEDIA_REQUEST: 4.0, Category.SEXUAL_CONTENT: 1.5,
                          Category.MEETING: 2.0},
        "benign_sexed": {Category.SEXUAL_CONTENT: 3.0},
        "benign_family": {Category.MEDIA_REQUEST: 3.0, Category.MEETING: 3.0,
                          Category.GIFT_OR_MONEY: 2.0, Category.SECRECY: 2.0},
        "benign_money": {Category.GIFT_OR_MONEY: 3.0},
        "benign_secret": {Category.SECRECY: 3.0},
        "benign_peer": {Category.MEDIA_REQUEST: 2.0, Category.MEETING: 2.0,
                        Category.PLATFORM_SWITCH: 2.0, Category.GIFT_OR_MONEY: 1.5},
    }  # fmt: skip

    @model_validator(mode="after")
    def _confident_above_threshold(self) -> LineEvidenceParams:
        if self.confident < self.threshold:
            raise ValueError(
                f"confident ({self.confident}) must be >= threshold ({self.threshold})"
            )
        return self


class LadderParams(_Params):
    """The repeat-contact ladder (:mod:`tutela.policy.ladder`).

    Attributes
    ----------
    require_age_disclosed: default True; no warning before the persona stated its age.
    warnings_before_escalate: default 1; warnings in earlier conversations after which a new
        solicitation is escalated for review (a second warning is sent). At least 1.
    warnings_before_referral: default 2; ... after which it is a referral proposal ("third
        contact").
        Must be >= ``warnings_before_escalate``.
    escalate_high_risk: default True; risk >= ``escalate_risk_threshold`` without solicitation yet
        is escalated for human review (no warning sent).
    escalate_risk_threshold: default 0.9.
    """

    require_age_disclosed: StrictBool = True
    warnings_before_escalate: Annotated[StrictInt, Field(ge=1)] = 1
    warnings_before_referral: Annotated[StrictInt, Field(ge=1)] = 2
    escalate_high_risk: StrictBool = True
    escalate_risk_threshold: Probability = 0.9

    @model_validator(mode="after")
    def _referral_after_escalation(self) -> LadderParams:
        if self.warnings_before_referral < self.warnings_before_escalate:
            raise ValueError(
                "warnings_before_referral must be >= warnings_before_escalate "
                f"({self.warnings_before_referral} < {self.warnings_before_escalate})"
            )
        return self


class CommercialParams(_Params):
    """Commercial exploitation signal: every one of ``categories`` seen in the same conversation
    (Sweetie 2.0's payment-for-webcam-show pattern) gives a referral proposal on first occurrence.

    Attributes
    ----------
    enabled: default True.
    categories: default gift_or_money, media_request; at least one.
    """

    enabled: StrictBool = True
    categories: Annotated[frozenset[Category], Field(min_length=1)] = frozenset(
        {Category.GIFT_OR_MONEY, Category.MEDIA_REQUEST}
    )


class ThreatParams(_Params):
    """Threats give a referral proposal whatever the age disclosure.

    Attributes
    ----------
    enabled: default True.
    use_intent_flag: default True; the dialogue's intent recognizer flagged a threat on this line.
    categories: default none (``tutela.domain.Category`` has no threat category yet); a hit in one
        of them on this line counts as a threat.
    """

    enabled: StrictBool = True
    use_intent_flag: StrictBool = True
    categories: frozenset[Category] = frozenset()


class DeterrenceParams(_Params):
    """Deterrence message variants and how they are assigned.

    Attributes
    ----------
    variants: default combined, legal_trace, legal, help (``tutela.persona.deterrence``; the
        first is the *default variant*); non-empty, unique ids ``[a-z][a-z0-9_]*``.
    assignment: ``"round_robin"`` (default) or ``"random"`` (uniform, seeded): used when no
        deterrence trial is active. While a trial is registered and active
        (``tutela trial register``), a warning in an evidential operation gets the contact's
        allocated arm instead (``tutela.policy.trial``: seeded permuted blocks per language,
        once per contact identity), and one in a demonstration or other non-evidential
        operation the default variant, allocating nothing.
    seed: default 0; seed of the random assignment so runs are reproducible.
    end_after_deterrence: default True; the engine ends the conversation after a warning.
    help_link_base: default ``None``; an https URL without a final ``/`` (the dashboard's
        public address). With it and an active trial, a warning's helpline URL becomes
        ``{help_link_base}/h/{trial_id}/{arm_no}/{lang}/{country}``, a redirect that counts
        clicks per arm; without, the helpline's own URL.
    """

    variants: Annotated[
        tuple[Annotated[str, Field(strict=True, pattern=r"^[a-z][a-z0-9_]*$")], ...],
        Field(min_length=1),
    ] = ("combined", "legal_trace", "legal", "help")
    assignment: Literal["round_robin", "random"] = "round_robin"
    seed: Annotated[StrictInt, Field(ge=0)] = 0
    end_after_deterrence: StrictBool = True
    help_link_base: (
        Annotated[str, Field(strict=True, max_length=200, pattern=_HELP_LINK_BASE)] | None
    ) = None

    @field_validator("variants")
    @classmethod
    def _unique(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        dupes = sorted({v for v in value if value.count(v) > 1})
        if dupes:
            raise ValueError(f"duplicate variant ids: {', '.join(dupes)}")
        return value


class PolicyParams(_Params):
    """All policy parameters. ``PolicyParams()`` equals the packaged ``default.yaml``."""

    version: Literal[1] = 1
    solicitation: SolicitationParams = SolicitationParams()
    line_evidence: LineEvidenceParams = LineEvidenceParams()
    ladder: LadderParams = LadderParams()
    commercial: CommercialParams = CommercialParams()
    threats: ThreatParams = ThreatParams()
    deterrence: DeterrenceParams = DeterrenceParams()


def default_policy_path() -> Path:
    """Path of the packaged ``default.yaml``."""
    return Path(str(files("tutela.policy") / "default.yaml"))


def load_policy(path: str | Path | None = None) -> PolicyParams:
    """Load and validate policy parameters from a YAML file.

    Parameters
    ----------
    path:
        A YAML file; ``None`` loads the packaged ``default.yaml``. An empty file gives the defaults.

    Raises
    ------
    ConfigError
        The file cannot be read, is not YAML, is not a mapping, or does not validate; the message
        is in the format of :mod:`tutela.configfile`, one part per offending dotted field
        (``"policy.yaml:3: solicitation.risk_threshold: ..."``).
    """
    source = default_policy_path() if path is None else Path(path)
    return load_config(source, PolicyParams, what="policy file", empty_ok=True)
