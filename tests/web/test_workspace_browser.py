"""Browser walk-through of the analyst's workspace (issue 12, "Done when"): Playwright (sync API)
in Debian Chromium against a real uvicorn server on 127.0.0.1, over a database seeded by
``tools/workspace_seed.py`` with cases of every severity (shipped demo scenarios + an analyst's
watch).

Asserted in the browser: the active queue's order (refer > escalate > deter > watch > none), the
strongest action (and its time) on each row, a filter narrowing the rows, pagination with a small
page size walking every case once, a refused operator takeover's reason swapped into the live
page (htmx error swap of the 422), the Dutch UI for a ``nl-NL`` browser, and the phone layout at
375 px (no horizontal page overflow, the nav usable). Skipped when /usr/bin/chromium is missing,
failed then under TUTELA_REQUIRE_SERVERS=1.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from browser_support import launch_chromium, serve

ROOT = Path(__file__).resolve().parents[2]
PHONE = {"width": 375, "height": 800}

pytestmark = pytest.mark.slow


def _load_seed() -> Any:
    name = "workspace_seed"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / "workspace_seed.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


seed = _load_seed()


@dataclass
class Site:
    base: str
    ws: Any  # workspace_seed.Workspace


def _fast_hasher() -> PasswordHasher:
    return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture(scope="module")
def browser():
    with launch_chromium() as b:
        yield b


@pytest.fixture(scope="module")
def site(browser, tmp_path_factory) -> Iterator[Site]:
    from tutela.accounts.users import UserStore
    from tutela.store import open_store
    from tutela.web.app import create_app
    from tutela.web.services import Services

    # the demo runs its own event loop: not in this thread, where sync Playwright runs one
    with ThreadPoolExecutor(1) as pool:
        folder = tmp_path_factory.mktemp("workspace")
        ws = pool.submit(seed.seed_workspace, folder, hasher=_fast_hasher()).result()
    settings = seed.web_settings(ws.folder)
    services = Services.from_settings(settings, store=open_store(settings.db_url))
    services.users = UserStore(  # type: ignore[misc]  # replaces the cached default
        services.store, recorder=services.recorder, hasher=_fast_hasher()
    )
    app = create_app(settings, services=services)
    with serve(app) as base:
        yield Site(base=base, ws=ws)
    services.close()


def _login(page, base: str, name: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", seed.PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/queue")


def _context(browser, **kw):
    ctx = browser.new_context(**kw)
    ctx.set_default_timeout(15_000)
    return ctx


ROW_ACTION = re.compile(r"\baction-(refer|escalate|deter|watch)\b")


def _rows(page) -> list[dict[str, Any]]:
    """The queue table's rows: case id (from its link), strongest action (the row's
    ``action-*`` class; ``none`` without one), the strongest cell's text and ``<time>``."""
    out = []
    for tr in page.locator("table.queue tbody tr").all():
        link = tr.locator("a[href^='/cases/']")
        if link.count() == 0:  # "No cases."
            continue
        m = ROW_ACTION.search(tr.get_attribute("class") or "")
        cell = tr.locator("td.strongest")
        time_el = cell.locator("time")
        out.append(
            {
                "case": int(link.first.get_attribute("href").rsplit("/", 1)[1]),
                "action": m.group(1) if m else "none",
                "cell": cell.inner_text().strip(),
                "badge": cell.locator(".action").inner_text().strip()
                if cell.locator(".action").count()
                else None,
                "time": time_el.get_attribute("datetime") if time_el.count() else None,
            }
        )
    return out


def test_queue_order_strongest_action_filters_and_pages(site, browser):
    ws = site.ws
    ctx = _context(browser, locale="en-GB")
    page = ctx.new_page()
    _login(page, site.base, "ana")
    rows = _rows(page)
    # every seeded case, in severity order: refer > escalate > deter > watch > none
    assert sorted(r["case"] for r in rows) == sorted(ws.all_cases), rows
    ranks = [seed.SEVERITY_ORDER.index(ws.severity_of(r["case"])) for r in rows]
    assert ranks == sorted(ranks), [(r["case"], ws.severity_of(r["case"])) for r in rows]
    assert [r["case"] for r in rows][:2] == [ws.cases["refer"][0], ws.cases["escalate"][0]]
    # each row shows its strongest action, with its time when there is one
    for r in rows:
        expected = ws.severity_of(r["case"])
        assert r["action"] == expected, r
        if expected == "none":
            assert r["time"] is None and r["badge"] is None, r
        else:
            assert r["badge"] and r["badge"].split()[0] == expected, r
            assert r["time"] and datetime.fromisoformat(r["time"]).tzinfo is not None, r
            assert re.search(r"\d{2}:\d{2}", r["cell"]), r  # the time, shown
    assert page.locator(".queue-count").inner_text().startswith(f"{len(ws.all_cases)} cases")
    # the case page says the same (from the queue's top row)
    page.click(f"table.queue a[href='/cases/{rows[0]['case']}']")
    page.wait_for_url(f"{site.base}/cases/{rows[0]['case']}")
    assert page.locator(".cw-strongest-refer").count() == 1
    page.goto(f"{site.base}/queue")

    # a filter narrows the rows: the platform of the watched case only
    page.locator("details.queue-filter > summary").click()
    page.select_option("select[name=platform]", "matrix")
    page.click(".queue-filter-buttons button[type=submit]")
    page.wait_for_url(re.compile(r"platform=matrix"))
    assert [r["case"] for r in _rows(page)] == list(ws.cases["watch"])
    # and the strongest action filter
    page.goto(f"{site.base}/queue?action=deter")
    assert sorted(r["case"] for r in _rows(page)) == sorted(ws.cases["deter"])

    # pages of two: every case once, in the same order as the whole queue, no gaps
    page.goto(f"{site.base}/queue?size=2")
    seen: list[int] = []
    for _ in range(len(ws.all_cases)):
        got = _rows(page)
        assert 1 <= len(got) <= 2, got
        seen.extend(r["case"] for r in got)
        nxt = page.locator("nav.pager a[rel=next]")
        if nxt.count() == 0:
            break
        href = nxt.get_attribute("href")
        assert href and "cursor=" in href and "size=2" in href, href
        page.goto(f"{site.base}{href}")
    assert seen == [r["case"] for r in rows], seen
    assert len(seen) == len(set(seen))
    ctx.close()


def test_refused_takeover_shows_the_guards_reason(site, browser):
    ctx = _context(browser)
    page = ctx.new_page()
    _login(page, site.base, "ana")
    page.goto(f"{site.base}/live")
    conv = site.ws.live_conversation
    form = page.locator(f"form[action='/live/{conv}/takeover']")
    assert form.count() == 1, page.content()[:2000]
    result = page.locator(f"#takeover-{conv}")
    with page.expect_response(lambda r: r.url.endswith(f"/live/{conv}/takeover")) as info:
        form.locator("input[name=text]").fill("ok lets meet at the park tomorrow")
        form.locator("button[type=submit]").click()
    assert info.value.status == 422
    refused = result.locator(".refused")
    refused.wait_for()  # htmx swapped the 4xx answer into the page
    assert "meet" in refused.inner_text()  # the guard's reason names what it refused
    assert page.url == f"{site.base}/live"  # no navigation: an in-page swap
    # a text the guard releases is queued, in the same place
    with page.expect_response(lambda r: r.url.endswith(f"/live/{conv}/takeover")) as info:
        form.locator("input[name=text]").fill("cool, what games do you like?")
        form.locator("button[type=submit]").click()
    assert info.value.status == 200
    result.locator(".queued").wait_for()
    assert result.locator(".refused").count() == 0
    ctx.close()


def test_dutch_ui_from_the_browser_locale(site, browser):
    from tutela.web.i18n import translations

    nl = translations("nl").gettext
    assert nl("Review queue") != "Review queue"  # the catalogue has it
    en_ctx = _context(browser, locale="en-GB")
    en = en_ctx.new_page()
    _login(en, site.base, "ben")
    english_h1 = en.text_content("main h1").strip()
    en_ctx.close()

    ctx = _context(browser, locale="nl-NL")
    page = ctx.new_page()
    page.goto(f"{site.base}/login")
    assert page.get_attribute("html", "lang") == "nl"
    _login(page, site.base, "ben")
    assert page.get_attribute("html", "lang") == "nl"
    nav = page.locator("header nav")
    for path, msgid in (("/queue", "Review queue"), ("/stats", "Statistics")):
        assert nav.locator(f"a[href='{path}']").inner_text().strip() == nl(msgid)
    dutch_h1 = page.text_content("main h1").strip()
    assert dutch_h1 and dutch_h1 != english_h1
    assert dutch_h1 == nl(english_h1)
    ctx.close()


def _overflow(page) -> int:
    return page.evaluate("() => document.documentElement.scrollWidth")


def test_phone_layout_has_no_page_overflow_and_a_usable_nav(site, browser):
    ctx = _context(browser, viewport=PHONE, is_mobile=True, has_touch=True)
    page = ctx.new_page()
    _login(page, site.base, "ana")
    for path in (
        "/queue",
        f"/cases/{site.ws.cases['refer'][0]}",
        f"/cases/{site.ws.cases['escalate'][0]}",
    ):
        page.goto(f"{site.base}{path}")
        page.wait_for_load_state("networkidle")
        width = _overflow(page)
        assert width <= PHONE["width"] + 1, f"{path}: page is {width} px wide at 375 px"
    links = page.locator("header nav a")
    assert links.count() >= 4
    for i in range(links.count()):
        link = links.nth(i)
        assert link.is_visible()
        box = link.bounding_box()
        assert box is not None
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 1, box
        assert box["height"] >= 24  # a finger can hit it
    page.locator("header nav a[href='/live']").tap()
    page.wait_for_url(f"{site.base}/live")
    assert _overflow(page) <= PHONE["width"] + 1
    ctx.close()
