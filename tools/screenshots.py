"""Screenshots of every dashboard page, at each width and in each language.

Usage::

    python tools/screenshots.py --out DIR [--lang en,nl,de] [--widths 1366,375]
                                [--chromium /usr/bin/chromium] [--height 900]

Seeds a temporary database with cases of every severity (``tools/workspace_seed.py``: the shipped
demo scenarios plus an analyst's watch), starts the dashboard on ``127.0.0.1`` (a free port,
uvicorn in a thread), and, in Chromium through Playwright (sync API; the browser's locale sets
``Accept-Language``, so the dashboard negotiates the language), writes one full-page PNG per page,
language and width into ``DIR`` as ``<page>-<lang>-<width>.png``:

``login`` (before logging in), then as the analyst ``ana``: ``queue``, ``case`` (the case the
policy proposed for referral), ``contact`` (the returning contact: two conversations), ``live``,
``personas``, ``stats``, ``shadow``; as the supervisor ``sue``: ``audit``.

Prints each file written, one a line, and exits 0; the server is stopped and the temporary
database removed on every exit. A page that does not answer 200 is still captured (its error
page), named on stderr, and the exit status is 1; exit 2 when Chromium or Playwright is missing
or the seed or the server fails. Needs the project installed (``pip install -e .``) and
Playwright's Python package (no ``playwright install``: it drives the Chromium given).
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOCALES = {"en": "en-GB", "nl": "nl-NL", "de": "de-DE"}


def load_seed() -> ModuleType:
    """``tools/workspace_seed.py`` as a module (``tools`` is not a package)."""
    name = "workspace_seed"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, HERE / "workspace_seed.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Run ``app`` with uvicorn on a free 127.0.0.1 port in a thread; yields the base URL and
    stops the server on exit."""
    import uvicorn

    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 15
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the dashboard did not start")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def login(page: Any, base: str, name: str, password: str) -> None:
    """Log in through the form; waits until the browser left the login page."""
    page.goto(f"{base}/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)


def _shoot(page: Any, base: str, path: str, file: Path) -> int | None:
    """Screenshot ``path`` into ``file`` (also when it answers an error page); returns the
    HTTP status (``None``: no response)."""
    response = page.goto(f"{base}{path}")
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(file), full_page=True)
    return None if response is None else response.status


def pages_of(ws: Any) -> dict[str, list[tuple[str, str]]]:
    """User name → [(page name, path)] to capture (``""``: before logging in)."""
    refer = ws.cases["refer"][0]
    returning = ws.cases["escalate"][0]
    return {
        "": [("login", "/login")],
        "ana": [
            ("queue", "/queue"),
            ("case", f"/cases/{refer}"),
            ("contact", f"/contacts/{ws.contacts[returning]}"),
            ("live", "/live"),
            ("personas", "/personas"),
            ("stats", "/stats"),
            ("shadow", "/shadow"),
        ],
        "sue": [("audit", "/audit")],
    }


def capture(
    browser: Any,
    base: str,
    ws: Any,
    out: Path,
    *,
    langs: list[str],
    widths: list[int],
    height: int,
    password: str,
    failed: list[str],
) -> list[Path]:
    """Every page of :func:`pages_of` at each width and language; returns the files written
    and appends ``"<file>: HTTP <status>"`` to ``failed`` for pages that did not answer 200."""
    written: list[Path] = []
    for lang in langs:
        for width in widths:
            for user, pages in pages_of(ws).items():
                context = browser.new_context(
                    locale=LOCALES.get(lang, lang), viewport={"width": width, "height": height}
                )
                try:
                    page = context.new_page()
                    if user:
                        login(page, base, user, password)
                    for name, path in pages:
                        file = out / f"{name}-{lang}-{width}.png"
                        status = _shoot(page, base, path, file)
                        written.append(file)
                        if status != 200:
                            failed.append(f"{file}: {path} answered HTTP {status}")
                finally:
                    context.close()
    return written


def quiet_logs() -> None:
    """The demo runs log every message; keep warnings only, on stderr (stdout: the file list)."""
    import logging

    import structlog

    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        logger_factory=lambda *_: structlog.PrintLogger(sys.stderr),
        cache_logger_on_first_use=False,
    )


def _csv(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, type=Path, help="folder for the PNG files")
    parser.add_argument("--lang", default="en,nl,de", help="languages, comma-separated")
    parser.add_argument("--widths", default="1366,375", help="viewport widths in px")
    parser.add_argument("--height", type=int, default=900, help="viewport height in px")
    parser.add_argument("--chromium", type=Path, default=Path("/usr/bin/chromium"))
    args = parser.parse_args(argv)
    langs = _csv(args.lang)
    try:
        widths = [int(w) for w in _csv(args.widths)]
    except ValueError:
        parser.error("--widths: integers, comma-separated")
    if not langs or not widths:
        parser.error("give at least one language and one width")
    if not args.chromium.exists():
        print(f"error: no Chromium at {args.chromium}", file=sys.stderr)
        return 2
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("error: the playwright package is not installed", file=sys.stderr)
        return 2
    from argon2 import PasswordHasher

    from tutela.store import open_store
    from tutela.web.app import create_app
    from tutela.web.services import Services

    quiet_logs()
    seed = load_seed()
    failed: list[str] = []
    args.out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="tutela-screenshots-"))
    try:
        # a light hash: these throw-away users live only as long as this run
        ws = seed.seed_workspace(tmp, hasher=PasswordHasher(time_cost=1, memory_cost=1024))
        settings = seed.web_settings(ws.folder)
        services = Services.from_settings(settings, store=open_store(settings.db_url))
        try:
            app = create_app(settings, services=services)
            with serve(app) as base, sync_playwright() as p:
                browser = p.chromium.launch(executable_path=str(args.chromium), args=CHROMIUM_ARGS)
                try:
                    written = capture(
                        browser,
                        base,
                        ws,
                        args.out,
                        langs=langs,
                        widths=widths,
                        height=args.height,
                        password=seed.PASSWORD,
                        failed=failed,
                    )
                finally:
                    browser.close()
        finally:
            services.close()
    except RuntimeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for file in written:
        print(file)
    for line in failed:
        print(f"error: {line}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
