"""Deterrence messages: what a persona says when it drops the role-play and warns a contact.

Texts live in ``persona/deterrence/{en,nl,tl,de}.yaml`` (reviewed, one text per variant), the
helplines in ``persona/helplines.yaml``: per country a default (name, phone, url, the languages
it answers in, ``source``: where its details are published, ``checked``: the date the entry was
last reviewed, ``check``: how; every entry marked ``verify_before_deployment``) and, per country
and language, the helpline a text in that language names where the default does not serve the
language (:func:`helpline_for`: a Tagalog warning in the Philippines names a Filipino-language
line, an English one the English-language service).

Variants (:data:`DETERRENCE_VARIANTS`), after Prichard, Wortley, Watters, Spiranovic, Hunn & Krone
(2021/2022), "Effects of automated messages on internet users attempting to access 'barely legal'
pornography", *Sexual Abuse* 34(1), an RCT (n = 419) where the messages saying the activity may
be illegal (OR 2.99) and that the person can be traced (OR 2.64) deterred most against harm
themes, and Google's 2026 search warning box, which combines repercussions with therapeutic
resources:

* ``combined`` -- illegal, such chats can be traced, and confidential help without judgement (the
  default; the other three are its comparators in the deterrence trial);
* ``legal_trace`` -- may be illegal, and the person can be traced;
* ``legal`` -- may be illegal;
* ``help`` -- therapeutic, help-seeking framing.

Every variant says that the conversation is with a virtual child run by a child-protection
organisation, that the messages are recorded, that seeking sexual contact with a child is a crime
(``combined``: illegal; ``legal`` and ``legal_trace``: a crime that can be prosecuted -- never
"a crime and may be illegal", which contradicts itself), and where confidential help is (the
helpline of ``country`` in the text's language).

**Help link** (:class:`HelpLink`): during a deterrence trial with the policy parameter
``deterrence.help_link_base`` set, the helpline's URL in the text is replaced by
``{base}/h/{trial_id}/{arm_no}/{lang}/{country}`` (``arm_no``: the variant's 1-based place among
the trial's arms, so the link does not name the arm; ``lang``: the text's language;
``country``: the persona's helpline country, lower case), a redirect on the dashboard that counts
clicks per arm and language and forwards to that country's helpline, the one whose name and
phone the text shows. The outgoing guard accepts a linked text only when it is exactly the
rendering with the link the engine built for that send (``OutgoingGuard.check(...,
help_link=...)``), never a text with any other link.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import cache

from pydantic import BaseModel, ConfigDict, Field

from tutela.configfile import read_resource, validate
from tutela.errors import ConfigError

__all__ = [
    "DEFAULT_ORGANISATION",
    "DETERRENCE_LANGUAGES",
    "DETERRENCE_VARIANTS",
    "HELP_LINK_BASE_PATTERN",
    "HelpLink",
    "Helpline",
    "helpline_for",
    "load_helplines",
    "render_deterrence",
]

DETERRENCE_VARIANTS: tuple[str, ...] = ("combined", "legal_trace", "legal", "help")
DETERRENCE_LANGUAGES: tuple[str, ...] = ("de", "en", "nl", "tl")
DEFAULT_ORGANISATION = "Tutela demonstration operation"

HELP_LINK_BASE_PATTERN = r"https://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~-]+)*"
"""An ``https`` URL without query, fragment or trailing slash: the form of
``deterrence.help_link_base`` (the policy parameter is validated against it)."""


@dataclass(frozen=True, slots=True)
class HelpLink:
    """The per-arm help link of a trial: ``url(variant, lang, country)`` is
    ``{base}/h/{trial_id}/{arm_no}/{lang}/{country}`` with ``arm_no`` the 1-based place of
    ``variant`` in ``arms`` (the trial's arms, in their registered order) and ``country`` lower
    case.

    Raises ``ConfigError`` for a ``base`` not of :data:`HELP_LINK_BASE_PATTERN`, a ``trial_id``
    below 1, or no arms; ``url`` raises it for a variant that is not an arm.
    """

    base: str
    trial_id: int
    arms: tuple[str, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.base, str) or not re.fullmatch(HELP_LINK_BASE_PATTERN, self.base):
            raise ConfigError(f"help link base {self.base!r}: an https URL without a final /")
        if not isinstance(self.trial_id, int) or self.trial_id < 1:
            raise ConfigError(f"help link trial id must be >= 1, got {self.trial_id!r}")
        if not self.arms:
            raise ConfigError("a help link needs the trial's arms")

    def url(self, variant: str, lang: str, country: str) -> str:
        """The link carried by the ``variant`` text in ``lang`` with ``country``'s helpline."""
        if variant not in self.arms:
            raise ConfigError(f"variant {variant!r} is not an arm of trial {self.trial_id}")
        arm_no = self.arms.index(variant) + 1
        return f"{self.base}/h/{self.trial_id}/{arm_no}/{lang}/{country.lower()}"


class Helpline(BaseModel):
    """Confidential help for one country (and language). ``phone`` may be ``None`` (then ``url``
    is the way in). ``languages``: ISO 639-1 codes the service answers in. ``source``: the https
    page its details were reviewed against; ``checked``: the date the entry was last reviewed;
    ``check``: how (offline review or a call, and what is left to verify); ``note``: caveats."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=100)
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9][0-9 ]{2,20}$")
    url: str = Field(pattern=r"^https://\S+$")
    languages: tuple[str, ...] = ()
    source: str = Field(pattern=r"^https://\S+$")
    checked: date
    check: str = Field(min_length=1, max_length=300)
    note: str | None = Field(default=None, max_length=400)
    verify_before_deployment: bool = True

    def as_text(self, url: str | None = None) -> str:
        """``"name, phone, url"`` (phone left out when unknown); ``url`` replaces the helpline's
        own (a per-arm help link)."""
        return ", ".join(p for p in (self.name, self.phone, url or self.url) if p)


class _HelplinesFile(BaseModel):
    """``helplines.yaml``: ``version``, ``reviewed_by``, ``helplines`` (country -> default
    helpline) and ``by_language`` (country -> language -> helpline)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    helplines: dict[str, Helpline]
    by_language: dict[str, dict[str, Helpline]] = Field(default_factory=dict)


class _DeterrenceFile(BaseModel):
    """``deterrence/<lang>.yaml``: ``variants`` (id -> text) and its header."""

    model_config = ConfigDict(extra="allow", frozen=True)

    variants: dict[str, str]


@cache
def _helplines_file() -> _HelplinesFile:
    doc = read_resource("tutela.persona", "helplines.yaml")
    data = validate(doc, _HelplinesFile, what="helplines file")
    for country in data.by_language:
        if country not in data.helplines:
            raise doc.error(("by_language", country), f"{country}: no default helpline")
    return data


def load_helplines() -> dict[str, Helpline]:
    """Country code (ISO 3166-1 alpha-2) -> the country's default helpline, from
    ``helplines.yaml`` (:func:`helpline_for` picks the one for a language).

    Raises ``ConfigError`` in the format of :mod:`tutela.configfile`.
    """
    return dict(_helplines_file().helplines)


def helpline_for(country: str, lang: str) -> Helpline | None:
    """The helpline a text in ``lang`` names for ``country``: the country's entry for that
    language, else its default; ``None`` for a country without a helpline. Raises
    ``ConfigError`` for a malformed ``helplines.yaml``."""
    data = _helplines_file()
    by_lang = data.by_language.get(country, {})
    return by_lang.get(lang) or data.helplines.get(country)


@cache
def _texts(lang: str) -> dict[str, str]:
    if lang not in DETERRENCE_LANGUAGES:
        raise ConfigError(f"no deterrence messages for language {lang!r}")
    doc = read_resource("tutela.persona", "deterrence", f"{lang}.yaml")
    raw = validate(doc, _DeterrenceFile, what="deterrence file").variants
    variants = {k: v.strip() for k, v in raw.items()}
    missing = set(DETERRENCE_VARIANTS) - set(variants)
    if missing:
        raise doc.error(("variants",), f"missing variants {sorted(missing)}")
    for name, text in variants.items():
        if "{helpline}" not in text or "{organisation}" not in text:
            problem = f"variant {name!r} needs {{organisation}} and {{helpline}}"
            raise doc.error(("variants", name), problem)
    return variants


def render_deterrence(
    lang: str,
    variant: str,
    *,
    country: str,
    organisation: str = DEFAULT_ORGANISATION,
    help_link: HelpLink | None = None,
) -> str:
    """The deterrence text of ``variant`` in ``lang`` with ``country``'s helpline for ``lang``
    (:func:`helpline_for`); with
    ``help_link`` its URL is ``help_link.url(variant, lang, country)`` instead of the
    helpline's own.

    Raises ``ConfigError`` for an unknown language, variant or country, or an organisation name
    that is empty, longer than 100 characters or spans lines.
    """
    url = None if help_link is None else help_link.url(variant, lang, country)
    return _render(lang, variant, country=country, organisation=organisation, url=url)


def _render(lang: str, variant: str, *, country: str, organisation: str, url: str | None) -> str:
    if variant not in DETERRENCE_VARIANTS:
        raise ConfigError(f"unknown deterrence variant {variant!r} (have {DETERRENCE_VARIANTS})")
    if not organisation.strip() or len(organisation) > 100 or "\n" in organisation:
        raise ConfigError(f"organisation name {organisation!r}: 1-100 characters on one line")
    chosen = helpline_for(country, lang)
    if chosen is None:
        raise ConfigError(f"no helpline configured for country {country!r}")
    template = _texts(lang)[variant]
    try:
        helpline = chosen.as_text(url)
        return template.format(organisation=organisation, helpline=helpline)
    except (KeyError, IndexError, ValueError) as e:
        raise ConfigError(f"deterrence/{lang}.yaml: variant {variant!r}: bad slot: {e}") from e
