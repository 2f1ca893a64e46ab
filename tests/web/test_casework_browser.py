"""Browser check of the case work pages in Debian Chromium at a phone width (375 px): no page-wide
sideways scrolling, the risk chart image loads under the Content-Security-Policy, the identity
graph renders. Skipped like the other browser test when /usr/bin/chromium is missing."""

from __future__ import annotations

import pytest
from test_web_browser import _login
from web_support import explicit_line

pytestmark = pytest.mark.slow


def test_case_and_contact_pages_fit_a_phone(web, server, browser, tmp_path):
    explicit_line(web)
    contact_id = web.services.recorder.get_case(web.case_id).contact_id
    ctx = browser.new_context(viewport={"width": 375, "height": 800})
    page = ctx.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    _login(page, server, "ana")
    widths = {}
    for name, path in (("case", f"/cases/{web.case_id}"), ("contact", f"/contacts/{contact_id}")):
        page.goto(f"{server}{path}")
        page.wait_for_load_state("networkidle")
        widths[name] = page.evaluate("document.documentElement.scrollWidth")
        page.screenshot(path=str(tmp_path / f"{name}-375.png"), full_page=True)
        if name == "case":
            assert page.locator(".cw-chart img").evaluate("i => i.complete && i.naturalWidth > 0")
            assert page.locator("ol.timeline > li").count() > 5
        else:
            assert page.locator(".cw-graph svg").count() == 1
    ctx.close()
    assert all(w <= 375 for w in widths.values()), widths
    assert not [e for e in errors if "Content Security Policy" in e], errors
    print(f"scrollWidth at 375 px: {widths}; screenshots in {tmp_path}")
