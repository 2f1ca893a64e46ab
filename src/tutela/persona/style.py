"""Typing style: how a persona turns a reviewed bank rendering into the text it sends.

Two stages, so the outgoing guard can tell a styled reply from an invented one:

1. :func:`base_style` -- deterministic: casing (``"lower"``), then the profile's whole-word
   abbreviations (``"you" -> "u"``). Same input, same output.
2. :func:`apply_style` -- :func:`base_style` plus random noise from a seeded ``random.Random``:
   at most :data:`MAX_TYPOS` typos (each on a purely alphabetic word of >= 4 letters: two adjacent
   letters swapped, one letter after the first dropped, or one letter doubled), and with probability
   ``emoji_rate`` one emoji from :data:`~tutela.persona.content.SAFE_EMOJI` appended after a space.
   A typo that would make the text fail the content checks ("playing" -> "paying") is not made.

:func:`is_styled_variant` is the inverse test the guard uses: ``text`` is ``base`` with at most
:data:`MAX_TYPOS` such typos and at most one safe emoji appended. The guard also runs its content
checks on the final text, so a typo or abbreviation can never smuggle a forbidden word through.
"""

from __future__ import annotations

import random
import re

from tutela.persona.content import SAFE_EMOJI, content_violations
from tutela.persona.profile import PersonaProfile

__all__ = ["MAX_TYPOS", "apply_style", "base_style", "is_styled_variant", "strip_emoji"]

MAX_TYPOS = 2
_MIN_TYPO_WORD = 4


def base_style(text: str, profile: PersonaProfile) -> str:
    """Casing then abbreviations (longest key first, whole words only). Deterministic."""
    style = profile.typing
    out = text.lower() if style.casing == "lower" else text
    for key in sorted(style.abbreviations, key=len, reverse=True):
        pattern = r"(?<!\w)" + re.escape(key) + r"(?!\w)"
        flags = re.IGNORECASE if style.casing == "normal" else 0
        out = re.sub(pattern, lambda _m, k=key: style.abbreviations[k], out, flags=flags)
    return out


def _typo(word: str, rng: random.Random) -> str:
    kind = rng.choice(("swap", "drop", "double"))
    if kind == "swap":
        i = rng.randrange(len(word) - 1)
        if word[i] != word[i + 1]:
            return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
        kind = "double"
    if kind == "drop":
        i = rng.randrange(1, len(word))
        return word[:i] + word[i + 1 :]
    i = rng.randrange(len(word))
    return word[: i + 1] + word[i] + word[i + 1 :]


def apply_style(
    text: str,
    profile: PersonaProfile,
    rng: random.Random,
    *,
    typos: bool = True,
    emoji: bool = True,
) -> str:
    """Style ``text`` for ``profile`` with noise drawn from ``rng`` (see the module docstring)."""
    out = base_style(text, profile)
    if typos and profile.typing.typo_rate > 0:
        words = out.split(" ")
        made = 0
        for i, word in enumerate(words):
            if made >= MAX_TYPOS:
                break
            eligible = word.isalpha() and len(word) >= _MIN_TYPO_WORD
            if eligible and rng.random() < profile.typing.typo_rate:
                candidate = [*words[:i], _typo(word, rng), *words[i + 1 :]]
                if not content_violations(" ".join(candidate)):  # "playing" -> "paying": no
                    words = candidate
                    made += 1
        out = " ".join(words)
    if emoji and profile.typing.emoji_rate > 0 and rng.random() < profile.typing.emoji_rate:
        out = f"{out} {rng.choice(SAFE_EMOJI)}"
    return out


def strip_emoji(text: str) -> str:
    """``text`` without one trailing ``" " + safe emoji``, if it has one."""
    for e in SAFE_EMOJI:
        suffix = " " + e
        if text.endswith(suffix):
            return text[: -len(suffix)]
    return text


def _one_typo(base: str, got: str) -> bool:
    if not (base.isalpha() and len(base) >= _MIN_TYPO_WORD):
        return False
    if len(got) == len(base):
        diff = [i for i in range(len(base)) if base[i] != got[i]]
        return (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and base[diff[0]] == got[diff[1]]
            and base[diff[1]] == got[diff[0]]
        )
    if len(got) == len(base) - 1:
        return any(base[:i] + base[i + 1 :] == got for i in range(1, len(base)))
    if len(got) == len(base) + 1:
        return any(base[: i + 1] + base[i] + base[i + 1 :] == got for i in range(len(base)))
    return False


def is_styled_variant(base: str, text: str) -> bool:
    """True when ``text`` is ``base`` (already :func:`base_style`-d) with at most
    :data:`MAX_TYPOS` typos of the kinds :func:`apply_style` makes and at most one safe emoji."""
    body = strip_emoji(text)
    if body == base:
        return True
    want, got = base.split(" "), body.split(" ")
    if len(want) != len(got):
        return False
    diffs = [(w, g) for w, g in zip(want, got, strict=True) if w != g]
    return len(diffs) <= MAX_TYPOS and all(_one_typo(w, g) for w, g in diffs)
