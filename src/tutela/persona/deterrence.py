"""Deterrence messages: what a persona says when it drops the role-play and warns a contact.

Texts live in ``persona/deterrence/{en,nl,tl,de}.yaml`` (reviewed, one text per variant), the
helplines in ``persona/helplines.yaml`` (country -> name, phone, url; every default marked
``verify_before_deployment``).

Variants (:data:`DETERRENCE_VARIANTS`), after Prichard, Wortley, Watters, Spiranovic, Hunn & Krone
(2021), "Effects of automated messages on internet users attempting to access 'barely legal'
pornography", *Sexual Abuse* 34(1), where the messages saying the activity may be illegal and that
the person can be traced deterred most:

* ``legal_trace`` -- may be illegal, and the person can be traced (the default);
* ``legal`` -- may be illegal;
* ``help`` -- therapeutic, help-seeking framing.

Every variant says that the conversation is with a virtual child run by a child-protection
organisation, that the messages are recorded, that seeking sexual contact with a child is a crime,
and where confidential help is (the helpline of ``country``).
"""

from __future__ import annotations

from functools import cache

from pydantic import BaseModel, ConfigDict, Field

from tutela.configfile import read_resource, validate
from tutela.errors import ConfigError

__all__ = [
    "DEFAULT_ORGANISATION",
    "DETERRENCE_LANGUAGES",
    "DETERRENCE_VARIANTS",
    "Helpline",
    "load_helplines",
    "render_deterrence",
]

DETERRENCE_VARIANTS: tuple[str, ...] = ("legal_trace", "legal", "help")
DETERRENCE_LANGUAGES: tuple[str, ...] = ("de", "en", "nl", "tl")
DEFAULT_ORGANISATION = "Tutela demonstration operation"


class Helpline(BaseModel):
    """Confidential help for one country. ``phone`` may be ``None`` (then ``url`` is the way in)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=100)
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9][0-9 ]{2,20}$")
    url: str = Field(pattern=r"^https://\S+$")
    verify_before_deployment: bool = True

    def as_text(self) -> str:
        """``"name, phone, url"`` (phone left out when unknown)."""
        return ", ".join(p for p in (self.name, self.phone, self.url) if p)


class _HelplinesFile(BaseModel):
    """``helplines.yaml``: ``version``, ``reviewed_by`` and ``helplines`` (country -> helpline)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    helplines: dict[str, Helpline]


class _DeterrenceFile(BaseModel):
    """``deterrence/<lang>.yaml``: ``variants`` (id -> text) and its header."""

    model_config = ConfigDict(extra="allow", frozen=True)

    variants: dict[str, str]


@cache
def load_helplines() -> dict[str, Helpline]:
    """Country code (ISO 3166-1 alpha-2) -> helpline, from ``helplines.yaml``.

    Raises ``ConfigError`` in the format of :mod:`tutela.configfile`.
    """
    doc = read_resource("tutela.persona", "helplines.yaml")
    return dict(validate(doc, _HelplinesFile, what="helplines file").helplines)


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
    lang: str, variant: str, *, country: str, organisation: str = DEFAULT_ORGANISATION
) -> str:
    """The deterrence text of ``variant`` in ``lang`` with ``country``'s helpline.

    Raises ``ConfigError`` for an unknown language, variant or country, or an organisation name
    that is empty, longer than 100 characters or spans lines.
    """
    if variant not in DETERRENCE_VARIANTS:
        raise ConfigError(f"unknown deterrence variant {variant!r} (have {DETERRENCE_VARIANTS})")
    if not organisation.strip() or len(organisation) > 100 or "\n" in organisation:
        raise ConfigError(f"organisation name {organisation!r}: 1-100 characters on one line")
    helplines = load_helplines()
    if country not in helplines:
        raise ConfigError(f"no helpline configured for country {country!r}")
    template = _texts(lang)[variant]
    try:
        return template.format(organisation=organisation, helpline=helplines[country].as_text())
    except (KeyError, IndexError, ValueError) as e:
        raise ConfigError(f"deterrence/{lang}.yaml: variant {variant!r}: bad slot: {e}") from e
