"""Reviewed exemplar lines: the nearest-example index behind the line detector's explanations.

One YAML file per language in ``tutela/detect/exemplars/`` (``en``, ``nl``, ``de``, ``tl``)::

    language: en
    version: "2026.1"
    reviewed: "who wrote and checked the lines"
    exemplars:
      media_request: ["can you turn on your cam for me", ...]
      benign_school: ["cameras on for the online lesson please", ...]

A label is a *soliciting* label (:data:`SOLICITING`, each tied to an indicator
:class:`~tutela.domain.Category` where the domain has one), a grooming line that is not itself a
solicitation (:data:`RAPPORT`), or a *benign context* (:data:`BENIGN`): hard negatives that share
words with solicitation (a teacher asking for cameras
on in class, sex education at school, friends paying each other back). Lines are short, synthetic
and non-graphic, written for Tutela from the category definitions (ChatCoder, Kontostathis et al.
2009; O'Connell 2003; Terre des Hommes, Sweetie 2.0, 2016); no corpus text. The approach (a
reviewed example bank whose nearest neighbours explain a score) follows Roblox's Sentinel (2025).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from tutela.configfile import YamlDocument, located, read_resource, read_yaml
from tutela.domain import Category
from tutela.errors import ConfigError

__all__ = [
    "ALSO",
    "BENIGN",
    "EXEMPLAR_LANGUAGES",
    "RAPPORT",
    "SOLICITING",
    "Exemplar",
    "load_exemplars",
    "parse_exemplars",
]

#: Soliciting labels and the indicator category each stands for (``None``: no domain category;
#: threats are handled by the policy's threat rule). ``paid_show`` (payment for a webcam show or
#: pictures, Sweetie 2.0's commercial pattern) stands for two: see :data:`ALSO`.
SOLICITING: dict[str, Category | None] = {
    "media_request": Category.MEDIA_REQUEST,
    "gift_or_money": Category.GIFT_OR_MONEY,
    "paid_show": Category.GIFT_OR_MONEY,
    "meeting": Category.MEETING,
    "sexual_content": Category.SEXUAL_CONTENT,
    "secrecy": Category.SECRECY,
    "platform_switch": Category.PLATFORM_SWITCH,
    "isolation": Category.ISOLATION,
    "threat": None,
}
#: Further categories a soliciting label stands for.
ALSO: dict[str, tuple[Category, ...]] = {"paid_show": (Category.MEDIA_REQUEST,)}
#: Grooming lines that are not a solicitation by themselves: age, location and school probes,
#: non-sexual compliments, trust talk and risk checks (O'Connell 2003: friendship forming,
#: relationship forming, risk assessment). They train as not soliciting, and set no context.
RAPPORT: frozenset[str] = frozenset({"rapport"})
#: Benign contexts (hard negatives).
BENIGN: frozenset[str] = frozenset(
    {
        "benign_school",
        "benign_sexed",
        "benign_family",
        "benign_money",
        "benign_secret",
        "benign_peer",
        "benign_smalltalk",
    }
)
EXEMPLAR_LANGUAGES: tuple[str, ...] = ("en", "nl", "de", "tl")
_MAX_CHARS = 200


@dataclass(frozen=True, slots=True)
class Exemplar:
    """One reviewed line: ``id`` is ``"{lang}.{label}.{n}"`` (n counts from 1 in file order)."""

    id: str
    lang: str
    label: str
    text: str

    @property
    def soliciting(self) -> bool:
        return self.label in SOLICITING


def parse_exemplars(data: object, *, origin: str | YamlDocument = "<memory>") -> list[Exemplar]:
    """Validate one exemplar file's content.

    ``origin`` names the file in messages; a :class:`~tutela.configfile.YamlDocument` (the parsed
    file ``data`` came from) also gives the line. Raises ``ConfigError`` (format of
    :mod:`tutela.configfile`; list items by 0-based index) for a wrong shape, an unknown label, an
    empty, overlong or duplicate line.
    """
    doc = located(origin, data)
    if not isinstance(data, dict):
        raise doc.error((), "the top level must be a mapping")
    lang = data.get("language")
    if not isinstance(lang, str) or not lang:
        raise doc.error(("language",), "'language' must be a language code")
    groups = data.get("exemplars")
    if not isinstance(groups, dict) or not groups:
        raise doc.error(("exemplars",), "'exemplars' must map labels to lists of lines")
    out: list[Exemplar] = []
    seen: set[str] = set()
    for label, lines in groups.items():
        if label not in SOLICITING and label not in BENIGN and label not in RAPPORT:
            known = ", ".join(sorted([*SOLICITING, *RAPPORT, *BENIGN]))
            raise doc.error(("exemplars", label), f"unknown label {label!r}; known: {known}")
        if not isinstance(lines, list):
            raise doc.error(("exemplars", label), "must be a list of strings")
        for i, text in enumerate(lines, 1):
            at = ("exemplars", label, i - 1)
            if not isinstance(text, str) or not text.strip() or len(text) > _MAX_CHARS:
                raise doc.error(at, f"must be a non-empty line of at most {_MAX_CHARS} characters")
            key = " ".join(text.lower().split())
            if key in seen:
                raise doc.error(at, f"repeats {text!r}")
            seen.add(key)
            out.append(Exemplar(f"{lang}.{label}.{i}", lang, label, text.strip()))
    return out


@cache
def _shipped(lang: str) -> tuple[Exemplar, ...]:
    name = f"{lang}.yaml"
    doc = read_resource("tutela.detect", "exemplars", name, name=f"tutela/detect/exemplars/{name}")
    return tuple(parse_exemplars(doc.data, origin=doc))


def load_exemplars(
    langs: Iterable[str] = EXEMPLAR_LANGUAGES, *, path: str | Path | None = None
) -> list[Exemplar]:
    """Exemplars of the shipped languages ``langs``, or of one file ``path``.

    Raises ``ConfigError`` for an unknown language or an invalid file.
    """
    if path is not None:
        doc = read_yaml(path, what="exemplars file")
        return parse_exemplars(doc.data, origin=doc)
    out: list[Exemplar] = []
    for lang in langs:
        if lang not in EXEMPLAR_LANGUAGES:
            raise ConfigError(
                f"no shipped exemplars for {lang!r}; shipped: {', '.join(EXEMPLAR_LANGUAGES)}"
            )
        out.extend(_shipped(lang))
    return out
