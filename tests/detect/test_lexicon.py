"""Tests for tutela.detect.lexicon: shipped data, matching, obfuscation, validation, ages."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tutela.detect import lexicon as lx
from tutela.detect.lexicon import (
    SUPPORTED_LANGUAGES,
    IndicatorDef,
    Lexicon,
    load_lexicon,
    load_lexicons,
    mentions_minor_age,
    parse_lexicon,
)
from tutela.detect.normalize import normalize
from tutela.domain import Category, IndicatorHit
from tutela.errors import ConfigError

# One short, synthetic, non-graphic example line per shipped indicator.
EXAMPLES: dict[str, str] = {
    "en.age_probe.how_old": "so how old are you",
    "en.age_probe.asl": "asl?",
    "en.age_probe.grade": "what grade are you in now",
    "en.age_probe.underage": "are you under 18",
    "en.personal_info_probe.where_live": "where do you live",
    "en.personal_info_probe.school": "what school do you go to",
    "en.personal_info_probe.name_number": "whats ur number",
    "en.flattery.looks": "you're so pretty",
    "en.flattery.mature": "you are very mature for your age",
    "en.trust_building.trust_me": "you can trust me",
    "en.trust_building.affection": "i miss you",
    "en.risk_check.parents_home": "are your parents home?",
    "en.risk_check.alone": "r u home alone",
    "en.risk_check.monitoring": "do your parents check your phone",
    "en.police_check.cop": "are you a cop",
    "en.police_check.bot": "r u a bot",
    "en.secrecy.dont_tell": "don't tell anyone ok",
    "en.secrecy.delete": "delete this chat after",
    "en.isolation.understand": "nobody understands you like i do",
    "en.platform_switch.add_me": "add me on there",
    "en.platform_switch.app": "i use telegram",
    "en.media_request.cam": "do you have a cam",
    "en.media_request.picture": "send me a pic",
    "en.sexual_content.explicit": "are you naked",
    "en.sexual_content.intimate": "are you a virgin",
    "en.sexual_content.ambiguous": "a kiss from grandma",
    "en.gift_or_money.offer": "i can buy you a phone",
    "en.gift_or_money.channel": "do you have paypal",
    "en.meeting.meet": "we should meet",
    "en.meeting.pick_up": "i can pick you up",
    "en.meeting.exact_location": "where do you live exactly",
    "nl.age_probe.hoe_oud": "hoe oud ben je",
    "nl.age_probe.klas": "in welke klas zit je",
    "nl.personal_info_probe.woonplaats": "waar woon je",
    "nl.personal_info_probe.school_nummer": "wat is je nummer",
    "nl.flattery.uiterlijk": "je bent zo mooi",
    "nl.trust_building.vertrouwen": "je kunt me vertrouwen",
    "nl.trust_building.genegenheid": "ik mis je",
    "nl.risk_check.ouders": "zijn je ouders thuis",
    "nl.police_check.politie": "ben je van de politie",
    "nl.secrecy.niet_vertellen": "niet aan je ouders vertellen he",
    "nl.secrecy.verwijderen": "verwijder dit gesprek",
    "nl.isolation.begrijpen": "ze begrijpen je niet",
    "nl.platform_switch.toevoegen": "voeg me toe op insta",
    "nl.media_request.webcam": "heb je een webcam",
    "nl.media_request.foto": "stuur me een foto",
    "nl.gift_or_money.aanbod": "ik stuur je geld",
    "nl.meeting.afspreken": "zullen we afspreken",
    "nl.sexual_content.termen": "ben je naakt",
    "nl.sexual_content.intiem": "ben je nog maagd",
    "de.age_probe.wie_alt": "wie alt bist du",
    "de.age_probe.klasse": "in welche klasse gehst du",
    "de.personal_info_probe.wohnort": "wo wohnst du",
    "de.personal_info_probe.schule_nummer": "gib mir deine nummer",
    "de.flattery.aussehen": "du bist so hübsch",
    "de.trust_building.vertrauen": "du kannst mir vertrauen",
    "de.trust_building.zuneigung": "ich vermisse dich",
    "de.risk_check.eltern": "sind deine eltern zuhause",
    "de.police_check.polizei": "bist du von der polizei",
    "de.secrecy.niemandem_sagen": "sag es niemandem",
    "de.secrecy.loeschen": "lösch den chat",
    "de.isolation.verstehen": "die verstehen dich nicht",
    "de.platform_switch.hinzufuegen": "hast du snap",
    "de.media_request.cam": "hast du eine webcam",
    "de.media_request.bild": "schick mir ein bild",
    "de.gift_or_money.angebot": "ich kauf dir was",
    "de.meeting.treffen": "wollen wir uns treffen",
    "de.sexual_content.begriffe": "bist du nackt",
    "de.sexual_content.intim": "bist du jungfrau",
    "tl.age_probe.ilang_taon": "ilang taon ka na",
    "tl.age_probe.grade": "grade ilan ka na",
    "tl.personal_info_probe.taga_saan": "taga saan ka",
    "tl.personal_info_probe.school_number": "san ka nag aaral",
    "tl.flattery.ganda": "ang ganda mo",
    "tl.trust_building.tiwala": "hindi kita sasaktan",
    "tl.trust_building.lambing": "miss na kita",
    "tl.risk_check.magulang": "nandyan ba parents mo",
    "tl.risk_check.mag_isa": "may kasama ka ba",
    "tl.police_check.pulis": "pulis ka ba",
    "tl.secrecy.wag_sabihin": "wag mo sabihin kay mama",
    "tl.secrecy.burahin": "burahin mo yung chat",
    "tl.isolation.naiintindihan": "di ka nila naiintindihan",
    "tl.platform_switch.add_mo": "ano fb mo",
    "tl.media_request.cam": "may cam ka ba",
    "tl.media_request.pic": "send pic naman",
    "tl.gift_or_money.alok": "babayaran kita",
    "tl.gift_or_money.channel": "may gcash ka",
    "tl.meeting.kita_tayo": "kita tayo bukas",
    "tl.sexual_content.termino": "maghubad ka",
    "tl.sexual_content.intimo": "virgin ka pa ba",
}

# Obfuscated variants: must match the given indicator after normalize().
OBFUSCATED: list[tuple[str, str, str]] = [
    ("en", "h0w 0ld r u", "en.age_probe.how_old"),
    ("en", "w h e r e  d o  y o u  l i v e", "en.personal_info_probe.where_live"),
    ("en", "HOW OLD ARE YOUUUU", "en.age_probe.how_old"),
    ("en", "d0nt t3ll anyone", "en.secrecy.dont_tell"),
    ("en", "s e n d  m e  a  p i c", "en.media_request.picture"),
    ("en", "are уоur раrеntѕ home", "en.risk_check.parents_home"),  # Cyrillic look-alikes
    ("en", "ｄｏ ｙｏｕ ｈａｖｅ ａ ｃａｍ", "en.media_request.cam"),  # fullwidth
    ("en", "are you n\u200ba\u200bk\u200be\u200bd", "en.sexual_content.explicit"),
    ("en", "are u a c0p", "en.police_check.cop"),
    ("en", "don\u2019t tell your mom", "en.secrecy.dont_tell"),  # typographic apostrophe
    ("en", "dont tell your mom", "en.secrecy.dont_tell"),
    ("nl", "h o e  o u d  b e n  j e", "nl.age_probe.hoe_oud"),
    ("de", "W1E ALT B1ST DU", "de.age_probe.wie_alt"),
    ("tl", "1lang ta0n ka na", "tl.age_probe.ilang_taon"),
    ("tl", "wag mo sabihinnnn", "tl.secrecy.wag_sabihin"),
]

BENIGN = [
    "how was school today",
    "my dad is cooking dinner",
    "i finished my homework",
    "the weather is nice",
    "we watched a movie yesterday",
    "ik speel graag voetbal",
    "mijn moeder kookt vanavond",
    "ich spiele gern fussball",
    "wir haben heute mathe",
    "kumain ka na ba",
    "ang saya ng laro kanina",
]
HIGH_WEIGHT = 0.6


def _ids(lexicon: Lexicon, text: str) -> list[str]:
    return [ind.id for ind, _, _ in lexicon.match(normalize(text))]


@pytest.mark.parametrize("lang", SUPPORTED_LANGUAGES)
def test_every_category_in_every_language(lang: str) -> None:
    assert load_lexicon(lang).categories == frozenset(Category)


@pytest.mark.parametrize("lang", SUPPORTED_LANGUAGES)
def test_shipped_lexicon_size_and_header(lang: str) -> None:
    lexicon = load_lexicon(lang)
    assert 15 <= len(lexicon) <= 40
    assert lexicon.langs == (lang,)
    for ind in lexicon.indicators:
        assert ind.id.startswith(f"{lang}.{ind.category.value}.")
        assert 0 <= ind.weight <= 1
        assert ind.lang == lang
        assert ind.source


def test_example_table_covers_every_indicator() -> None:
    shipped = {ind.id for lang in SUPPORTED_LANGUAGES for ind in load_lexicon(lang).indicators}
    assert shipped == set(EXAMPLES)


@pytest.mark.parametrize(("indicator_id", "line"), sorted(EXAMPLES.items()))
def test_each_indicator_matches_its_example(indicator_id: str, line: str) -> None:
    lexicon = load_lexicon(indicator_id.split(".")[0])
    assert indicator_id in _ids(lexicon, line)


@pytest.mark.parametrize("lang", SUPPORTED_LANGUAGES)
def test_each_plain_phrase_matches_itself(lang: str) -> None:
    lexicon = load_lexicon(lang)
    for ind in lexicon.indicators:
        for pattern in ind.patterns:
            if pattern.startswith("re:"):
                continue
            text = normalize(pattern)
            found = lexicon.match(text)
            assert found, pattern
            assert (found[0][0].id, found[0][1], found[0][2]) == (ind.id, 0, len(text)), pattern


@pytest.mark.parametrize(("lang", "line", "indicator_id"), OBFUSCATED)
def test_obfuscated_variants_match(lang: str, line: str, indicator_id: str) -> None:
    assert indicator_id in _ids(load_lexicon(lang), line)


@pytest.mark.parametrize("line", BENIGN)
def test_benign_lines_hit_no_high_weight_indicator(line: str) -> None:
    for langs in (("en",), ("nl", "en"), ("de", "en"), ("tl", "en")):
        hits = load_lexicons(langs).hits(line, line=1, author="a")
        assert [h.indicator for h in hits if h.weight >= HIGH_WEIGHT] == []


def test_word_boundaries() -> None:
    en = load_lexicon("en")
    assert _ids(en, "sussex is a county") == []
    assert _ids(en, "the brain is an organ") == []
    assert _ids(en, "sex") == ["en.sexual_content.explicit"]
    assert _ids(en, "sexy") == ["en.sexual_content.intimate"]


def test_longest_phrase_wins_at_a_position() -> None:
    en = load_lexicon("en")
    assert _ids(en, "where do you live exactly?") == ["en.meeting.exact_location"]
    assert _ids(en, "where do you live?") == ["en.personal_info_probe.where_live"]


def test_match_is_ordered_and_non_overlapping() -> None:
    en = load_lexicon("en")
    text = normalize("how old are you? add me on snapchat and send me a pic")
    found = en.match(text)
    assert [ind.id for ind, _, _ in found] == [
        "en.age_probe.how_old",
        "en.platform_switch.add_me",
        "en.platform_switch.app",
        "en.media_request.picture",
    ]
    ends = [0]
    for _, start, end in found:
        assert start >= ends[-1]
        ends.append(end)
    _, start, end = found[0]
    assert text[start:end] == "how old are you"


def test_hits_builds_indicator_hits() -> None:
    en = load_lexicon("en")
    hits = en.hits("H0W OLD R U", line=7, author="u1")
    assert hits == [
        IndicatorHit(
            indicator="en.age_probe.how_old",
            category=Category.AGE_PROBE,
            weight=en.get("en.age_probe.how_old").weight,
            line=7,
            author="u1",
            start=0,
            end=11,
        )
    ]
    # normalised=True skips normalisation: raw leet no longer matches
    assert en.hits("h0w 0ld r u", line=1, author="u1", normalised=True) == []


def test_load_is_cached_and_falls_back_to_english() -> None:
    assert load_lexicon("en") is load_lexicon("en")
    assert load_lexicon("fr") is load_lexicon("en")
    assert load_lexicon("fil") is load_lexicon("tl")
    assert load_lexicons(["xx"]) is load_lexicon("en")
    assert load_lexicons([]) is load_lexicon("en")
    assert load_lexicons(("tl", "en")) is load_lexicons(["tl", "en", "tl"])


def test_merged_lexicon_covers_both_languages() -> None:
    taglish = load_lexicons(("tl", "en"))
    assert taglish.langs == ("tl", "en")
    assert _ids(taglish, "ilang taon ka na? do you have a cam") == [
        "tl.age_probe.ilang_taon",
        "en.media_request.cam",
    ]
    # "send pic" is in both files under media_request: kept once, from the first language
    assert _ids(taglish, "send pic") == ["tl.media_request.pic"]
    assert _ids(load_lexicons(("en", "tl")), "send pic") == ["en.media_request.picture"]


# --- validation --------------------------------------------------------------------------------


def _valid() -> dict[str, Any]:
    return {
        "language": "xx",
        "version": "1",
        "sources": ["test"],
        "reviewed": "test",
        "indicators": [
            {
                "id": "xx.age_probe.a",
                "category": "age_probe",
                "weight": 0.5,
                "patterns": ["how old"],
                "source": "test",
            },
            {
                "id": "xx.meeting.b",
                "category": "meeting",
                "weight": 0.8,
                "patterns": ["meet up", "re:see\\s+you\\s+at"],
                "source": "test",
            },
        ],
    }


def test_parse_valid_lexicon() -> None:
    lexicon = parse_lexicon(_valid())
    assert [i.id for i in lexicon.indicators] == ["xx.age_probe.a", "xx.meeting.b"]
    assert isinstance(lexicon.indicators[0], IndicatorDef)
    assert _ids(lexicon, "ok see you at noon") == ["xx.meeting.b"]


def _broken(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    data = copy.deepcopy(_valid())
    target: Any = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_broken(("indicators", 0, "category"), "cooking"), "unknown category"),
        (_broken(("indicators", 0, "weight"), 1.5), "weight"),
        (_broken(("indicators", 0, "weight"), -0.1), "weight"),
        (_broken(("indicators", 0, "weight"), True), "weight"),
        (_broken(("indicators", 0, "patterns"), ["re:(unclosed"]), "does not compile"),
        (_broken(("indicators", 0, "patterns"), ["re:x*"]), "empty string"),
        (_broken(("indicators", 0, "patterns"), ["re:(?P<n>x)"]), "named groups"),
        (_broken(("indicators", 0, "patterns"), []), "non-empty list"),
        (_broken(("indicators", 1, "id"), "xx.age_probe.a"), "duplicate indicator id"),
        (_broken(("indicators", 1, "patterns"), ["HOW  OLD"]), "two categories"),
        (_broken(("indicators", 0, "id"), "en.age_probe.a"), "must be a string starting"),
        (_broken(("sources",), []), "sources"),
        (_broken(("indicators",), "none"), "indicators must be a list"),
    ],
)
def test_validation_errors(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_lexicon(data, origin="test.yaml")


def test_same_pattern_twice_in_one_category_is_an_error() -> None:
    data = _valid()
    data["indicators"].append(
        {
            "id": "xx.age_probe.c",
            "category": "age_probe",
            "weight": 0.5,
            "patterns": ["how old"],
            "source": "test",
        }
    )
    with pytest.raises(ConfigError, match="listed twice"):
        parse_lexicon(data)


def test_missing_header_field_is_an_error() -> None:
    data = _valid()
    del data["reviewed"]
    with pytest.raises(ConfigError, match="missing header"):
        parse_lexicon(data)
    with pytest.raises(ConfigError, match="mapping"):
        parse_lexicon(["not", "a", "mapping"])


def test_config_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        parse_lexicon(_broken(("indicators", 0, "weight"), 2))


# --- stated ages -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "age"),
    [
        ("im 13", 13),
        ("I'm only 14 lol", 14),
        ("13 yo", 13),
        ("12yo", 12),
        ("13 years old", 13),
        ("15/f", 15),
        ("ik ben 12", 12),
        ("ik ben 16 jaar", 16),
        ("ich bin 15", 15),
        ("ich bin dreizehn", 13),
        ("13 na ako", 13),
        ("14 pa lang ako", 14),
        ("i'm thirteen", 13),
        ("i am 25 and my sister is 9", None),
        ("im 18", None),
        ("im 13 minutes away", None),
        ("i have 13 cats", None),
        ("it costs 13 euros", None),
        ("", None),
    ],
)
def test_mentions_minor_age(line: str, age: int | None) -> None:
    assert mentions_minor_age(normalize(line)) == age


def test_public_names() -> None:
    assert set(lx.__all__) == {
        "SUPPORTED_LANGUAGES",
        "IndicatorDef",
        "Lexicon",
        "load_lexicon",
        "load_lexicons",
        "mentions_minor_age",
        "parse_lexicon",
    }


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=120))
def test_hits_accept_any_text(text: str) -> None:
    norm = normalize(text)
    for hit in load_lexicons(("tl", "en")).hits(text, line=1, author="a"):
        assert 0 <= hit.start < hit.end <= len(norm)


def test_sex_education_and_everyday_words_are_not_explicit() -> None:
    en = load_lexicon("en")
    assert _ids(en, "we have sex ed tomorrow") == []
    assert _ids(en, "do you want to have sex") == ["en.sexual_content.explicit"]
    assert [h.weight for h in en.hits("my sports bra is too small", line=1, author="a")] == [0.3]
