"""Tests for tutela.detect.language (synthetic lines per language)."""

from __future__ import annotations

import pytest

from tutela.detect import language as lang_mod
from tutela.detect.language import (
    MAX_CHARS,
    TAGALOG_SHARE,
    detect_language,
    lexicon_languages,
)


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["hey how was your day at school today", "we had a math test"], "en"),
        (["ik speel graag voetbal met mijn vrienden", "morgen hebben we vrij"], "nl"),
        (["ich gehe heute mit meinen freunden ins kino", "morgen haben wir frei"], "de"),
        (["nagluto si mama ng adobo para sa hapunan namin"], "tl"),
        (["uy musta na, busy ka ba today?", "sige chat lang tayo mamaya"], "tl"),  # Taglish
        ("je suis allé au marché ce matin avec ma soeur", "fr"),
    ],
)
def test_detect_language(lines: list[str] | str, expected: str) -> None:
    code, confidence = detect_language(lines)
    assert code == expected
    assert 0.5 <= confidence <= 1.0


@pytest.mark.parametrize("text", ["", "hi", "ok :)", "   ", "12345 678"])
def test_short_or_empty_text_is_undetermined(text: str) -> None:
    assert detect_language(text) == ("und", 0.0)
    assert detect_language([text]) == ("und", 0.0)


def test_taglish_heuristic_needs_share_and_two_distinct_words() -> None:
    # Dutch "na" alone must not make a Dutch line Tagalog
    assert detect_language("ik ga na school naar huis fietsen")[0] == "nl"
    # one Tagalog function word in a long English line stays English
    assert detect_language("i was at the mall with my friends and we ate lang")[0] == "en"
    assert TAGALOG_SHARE == 0.15


def test_long_text_is_capped() -> None:
    text = "the cat sat on the mat and looked outside. " * 200
    assert len(text) > MAX_CHARS
    assert detect_language(text)[0] == "en"


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("tl", ("tl", "en")),
        ("fil", ("tl", "en")),
        ("nl", ("nl", "en")),
        ("de", ("de", "en")),
        ("en", ("en",)),
        ("fr", ("en",)),
        ("und", ("en",)),
        (" NL ", ("nl", "en")),
    ],
)
def test_lexicon_languages(code: str, expected: tuple[str, ...]) -> None:
    assert lexicon_languages(code) == expected


def test_public_names() -> None:
    assert set(lang_mod.__all__) == {
        "MAX_CHARS",
        "MIN_LETTERS",
        "TAGALOG_FUNCTION_WORDS",
        "TAGALOG_SHARE",
        "detect_language",
        "lexicon_languages",
    }
