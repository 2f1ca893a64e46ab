"""Deterrence messages: required elements per language; only the deterrence origin passes."""

from __future__ import annotations

import pytest
from persona_support import PROFILES, guard_for

from tutela.errors import ConfigError
from tutela.persona import (
    DEFAULT_ORGANISATION,
    DETERRENCE_LANGUAGES,
    DETERRENCE_VARIANTS,
    OutgoingGuard,
    load_helplines,
    render_deterrence,
)
from tutela.persona.deterrence import helpline_for

# lang -> element -> words of which at least one must appear (lower-case)
REQUIRED = {
    "en": {"virtual": ["virtual child"], "org": ["child-protection organisation"],
           "recorded": ["recorded"], "crime": ["crime"], "help": ["confidential help"],
           "trace": ["traced"], "illegal": ["illegal", "prosecuted"]},
    "nl": {"virtual": ["virtueel kind"], "org": ["organisatie die kinderen beschermt"],
           "recorded": ["vastgelegd"], "crime": ["misdrijf"], "help": ["vertrouwelijke hulp"],
           "trace": ["opgespoord"], "illegal": ["strafbaar", "vervolgd"]},
    "de": {"virtual": ["virtuellen kind"], "org": ["kinderschutzorganisation"],
           "recorded": ["gespeichert"], "crime": ["straftat"], "help": ["vertrauliche hilfe"],
           "trace": ["ermittelt"], "illegal": ["strafbar", "verfolgt"]},
    "tl": {"virtual": ["virtual na bata"], "org": ["nagtatanggol sa mga bata"],
           "recorded": ["nakatala"], "crime": ["krimen"], "help": ["kumpidensyal na tulong"],
           "trace": ["matunton"], "illegal": ["labag sa batas", "makasuhan"]},
}  # fmt: skip
EVERY_VARIANT = ("virtual", "org", "recorded", "crime", "help")


@pytest.mark.parametrize("lang", DETERRENCE_LANGUAGES)
@pytest.mark.parametrize("variant", DETERRENCE_VARIANTS)
@pytest.mark.parametrize("country", ["GB", "NL", "BE", "DE", "PH"])
def test_required_elements(lang: str, variant: str, country: str) -> None:
    text = render_deterrence(lang, variant, country=country)
    low = text.lower()
    wanted = list(EVERY_VARIANT)
    if variant in ("combined", "legal_trace", "legal"):
        wanted.append("illegal")
    if variant in ("combined", "legal_trace"):
        wanted.append("trace")
    if variant == "combined":  # "illegal" stands for "a crime": never "a crime and may be illegal"
        wanted.remove("crime")
        assert not any(w in low for w in REQUIRED[lang]["crime"]), (lang, "crime and illegal")
    for element in wanted:
        assert any(w in low for w in REQUIRED[lang][element]), (lang, variant, element)
    helpline = helpline_for(country, lang)
    assert helpline is not None and helpline.name in text and helpline.url in text
    if helpline.phone:
        assert helpline.phone in text
    assert DEFAULT_ORGANISATION in text
    assert "{" not in text


def test_variants_and_helplines_are_complete() -> None:
    assert DETERRENCE_VARIANTS[0] == "combined"
    assert set(DETERRENCE_VARIANTS) >= {"combined", "legal_trace", "legal", "help"}
    helplines = load_helplines()
    assert set(helplines) >= {"GB", "NL", "BE", "DE", "PH"}
    assert all(h.verify_before_deployment for h in helplines.values())


def test_deterrence_passes_only_with_deterrence_origin() -> None:
    for profile in PROFILES:
        guard = guard_for(profile)
        for lang in profile.languages:
            for variant in DETERRENCE_VARIANTS:
                text = render_deterrence(lang, variant, country=profile.country)
                assert guard.check(text, origin="deterrence").allowed
                for origin in ("bank", "operator"):
                    verdict = guard.check(text, origin=origin)
                    assert not verdict.allowed and verdict.reasons
                assert not guard.check(text + " ", origin="deterrence").allowed
                assert not guard.check(text[:-1], origin="deterrence").allowed


def test_deterrence_of_other_country_or_organisation_is_refused() -> None:
    ellie = next(p for p in PROFILES if p.id == "gb-ellie")
    guard = guard_for(ellie)
    assert not guard.check(
        render_deterrence("en", "legal", country="PH"), origin="deterrence"
    ).allowed
    assert not guard.check(
        render_deterrence("en", "legal", country="GB", organisation="Other org"),
        origin="deterrence",
    ).allowed
    custom = OutgoingGuard(ellie, organisation="Other org")
    assert custom.check(
        render_deterrence("en", "legal", country="GB", organisation="Other org"),
        origin="deterrence",
    ).allowed


@pytest.mark.parametrize(
    "kwargs",
    [
        {"lang": "fr", "variant": "legal", "country": "GB"},
        {"lang": "en", "variant": "scare", "country": "GB"},
        {"lang": "en", "variant": "legal", "country": "ZZ"},
        {"lang": "en", "variant": "legal", "country": "GB", "organisation": ""},
    ],
)
def test_bad_arguments_are_config_errors(kwargs: dict[str, str]) -> None:
    lang, variant = kwargs.pop("lang"), kwargs.pop("variant")
    with pytest.raises(ConfigError):
        render_deterrence(lang, variant, **kwargs)
