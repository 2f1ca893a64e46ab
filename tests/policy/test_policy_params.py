"""Loading and validating policy parameters."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tutela.domain import Category
from tutela.errors import ConfigError
from tutela.policy import PolicyParams, default_policy_path, load_policy


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_packaged_default_matches_model_defaults() -> None:
    assert default_policy_path().is_file()
    params = load_policy(None)
    assert params == PolicyParams()
    assert params.solicitation.risk_threshold == 0.5
    assert params.solicitation.categories == {
        Category.SEXUAL_CONTENT,
        Category.MEDIA_REQUEST,
        Category.MEETING,
        Category.GIFT_OR_MONEY,
        Category.SECRECY,
        Category.PLATFORM_SWITCH,
    }
    assert params.solicitation.paired_categories == {Category.SECRECY, Category.PLATFORM_SWITCH}
    assert params.line_evidence.enabled and params.line_evidence.threshold == 0.7
    assert (params.ladder.warnings_before_escalate, params.ladder.warnings_before_referral) == (
        1,
        2,
    )
    assert params.ladder.escalate_risk_threshold == 0.9
    assert params.deterrence.variants == ("combined", "legal_trace", "legal", "help")
    assert params.deterrence.help_link_base is None
    assert params.deterrence.end_after_deterrence is True


def test_partial_file_overrides_and_keeps_defaults(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "solicitation:\n  risk_threshold: 0.6\n  categories: [meeting]\n"
        "deterrence:\n  assignment: random\n  seed: 7\n",
    )
    params = load_policy(str(path))
    assert params.solicitation.risk_threshold == 0.6
    assert params.solicitation.categories == {Category.MEETING}
    assert params.deterrence.assignment == "random" and params.deterrence.seed == 7
    assert params.ladder == PolicyParams().ladder


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    assert load_policy(write(tmp_path, "")) == PolicyParams()


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("solicitation:\n  risk_threshold: high\n", "solicitation.risk_threshold"),
        ("solicitation:\n  risk_threshold: 1.5\n", "solicitation.risk_threshold"),
        ("ladder:\n  escalate_risk_threshold: -0.1\n", "ladder.escalate_risk_threshold"),
        ("ladder:\n  warnings_before_escalate: two\n", "ladder.warnings_before_escalate"),
        ("ladder:\n  require_age_disclosed: maybe\n", "ladder.require_age_disclosed"),
        ("ladder:\n  warnings_befor_escalate: 1\n", "ladder.warnings_befor_escalate"),
        ("colour: red\n", "colour"),
        ("solicitation:\n  categories: [webcam]\n", "solicitation.categories"),
        ("deterrence:\n  assignment: alphabetical\n", "deterrence.assignment"),
        ("deterrence:\n  variants: []\n", "deterrence.variants"),
        ("deterrence:\n  variants: [help, help]\n", "deterrence.variants"),
        ("ladder:\n  warnings_before_escalate: 3\n", "ladder"),
    ],
)
def test_bad_values_name_file_and_field(tmp_path: Path, text: str, field: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_policy(path)
    message = str(info.value)
    assert message.startswith(str(path))
    assert re.search(rf"{re.escape(field)}(\.\d+)?: ", message), message


def test_unknown_key_says_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"threats\.categoriez: unknown key"):
        load_policy(write(tmp_path, "threats:\n  categoriez: []\n"))


def test_not_yaml_or_not_a_mapping_or_missing(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"policy\.yaml:2: not valid YAML"):
        load_policy(write(tmp_path, "ladder:\n  a: b: c\n"))
    with pytest.raises(ConfigError, match="must be a mapping"):
        load_policy(write(tmp_path, "- 1\n- 2\n"))
    with pytest.raises(ConfigError, match="cannot read"):
        load_policy(tmp_path / "missing.yaml")


def test_params_are_frozen() -> None:
    params = PolicyParams()
    with pytest.raises(ValueError):
        params.ladder.warnings_before_escalate = 5  # type: ignore[misc]
