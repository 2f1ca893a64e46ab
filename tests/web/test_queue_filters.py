"""The review queue page (issue 12): severity columns, search and filters as a GET form, keyset
page links with the total count, 422 for bad parameters, 403 for admins, the phone layout.
Lines are short synthetic texts written for these tests."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from urllib.parse import parse_qs, urlparse

import pytest


def add_case(web, handle: str, action: str, risk: float, text: str = "hello") -> int:
    """A new contact ``handle`` with one conversation, one line and one decision; its case id."""
    rec = web.services.recorder
    now = datetime.now(UTC)
    contact = rec.get_or_create_contact("local", handle, seen_at=now)
    conv = rec.open_conversation(
        operation_id=rec.ensure_demo_operation().id,
        persona_id="gb-ellie",
        platform="local",
        account="gb-ellie",
        contact_id=contact,
        lang="en",
        started_at=now,
    )
    msg = rec.record_inbound(
        conversation_id=conv.id, author=handle, text=text, wire=b"x", received_at=now,
        contact_line=1,
    )  # fmt: skip
    rec.record_decision(
        conversation_id=conv.id, message_id=msg.id, after_line=1, action=action, risk=risk,
        indicators=[], rule="test", reason="test", variant="v1" if action == "deter" else None,
    )  # fmt: skip
    return rec.get_or_create_case(contact).id


def _case_ids(page: str) -> list[int]:
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [int(m) for m in re.findall(r'<a href="/cases/(\d+)">', body)]


def _link(page: str, rel: str) -> str | None:
    m = re.search(rf'<a href="([^"]+)" rel="{rel}">', page)
    return None if m is None else m.group(1).replace("&amp;", "&")


def test_queue_shows_strongest_action_and_its_time(web):
    page = web.login("ana").get("/queue").text
    assert "Strongest action" in page and "Last policy action" not in page
    assert "deter (warned)" in page  # the demo's warning, not the last decision's "continue"
    summary = web.services.workflow.case_summary(web.case_id)
    assert summary.strongest_action == "deter"
    assert summary.strongest_at is not None
    assert summary.strongest_at.strftime("%Y-%m-%d %H:%M:%S UTC") in page
    assert "1 case matches." in page
    assert '<form method="get" action="/queue"' in page


def test_severity_order_on_the_page(web):
    refer = add_case(web, "payer", "refer", 0.02)
    esc = add_case(web, "crude", "escalate", 0.4)
    calm = add_case(web, "calm", "continue", 0.99)
    page = web.login("ana").get("/queue").text
    assert _case_ids(page) == [refer, esc, web.case_id, calm]
    assert "4 cases match." in page


def test_filters_and_search_through_the_form(web):
    esc = add_case(web, "crude-one", "escalate", 0.8, text="a crude remark")
    add_case(web, "calm-one", "continue", 0.1, text="nice weather")
    ana = web.login("ana")
    assert _case_ids(ana.get("/queue?q=crude").text) == [esc]
    assert _case_ids(ana.get("/queue?text=REMARK").text) == [esc]
    assert _case_ids(ana.get("/queue?action=escalate&action=deter").text) == [esc, web.case_id]
    assert _case_ids(ana.get("/queue?min_risk=50").text) == [esc, web.case_id]
    everything = _case_ids(ana.get("/queue").text)
    assert len(everything) == 3
    assert _case_ids(ana.get("/queue?platform=local&persona=gb-ellie&lang=en&q=").text) == (
        everything
    )
    assert _case_ids(ana.get("/queue?platform=irc").text) == []
    op = web.services.recorder.ensure_demo_operation().id
    assert len(_case_ids(ana.get(f"/queue?operation={op}").text)) == 3
    today = datetime.now(UTC).date()
    later = (today + timedelta(days=2)).isoformat()
    assert _case_ids(ana.get(f"/queue?from={later}").text) == []
    page = ana.get(f"/queue?sort=case&order=asc&from=2000-01-01&to={later}").text
    assert _case_ids(page) == sorted(_case_ids(page))
    assert 'value="crude"' in ana.get("/queue?q=crude").text  # the form keeps its values


def test_keyset_page_links_cover_every_case_once(web):
    made = [add_case(web, f"c{n}", "continue", n / 10) for n in range(5)]
    ana = web.login("ana")
    url: str | None = "/queue?size=2&sort=risk"
    seen: list[int] = []
    pages = 0
    while url is not None:
        page = ana.get(url)
        assert page.status_code == 200
        assert "6 cases match." in page.text
        seen += _case_ids(page.text)
        pages += 1
        url = _link(page.text, "next")
        if url:
            assert parse_qs(urlparse(url).query)["sort"] == ["risk"]  # the filters travel on
    assert pages == 3 and sorted(seen) == sorted([*made, web.case_id])
    assert len(seen) == len(set(seen))
    # one page forward, then back
    first = ana.get("/queue?size=2&sort=risk").text
    second = ana.get(_link(first, "next")).text
    assert _case_ids(ana.get(_link(second, "prev")).text) == _case_ids(first)
    assert _link(first, "prev") is None


@pytest.mark.parametrize(
    "query",
    [
        "show=bogus",
        "sort=colour",
        "order=sideways",
        "size=0",
        "size=201",
        "size=ten",
        "min_risk=abc",
        "min_risk=101",
        "min_risk=nan",
        "from=2025-13-01",
        "from=2025-03-02&to=2025-03-01",
        "action=shout",
        "operation=x",
        "operation=99999999999",
        "cursor=garbage",
        "sort=risk&sort=case",
        "q=" + "x" * 201,
        "size=\u00b2",  # superscript two: str.isdigit says yes, int() says no
        "operation=\u00b2",
        "size=\u0663",  # Arabic-Indic three
        "q=a%00b",  # NUL: PostgreSQL refuses it in text
        "text=%00",
        "platform=%01x",
        "persona=x%1fy",
        "lang=e%0an",
    ],
)
def test_bad_parameters_answer_422_with_a_reason(web, query):
    ana = web.login("ana")
    r = ana.get(f"/queue?{query}")
    assert r.status_code == 422, (query, r.status_code)
    assert 'class="error"' in r.text
    reason = re.search(r'<p class="error">([^<]+)</p>', r.text)
    assert reason is not None and len(reason.group(1).strip()) > 10
    assert not {"colour", "shout", "garbage", "abc"} & set(re.findall(r"\w+", reason.group(1)))


def test_cursor_of_another_sort_order_is_refused(web):
    for n in range(3):
        add_case(web, f"k{n}", "continue", 0.1)
    ana = web.login("ana")
    nxt = _link(ana.get("/queue?size=1&sort=risk").text, "next")
    assert nxt is not None
    cursor = parse_qs(urlparse(nxt).query)["cursor"][0]
    r = ana.get(f"/queue?size=1&sort=case&cursor={cursor}")
    assert r.status_code == 422 and "sort order" in r.text


def test_admin_gets_403_also_for_text_search(web):
    root = web.login("root")
    assert root.get("/queue").status_code == 403
    assert root.get("/queue?text=secret").status_code == 403
    assert root.get("/queue?sort=bogus").status_code == 403  # the role is checked first


def test_grants_restrict_the_page_and_its_count(web):
    from tutela.accounts.access import grant_operation

    rec = web.services.recorder
    other = rec.find_or_create_operation(
        organisation="Other NGO", jurisdiction="NL", legal_basis="test basis",
        authorisation_ref="OP-Q", officer="officer", starts_at=datetime(2025, 1, 1, tzinfo=UTC),
    ).id  # fmt: skip
    hidden = add_case(web, "elsewhere", "escalate", 0.9)
    rec.open_conversation(
        operation_id=other, persona_id="p", platform="irc", account="p", lang="en",
        contact_id=rec.get_case(hidden).contact_id, started_at=datetime.now(UTC),
    )  # fmt: skip
    ana_user = web.services.users.get("ana")
    grant_operation(rec, ana_user.id, rec.ensure_demo_operation().id, actor="root")
    page = web.login("ana").get("/queue").text
    assert _case_ids(page) == [web.case_id] and "1 case matches." in page
    assert "OP-Q" not in page and ">irc<" not in page  # no filter values from other operations
    assert hidden in _case_ids(web.login("ben").get("/queue").text)


def test_phone_layout_scroll_wrapper_and_own_css(web):
    page = web.login("ana").get("/queue").text
    assert re.search(r'<div class="scroll-x">\s*<table class="queue">', page)
    assert '<link rel="stylesheet" href="/static/queue.css">' in page
    css = (files("tutela.web") / "static" / "queue.css").read_text()
    assert not re.search(r"(?<![-\w])(min-)?width:\s*\d{3,}px", css)  # no fixed widths
    assert "style=" not in page.split("<main>", 1)[1]  # CSP: no inline styles
    assert web.login("ana").get("/static/queue.css").status_code == 200


def _cursor(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


T = {"t": "2025-01-01T00:00:00+00:00"}


@pytest.mark.parametrize(
    ("sort", "key"),
    [
        ("severity", [T, 0, 0.5, T, 3]),  # a time where the rank goes
        ("severity", [10**30, 0, 0.5, T, 3]),  # beyond any integer column
        ("severity", [1, -1, 0.5, T, 3]),
        ("severity", [9, 0, 0.5, T, 3]),  # no such level
        ("risk", [float("nan"), 0, 0, T, 3]),
        ("risk", [1.5, 0, 0, T, 3]),
        ("activity", [5, 3]),  # a number where the time goes
        ("activity", [{"t": "9999-12-31T23:59:59-05:00"}, 3]),  # past the calendar in UTC
        ("activity", [{"t": "0001-01-01T00:00:00+05:00"}, 3]),
        ("activity", [{"t": "2025-01-01T00:00:00"}, 3]),  # naive
        ("case", [1.5]),
        ("case", [-5]),
        ("case", [2**31]),
        ("case", [True]),
        ("case", [1, 2]),  # one value too many
    ],
)
def test_tampered_cursor_answers_422_not_500(web, sort, key):
    ana = web.login("ana")
    cursor = _cursor({"s": sort, "d": True, "w": "after", "k": key})
    r = ana.get("/queue", params={"cursor": cursor, "sort": sort})
    assert r.status_code == 422, (sort, key, r.status_code)
    assert "page link is not valid" in r.text


def test_a_well_formed_cursor_and_the_last_calendar_day_are_fine(web):
    ana = web.login("ana")
    good = _cursor({"s": "severity", "d": True, "w": "after", "k": [1, 0, 0.5, T, 3]})
    assert ana.get("/queue", params={"cursor": good}).status_code == 200
    r = ana.get("/queue?to=9999-12-31&from=0001-01-01")
    assert r.status_code == 200 and _case_ids(r.text) == [web.case_id]


def test_deter_says_warned_only_when_a_warning_was_sent(web):
    rec = web.services.recorder
    now = datetime.now(UTC)
    contact = rec.get_or_create_contact("local", "held", seen_at=now)
    conv = rec.open_conversation(
        operation_id=rec.ensure_demo_operation().id, persona_id="gb-ellie", platform="local",
        account="gb-ellie", contact_id=contact, lang="en", started_at=now,
    )  # fmt: skip
    msg = rec.record_inbound(
        conversation_id=conv.id, author="held", text="keep it quiet", wire=b"x", received_at=now,
        contact_line=1,
    )  # fmt: skip
    rec.record_decision(  # what a legal hold records: deter, no variant, no warning sent
        conversation_id=conv.id, message_id=msg.id, after_line=1, action="deter", risk=0.6,
        indicators=[], rule="test", reason="legal hold: no warning sent", variant=None,
    )  # fmt: skip
    held = rec.get_or_create_case(contact).id
    ana = web.login("ana")
    page = ana.get("/queue").text
    body = page.split("<tbody>", 1)[1]
    held_row = body.split(f'data-case-id="{held}"', 1)[1].split("</tr>", 1)[0]
    demo_row = body.split(f'data-case-id="{web.case_id}"', 1)[1].split("</tr>", 1)[0]
    assert "deter (no warning sent)" in held_row and "(warned)" not in held_row
    assert "deter (warned)" in demo_row
    case_page = ana.get(f"/cases/{held}").text
    assert "deterrence decided, no warning sent" in case_page
