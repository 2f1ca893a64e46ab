"""The trial's help-link redirect ``GET /h/{trial_id}/{arm}/{lang}``: public, cookie-less, counted
per trial, arm, language and UTC day only, 302 to the language's helpline; anything unknown is a
404 that counts nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tutela.persona.deterrence import helpline_for_language
from tutela.store.queries.helplinks import help_link_totals
from tutela.store.queries.trials import register_trial


@pytest.fixture
def linked(make_web):
    web = make_web()
    trial = register_trial(
        web.services.recorder, name="help-link-test", plan_text="plan", arms=("combined", "help"),
        seed=3, block_size=4, actor="test",
    )  # fmt: skip
    return web, trial.id


def test_click_is_counted_and_redirected_without_a_cookie(linked) -> None:
    web, trial_id = linked
    c = web.client()  # anonymous: no login needed
    r = c.get(f"/h/{trial_id}/combined/nl")
    assert r.status_code == 302
    assert r.headers["location"] == helpline_for_language("nl").url
    assert "set-cookie" not in r.headers
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["cache-control"] == "no-store"
    assert not c.cookies
    c.get(f"/h/{trial_id}/combined/nl")
    c.get(f"/h/{trial_id}/help/en")
    day = datetime.now(UTC).date().isoformat()
    assert help_link_totals(web.services.store, trial_id) == {
        ("combined", "nl", day): 2,
        ("help", "en", day): 1,
    }


@pytest.mark.parametrize(
    "path",
    ["/h/{t}/legal/en", "/h/{t}/combined/xx", "/h/999/combined/en", "/h/0/combined/en",
     "/h/abc/combined/en", "/h/{t}/combined/EN", "/h/{t}1/combined/en"],
)  # fmt: skip
def test_unknown_trial_arm_or_language_is_404_and_counts_nothing(linked, path: str) -> None:
    web, trial_id = linked
    r = web.client().get(path.format(t=trial_id))
    assert r.status_code == 404
    assert "set-cookie" not in r.headers
    assert help_link_totals(web.services.store, trial_id) == {}


def test_only_get_counts(linked) -> None:
    web, trial_id = linked
    r = web.client().head(f"/h/{trial_id}/combined/en")
    assert r.status_code == 405  # link previews (HEAD) are not clicks
    assert help_link_totals(web.services.store, trial_id) == {}


def test_nothing_identifying_is_stored(linked) -> None:
    """The click table holds the key and a count; the request adds no audit row or session."""
    from sqlalchemy import func, inspect, select

    from tutela.store.models import AuditLogRow, WebSessionRow

    web, trial_id = linked
    store = web.services.store
    with store.session() as s:
        audits = s.execute(select(func.count(AuditLogRow.id))).scalar_one()
        sessions = s.execute(select(func.count()).select_from(WebSessionRow)).scalar_one()
    r = web.client().get(
        f"/h/{trial_id}/help/de",
        headers={"User-Agent": "probe-agent-xyz", "X-Forwarded-For": "203.0.113.9"},
    )
    assert r.status_code == 302
    with store.session() as s:
        assert s.execute(select(func.count(AuditLogRow.id))).scalar_one() == audits
        assert s.execute(select(func.count()).select_from(WebSessionRow)).scalar_one() == sessions
    columns = {c["name"] for c in inspect(store.engine).get_columns("help_link_clicks")}
    assert columns == {"trial_id", "arm", "lang", "day", "clicks"}
