"""Persona profiles: the shipped four load, validate, and bad files fail naming the file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from persona_support import DATA

from tutela.errors import ConfigError
from tutela.persona import load_persona, load_personas, persona_for_language
from tutela.persona.content import content_violations


def test_shipped_personas_with_required_languages() -> None:
    personas = load_personas()
    assert set(personas) == {"gb-ellie", "nl-daan", "be-noor", "ph-angel", "de-lena"}
    assert personas["de-lena"].languages == ("de",) and personas["de-lena"].country == "DE"
    assert personas["ph-angel"].languages == ("tl", "en")
    assert personas["ph-angel"].country == "PH"
    assert personas["be-noor"].languages[0] == "nl" and personas["be-noor"].country == "BE"
    assert personas["nl-daan"].languages[0] == "nl" and personas["nl-daan"].country == "NL"
    assert personas["gb-ellie"].languages == ("en",) and personas["gb-ellie"].country == "GB"
    for p in personas.values():
        assert 12 <= p.age <= 14
        assert p.reply_delay_s.min <= p.reply_delay_s.median <= p.reply_delay_s.max
        for fact in p.fact_strings():
            assert content_violations(fact) == (), (p.id, fact)


def test_persona_for_language_prefers_main_language() -> None:
    assert persona_for_language("en").id == "gb-ellie"
    assert persona_for_language("tl").id == "ph-angel"
    assert persona_for_language("nl").languages[0] == "nl"
    assert persona_for_language("de").id == "de-lena"
    with pytest.raises(ConfigError, match="'fr'"):
        persona_for_language("fr")


def test_load_persona_by_id_and_path() -> None:
    assert load_persona("gb-ellie").display_name == "ellie"
    assert load_persona(DATA / "de-lena.yaml").languages == ("de",)
    with pytest.raises(ConfigError, match="no-such-persona"):
        load_persona("no-such-persona")


def _write(tmp_path: Path, **changes: object) -> Path:
    data = yaml.safe_load((DATA / "de-lena.yaml").read_text(encoding="utf-8"))
    for key, value in changes.items():
        if "." in key:
            outer, inner = key.split(".")
            data[outer][inner] = value
        else:
            data[key] = value
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"age": 11}, "age"),
        ({"age": 15}, "age"),
        ({"country": "UK"}, "ISO 3166"),
        ({"languages": ["xx"]}, "ISO 639-1"),
        ({"typing.typo_rate": 1.5}, "typo_rate"),
        ({"reply_delay_s": {"min": 9, "median": 2, "max": 20}}, "min <= median"),
        ({"facts.city_region": "call 0612 345 678"}, "phone_number"),
        ({"facts.city_region": "kerkstraat 12"}, "address"),
        ({"facts.hobbies": ["dating"]}, "romantic"),
        ({"nickname": "x"}, "nickname"),
    ],
)
def test_invalid_profiles_raise_config_error_naming_the_file(
    tmp_path: Path, changes: dict[str, object], message: str
) -> None:
    path = _write(tmp_path, **changes)
    with pytest.raises(ConfigError) as err:
        load_persona(path)
    assert str(path) in str(err.value)
    assert message in str(err.value)
