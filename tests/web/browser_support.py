"""What the browser tests share: Debian Chromium through Playwright (sync API) and the dashboard
served by uvicorn on 127.0.0.1 in a thread; the ``server`` and ``browser`` fixtures
(``tests/web/conftest.py``) are built on :func:`serve` and :func:`launch_chromium`. Chromium
missing (or ``TUTELA_SKIP_BROWSER=1``): the test is skipped, failed under
``TUTELA_REQUIRE_SERVERS=1`` (``servers.missing_server``)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from servers import free_port, missing_server

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve ``app`` on a free 127.0.0.1 port until the block ends; yields its base URL."""
    import uvicorn

    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


@contextmanager
def launch_chromium() -> Iterator[Any]:
    """Debian Chromium under Playwright until the block ends (never ``playwright install``)."""
    if not CHROMIUM.exists() or os.environ.get("TUTELA_SKIP_BROWSER") == "1":
        missing_server("chromium (/usr/bin/chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield b
        finally:
            b.close()
