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
from importlib import resources

import yaml
from pydantic import BaseModel, ConfigDict, Field

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


@cache
def load_helplines() -> dict[str, Helpline]:
    """Country code (ISO 3166-1 alpha-2) -> helpline, from ``helplines.yaml``."""
    where = "persona/helplines.yaml"
    try:
        data = yaml.safe_load(
            resources.files("tutela.persona").joinpath("helplines.yaml").read_text("utf-8")
        )
        return {str(k): Helpline.model_validate(v) for k, v in dict(data["helplines"]).items()}
    except (OSError, KeyError, TypeError, ValueError, yaml.YAMLError) as e:
        raise ConfigError(f"{where}: invalid helplines file: {e}") from e


@cache
def _texts(lang: str) -> dict[str, str]:
    where = f"persona/deterrence/{lang}.yaml"
    if lang not in DETERRENCE_LANGUAGES:
        raise ConfigError(f"no deterrence messages for language {lang!r}")
    try:
        raw = (
            resources.files("tutela.persona").joinpath("deterrence").joinpath(f"{lang}.yaml")
        ).read_text("utf-8")
        data = yaml.safe_load(raw)
        variants = {str(k): str(v).strip() for k, v in dict(data["variants"]).items()}
    except (OSError, KeyError, TypeError, ValueError, yaml.YAMLError) as e:
        raise ConfigError(f"{where}: invalid deterrence file: {e}") from e
    missing = set(DETERRENCE_VARIANTS) - set(variants)
    if missing:
        raise ConfigError(f"{where}: missing variants {sorted(missing)}")
    for name, text in variants.items():
        if "{helpline}" not in text or "{organisation}" not in text:
            raise ConfigError(f"{where}: variant {name!r} needs {{organisation}} and {{helpline}}")
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
