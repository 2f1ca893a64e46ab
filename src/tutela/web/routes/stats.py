"""Research statistics (``tutela.research.stats.summary``: de-identified) with SVG charts whose
labels are in the request's language (:func:`tutela.web.i18n.gettext_for`)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from tutela.web.charts import CHARTS, render_chart
from tutela.web.deps import CurrentUser, ServicesDep
from tutela.web.i18n import N_, gettext_for
from tutela.web.render import render

__all__ = ["router"]

router = APIRouter(prefix="/stats")
TABLE_ROWS = 20
"""Rows of each chart's data table on the page (the chart itself shows everything)."""


def _summary(services: ServicesDep) -> dict:
    from tutela.research.stats import summary

    return summary(services.store)


@router.get("", name="stats", response_class=HTMLResponse)
def stats_page(request: Request, user: CurrentUser, services: ServicesDep) -> Response:
    s = _summary(services)
    indicators = sorted(s["indicator_frequencies"].items(), key=lambda kv: (-kv[1], kv[0]))
    warned: dict[str, int] = {}
    for r in s["warnings"]:
        warned[r["variant"]] = warned.get(r["variant"], 0) + r["n"]
    return render(
        request,
        "stats.html",
        {
            "s": s,
            "charts": list(CHARTS),
            "indicators": indicators[:TABLE_ROWS],
            "days": s["contacts_per_day"][-TABLE_ROWS:],
            "warned": sorted(warned.items()),
        },
    )


@router.get("/charts/{name}.svg", name="stats_chart")
def stats_chart(
    request: Request,
    name: str,
    user: CurrentUser,
    services: ServicesDep,
    size: Literal["wide", "narrow"] = "wide",
) -> Response:
    """One chart as SVG (``size``: ``narrow`` for a phone, :data:`tutela.web.charts.WIDTHS`)."""
    if name not in CHARTS:
        raise HTTPException(status_code=404, detail=N_("no such chart"))
    svg = render_chart(name, _summary(services), gettext_for(request), size)
    return Response(svg, media_type="image/svg+xml")
