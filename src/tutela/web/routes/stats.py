"""Research statistics (``tutela.research.stats.summary``: de-identified) with SVG charts."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from tutela.web.charts import CHARTS, render_chart
from tutela.web.deps import CurrentUser, ServicesDep
from tutela.web.render import render

__all__ = ["router"]

router = APIRouter(prefix="/stats")


def _summary(services: ServicesDep) -> dict:
    from tutela.research.stats import summary

    return summary(services.store)


@router.get("", name="stats", response_class=HTMLResponse)
def stats_page(request: Request, user: CurrentUser, services: ServicesDep) -> Response:
    return render(request, "stats.html", {"s": _summary(services), "charts": list(CHARTS)})


@router.get("/charts/{name}.svg", name="stats_chart")
def stats_chart(name: str, user: CurrentUser, services: ServicesDep) -> Response:
    if name not in CHARTS:
        raise HTTPException(status_code=404, detail="no such chart")
    svg = render_chart(name, _summary(services))
    return Response(svg, media_type="image/svg+xml")
