"""``GET /h/{trial_id}/{arm_no}/{lang}/{country}``: the deterrence trial's non-identifying
help-link redirect.

A warning sent during a trial with ``deterrence.help_link_base`` set carries this link instead of
the helpline's own URL (:class:`tutela.persona.deterrence.HelpLink`). The route:

* needs no login (route name :data:`ROUTE_NAME` is in :data:`tutela.web.deps.PUBLIC_ROUTES`) and
  sets no cookie: it never touches the session, so the session middleware neither creates one nor
  sets a cookie (it only clears a stale dashboard cookie that a browser itself presents);
* stores nothing identifying: no address, user agent, referrer, cookie or time of day (nor logs
  it: :class:`HelpLinkAccessFilter` keeps these requests out of uvicorn's access log; a reverse
  proxy in front must not log the ``/h/`` path either); it adds one
  to ``help_link_clicks(trial_id, arm, lang, UTC day)``
  (:func:`tutela.store.queries.helplinks.count_help_link_click`, no ledger entry: see there);
* answers ``302`` to the helpline of ``country`` (the persona's helpline country, the one
  whose name and phone the warning shows, for the text's language;
  :func:`tutela.persona.deterrence.helpline_for`;
  a trailing full stop that a chat client kept from the end of the sentence is ignored), with
  ``Referrer-Policy: no-referrer`` and ``Cache-Control: no-store`` (so every click reaches the
  counter);
* answers ``404`` and counts nothing for an unknown trial, an arm number that is not one of the
  trial's (``arm_no``: 1-based place in the trial's arms, so the link does not name the arm), a
  language without deterrence texts or a country without a helpline. Only ``GET`` is served
  (``HEAD`` counts nothing: 405).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException
from fastapi.responses import RedirectResponse, Response

from tutela.web.deps import ServicesDep

__all__ = ["ROUTE_NAME", "HelpLinkAccessFilter", "install_access_filter", "router"]

ROUTE_NAME = "help_link"
MAX_TRIAL_ID = 2**63 - 1

router = APIRouter()


class HelpLinkAccessFilter(logging.Filter):
    """Drops ``uvicorn.access`` records of help-link requests: their client address and time
    would tie a click to the warned contact. uvicorn logs ``(client, method, path, http
    version, status)`` as the record's ``args``; other requests are logged as before."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        path = args[2] if isinstance(args, tuple) and len(args) >= 3 else None
        return not (isinstance(path, str) and path.startswith("/h/"))


def install_access_filter() -> None:
    """Add :class:`HelpLinkAccessFilter` to the ``uvicorn.access`` logger (once)."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, HelpLinkAccessFilter) for f in access.filters):
        access.addFilter(HelpLinkAccessFilter())


@router.get("/h/{trial_id}/{arm_no}/{lang}/{country}", name=ROUTE_NAME, include_in_schema=False)
def help_link(
    trial_id: str, arm_no: str, lang: str, country: str, services: ServicesDep
) -> Response:
    from tutela.persona.deterrence import DETERRENCE_LANGUAGES, helpline_for
    from tutela.store.queries.helplinks import count_help_link_click, help_link_target

    def number(text: str, top: int) -> int | None:
        # canonical decimal only (no leading 0, at most 19 digits: int() is safe and bounded)
        ok = text.isascii() and text.isdigit() and len(text) <= 19 and not text.startswith("0")
        return int(text) if ok and int(text) <= top else None

    tid, arm_at = number(trial_id, MAX_TRIAL_ID), number(arm_no, 100)
    country = country.removesuffix(".")
    helpline = helpline_for(country.upper(), lang) if country.islower() else None
    if tid is None or arm_at is None or lang not in DETERRENCE_LANGUAGES or helpline is None:
        raise HTTPException(status_code=404, detail="no such help link")
    target = help_link_target(services.store, tid)
    if target is None or arm_at > len(target.arms):
        raise HTTPException(status_code=404, detail="no such help link")
    arm = target.arms[arm_at - 1]
    day = datetime.now(UTC).date().isoformat()
    count_help_link_click(services.recorder, trial_id=target.trial_id, arm=arm, lang=lang, day=day)
    return RedirectResponse(helpline.url, status_code=302)
