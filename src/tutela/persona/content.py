"""Content checks of the outgoing guard: what no persona message may contain, whatever its origin.

``content_violations(text) -> tuple[str, ...]`` returns the reasons a text is unsafe, empty when it
is safe. Each reason is ``"category: detail"``. Categories:

* lexicon categories from ``guard_lexicon.yaml`` (``romantic``, ``sexual``, ``meeting``, ``media``,
  ``contact_details``, ``money_or_gifts``, ``requests``, ``secrecy``, ``personal_data``), matched on
  the normalised views of :mod:`tutela.persona._text` (all of en, nl, de, tl at once);
* ``phone_number`` (>= 7 digits with at most 3 separator characters between digits),
  ``long_number`` (>= 5 digits: postcodes, account and ID numbers), ``postcode`` (NL, UK forms),
  ``iban``, ``email``, ``handle`` (any ``@``), ``url`` (scheme, ``www.``, a domain with a common
  TLD, or "dot com" spelled out), ``address`` (street name + house number), ``media`` (data URIs,
  base64, attachment markup: the guard takes text only and no media API exists);
* ``emoji`` (any pictographic symbol not in :data:`SAFE_EMOJI`), ``romantic_emoji``,
  ``currency_symbol``, ``control_character``, ``unassigned_character``;
* ``length`` (more than ``max_length`` characters, default :data:`MAX_LENGTH`).

The lists are strict on purpose: an operator's text that trips one is refused and must be rephrased.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

from tutela.configfile import read_resource
from tutela.persona._text import collapsed_views, raw_view, word_views

__all__ = [
    "LEXICON_CATEGORIES",
    "MAX_LENGTH",
    "ROMANTIC_EMOJI",
    "SAFE_EMOJI",
    "content_violations",
]

MAX_LENGTH = 500
"""Longest text (characters) a persona or operator may send; deterrence texts are exempt."""

SAFE_EMOJI: tuple[str, ...] = (
    "😂", "🤣", "😅", "🙃", "😐", "🙄", "😬", "🤔", "🤷", "👍", "😴", "🐶", "🐱", "🐰", "🎮",
    "⚽", "🎨", "📚", "🎵", "🏐", "🏀", "🥱",
)  # fmt: skip
"""The only pictographs a persona may send: non-romantic, non-suggestive."""

ROMANTIC_EMOJI: frozenset[str] = frozenset(
    "❤♥💕💖💗💘💙💚💛💜🖤🤍🤎💝💞💟❣💓💔🧡🩷🩵🩶😘😗😙😚😍🥰😻😽💋😉😏😜😛🤤🥵🔥🍆🍑🍒💦👅👄🫦"
    "😈🌹💐💌💑💏🛏🍌🌶😳🤭🙈👙👀"
)
"""Pictographs named in refusals as romantic or sexual (all non-safe pictographs are refused)."""

_LEXICON_FILE = "guard_lexicon.yaml"
_WORD_EDGE_L = r"(?<!\w)"
_WORD_EDGE_R = r"(?!\w)"

_PHONE = re.compile(r"\+?\d(?:[\s\-./()\\]{0,3}\d){6,}")
_LONG_NUMBER = re.compile(r"\d(?:[\s\-./()\\]{0,3}\d){4,}")
_POSTCODE = re.compile(r"(?<!\w)(?:\d{4}\s?[a-z]{2}|[a-z]{1,2}\d[a-z\d]?\s*\d[a-z]{2})(?!\w)")
_IBAN = re.compile(r"(?<!\w)[a-z]{2}\d{2}\s?[a-z]{4}\s?\d{4}")
_EMAIL = re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]+")
_URL = re.compile(
    r"https?:|www\.|(?<!\w)[a-z0-9-]+\.(?:com|net|org|nl|be|de|ph|uk|co|io|me|ly|gg|tv|app|link"
    r"|xyz|info|to|cc|ru|eu|biz|onion)(?!\w)"
)
_URL_SPELLED = re.compile(
    r"(?<!\w)(?:dot|punt|punkt|tuldok)\s*(?:com|net|org|nl|be|de|ph|uk|co)(?!\w)"
)
_ADDRESS = re.compile(
    r"(?<!\w)[a-z]+(?:straat|laan|weg|plein|dreef|singel|gracht|strasse|gasse|street|road)"
    r"\s*\d{1,4}(?!\d)|\d{1,4}\s*[a-z]+\s+(?:street|st|road|rd|lane|avenue|ave|drive)(?!\w)"
)
_MEDIA = re.compile(r"data:[a-z]+/|base64|<\s*img|\[\s*(?:image|attachment|photo|video)")


@dataclass(frozen=True, slots=True)
class _Category:
    name: str
    words: re.Pattern[str]
    stems: re.Pattern[str] | None


def _phrase_regex(phrase: str) -> str:
    parts = [p for p in phrase.strip().lower().split() if p]
    return r"\s*".join(parts)


@cache
def _lexicon() -> tuple[_Category, ...]:
    """Load and compile ``guard_lexicon.yaml``; a malformed file is a ``ConfigError`` in the
    format of :mod:`tutela.configfile` (file, line, key)."""
    doc = read_resource("tutela.persona", _LEXICON_FILE, name=_LEXICON_FILE)
    key: tuple[str | int, ...] = ("categories",)
    try:
        cats = doc.mapping(what="guard lexicon")["categories"]
        out = []
        for name, spec in cats.items():
            key = ("categories", name)
            words = [str(w) for w in spec["words"]]
            stems = [str(s).lower() for s in spec.get("stems", [])]
            bad = [s for s in stems if not s.isalpha() or len(s) < 4]
            if bad:
                raise doc.error((*key, "stems"), f"stems must be >= 4 letters: {bad}")
            wre = re.compile(
                _WORD_EDGE_L
                + "(?:"
                + "|".join(_phrase_regex(w) for w in words)
                + ")"
                + _WORD_EDGE_R
            )
            sre = re.compile("|".join(sorted(set(stems), key=len, reverse=True))) if stems else None
            out.append(_Category(str(name), wre, sre))
        return tuple(out)
    except (KeyError, TypeError, AttributeError, re.error) as e:
        raise doc.error(key, f"malformed guard lexicon: {e}") from e


LEXICON_CATEGORIES: tuple[str, ...] = (
    "romantic",
    "sexual",
    "meeting",
    "media",
    "contact_details",
    "money_or_gifts",
    "requests",
    "secrecy",
    "personal_data",
)


def _symbol_violations(text: str) -> list[str]:
    out: list[str] = []
    for ch in unicodedata.normalize("NFC", text):
        cat = unicodedata.category(ch)
        if ch in ROMANTIC_EMOJI:
            out.append(f"romantic_emoji: {ch!r}")
        elif cat in ("So", "Sk") and ord(ch) > 0x7F and ch not in SAFE_EMOJI:
            if ch not in "\u00b4\u02dc\u00a8\u00b8\u00af\u02c6\u02c7\u02d8\u02d9\u02da\u02db\u02dd":
                out.append(f"emoji: {ch!r} is not on the safe list")
        elif cat == "Sc":
            out.append(f"currency_symbol: {ch!r}")
        elif cat == "Cc" and ch not in "\n\t":
            out.append(f"control_character: U+{ord(ch):04X}")
        elif cat in ("Co", "Cn", "Cs"):
            out.append(f"unassigned_character: U+{ord(ch):04X}")
    return out


def content_violations(text: str, *, max_length: int | None = MAX_LENGTH) -> tuple[str, ...]:
    """Reasons ``text`` must not be sent (empty tuple: none found).

    Parameters
    ----------
    text: the exact text that would be sent.
    max_length: longest allowed text in characters; ``None`` disables the length check.
    """
    reasons: list[str] = []
    if max_length is not None and len(text) > max_length:
        reasons.append(f"length: {len(text)} characters > {max_length}")
    raw = raw_view(text)
    phone = _PHONE.search(raw)
    if phone:
        reasons.append(f"phone_number: {phone.group(0)!r}")
    else:
        long_number = _LONG_NUMBER.search(raw)
        if long_number:
            reasons.append(f"long_number: {long_number.group(0)!r}")
    for name, rx in (
        ("postcode", _POSTCODE),
        ("iban", _IBAN),
        ("email", _EMAIL),
        ("url", _URL),
        ("media", _MEDIA),
    ):
        m = rx.search(raw)
        if m:
            reasons.append(f"{name}: {m.group(0)!r}")
    if "@" in raw or "＠" in text:
        reasons.append("handle: '@' (handle or e-mail address)")
    words = word_views(text)
    collapsed = collapsed_views(text)
    for view in words:
        m = _URL_SPELLED.search(view)
        if m:
            reasons.append(f"url: {m.group(0)!r}")
            break
    for view in (raw, *words):
        m = _ADDRESS.search(view)
        if m:
            reasons.append(f"address: {m.group(0)!r}")
            break
    for cat in _lexicon():
        hit = next((m.group(0) for v in words if (m := cat.words.search(v))), None)
        if hit is None and cat.stems is not None:
            hit = next((m.group(0) for v in collapsed if (m := cat.stems.search(v))), None)
        if hit is not None:
            reasons.append(f"{cat.name}: {hit!r}")
    reasons.extend(_symbol_violations(text))
    return tuple(dict.fromkeys(reasons))
