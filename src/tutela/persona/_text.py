"""Text folding for the persona package: the views the outgoing guard and the intent rules read.

Every function is pure and returns new strings; the original text is never changed.

* :func:`fold` -- NFKC, format characters (zero-width space/joiner, soft hyphen, BOM: Unicode
  category ``Cf``) removed, ``casefold``, diacritics removed (NFKD, drop ``Mn``/``Me``),
  confusable letters folded to Latin (:data:`HOMOGLYPHS`, a hand-picked subset of Unicode TR39
  ``confusables.txt`` for Cyrillic, Greek, Armenian and Latin look-alikes).
* :func:`word_views` -- :func:`fold`, apostrophes dropped, leetspeak mapped inside tokens that
  hold a letter, other punctuation turned into spaces, runs of >= 3 single letters joined
  ("s e x y" -> "sexy"), runs of >= 3 repeated letters squashed. Leet readings: ``1`` as ``i``
  or ``l``, and punctuation leet (``$ @ !``) on or off ("you!!" stays "you").
* :func:`collapsed_views` -- :func:`fold`, leetspeak mapped everywhere, everything but letters
  dropped; plain and with every run of a repeated letter squashed to one. The guard searches its
  distinctive stems as substrings here, so spacing and glueing cannot hide them.
* :func:`raw_view` -- NFKC, ``Cf`` removed, ``casefold``; digits and punctuation kept (phone
  numbers, e-mail addresses, URLs, handles).
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["HOMOGLYPHS", "collapsed_views", "fold", "raw_view", "squash", "word_views"]

HOMOGLYPHS: dict[str, str] = {
    # Cyrillic
    "а": "a", "б": "b", "в": "b", "г": "r", "д": "d", "е": "e", "ё": "e", "з": "3", "и": "u",
    "й": "u", "к": "k", "л": "n", "м": "m", "н": "h", "о": "o", "п": "n", "р": "p", "с": "c",
    "т": "t", "у": "y", "ф": "f", "х": "x", "ч": "4", "ш": "w", "щ": "w", "ъ": "b", "ь": "b",
    "ы": "bi", "э": "e", "ю": "io", "я": "r", "є": "e", "ѕ": "s", "і": "i", "ї": "i", "ј": "j",
    "ԁ": "d", "ԛ": "q", "ԝ": "w", "ӏ": "l", "һ": "h", "ү": "y", "ɡ": "g", "ʏ": "y",
    # Greek
    "α": "a", "β": "b", "γ": "y", "δ": "d", "ε": "e", "ζ": "z", "η": "n", "θ": "o", "ι": "i",
    "κ": "k", "λ": "l", "μ": "u", "ν": "v", "ξ": "e", "ο": "o", "π": "n", "ρ": "p", "σ": "o",
    "ς": "s", "τ": "t", "υ": "u", "φ": "o", "χ": "x", "ψ": "w", "ω": "w",
    # Armenian
    "օ": "o", "ս": "u", "հ": "h", "ո": "n", "ց": "g", "ք": "p",
    # Latin look-alikes without a decomposition
    "ı": "i", "ł": "l", "ø": "o", "đ": "d", "ħ": "h", "ŧ": "t", "ɑ": "a", "ɩ": "i", "ɪ": "i",
    "ʟ": "l", "ᴀ": "a", "ʙ": "b", "ᴄ": "c", "ᴅ": "d", "ᴇ": "e", "ɢ": "g", "ʜ": "h", "ᴊ": "j",
    "ᴋ": "k", "ᴍ": "m", "ɴ": "n", "ᴏ": "o", "ᴘ": "p", "ʀ": "r", "ꜱ": "s", "ᴛ": "t", "ᴜ": "u",
    "ᴠ": "v", "ᴡ": "w", "ᴢ": "z", "æ": "ae", "œ": "oe", "ð": "d", "þ": "p",
}  # fmt: skip
_HOMOGLYPH_TABLE = str.maketrans(HOMOGLYPHS)

_LEET_COMMON = {
    "0": "o", "3": "e", "4": "a", "5": "s", "6": "g", "7": "t", "8": "b", "9": "g",
    "@": "a", "$": "s", "€": "e", "+": "t", "|": "l", "!": "i", "£": "l", "¡": "i",
}  # fmt: skip
_LEET_I = str.maketrans({**_LEET_COMMON, "1": "i"})
_LEET_L = str.maketrans({**_LEET_COMMON, "1": "l"})
_LEETS = (_LEET_I, _LEET_L)
_DIGIT_LEETS = tuple(
    str.maketrans({k: v for k, v in {**_LEET_COMMON, "1": one}.items() if k.isdigit() or k == "1"})
    for one in ("i", "l")
)

_APOSTROPHES = re.compile(r"['’‘`´]")
_NON_ALNUM = re.compile(r"[^\w]+|_+")
_REPEAT3 = re.compile(r"(\w)\1{2,}")
_REPEAT2 = re.compile(r"([^\W\d_])\1+")


def fold(text: str) -> str:
    """Fold ``text`` for matching: NFKC, no ``Cf``, casefolded, no diacritics, homoglyphs mapped."""
    t = unicodedata.normalize("NFKC", text)
    t = "".join(c for c in t if unicodedata.category(c) != "Cf")
    t = t.casefold()
    t = unicodedata.normalize("NFKD", t)
    t = "".join(c for c in t if unicodedata.category(c) not in ("Mn", "Me"))
    t = unicodedata.normalize("NFKC", t)
    return t.translate(_HOMOGLYPH_TABLE)


def raw_view(text: str) -> str:
    """NFKC, format characters removed, casefolded; digits and punctuation kept."""
    t = unicodedata.normalize("NFKC", text)
    return "".join(c for c in t if unicodedata.category(c) != "Cf").casefold()


def squash(text: str, *, keep: int = 1) -> str:
    """Squash runs of >= 3 repeated word characters to ``keep`` (1 or 2) characters."""
    return _REPEAT3.sub(lambda m: m.group(1) * keep, text)


def _join_single_letters(tokens: list[str]) -> list[str]:
    out: list[str] = []
    run: list[str] = []
    for tok in [*tokens, ""]:
        if len(tok) == 1 and tok.isalpha():
            run.append(tok)
            continue
        if len(run) >= 3:
            out.append("".join(run))
        else:
            out.extend(run)
        run = []
        if tok:
            out.append(tok)
    return out


def word_views(text: str) -> tuple[str, ...]:
    """Space-separated word views of ``text`` (see the module docstring); distinct, order kept."""
    base = _APOSTROPHES.sub("", fold(text))
    views: dict[str, None] = {}
    for table in (*_LEETS, *_DIGIT_LEETS):
        tokens: list[str] = []
        for tok in base.split():
            if any(c.isalpha() for c in tok):
                tok = tok.translate(table)
            tokens.extend(t for t in _NON_ALNUM.split(tok) if t)
        joined = " ".join(_join_single_letters(tokens))
        views[joined] = None
        views[squash(joined, keep=1)] = None
        views[squash(joined, keep=2)] = None
    return tuple(views)


def collapsed_views(text: str) -> tuple[str, ...]:
    """Letters-only views of ``text`` (see the module docstring); distinct, order kept."""
    base = fold(text)
    views: dict[str, None] = {}
    for table in _LEETS:
        letters = "".join(c for c in base.translate(table) if c.isalpha())
        views[letters] = None
        views[_REPEAT2.sub(r"\1", letters)] = None
    return tuple(views)
