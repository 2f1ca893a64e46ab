"""``tutela serve``: the analyst dashboard (FastAPI + HTMX) under uvicorn.

Binds to 127.0.0.1 by default: put it behind a TLS reverse proxy (and pass
``--cookie-secure``) before exposing it to anything but this machine. Sessions live in the
server's memory: restarting it logs everybody out.
"""

from __future__ import annotations

import typer

from tutela.cli._app import app, err_console

__all__ = ["serve"]


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port."),
    db: str | None = typer.Option(
        None, "--db", envvar="TUTELA_DB", help="Database URL (default: the user data dir)."
    ),
    cookie_secure: bool = typer.Option(
        False, "--cookie-secure", help="Mark cookies Secure (serve over HTTPS via a proxy)."
    ),
) -> None:
    """Run the analyst dashboard (log in with an account made by the cases tooling)."""
    import uvicorn

    from tutela.web.app import create_app
    from tutela.web.settings import WebSettings

    settings = WebSettings.load(db_url=db, cookie_secure=cookie_secure)
    if host not in ("127.0.0.1", "localhost", "::1"):
        err_console.print(
            f"[yellow]warning:[/] listening on {host}: use HTTPS in front and --cookie-secure"
        )
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info", proxy_headers=False)
