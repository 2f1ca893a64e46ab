"""Detection parameters (YAML, validated with pydantic).

The packaged ``detection.yaml`` holds the documented defaults; ``--config FILE`` replaces any of
them. Unknown keys are an error, so a misspelt parameter cannot silently fall back to a default;
every error names the file, line and key (:mod:`tutela.configfile`).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from tutela.configfile import read_resource, read_yaml, validate
from tutela.detect.incremental import WarningRule

__all__ = ["DetectionConfig", "LineEvidenceConfig", "load_detection_config"]


class LineEvidenceConfig(BaseModel):
    """Batch evidence lines (``tutela.detect.corroboration``; same rule as the live policy).

    Attributes
    ----------
    enabled: run the line detector in ``analyze`` (default True).
    threshold, confident, sustained: the corroboration rule (defaults 0.7, 0.95, True: the live
        policy's ``line_evidence`` defaults).
    min_weight: smallest lexicon weight of a qualifying hit (default 0.5).
    require_evidence: a conversation or author is flagged only with at least one evidence line
        (default True: never by n-gram surface alone); False also flags on the conversation
        model's risk alone, as the first version did.
    require_minor_age: a detector-read line is evidence only after another participant stated a
        minor's age (default True; the batch counterpart of the live policy's age rule).
    gate: the cascade embeds a line when its linear-tier probability is at least this (0.1).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    threshold: float = Field(default=0.7, ge=0.0, le=1.0)
    confident: float = Field(default=0.95, ge=0.0, le=1.0)
    sustained: bool = True
    min_weight: float = Field(default=0.5, ge=0.0)
    require_evidence: bool = True
    require_minor_age: bool = True
    gate: float = Field(default=0.1, ge=0.0, le=1.0)


class DetectionConfig(BaseModel):
    """Parameters of detection.

    Attributes
    ----------
    model: path of a model file; ``None`` uses the model shipped in the package.
    warning_rule: the early-warning rule (Vogt et al. 2021 k-of-n vote) for the incremental scorer.
    line_indicator_weight: an indicator at least this heavy marks its line as carrying risk.
    lines: evidence lines from the line detector (:class:`LineEvidenceConfig`).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: Path | None = None
    warning_rule: WarningRule = Field(default_factory=WarningRule)
    line_indicator_weight: float = Field(default=0.6, ge=0.0, le=1.0)
    lines: LineEvidenceConfig = Field(default_factory=LineEvidenceConfig)


def load_detection_config(path: str | Path | None = None) -> DetectionConfig:
    """Load ``path`` (YAML) over the packaged defaults; ``None`` returns the defaults.

    The file is either the parameters themselves or a mapping with a ``detection`` section
    holding them; its keys replace the defaults' top-level keys (a shallow merge). An empty file
    gives the defaults.

    Raises
    ------
    ConfigError: unreadable YAML or a field that does not validate, in the format of
        :mod:`tutela.configfile` (``"FILE:LINE: KEY.PATH: problem"``).
    """
    defaults = read_resource("tutela.detect", "detection.yaml", name=_DEFAULTS)
    data = defaults.mapping(what="detection config", empty_ok=True)
    if path is None:
        return validate(defaults, DetectionConfig, what="detection config", data=data)
    doc = read_yaml(path, what="detection config")
    user = doc.mapping(what="detection config", empty_ok=True)
    at: tuple[str, ...] = ("detection",) if "detection" in user else ()
    section = user.get("detection", user)
    if not isinstance(section, dict):
        raise doc.error(at, "'detection' must be a mapping")
    return validate(doc, DetectionConfig, what="detection config", data={**data, **section}, at=at)


_DEFAULTS = "tutela/detect/detection.yaml"
