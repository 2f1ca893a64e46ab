"""Exposure limits of a dashboard session (``tutela.web.exposure``): cases and high-risk cases
per session, minutes of case work, breaks; refused with 429 and a reason, audited once per limit,
counted per session, off when 0. Time comes from an injected clock (no sleeping)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from web_support import csrf_of

from tutela.cases.casework import CaseWork
from tutela.store.models import AuditLogRow, ConversationRow, MessageRow, WebSessionRow
from tutela.web.exposure import (
    AUDIT_ACTION,
    BREAK,
    CASE_WORK,
    CASES,
    EXPOSURE_ROUTES,
    HIGH_RISK,
    SESSION_KEY,
    ExposureGuard,
    ExposureLimits,
    ExposureState,
    step,
)
from tutela.web.settings import WebSettings

MIN = 60.0
OFF = ExposureLimits(
    max_cases=None, max_high_risk=None, max_case_work_s=None, break_after_s=None, break_s=None
)


class Clock:
    def __init__(self, t: float = 1_800_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, minutes: float) -> None:
        self.t += minutes * MIN


def _limits(**kw: object) -> ExposureLimits:
    values = {
        "max_cases": None,
        "max_high_risk": None,
        "max_case_work_s": None,
        "break_after_s": None,
        "break_s": None,
    }
    values.update(kw)
    return ExposureLimits(**values)  # type: ignore[arg-type]


def _guard(web, clock: Clock, **kw: object) -> ExposureGuard:
    guard = ExposureGuard(_limits(**kw), clock=clock)
    web.app.state.exposure = guard
    return guard


def _case(web, name: str, *, risk: float | None = None) -> int:
    """A new contact's case; with ``risk``: one conversation whose decision has that risk."""
    rec = web.services.recorder
    contact = rec.get_or_create_contact("local", name)
    case = rec.get_or_create_case(contact).id
    if risk is not None:
        conv = rec.open_conversation(
            operation_id=rec.ensure_demo_operation().id,
            persona_id="gb-ellie",
            platform="local",
            account="gb-ellie",
            contact_id=contact,
            lang="en",
            started_at=datetime.now(UTC),
        )
        msg = rec.record_inbound(
            conversation_id=conv.id,
            author=name,
            text="hi there",
            wire=b"x",
            received_at=datetime.now(UTC),
            contact_line=1,
        )
        rec.record_decision(
            conversation_id=conv.id,
            message_id=msg.id,
            after_line=1,
            action="continue",
            risk=risk,
            indicators=[],
            rule="test",
            reason="test",
            variant=None,
        )
    return case


def _limit_rows(web) -> list[AuditLogRow]:
    with web.services.store.session() as s:
        return list(
            s.execute(select(AuditLogRow).where(AuditLogRow.action == AUDIT_ACTION)).scalars()
        )


def _stored(web) -> list[dict]:
    """The exposure counters stored in the logged-in sessions' rows."""
    with web.services.store.session() as s:
        rows = s.execute(select(WebSessionRow).where(WebSessionRow.user_id.is_not(None)))
        return [r.data[SESSION_KEY] for r in rows.scalars() if SESSION_KEY in (r.data or {})]


# -- the rule itself (pure) --------------------------------------------------------------------


def test_step_counts_distinct_cases_and_refuses_only_new_ones():
    lim = _limits(max_cases=2)
    s, r = step(ExposureState(), now=0, case_id=1, high_risk=False, limits=lim)
    s, r = step(s, now=1, case_id=1, high_risk=False, limits=lim)  # a revisit is not new
    assert r is None and s.cases == (1,)
    s, r = step(s, now=2, case_id=2, high_risk=False, limits=lim)
    assert r is None and s.cases == (1, 2)
    s2, r = step(s, now=3, case_id=3, high_risk=False, limits=lim)
    assert r is not None and r.limit == CASES and r.value == 2 and r.cases == 2
    assert r.resume_at is None and s2.cases == (1, 2)
    _, r = step(s, now=4, case_id=2, high_risk=False, limits=lim)  # opened before: still open
    assert r is None


def test_step_high_risk_limit_lets_low_risk_cases_through():
    lim = _limits(max_high_risk=1)
    s, _ = step(ExposureState(), now=0, case_id=1, high_risk=True, limits=lim)
    _, r = step(s, now=1, case_id=2, high_risk=True, limits=lim)
    assert r is not None and r.limit == HIGH_RISK and r.high_risk == 1
    s, r = step(s, now=2, case_id=3, high_risk=False, limits=lim)
    assert r is None and s.cases == (1, 3) and s.high == (1,)


def test_step_break_falls_due_and_ends_after_its_length():
    lim = _limits(break_after_s=50 * MIN, break_s=10 * MIN)
    s = ExposureState()
    for m in range(0, 50, 5):  # a case every 5 minutes: one stretch of 45 minutes
        s, r = step(s, now=m * MIN, case_id=m, high_risk=False, limits=lim)
        assert r is None
    s, r = step(s, now=50 * MIN, case_id=1, high_risk=False, limits=lim)
    assert r is not None and r.limit == BREAK and r.value == 50
    assert r.resume_at == 60 * MIN  # 10 minutes from when the stretch reached 50 minutes
    s, r = step(s, now=59 * MIN, case_id=1, high_risk=False, limits=lim)
    assert r is not None and r.resume_at == 60 * MIN  # attempts do not move the break
    s, r = step(s, now=60 * MIN, case_id=1, high_risk=False, limits=lim)
    assert r is None and s.stretch == 60 * MIN and s.break_until is None


def test_step_a_pause_taken_on_ones_own_counts_as_the_break():
    lim = _limits(break_after_s=50 * MIN, break_s=10 * MIN)
    s, _ = step(ExposureState(), now=0, case_id=1, high_risk=False, limits=lim)
    s, _ = step(s, now=40 * MIN, case_id=2, high_risk=False, limits=lim)
    s, r = step(s, now=55 * MIN, case_id=3, high_risk=False, limits=lim)  # 15 min without cases
    assert r is None and s.stretch == 55 * MIN


def test_step_case_work_limit_refuses_every_case():
    lim = _limits(max_case_work_s=60 * MIN)
    s, _ = step(ExposureState(), now=0, case_id=1, high_risk=False, limits=lim)
    _, r = step(s, now=60 * MIN, case_id=1, high_risk=False, limits=lim)
    assert r is not None and r.limit == CASE_WORK and r.value == 60 and r.case_work_min == 60


def test_limits_from_settings_zero_is_off(tmp_path):
    base = {"db_url": "sqlite://", "session_secret": "s" * 64}
    on = ExposureLimits.from_settings(WebSettings(**base))
    assert on.enabled and on.max_cases == 40 and on.break_s == 600 and on.break_after_s == 3000
    off = ExposureLimits.from_settings(
        WebSettings(
            **base,
            exposure_max_cases=0,
            exposure_max_high_risk=None,
            exposure_max_case_work_min=0,
            exposure_break_after_min=50,
            exposure_break_min=0,  # a break of 0 minutes: the break is off
        )
    )
    assert off == OFF and not off.enabled


def test_settings_load_reads_exposure_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("TUTELA_WEB_EXPOSURE_MAX_CASES", "7")
    monkeypatch.setenv("TUTELA_WEB_EXPOSURE_BREAK_MIN", "0")
    s = WebSettings.load(db_url="sqlite://", data_dir=tmp_path)
    assert s.exposure_max_cases == 7 and s.exposure_break_min == 0
    assert ExposureLimits.from_settings(s).break_s is None


# -- through the dashboard ---------------------------------------------------------------------


def test_case_limit_refuses_new_cases_with_a_reason_and_audits_once(web):
    clock = Clock()
    _guard(web, clock, max_cases=2)
    a, b, c = web.case_id, _case(web, "c-a"), _case(web, "c-b")
    ana = web.login("ana")
    assert ana.get(f"/cases/{a}").status_code == 200
    page = ana.get(f"/cases/{b}")
    assert page.status_code == 200 and "Cases 2/2" in page.text  # the indicator
    refused = ana.get(f"/cases/{c}")
    assert refused.status_code == 429
    assert "Case limit reached" in refused.text and "limit 2" in refused.text
    assert ana.get(f"/cases/{c}").status_code == 429
    assert ana.get(f"/cases/{a}").status_code == 200  # opened before: still available
    (row,) = _limit_rows(web)  # two refusals, one audit row
    assert row.actor == "ana" and row.target.startswith("user:")
    assert row.details["limit"] == CASES and row.details["cases"] == 2
    assert row.details["limit_value"] == 2 and row.details["case_id"] == c


def test_high_risk_limit(web):
    clock = Clock()
    _guard(web, clock, max_high_risk=1)
    high1, high2 = _case(web, "h-1", risk=0.95), _case(web, "h-2", risk=0.8)
    low = _case(web, "l-1", risk=0.1)
    sue = web.login("sue")  # supervisors read case content too
    assert sue.get(f"/cases/{high1}").status_code == 200
    refused = sue.get(f"/cases/{high2}")
    assert refused.status_code == 429 and "High-risk case limit reached" in refused.text
    assert sue.get(f"/cases/{low}").status_code == 200
    (row,) = _limit_rows(web)
    assert row.details["limit"] == HIGH_RISK and row.details["high_risk_cases"] == 1


def test_break_is_required_and_work_resumes_after_it(web):
    clock = Clock()
    _guard(web, clock, break_after_s=50 * MIN, break_s=10 * MIN)
    ana = web.login("ana")
    for i in range(6):  # a case page every 9 minutes: t = 0, 9, ..., 45 minutes
        if i:
            clock.advance(9)
        assert ana.get(f"/cases/{web.case_id}").status_code == 200
    assert "Break in 5 min" in ana.get("/queue").text  # the indicator counts down
    clock.advance(5)  # t = 50 min: the stretch has reached its length
    refused = ana.get(f"/cases/{web.case_id}")
    assert refused.status_code == 429 and "Time for a break" in refused.text
    assert "in 10 minutes" in refused.text
    clock.advance(9)
    assert ana.get(f"/cases/{web.case_id}").status_code == 429
    clock.advance(1)
    assert ana.get(f"/cases/{web.case_id}").status_code == 200
    (row,) = _limit_rows(web)
    assert row.details["limit"] == BREAK and row.details["case_work_min"] == 50


def test_case_work_limit(web):
    clock = Clock()
    _guard(web, clock, max_case_work_s=120 * MIN)
    ana = web.login("ana")
    assert ana.get(f"/cases/{web.case_id}").status_code == 200
    clock.advance(120)
    refused = ana.get(f"/cases/{web.case_id}")
    assert refused.status_code == 429 and "Case work limit reached" in refused.text
    (row,) = _limit_rows(web)
    assert row.details["limit"] == CASE_WORK and row.details["case_work_min"] == 120


def test_another_session_of_the_same_user_counts_on_its_own(web):
    clock = Clock()
    _guard(web, clock, max_cases=1)
    other = _case(web, "o-1")
    first, second = web.login("ana"), web.login("ana")
    assert first.get(f"/cases/{web.case_id}").status_code == 200
    assert first.get(f"/cases/{other}").status_code == 429
    assert second.get(f"/cases/{other}").status_code == 200  # its own count
    assert len(_limit_rows(web)) == 1


def test_limits_off_count_nothing(web):
    _guard(web, Clock())  # every limit off
    cases = [web.case_id, *(_case(web, f"n-{i}") for i in range(3))]
    ana = web.login("ana")
    for c in cases:
        page = ana.get(f"/cases/{c}")
        assert page.status_code == 200 and 'class="exposure"' not in page.text
    assert _stored(web) == [] and _limit_rows(web) == []


def test_views_not_allowed_are_not_counted(web):
    clock = Clock()
    guard = _guard(web, clock, max_cases=1)
    ana = web.login("ana")
    assert ana.get("/cases/999999").status_code == 404
    assert ana.get("/cases/0").status_code == 422
    assert ana.get(f"/cases/{web.case_id}").status_code == 200  # the first counted case
    assert web.login("root").get(f"/cases/{web.case_id}").status_code == 403  # admins: no case
    assert guard.limits.max_cases == 1 and _limit_rows(web) == []


def test_counts_live_in_the_session_row(web):
    clock = Clock()
    _guard(web, clock, max_cases=5)
    ana = web.login("ana")
    ana.get(f"/cases/{web.case_id}")
    (stored,) = _stored(web)
    assert stored["cases"] == [web.case_id] and stored["first"] == clock.t


@pytest.mark.parametrize("role_user", ["ana", "sue"])
def test_default_limits_let_a_normal_session_work(make_web, role_user):
    web = make_web()  # settings' defaults: on
    c = web.login(role_user)
    page = c.get(f"/cases/{web.case_id}")
    assert page.status_code == 200 and "Cases 1/40" in page.text


# -- every route that shows case content (reviewer finding E1) ---------------------------------


def _content_routes(web) -> list[tuple[str, str]]:
    """(method, path) of every route showing the demo case's content (``EXPOSURE_ROUTES``)."""
    rec = web.services.recorder
    case = web.case_id
    contact = rec.get_case(case).contact_id
    with web.services.store.session() as s:
        conv = s.execute(
            select(ConversationRow.id).where(ConversationRow.contact_id == contact)
        ).scalar()
        msg = s.execute(select(MessageRow.id).where(MessageRow.conversation_id == conv)).scalar()
    assert conv is not None and msg is not None
    return [
        ("GET", f"/cases/{case}"),
        ("POST", f"/cases/{case}/messages/{msg}/reveal"),
        ("POST", f"/cases/{case}/conversations/{conv}/reveal"),
        ("POST", f"/cases/{case}/export"),
        ("GET", f"/contacts/{contact}"),
        ("POST", f"/contacts/{contact}/identities/1/reveal"),
        ("GET", "/live"),
        ("GET", "/live/feed"),
        ("POST", f"/live/{conv}/reveal"),
        ("POST", f"/live/{conv}/messages/{msg}/reveal"),
    ]


def test_every_content_route_is_listed():
    assert {
        "case",
        "reveal",
        "reveal_conversation",
        "export_case",
        "contact",
        "reveal_identity_source",
        "live",
        "live_feed",
        "live_reveal_conversation",
        "live_reveal_line",
    } == EXPOSURE_ROUTES


def test_during_a_break_every_content_route_is_refused_and_audited_once(web):
    clock = Clock()
    _guard(web, clock, break_after_s=50 * MIN, break_s=10 * MIN)
    ana = web.login("ana")
    hx = {"HX-Request": "true", "X-CSRF-Token": csrf_of(ana, "/queue")}
    routes = _content_routes(web)
    for i in range(6):  # a case page every 9 minutes (t = 0 .. 45), never a pause of 10
        if i:
            clock.advance(9)
        assert ana.get(f"/cases/{web.case_id}").status_code == 200
    assert ana.get("/live/feed", headers=hx).status_code == 200  # t = 45 min: no break yet
    clock.advance(5)
    for method, path in routes:
        r = ana.request(method, path, headers=hx)
        assert r.status_code == 429, (method, path, r.status_code)
        assert "Time for a break" in r.text, (method, path)
    feed = ana.get("/live/feed", headers=hx)  # the poll fragment names the reason
    assert feed.status_code == 429 and feed.text.startswith('<p class="error">429: Time for')
    (row,) = _limit_rows(web)  # eleven refusals, one audit row
    assert row.details["limit"] == BREAK and row.details["route"] == "case"
    clock.advance(10)  # the break is over: content opens again
    assert ana.get("/live/feed", headers=hx).status_code == 200


def test_after_the_case_work_limit_the_live_feed_is_refused_too(web):
    clock = Clock()
    _guard(web, clock, max_case_work_s=120 * MIN)
    ana = web.login("ana")
    hx = {"HX-Request": "true"}
    assert ana.get("/live/feed", headers=hx).status_code == 200
    assert ana.get("/live/feed", headers=hx).status_code == 200  # the feed starts no clock
    assert _stored(web) == []  # and writes nothing
    contact = web.services.recorder.get_case(web.case_id).contact_id
    assert ana.get(f"/contacts/{contact}").status_code == 200  # a view of the case: clock starts
    clock.advance(120)
    r = ana.get("/live/feed", headers=hx)
    assert r.status_code == 429 and "Case work limit reached" in r.text
    assert ana.get("/live").status_code == 429
    (row,) = _limit_rows(web)
    assert row.details["limit"] == CASE_WORK and row.details["route"] == "live_feed"
    assert row.details["case_id"] is None


def test_reveals_and_the_contact_page_count_as_views_of_their_case(web):
    clock = Clock()
    _guard(web, clock, max_cases=1)
    other = _case(web, "r-1")
    ana = web.login("ana")
    hx = {"HX-Request": "true", "X-CSRF-Token": csrf_of(ana, "/queue")}
    (_, reveal), *_ = [(m, p) for m, p in _content_routes(web) if p.endswith("/reveal")]
    assert ana.post(reveal, headers=hx).status_code == 200  # a reveal opens the demo case
    (stored,) = _stored(web)
    assert stored["cases"] == [web.case_id]
    refused = ana.get(f"/cases/{other}")  # the reveal counted: the limit of 1 is reached
    assert refused.status_code == 429 and "Case limit reached" in refused.text
    other_contact = web.services.recorder.get_case(other).contact_id
    assert ana.get(f"/contacts/{other_contact}").status_code == 429  # the contact's case is new
    assert ana.get(f"/cases/{web.case_id}").status_code == 200  # counted before: still open
    (row,) = _limit_rows(web)
    assert row.details["limit"] == CASES and row.details["case_id"] == other


def test_a_decision_and_a_note_stay_possible_during_a_break(web):
    clock = Clock()
    _guard(web, clock, break_after_s=50 * MIN, break_s=10 * MIN)
    sue = web.login("sue")
    token = csrf_of(sue, "/queue")
    for _ in range(6):  # t = 0, 10, ..., 50 min: the stretch reaches its length
        if sue.get(f"/cases/{web.case_id}").status_code == 429:
            break
        clock.advance(9.9)
    assert sue.get(f"/cases/{web.case_id}").status_code == 429  # the break is due
    r = sue.post(f"/cases/{web.case_id}/notes", data={"text": "break now", "csrf_token": token})
    assert r.status_code == 303  # the note is written, not refused
    assert [n.text for n in CaseWork(web.services.recorder).notes(web.case_id)] == ["break now"]
