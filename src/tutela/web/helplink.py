"""``GET /h/{trial_id}/{arm}/{lang}``: the deterrence trial's non-identifying help-link redirect.

A warning sent during a trial with ``deterrence.help_link_base`` set carries this link instead of
the helpline's own URL (:class:`tutela.persona.deterrence.HelpLink`). The route:

* needs no login (route name :data:`ROUTE_NAME` is in :data:`tutela.web.deps.PUBLIC_ROUTES`) and
  sets no cookie: it never touches the session, so the session middleware neither creates one nor
  sets a cookie (it only clears a stale dashboard cookie that a browser itself presents);
* stores nothing identifying: no address, user agent, referrer, cookie or time of day; it adds one
  to ``help_link_clicks(trial_id, arm, lang, UTC day)``
  (:func:`tutela.store.queries.helplinks.count_help_link_click`, no ledger entry: see there);
* answers ``302`` to the helpline of that language
  (:func:`tutela.persona.deterrence.helpline_for_language`: the language -> country mapping of
  the deterrence texts' help links), with ``Referrer-Policy: no-referrer`` and
  ``Cache-Control: no-store`` (so every click reaches the counter);
* answers ``404`` and counts nothing for an unknown trial, an arm that is not one of the trial's,
  or a language without a helpline. Only ``GET`` is served (``HEAD`` counts nothing: 405).
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException
from fastapi.responses import RedirectResponse, Response

from tutela.errors import ConfigError
from tutela.web.deps import ServicesDep

__all__ = ["ROUTE_NAME", "router"]

ROUTE_NAME = "help_link"
MAX_TRIAL_ID = 2**63 - 1

router = APIRouter()


@router.get("/h/{trial_id}/{arm}/{lang}", name=ROUTE_NAME, include_in_schema=False)
def help_link(trial_id: str, arm: str, lang: str, services: ServicesDep) -> Response:
    from tutela.persona.deterrence import helpline_for_language
    from tutela.store.queries.helplinks import count_help_link_click, help_link_target

    if not trial_id.isascii() or not trial_id.isdigit() or not 0 < int(trial_id) <= MAX_TRIAL_ID:
        raise HTTPException(status_code=404, detail="no such help link")
    try:
        helpline = helpline_for_language(lang)
    except ConfigError:
        raise HTTPException(status_code=404, detail="no such help link") from None
    target = help_link_target(services.store, int(trial_id))
    if target is None or arm not in target.arms:
        raise HTTPException(status_code=404, detail="no such help link")
    day = datetime.now(UTC).date().isoformat()
    count_help_link_click(services.recorder, trial_id=target.trial_id, arm=arm, lang=lang, day=day)
    return RedirectResponse(helpline.url, status_code=302)
