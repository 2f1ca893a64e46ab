"""The dashboard's languages: English (source), Dutch and German, through gettext (Babel).

Templates mark text with ``{{ _("...") }}`` or ``{% trans %}...{% endtrans %}`` (Jinja2's
``i18n`` extension); :func:`tutela.web.render.render` passes the request's ``gettext`` /
``ngettext`` into every template, so one process serves each user in their own language.
Text made in Python for a page (flash messages, error reasons, chart labels) goes through
:func:`gettext_for` of the request.

The language of a request (:func:`request_language`) is the logged-in user's setting
(``users.lang``, put on ``request.state.lang`` by the session middleware of
:mod:`tutela.web.app`) when they have one, else the best match of the browser's
``Accept-Language`` (RFC 9110 §12.5.4), else English.

The catalogues are the committed gettext text files
``tutela/web/locale/<lang>/LC_MESSAGES/messages.po`` (package data; no compiled ``.mo`` in the
repository). Each is compiled in memory at its first use (``babel.messages.pofile.read_po``,
``babel.messages.mofile.write_mo``; fuzzy entries are left out, so they show in English) and
cached for the life of the process (``gettext.GNUTranslations``). ``tools/i18n.py`` extracts,
merges and checks them (``docs/i18n.md``).
"""

from __future__ import annotations

import gettext as _gettext
import io
from collections.abc import Callable
from functools import lru_cache
from importlib.resources import files
from typing import Any, Final

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "LANGUAGE_NAMES",
    "N_",
    "REASONS",
    "catalogue_path",
    "gettext_for",
    "negotiate",
    "ngettext_for",
    "request_language",
    "translations",
]

LANGUAGES: Final = ("en", "nl", "de")
"""Dashboard languages (ISO 639-1), English first (the source language of the templates)."""
DEFAULT_LANGUAGE: Final = "en"
LANGUAGE_NAMES: Final = {"en": "English", "nl": "Nederlands", "de": "Deutsch"}
"""Each language's name in itself (the language switch shows these, untranslated)."""
DOMAIN: Final = "messages"


def negotiate(accept_language: str | None, preferred: str | None = None) -> str:
    """The dashboard language: ``preferred`` (a user's setting) when it is one of
    :data:`LANGUAGES`, else the first of ``LANGUAGES`` the ``Accept-Language`` header ranks
    highest (``q`` weights; ``nl-BE`` matches ``nl``), else :data:`DEFAULT_LANGUAGE`."""
    if preferred in LANGUAGES:
        return preferred
    best, best_q = DEFAULT_LANGUAGE, 0.0
    for item in (accept_language or "")[:2000].split(","):
        tag, _, params = item.strip().partition(";")
        lang = tag.strip().lower().split("-", 1)[0]
        q = 1.0
        for p in params.split(";"):
            k, _, v = p.strip().partition("=")
            if k.strip() == "q":
                try:
                    q = float(v)
                except ValueError:
                    q = 0.0
        if lang in LANGUAGES and q > best_q:
            best, best_q = lang, q
    return best


def N_(message: str) -> str:
    """Mark ``message`` for extraction without translating it (a constant translated later,
    where the request's :func:`gettext_for` is known): returns it unchanged."""
    return message


REASONS: Final = (
    N_("missing or invalid CSRF token"),
    N_("your role may not open this page"),
    N_("internal error; it has been logged"),
    N_("not allowed"),
    N_("login required"),
)
"""Error reasons raised elsewhere (``tutela.web.deps``, ``tutela.web.app``) as plain English,
marked here so the catalogues carry them: ``error.html`` shows a reason through the request's
``gettext``, so any reason marked with :func:`N_` anywhere appears translated."""


def catalogue_path(lang: str) -> Any:
    """The package resource (a ``Traversable``) of ``lang``'s ``messages.po``."""
    return files("tutela.web") / "locale" / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


class _Catalogue(_gettext.GNUTranslations):
    """A compiled catalogue whose ``gettext("")`` is ``""`` (GNU gettext answers the header)."""

    def gettext(self, message: str) -> str:
        return super().gettext(message) if message else message


@lru_cache(maxsize=len(LANGUAGES))
def _compiled(lang: str) -> _gettext.NullTranslations:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    path = catalogue_path(lang)
    if not path.is_file():
        return _gettext.NullTranslations()
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=lang, domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return _Catalogue(buf)


def translations(lang: str) -> _gettext.NullTranslations:
    """The catalogue of ``lang`` (English and unknown languages: the identity; a missing
    message falls back to its English msgid). Compiled once per process (module docstring)."""
    if lang not in LANGUAGES or lang == DEFAULT_LANGUAGE:
        return _gettext.NullTranslations()
    return _compiled(lang)


def request_language(request: Any) -> str:
    """The language of ``request`` (a Starlette ``Request``): ``request.state.lang`` (the
    user's setting) when it is a dashboard language, else negotiated from its
    ``Accept-Language`` header (:func:`negotiate`)."""
    state = getattr(request, "state", None)
    preferred = getattr(state, "lang", None) if state is not None else None
    return negotiate(request.headers.get("accept-language"), preferred)


def gettext_for(request: Any) -> Callable[[str], str]:
    """``gettext`` in the language of ``request``, for strings made in Python (flash messages,
    error reasons, chart labels). Mark them where they are written, ``_ = gettext_for(request)``
    then ``_("Note saved.")``, so ``tools/i18n.py extract`` finds them; placeholders by name:
    ``_("%(n)s cases") % {"n": n}``."""
    return translations(request_language(request)).gettext


def ngettext_for(request: Any) -> Callable[[str, str, int], str]:
    """``ngettext`` (singular, plural, count) in the language of ``request``."""
    return translations(request_language(request)).ngettext
