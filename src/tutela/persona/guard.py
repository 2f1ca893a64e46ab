"""The outgoing guard: the only way a text reaches a chat connector.

``OutgoingGuard(profile).release(text, origin=...)`` returns a :class:`GuardedText` or raises
:class:`GuardRefusal` (a :class:`tutela.errors.SafetyError`). Code that sends must hold a
``GuardedText``; connectors take that type, never a ``str``, and there is no media API at all.

A ``GuardedText`` carries an HMAC seal made with a key private to this module: its constructor
refuses any seal it did not make, so a ``GuardedText`` cannot be built (or altered with
``dataclasses.replace``) outside :meth:`OutgoingGuard.release`. Connectors may re-check it with
:meth:`GuardedText.is_intact`.

Rules per origin (all texts must be non-empty strings):

``"bank"`` (the dialogue manager's replies)
    1. *Provenance*: after removing one trailing safe emoji, the text must equal the deterministic
       style (:func:`~tutela.persona.style.base_style`: casing and abbreviations) of a rendering
       of a reviewed bank template with this profile's slot values, up to
       :data:`~tutela.persona.style.MAX_TYPOS` typos of the kinds the styler makes (adjacent swap,
       dropped letter, doubled letter, each inside one purely alphabetic word of >= 4 letters).
       Renderings are regenerated from the bank and the profile when the guard is built.
    2. *Content*: :func:`~tutela.persona.content.content_violations` on the final, styled text
       (so neither a typo nor an abbreviation can smuggle anything through), <= 500 characters.
``"deterrence"``
    Exact match with a reviewed deterrence text rendered for one of the profile's languages,
    any variant, the profile's country helpline and the guard's ``organisation``; with
    ``help_link`` (the trial link the engine built for this send), exact match with such a
    text rendered with that link instead (``persona.deterrence.HelpLink``), and nothing
    else: a text carrying any other link is refused. These texts
    name the crime and a helpline number, which the content checks would refuse, so the content
    checks are not applied; nothing else is accepted under this origin.
``"operator"`` (a human analyst speaking as the persona)
    Content checks only, strictest reading: any hit refuses the text.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, get_args

from tutela.errors import ConfigError, SafetyError
from tutela.persona.bank import BANK_LANGUAGES, ResponseBank, load_bank, renderings
from tutela.persona.content import content_violations
from tutela.persona.deterrence import (
    DEFAULT_ORGANISATION,
    DETERRENCE_LANGUAGES,
    DETERRENCE_VARIANTS,
    HelpLink,
    render_deterrence,
)
from tutela.persona.profile import PersonaProfile
from tutela.persona.style import base_style, is_styled_variant, strip_emoji

__all__ = ["ORIGINS", "GuardRefusal", "GuardVerdict", "GuardedText", "Origin", "OutgoingGuard"]

Origin = Literal["bank", "deterrence", "operator"]
ORIGINS: tuple[str, ...] = get_args(Origin)

_SEAL_KEY = secrets.token_bytes(32)  # module-private; regenerated per process


def _seal(text: str, origin: str, checks: tuple[str, ...]) -> bytes:
    msg = "\x1f".join((origin, *checks, text)).encode("utf-8", "surrogatepass")
    return hmac.new(_SEAL_KEY, msg, hashlib.sha256).digest()


@dataclass(frozen=True, slots=True)
class GuardVerdict:
    """The guard's answer: ``allowed`` and, when refused, why (``"category: detail"`` strings).

    ``checks`` names the checks that were run (``"origin:bank-template"``, ``"content"``...).
    """

    allowed: bool
    reasons: tuple[str, ...] = ()
    checks: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class GuardedText:
    """A text the guard released. Only :meth:`OutgoingGuard.release` can make one.

    text: exactly what may be sent. origin: ``"bank"``, ``"deterrence"`` or ``"operator"``.
    checks: the checks it passed.
    """

    text: str
    origin: str
    checks: tuple[str, ...]
    seal: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not self.is_intact():
            raise SafetyError("GuardedText can only be made by OutgoingGuard.release")

    def is_intact(self) -> bool:
        """True when the seal matches text, origin and checks (it was released as it is)."""
        return hmac.compare_digest(self.seal, _seal(self.text, self.origin, self.checks))


class GuardRefusal(SafetyError):
    """The guard refused a text. ``reasons`` and ``origin`` say why and for which path."""

    def __init__(self, origin: str, reasons: tuple[str, ...]) -> None:
        self.origin = origin
        self.reasons = reasons
        super().__init__(f"outgoing text refused (origin {origin!r}): {'; '.join(reasons)}")


class OutgoingGuard:
    """Checks every outgoing text of one persona (see the module docstring for the rules).

    Parameters
    ----------
    profile: the persona the texts are sent as.
    banks: language -> response bank to accept ``"bank"`` texts from; default: the shipped
        (reviewed) banks of the profile's languages. Content checks apply whatever the bank.
    organisation: the organisation named in deterrence texts.

    Raises ``ConfigError`` when none of the profile's languages has a bank.
    """

    def __init__(
        self,
        profile: PersonaProfile,
        *,
        banks: Mapping[str, ResponseBank] | None = None,
        organisation: str = DEFAULT_ORGANISATION,
    ) -> None:
        self.profile = profile
        self.organisation = organisation
        if banks is None:
            banks = {lang: load_bank(lang) for lang in profile.languages if lang in BANK_LANGUAGES}
        if not banks:
            raise ConfigError(f"persona {profile.id!r}: no response bank for {profile.languages}")
        self._banks = dict(banks)
        self._exact: dict[str, str] = {}
        self._by_len: dict[int, list[tuple[str, str]]] = {}
        for bank in self._banks.values():
            for key, template in bank.all_entries():
                for rendering in renderings(template, profile, bank):
                    styled = base_style(rendering, profile)
                    if styled not in self._exact:
                        self._exact[styled] = key
                        self._by_len.setdefault(len(styled.split(" ")), []).append((styled, key))
        self._deterrence: frozenset[str] = frozenset()
        self._linked: dict[HelpLink, frozenset[str]] = {}
        self._deterrence_problem = ""
        try:
            self._deterrence = frozenset(
                render_deterrence(lang, v, country=profile.country, organisation=organisation)
                for lang in profile.languages
                if lang in DETERRENCE_LANGUAGES
                for v in DETERRENCE_VARIANTS
            )
        except ConfigError as e:
            self._deterrence_problem = str(e)

    def bank_key_of(self, text: str) -> str | None:
        """The bank key of the template ``text`` was styled from, or ``None`` (not a bank text)."""
        body = strip_emoji(text)
        if body in self._exact:
            return self._exact[body]
        for styled, key in self._by_len.get(len(body.split(" ")), ()):
            if is_styled_variant(styled, text):
                return key
        return None

    def _linked_texts(self, link: HelpLink) -> frozenset[str]:
        """The deterrence texts rendered with ``link`` (cached per link); empty when the
        link cannot be rendered (a variant that is not one of its arms is left out)."""
        if link not in self._linked:
            texts: set[str] = set()
            for lang in self.profile.languages:
                if lang not in DETERRENCE_LANGUAGES:
                    continue
                for v in DETERRENCE_VARIANTS:
                    if v not in link.arms:
                        continue
                    try:
                        texts.add(
                            render_deterrence(
                                lang,
                                v,
                                country=self.profile.country,
                                organisation=self.organisation,
                                help_link=link,
                            )
                        )
                    except ConfigError:
                        continue
            self._linked[link] = frozenset(texts)
        return self._linked[link]

    def check(
        self, text: str, *, origin: Origin, help_link: HelpLink | None = None
    ) -> GuardVerdict:
        """Whether ``text`` may be sent under ``origin``; never raises for odd input.

        ``help_link``: only for ``"deterrence"``: the trial's help link the engine built for
        this send; the text must then be a reviewed text rendered with exactly that link."""
        if origin not in ORIGINS:
            return GuardVerdict(False, (f"origin: unknown origin {origin!r}",))
        if not isinstance(text, str):
            return GuardVerdict(False, (f"type: expected str, got {type(text).__name__}",))
        if not text.strip():
            return GuardVerdict(False, ("empty: nothing to send",))
        if origin == "deterrence":
            checks = ("origin:deterrence-exact",)
            allowed = self._deterrence if help_link is None else self._linked_texts(help_link)
            if text in allowed:
                return GuardVerdict(True, (), checks)
            why = self._deterrence_problem or "not a reviewed deterrence text for this persona"
            return GuardVerdict(False, (f"deterrence: {why}",), checks)
        reasons: list[str] = []
        checks_run: tuple[str, ...] = ("content", "length")
        if origin == "bank":
            checks_run = ("origin:bank-template", *checks_run)
            if self.bank_key_of(text) is None:
                reasons.append("origin: not a reviewed bank rendering for this persona")
        reasons.extend(content_violations(text))
        return GuardVerdict(not reasons, tuple(reasons), checks_run)

    def release(
        self, text: str, *, origin: Origin, help_link: HelpLink | None = None
    ) -> GuardedText:
        """A :class:`GuardedText` for ``text``; raises :class:`GuardRefusal` when not allowed
        (``help_link`` as in :meth:`check`)."""
        verdict = self.check(text, origin=origin, help_link=help_link)
        if not verdict.allowed:
            raise GuardRefusal(str(origin), verdict.reasons)
        return GuardedText(text, origin, verdict.checks, _seal(text, origin, verdict.checks))
