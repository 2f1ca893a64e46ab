"""Browser test: Playwright (sync API) with Debian Chromium against a real uvicorn server on
127.0.0.1. Skipped when /usr/bin/chromium is missing, failed then under TUTELA_REQUIRE_SERVERS=1.

The analyst proposes a referral on the case ``tutela demo`` made, another user (a supervisor)
approves it, exports the evidence package through the browser's download, and it verifies.
Screenshots of the case and statistics pages go to the test's tmp folder.
"""

from __future__ import annotations

import pytest
from web_support import PASSWORD

from tutela.evidence import verify_package

pytestmark = pytest.mark.slow


def _login(page, base: str, name: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/queue")


def test_referral_approval_and_export_in_a_browser(web, server, browser, tmp_path):
    base = server
    analyst = browser.new_context(accept_downloads=True)
    page = analyst.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    _login(page, base, "ana")
    page.click(f"a[href='/cases/{web.case_id}']")
    page.wait_for_url(f"{base}/cases/{web.case_id}")
    assert page.locator(".line.flagged").count() > 0  # indicator highlights
    page.screenshot(path=str(tmp_path / "case.png"), full_page=True)
    page.fill("form[action$='/referrals'] input[name=note]", "asked age, then solicited")
    page.click("form[action$='/referrals'] button")
    page.wait_for_url(f"{base}/cases/{web.case_id}")
    assert "referral proposed" in page.text_content("h1")
    assert page.locator("form[action$='/approve']").count() == 0  # analysts cannot approve
    page.goto(f"{base}/stats")
    page.wait_for_load_state("networkidle")
    assert all(
        img.evaluate("i => i.complete && i.naturalWidth > 0")
        for img in page.locator(".charts img").all()
    )
    page.screenshot(path=str(tmp_path / "stats.png"), full_page=True)
    analyst.close()

    supervisor = browser.new_context(accept_downloads=True)
    page = supervisor.new_page()
    _login(page, base, "sue")
    page.goto(f"{base}/cases/{web.case_id}")
    page.fill("form[action$='/approve'] input[name=note]", "agreed")
    page.click("form[action$='/approve'] button")
    page.wait_for_url(f"{base}/cases/{web.case_id}")
    assert "referred" in page.text_content("h1")
    with page.expect_download() as info:
        page.click("form[action$='/export'] button")
    out = tmp_path / "package.zip"
    info.value.save_as(out)
    report = verify_package(out)
    assert report.case_id == web.case_id
    supervisor.close()
    assert not [e for e in errors if "Content Security Policy" in e], errors
    print(f"screenshots: {tmp_path / 'case.png'} {tmp_path / 'stats.png'}")
