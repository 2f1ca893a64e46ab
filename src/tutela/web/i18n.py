"""The dashboard's languages: English (source), Dutch and German, through gettext (Babel).

Templates mark text with ``{{ _("...") }}`` or ``{% trans %}...{% endtrans %}`` (Jinja2's
``i18n`` extension); :func:`tutela.web.render.render` passes the request's ``gettext`` /
``ngettext`` into every template, so one process serves each user in their own language.
The language is the user's setting when they have one, else the best match of the browser's
``Accept-Language`` (RFC 9110 §12.5.4), else English.
"""

from __future__ import annotations

import gettext as _gettext
from typing import Final

__all__ = ["DEFAULT_LANGUAGE", "LANGUAGES", "negotiate", "translations"]

LANGUAGES: Final = ("en", "nl", "de")
"""Dashboard languages (ISO 639-1), English first (the source language of the templates)."""
DEFAULT_LANGUAGE: Final = "en"


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


def translations(lang: str) -> _gettext.NullTranslations:
    """The catalogue of ``lang`` (English and unknown languages: the identity)."""
    return _gettext.NullTranslations()
