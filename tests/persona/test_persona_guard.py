"""The outgoing guard: property tests (hypothesis) and the GuardedText seal."""

from __future__ import annotations

import dataclasses
import random

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from persona_support import PROFILE_IDS, PROFILES, guard_for

from tutela.errors import SafetyError
from tutela.persona import GuardedText, GuardRefusal, PersonaProfile, load_bank
from tutela.persona.bank import renderings
from tutela.persona.content import ROMANTIC_EMOJI, SAFE_EMOJI, content_violations
from tutela.persona.style import apply_style, base_style

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Synthetic forbidden phrases (written for these tests; short and non-graphic), all languages.
FORBIDDEN = [
    # en
    "i love you", "kiss me", "you are so sexy", "be my girlfriend", "my boyfriend", "ok lets meet",
    "see you at the park", "send me a pic", "send nudes", "turn on your webcam",
    "give me your number", "whats your snapchat", "add me on whatsapp", "send me money",
    "paypal me", "this is our secret", "are you naked", "call me tonight", "come over later",
    "pick you up after school",
    # nl
    "ik hou van je", "dikke kusjes", "zullen we afspreken", "stuur me een foto",
    "geef me je nummer", "wat is je snapchat", "ik ben naakt", "mijn schatje", "ben je verliefd",
    "kom je langskomen",
    # de
    "ich liebe dich", "wollen wir uns treffen", "schick mir ein bild", "gib mir deine nummer",
    "bist du nackt", "mein schatzi", "das bleibt unter uns", "ich hole dich ab abholen",
    # tl
    "mahal kita", "kita tayo bukas", "pasend ng pic", "pahingi ng number", "gcash mo",
    "hubad ka", "jowa kita", "sikreto natin", "susunduin kita sunduin",
]  # fmt: skip

LEET = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"}
HOMOGLYPH = {
    "a": "а", "c": "с", "e": "е", "o": "о", "p": "р", "x": "х", "y": "у", "i": "і", "s": "ѕ",
    "h": "һ", "k": "κ", "v": "ν", "t": "τ",
}  # fmt: skip
ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"]
SEPARATORS = [" ", ".", "-", "_", " . ", "*"]
OBFUSCATIONS = ("leet", "homoglyph", "fullwidth", "case", "spacing", "zero_width")


def obfuscate(phrase: str, kinds: frozenset[str], rng: random.Random) -> str:
    chars = list(phrase)
    for i, c in enumerate(chars):
        if not c.isalpha():
            continue
        roll = rng.random()
        if "leet" in kinds and c in LEET and roll < 0.5:
            chars[i] = LEET[c]
        elif "homoglyph" in kinds and c in HOMOGLYPH and roll < 0.8:
            chars[i] = HOMOGLYPH[c]
        elif "fullwidth" in kinds and rng.random() < 0.5:
            chars[i] = chr(ord(c) + 0xFEE0)
        if "case" in kinds and rng.random() < 0.5:
            chars[i] = chars[i].upper()
    if "spacing" in kinds:
        sep = rng.choice(SEPARATORS)
        chars = [c + sep if c != " " else "  " for c in chars]
    if "zero_width" in kinds:
        chars = [c + rng.choice(ZERO_WIDTH) for c in chars]
    return "".join(chars)


@pytest.mark.parametrize("pid", PROFILE_IDS)
def test_every_bank_rendering_passes_the_guard(pid: str) -> None:
    """Exhaustive: every template x every slot combination x the deterministic style."""
    profile = next(p for p in PROFILES if p.id == pid)
    guard = guard_for(profile)
    n = 0
    for lang in profile.languages:
        bank = load_bank(lang)
        for key, template in bank.all_entries():
            for rendering in renderings(template, profile, bank):
                text = base_style(rendering, profile)
                verdict = guard.check(text, origin="bank")
                assert verdict.allowed, (key, text, verdict.reasons)
                assert guard.bank_key_of(text) is not None
                for seed in range(4):
                    styled = apply_style(rendering, profile, random.Random(seed))
                    assert guard.check(styled, origin="bank").allowed, (key, styled)
                n += 1
    assert n > 80


@SETTINGS
@given(
    profile=st.sampled_from(PROFILES),
    seed=st.integers(min_value=0, max_value=2**32),
    index=st.integers(min_value=0, max_value=10**6),
)
def test_styled_bank_renderings_pass_for_any_seed(
    profile: PersonaProfile, seed: int, index: int
) -> None:
    """Any template, any profile, any RNG seed: the styled text (typos, emoji) passes."""
    entries = [(lang, k, t) for lang in profile.languages for k, t in load_bank(lang).all_entries()]
    lang, key, template = entries[index % len(entries)]
    bank = load_bank(lang)
    rng = random.Random(seed)
    options = renderings(template, profile, bank)
    if not options:  # a slot this profile cannot fill (none today): never planned either
        return
    text = apply_style(rng.choice(options), profile, rng)
    verdict = guard_for(profile).check(text, origin="bank")
    assert verdict.allowed, (key, text, verdict.reasons)


@SETTINGS
@given(
    profile=st.sampled_from(PROFILES),
    phrase=st.sampled_from(FORBIDDEN),
    kinds=st.frozensets(st.sampled_from(OBFUSCATIONS)),
    prefix=st.text(max_size=30),
    suffix=st.text(max_size=30),
    seed=st.integers(min_value=0, max_value=2**16),
)
def test_forbidden_phrases_are_refused_however_hidden(
    profile: PersonaProfile,
    phrase: str,
    kinds: frozenset[str],
    prefix: str,
    suffix: str,
    seed: int,
) -> None:
    text = f"{prefix} {obfuscate(phrase, kinds, random.Random(seed))} {suffix}"
    guard = guard_for(profile)
    for origin in ("operator", "bank"):
        verdict = guard.check(text, origin=origin)
        assert not verdict.allowed, (origin, text)
        assert verdict.reasons
    operator = guard.check(text, origin="operator")
    assert not any(r.startswith("origin:") for r in operator.reasons)  # refused for content
    assert not guard.check(text, origin="deterrence").allowed


@pytest.mark.parametrize("phrase", FORBIDDEN)
def test_each_forbidden_phrase_alone_is_refused_for_content(phrase: str) -> None:
    assert content_violations(phrase), phrase


@SETTINGS
@given(
    digits=st.text(alphabet="0123456789", min_size=7, max_size=12),
    sep=st.sampled_from(["", " ", "-", ".", " - ", "\u200b", "/"]),
    fullwidth=st.booleans(),
    prefix=st.text(max_size=20),
)
def test_phone_numbers_are_refused_however_written(
    digits: str, sep: str, fullwidth: bool, prefix: str
) -> None:
    number = sep.join(chr(ord(d) + 0xFEE0) if fullwidth else d for d in digits)
    text = f"{prefix} call {number}"
    verdict = guard_for(PROFILES[0]).check(text, origin="operator")
    assert not verdict.allowed
    assert any(r.startswith("phone_number") for r in verdict.reasons), verdict.reasons


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("mail me at kid.one@example.com", "email"),
        ("kid dot com", "url"),
        ("go to www.example.org", "url"),
        ("https://example.net/x", "url"),
        ("find me @kiddo99", "handle"),
        ("i live at kerkstraat 12", "address"),
        ("postcode 1234 ab", "postcode"),
        ("send 20 € pls", "currency_symbol"),
        ("nl91 abna 0417 1643 00", "iban"),
        ("miss u 😘", "romantic_emoji"),
        ("lol ❤️", "romantic_emoji"),
        ("haha 🍆", "romantic_emoji"),
        ("ok 🦄", "emoji"),
        ("x" * 501, "length"),
        ("data:image/png;base64,AAAA", "media"),
        ("ok lets meet", "meeting"),
        ("kita tayo", "meeting"),
        ("wir treffen uns", "meeting"),
        ("ja, afspreken", "meeting"),
    ],
)
def test_operator_texts_refused_with_reasons(text: str, category: str) -> None:
    verdict = guard_for(PROFILES[0]).check(text, origin="operator")
    assert not verdict.allowed
    assert any(r.startswith(category) for r in verdict.reasons), verdict.reasons


def test_safe_operator_text_and_safe_emoji_pass() -> None:
    guard = guard_for(PROFILES[0])
    assert guard.check("sorry my mum was calling, im back", origin="operator").allowed
    for emoji in SAFE_EMOJI:
        assert emoji not in ROMANTIC_EMOJI
        assert guard.check(f"lol {emoji}", origin="operator").allowed, emoji


@SETTINGS
@given(profile=st.sampled_from(PROFILES), text=st.text(min_size=1, max_size=60))
def test_texts_not_in_the_bank_are_refused_for_origin_bank(
    profile: PersonaProfile, text: str
) -> None:
    guard = guard_for(profile)
    assume(guard.bank_key_of(text) is None)  # the (rare) exact bank text is excluded
    verdict = guard.check(text, origin="bank")
    assert not verdict.allowed
    expected = "origin: not a reviewed bank rendering for this persona"
    assert (
        expected in verdict.reasons if text.strip() else "empty: nothing to send" in verdict.reasons
    )


@SETTINGS
@given(
    profile=st.sampled_from(PROFILES),
    index=st.integers(min_value=0, max_value=10**6),
    word=st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8),
    position=st.integers(min_value=0, max_value=20),
)
def test_bank_text_with_an_extra_word_is_refused(
    profile: PersonaProfile, index: int, word: str, position: int
) -> None:
    guard = guard_for(profile)
    bank = load_bank(profile.main_language)
    entries = bank.all_entries()
    _, template = entries[index % len(entries)]
    text = base_style(renderings(template, profile, bank)[0], profile)
    words = text.split(" ")
    words.insert(position % (len(words) + 1), word)
    extended = " ".join(words)
    # the longer text may itself be another template's text ("bin 14" + "i" = "i bin 14", the
    # styled "ich bin 14"): that one is rightly allowed
    others = {base_style(r, profile) for _, t in entries for r in renderings(t, profile, bank)}
    assume(extended not in others)
    assert not guard.check(extended, origin="bank").allowed


def test_bank_text_of_another_persona_is_refused() -> None:
    ellie = next(p for p in PROFILES if p.id == "gb-ellie")
    guard = guard_for(ellie)
    assert guard.check("im 13", origin="bank").allowed
    assert not guard.check("im 12", origin="bank").allowed  # nl-daan's age, not hers
    assert not guard.check("ik ben 13", origin="bank").allowed  # not one of her languages


def test_release_returns_sealed_text_or_raises_with_reasons() -> None:
    guard = guard_for(PROFILES[0])
    sealed = guard.release("hey", origin="bank")
    assert isinstance(sealed, GuardedText) and sealed.is_intact()
    assert sealed.text == "hey" and sealed.origin == "bank"
    with pytest.raises(GuardRefusal) as err:
        guard.release("call me 0612345678", origin="operator")
    assert isinstance(err.value, SafetyError)
    assert any(r.startswith("phone_number") for r in err.value.reasons)
    with pytest.raises(SafetyError):
        guard.release("hey", origin="someone")  # type: ignore[arg-type]


def test_guarded_text_cannot_be_forged_or_altered() -> None:
    sealed = guard_for(PROFILES[0]).release("hey", origin="bank")
    with pytest.raises(SafetyError):
        GuardedText("lets meet", "bank", sealed.checks, sealed.seal)
    with pytest.raises(SafetyError):
        GuardedText("hey", "bank", ("content",), b"\x00" * 32)
    with pytest.raises(SafetyError):
        dataclasses.replace(sealed, text="send me a pic")
    with pytest.raises(dataclasses.FrozenInstanceError):
        sealed.text = "x"  # type: ignore[misc]


def test_guard_has_no_media_api() -> None:
    guard = guard_for(PROFILES[0])
    assert not [n for n in dir(guard) if "media" in n or "attach" in n or "image" in n]
