"""The audit-log page: readable details (key/value list, action labels, case links), filters
(actor, action, target prefix, date range) with keyset paging that keeps them, 422 for bad
filter values, and only supervisors and admins."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tutela.store import Recorder
from tutela.store.models import AuditLogRow
from tutela.store.queries.dashboard import audit_log
from tutela.web.routes import audit as audit_route


def _ids(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'<td data-label="#">(\d+)</td>', page)]


def _add(web, n: int, *, actor: str = "tester", action: str = "test_event", target: str = "x:1"):
    rec = web.services.recorder
    return [rec.record_audit(actor, action, target, {"i": i}) for i in range(n)]


def test_details_are_a_key_value_list_with_labels_and_case_links(web):
    rec = web.services.recorder
    digest = "ab" * 32
    rec.record_audit(
        "ana", "case_exported", f"case:{web.case_id}", {"package_sha256": digest, "via": "x"}
    )
    page = web.login("sue").get("/audit", params={"action": "case_exported"}).text
    assert '<span class="action-label">Case exported</span>' in page
    assert '<code class="action-code">case_exported</code>' in page
    assert f'<a href="/cases/{web.case_id}">case:{web.case_id}</a>' in page
    assert "<dt>package sha256</dt>" in page and f'title="{digest}"' in page
    assert "<dt>via</dt><dd>x</dd>" in page
    # case_id values in details are links too; admins (no case content) get no links
    rec.record_audit("system", "case_opened", "case:77", {"contact_id": 5, "case_id": 77})
    sue = web.login("sue").get("/audit", params={"target": "case:77"}).text
    assert '<a href="/cases/77">77</a>' in sue and '<a href="/contacts/5">5</a>' in sue
    root = web.login("root").get("/audit", params={"target": "case:77"}).text
    assert 'href="/cases/77"' not in root and "<dd>77</dd>" in root


def test_filters_by_actor_action_target_and_day(web):
    rec = web.services.recorder
    old = datetime.now(UTC) - timedelta(days=2)
    # row a written two days ago (a recorder with that clock; the audit log is append-only)
    a = Recorder(web.services.store, clock=lambda: old).record_audit(
        "alice", "test_event", "case:5", {}
    )
    b = rec.record_audit("bob", "test_event", "case:50", {})
    c = rec.record_audit("bob", "other_event", "contact:5", {})
    d = rec.record_audit("bob", "test_event", "case_5", {})  # '_' must not act as a wildcard
    sue = web.login("sue")
    assert _ids(sue.get("/audit", params={"actor": "bob", "action": "test_event"}).text) == [d, b]
    assert _ids(sue.get("/audit", params={"target": "case:5"}).text) == [b, a]
    assert _ids(sue.get("/audit", params={"target": "case_"}).text) == [d]
    assert _ids(sue.get("/audit", params={"actor": "bob", "target": "contact:"}).text) == [c]
    # dates: a range of that day alone finds only row a
    day = old.date().isoformat()
    assert _ids(sue.get("/audit", params={"from": day, "to": day}).text) == [a]
    assert a not in _ids(sue.get("/audit", params={"from": datetime.now(UTC).date()}).text)
    empty = sue.get("/audit", params={"actor": "nobody-at-all"}).text
    assert "No audit entries match these filters." in empty


def test_keyset_paging_keeps_the_filters(web, monkeypatch):
    monkeypatch.setattr(audit_route, "PAGE", 3)
    mine = _add(web, 7, actor="pager")
    _add(web, 2, actor="someone-else")
    sue = web.login("sue")
    seen: list[int] = []
    page = sue.get("/audit", params={"actor": "pager"})
    while True:
        assert page.status_code == 200
        seen += _ids(page.text)
        m = re.search(r'<a href="(/audit\?[^"]+)" rel="next">', page.text)
        if m is None:
            break
        link = m.group(1).replace("&amp;", "&")
        assert "actor=pager" in link
        page = sue.get(link)
    assert seen == sorted(mine, reverse=True)  # every row once, newest first, no others
    assert "Newest entries" in page.text  # the last page links back to the first


def test_exactly_one_page_has_no_older_link(web, monkeypatch):
    monkeypatch.setattr(audit_route, "PAGE", 3)
    _add(web, 3, actor="exact")
    page = web.login("sue").get("/audit", params={"actor": "exact"}).text
    assert len(_ids(page)) == 3 and 'rel="next"' not in page


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"from": "2026-13-01"}, "YYYY-MM-DD"),
        ({"to": "yesterday"}, "YYYY-MM-DD"),
        ({"from": "2026-12-02", "to": "2026-12-01"}, "after its end date"),
        ({"action": "Case Opened!"}, "action code"),
        ({"actor": "x" * 201}, "actor"),
        ({"before": "0"}, "before"),
    ],
)
def test_bad_filter_values_are_422_with_a_reason(web, params, reason):
    r = web.login("sue").get("/audit", params=params)
    assert r.status_code == 422 and reason in r.text


def test_only_supervisors_and_admins(web):
    assert web.login("ana").get("/audit", params={"actor": "x"}).status_code == 403
    assert web.login("sue").get("/audit").status_code == 200
    assert web.login("root").get("/audit").status_code == 200


def test_store_filter_treats_percent_literally(web):
    rec = web.services.recorder
    rec.record_audit("t", "test_event", "a%b", {})
    rec.record_audit("t", "test_event", "axb", {})
    rows = audit_log(web.services.store, target_prefix="a%")
    assert [r.target for r in rows] == ["a%b"]
    with web.services.store.session() as s:
        assert s.execute(select(AuditLogRow.id)).first() is not None
