"""Detection parameters (YAML, validated with pydantic).

The packaged ``detection.yaml`` holds the documented defaults; ``--config FILE`` replaces any of
them. Unknown keys are an error, so a misspelt parameter cannot silently fall back to a default.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tutela.detect.incremental import WarningRule
from tutela.errors import ConfigError
from tutela.safeload import load_yaml

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

    Raises
    ------
    ConfigError: unreadable YAML or a field that does not validate (names the file and field).
    """
    default_text = (resources.files("tutela.detect") / "detection.yaml").read_text("utf-8")
    data = yaml.safe_load(default_text) or {}
    name = "tutela/detect/detection.yaml"
    if path is not None:
        name = str(path)
        try:
            user = load_yaml(Path(path).read_text("utf-8")) or {}
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
            raise ConfigError(f"{name}: cannot read detection config: {e}") from e
        if not isinstance(user, dict):
            raise ConfigError(f"{name}: the top level must be a mapping")
        section = user.get("detection", user)
        if not isinstance(section, dict):
            raise ConfigError(f"{name}: 'detection' must be a mapping")
        data = {**data, **section}
    try:
        return DetectionConfig.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{name}: {field}: {first['msg']}") from e
