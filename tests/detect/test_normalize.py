"""Tests for tutela.detect.normalize: each step on its own, the pipeline, properties."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tutela.detect import normalize as nm
from tutela.detect.normalize import (
    collapse_repeats,
    collapse_whitespace,
    fold_unicode,
    join_spaced_letters,
    normalize,
    strip_invisible,
    tokens,
    unleet,
)


def test_public_names() -> None:
    assert set(nm.__all__) == {
        "DROPPED_CATEGORIES",
        "HOMOGLYPHS",
        "INVISIBLE",
        "LEET",
        "UNIT_SUFFIX",
        "collapse_repeats",
        "collapse_whitespace",
        "confusable_table",
        "fold_unicode",
        "join_spaced_letters",
        "normalize",
        "skeleton",
        "strip_invisible",
        "tokens",
        "unleet",
    }


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("s\u200bex", "sex"),
        ("a\u200cb\u200dc\u200ed\u200f", "abcd"),
        ("wo\u2060rd\u2064", "word"),
        ("\ufeffhello", "hello"),
        ("se\u00adcret", "secret"),
        ("ok\ufe0f", "ok"),
        ("tag\U000e0041", "tag"),
        ("plain text", "plain text"),
    ],
)
def test_strip_invisible(raw: str, expected: str) -> None:
    assert strip_invisible(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("HeLLo", "hello"),
        ("ＨＥＬＬＯ", "hello"),  # fullwidth (NFKC)
        ("𝐡𝐞𝐥𝐥𝐨", "hello"),  # mathematical bold (NFKC)
        ("ⓗⓔⓛⓛⓞ", "hello"),  # enclosed letters (NFKC)
        ("НОТ", "hot"),  # Cyrillic capitals
        ("ѕех", "sex"),  # Cyrillic lower case
        ("ΗΟΤ", "hot"),  # Greek capitals look like H O T
        ("ꜱᴇx", "sex"),  # small capitals
        ("Straße", "strasse"),  # casefold
        ("schön", "schön"),  # real diacritics are kept
        ("don\u2019t", "don't"),  # typographic apostrophe
    ],
)
def test_fold_unicode(raw: str, expected: str) -> None:
    assert fold_unicode(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("s3x", "sex"),
        ("h0t", "hot"),
        ("l33t", "leet"),
        ("h0w 0ld r u", "how old r u"),
        ("5ex", "sex"),
        ("$exy", "sexy"),
        ("h@t", "hat"),
        ("k!ss", "kiss"),
        ("13", "13"),  # pure numbers keep their meaning
        ("im 13 yo", "im 13 yo"),
        ("12yo", "12yo"),  # number + unit suffix
        ("13f", "13f"),
        ("2nd", "2nd"),
        ("16jaar", "16jaar"),
        ("10pm", "10pm"),
        ("$100", "$100"),
        ("jenny14", "jenny14"),  # trailing digits stay
        ("mp3", "mp3"),
        ("hey!", "hey!"),
        ("4ever", "4ever"),  # 4 only between letters
    ],
)
def test_unleet(raw: str, expected: str) -> None:
    assert unleet(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("heyyyy", "heyy"),
        ("sooo", "soo"),
        ("good", "good"),
        ("1000", "1000"),
        ("aaaaaa bbb", "aa bb"),
    ],
)
def test_collapse_repeats(raw: str, expected: str) -> None:
    assert collapse_repeats(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("s e x", "sex"),
        ("s.e.x", "sex"),
        ("s-e-x", "sex"),
        ("s_e_x", "sex"),
        ("w h e r e  d o  y o u  l i v e", "where do you live"),
        ("r u a girl", "r u a girl"),  # one-letter chat words only
        ("u r h o t", "u r hot"),
        ("a g i r l", "a girl"),
        ("s 3 x", "s3x"),  # leet characters join when the span has letters
        ("1 3", "1 3"),
        ("e.g. this", "e.g. this"),  # only two letters
        ("t-shirt", "t-shirt"),
    ],
)
def test_join_spaced_letters(raw: str, expected: str) -> None:
    assert join_spaced_letters(raw) == expected


def test_collapse_whitespace() -> None:
    assert collapse_whitespace("  a \t b\n\nc  ") == "a b c"
    assert collapse_whitespace("") == ""


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("H0W 0LD R U???", "how old r u???"),
        ("w h e r e  d o  y o u  l i v e", "where do you live"),
        ("a  b  c", "abc"),
        ("S\u200b3\u200bX", "sex"),
        ("Heyyyyy   there", "heyy there"),
        ("ｓ ｅ ｘ", "sex"),
        ("I'm 13", "i'm 13"),
        ("", ""),
    ],
)
def test_normalize_pipeline(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_tokens() -> None:
    assert tokens("H3llo, I'm 13!") == ["hello", "i", "m", "13"]
    assert tokens("  ") == []


@settings(max_examples=400, deadline=None)
@given(st.text())
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


_CHATTY = st.text(
    alphabet=st.sampled_from(list("abcdehilorstuxy 013457@$!|._-  \u200bΗНоѕ")), max_size=40
)


@settings(max_examples=400, deadline=None)
@given(_CHATTY)
def test_normalize_is_idempotent_on_chat_like_text(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(codec=None), max_size=200))
def test_normalize_accepts_any_unicode(text: str) -> None:
    out = normalize(text)
    assert isinstance(out, str)
    assert not any(ord(c) in nm.INVISIBLE for c in out)
    assert out == out.strip()


@pytest.mark.parametrize(
    "raw",
    [
        "w\u0332e\u0332b\u0332c\u0332a\u0332m\u0332",  # combining low line on each letter
        "w\u20dde\u20ddbcam",  # enclosing circle (Me)
        "\uff57\uff45\uff42\uff43\uff41\uff4d",  # fullwidth
        "\U0001d430\U0001d41e\U0001d41b\U0001d41c\U0001d41a\U0001d426",  # mathematical bold
        "we\u200dbc\u2060am",  # ZWJ and word joiner
        "web\u00adcam",  # soft hyphen
        "w\u0435b\u0441\u0430m",  # Cyrillic ie, es, a
        "\u13b3ebcam",  # Cherokee letter that UTS #39 lists as a W look-alike
    ],
)
def test_skeleton_undoes_unicode_tricks(raw: str) -> None:
    assert nm.skeleton(raw) == "webcam"
    assert normalize(raw) == "webcam"


def test_skeleton_keeps_letters_of_the_chat_languages() -> None:
    assert normalize("Für dich, schöne Grüße") == "für dich, schöne grüsse"
    assert normalize("één keer") == "één keer"


def test_confusable_table_comes_from_the_unicode_data() -> None:
    table = nm.confusable_table()
    assert len(table) > 1000  # the package's UTS #39 data, not only the supplement
    assert table[ord("\u0430")] == "a"
    assert all(len(v) == 1 and v.isascii() for v in table.values())
