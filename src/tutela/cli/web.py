"""``tutela serve``: the analyst dashboard (FastAPI + HTMX) under uvicorn.

Binds to 127.0.0.1 by default: put it behind a TLS reverse proxy (and pass
``--cookie-secure``) before exposing it to anything but this machine. Sessions live in the
server's memory: restarting it logs everybody out.
"""

from __future__ import annotations

import socket

import typer
from rich.markup import escape

from tutela.cli._app import app, err_console
from tutela.cli._help import examples
from tutela.errors import InputError

__all__ = ["check_listen", "serve"]


def check_listen(host: str, port: int) -> None:
    """Refuse, before the app is built, an address uvicorn could not listen on.

    Resolves ``host`` (``getaddrinfo``, passive) and binds a throw-away socket to the first
    address with ``SO_REUSEADDR`` (as uvicorn does). Raises ``InputError`` naming the host and
    port for a name that does not resolve, a port in use or one this account may not bind.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (OSError, UnicodeError, ValueError) as e:
        raise InputError(f"--host {host!r}: not an address to listen on ({e})") from e
    family, kind, proto, _, address = infos[0]
    try:
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
    except OSError as e:
        raise InputError(f"cannot listen on {host} port {port}: {e.strerror or e}") from e


@app.command(
    epilog=examples(
        "tutela serve",
        "tutela serve --host 0.0.0.0 --port 8080 --db postgresql://tutela@db/tutela",
    )
)
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
    """Run the analyst dashboard (log in with an account made by ``tutela users add``)."""
    import uvicorn

    from tutela.web.app import create_app
    from tutela.web.settings import WebSettings

    check_listen(host, port)
    settings = WebSettings.load(db_url=db, cookie_secure=cookie_secure)
    if host not in ("127.0.0.1", "localhost", "::1"):
        err_console.print(
            f"[yellow]warning:[/] listening on {escape(host)}: use HTTPS in front and "
            "--cookie-secure"
        )
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info", proxy_headers=False)
