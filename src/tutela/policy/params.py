"""Policy parameters: validated, immutable, loaded from YAML.

Every field has a default, and the packaged ``default.yaml`` repeats them with their sources
(DESIGN.md, "Policy ladder"; Terre des Hommes, Sweetie 2.0, 2013/2016; Vogt, Leser & Akbik 2021 for
the early-warning rule). A file may leave any key out; an unknown key, a wrong type or a value out
of range raises :class:`tutela.errors.ConfigError` naming the file and the dotted field.

Shape of a file::

    version: 1
    solicitation: {risk_threshold, categories, min_weight, use_warning_rule, require_line_evidence}
    ladder: {require_age_disclosed, warnings_before_escalate, warnings_before_referral,
             escalate_high_risk, escalate_risk_threshold}
    commercial: {enabled, categories}
    threats: {enabled, use_intent_flag, categories}
    deterrence: {variants, assignment, seed, end_after_deterrence}
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)

from tutela.domain import Category
from tutela.errors import ConfigError

__all__ = [
    "CommercialParams",
    "DeterrenceParams",
    "LadderParams",
    "PolicyParams",
    "SolicitationParams",
    "ThreatParams",
    "default_policy_path",
    "load_policy",
]

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
    categories: default sexual_content, media_request, meeting, gift_or_money (Sweetie 2.0).
    min_weight: default 0.5, smallest lexicon weight of a qualifying hit (>= 0).
    use_warning_rule: default True.
    require_line_evidence: default True (no warning for what was said before the age was stated).
    explicit_weight: default 0.7 (the lexicons' weight for explicit requests; see their files).
    """

    risk_threshold: Probability = 0.5
    categories: frozenset[Category] = frozenset(
        {
            Category.SEXUAL_CONTENT,
            Category.MEDIA_REQUEST,
            Category.MEETING,
            Category.GIFT_OR_MONEY,
        }
    )
    min_weight: Annotated[float, Field(strict=True, ge=0.0)] = 0.5
    use_warning_rule: StrictBool = True
    require_line_evidence: StrictBool = True
    explicit_weight: Annotated[float, Field(strict=True, ge=0.0)] = 0.7


class LadderParams(_Params):
    """The repeat-contact ladder (DESIGN.md, "Policy ladder").

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
    variants: default legal_trace, legal, help; non-empty, unique ids ``[a-z][a-z0-9_]*``.
    assignment: ``"round_robin"`` (default) or ``"random"`` (uniform, seeded).
    seed: default 0; seed of the random assignment so runs are reproducible.
    end_after_deterrence: default True; the engine ends the conversation after a warning.
    """

    variants: Annotated[
        tuple[Annotated[str, Field(strict=True, pattern=r"^[a-z][a-z0-9_]*$")], ...],
        Field(min_length=1),
    ] = ("legal_trace", "legal", "help")
    assignment: Literal["round_robin", "random"] = "round_robin"
    seed: Annotated[StrictInt, Field(ge=0)] = 0
    end_after_deterrence: StrictBool = True

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
    ladder: LadderParams = LadderParams()
    commercial: CommercialParams = CommercialParams()
    threats: ThreatParams = ThreatParams()
    deterrence: DeterrenceParams = DeterrenceParams()


def default_policy_path() -> Path:
    """Path of the packaged ``default.yaml``."""
    return Path(str(files("tutela.policy") / "default.yaml"))


def _describe(error: ValidationError) -> str:
    parts = []
    for err in error.errors():
        field = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"]
        if err["type"] != "extra_forbidden" and "input" in err:
            msg = f"{msg} (got {err['input']!r})"
        elif err["type"] == "extra_forbidden":
            msg = "unknown key"
        parts.append(f"{field}: {msg}")
    return "; ".join(parts)


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
        starts with the file and names each offending dotted field
        (``"policy.yaml: invalid policy: solicitation.risk_threshold: ..."``).
    """
    source = default_policy_path() if path is None else Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{source}: cannot read policy file: {e}") from e
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else str(source)
        raise ConfigError(f"{where}: not valid YAML: {e}") from e
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: a policy file must be a mapping, not {type(data).__name__}")
    try:
        return PolicyParams.model_validate(data)
    except ValidationError as e:
        raise ConfigError(f"{source}: invalid policy: {_describe(e)}") from e
