"""The shipped persona profiles (``tutela.persona.load_personas``), read-only."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from tutela.persona import load_personas
from tutela.web.deps import CurrentUser
from tutela.web.render import render

__all__ = ["router"]

router = APIRouter()


@router.get("/personas", name="personas", response_class=HTMLResponse)
def personas(request: Request, user: CurrentUser) -> Response:
    return render(request, "personas.html", {"personas": list(load_personas().values())})
