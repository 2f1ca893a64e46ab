"""The trial's help-link redirect ``GET /h/{trial_id}/{arm_no}/{lang}/{country}``: public,
cookie-less, counted per trial, arm, language and UTC day only, 302 to the country's helpline (the
one the warning names); anything unknown is a 404 that counts nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tutela.persona.deterrence import load_helplines
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
    r = c.get(f"/h/{trial_id}/1/nl/be")  # arm 1: combined; a Flemish persona's helpline
    assert r.status_code == 302
    assert r.headers["location"] == load_helplines()["BE"].url
    assert "set-cookie" not in r.headers
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["cache-control"] == "no-store"
    assert not c.cookies
    assert c.get(f"/h/{trial_id}/1/nl/nl").headers["location"] == load_helplines()["NL"].url
    r = c.get(f"/h/{trial_id}/2/en/gb.")  # the sentence's full stop kept by a chat client
    assert r.status_code == 302 and r.headers["location"] == load_helplines()["GB"].url
    day = datetime.now(UTC).date().isoformat()
    assert help_link_totals(web.services.store, trial_id) == {
        ("combined", "nl", day): 2,
        ("help", "en", day): 1,
    }


@pytest.mark.parametrize(
    "path",
    ["/h/{t}/3/en/gb", "/h/{t}/0/en/gb", "/h/{t}/combined/en/gb", "/h/{t}/1/xx/gb",
     "/h/999/1/en/gb", "/h/0/1/en/gb", "/h/abc/1/en/gb", "/h/{t}/1/EN/gb", "/h/{t}/1/en/GB",
     "/h/{t}/1/en/zz", "/h/{t}1/1/en/gb", "/h/{t}/1/en", "/h/{t}/combined/en",
     "/h/0{t}/1/en/gb", "/h/{t}/01/en/gb", "/h/" + "9" * 5000 + "/1/en/gb"],
)  # fmt: skip
def test_unknown_trial_arm_or_language_is_404_and_counts_nothing(linked, path: str) -> None:
    web, trial_id = linked
    r = web.client().get(path.format(t=trial_id))
    assert r.status_code == 404
    assert "set-cookie" not in r.headers
    assert help_link_totals(web.services.store, trial_id) == {}


def test_only_get_counts(linked) -> None:
    web, trial_id = linked
    r = web.client().head(f"/h/{trial_id}/1/en/gb")
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
        f"/h/{trial_id}/2/de/de",
        headers={"User-Agent": "probe-agent-xyz", "X-Forwarded-For": "203.0.113.9"},
    )
    assert r.status_code == 302
    with store.session() as s:
        assert s.execute(select(func.count(AuditLogRow.id))).scalar_one() == audits
        assert s.execute(select(func.count()).select_from(WebSessionRow)).scalar_one() == sessions
    columns = {c["name"] for c in inspect(store.engine).get_columns("help_link_clicks")}
    assert columns == {"trial_id", "arm", "lang", "day", "clicks"}


def test_help_link_requests_stay_out_of_the_access_log(linked) -> None:
    """uvicorn's access log would keep the clicker's address and time: the app filters it."""
    import logging

    from tutela.web.helplink import HelpLinkAccessFilter

    access = logging.getLogger("uvicorn.access")
    (flt,) = [f for f in access.filters if isinstance(f, HelpLinkAccessFilter)]

    def record(path: str) -> logging.LogRecord:
        args = ("203.0.113.9:5000", "GET", path, "1.1", 302)
        return logging.LogRecord(
            "uvicorn.access", 20, __file__, 1, '%s - "%s %s HTTP/%s" %d', args, None
        )

    assert not flt.filter(record("/h/1/1/en/gb"))
    assert flt.filter(record("/cases/1"))
