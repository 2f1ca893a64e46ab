"""The review queue by severity (issue 12): strongest action, returns, risk, activity, case id;
the strongest action and its time, returns and the returned flag on every summary; filters,
sorting and keyset pages in SQL, on SQLite and (with TUTELA_TEST_PG_URL) PostgreSQL.
Lines are short synthetic texts written for these tests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from cases_support import PASSWORD, T0, Clock, Env, record_conversation

from tutela.accounts.access import grant_operation
from tutela.accounts.users import UserStore
from tutela.cases.queue import QueueQuery, decode_cursor, encode_cursor, is_return, reopen_returned
from tutela.cases.workflow import CaseWorkflow
from tutela.domain import Action, Decision
from tutela.errors import InputError, PermissionDenied
from tutela.ledger import Signer
from tutela.runtime import open_runtime

CALM = [("hello there", "continue", 0.05, [])]
WARNED = [("hi", "continue", 0.2, []), ("keep it secret ok", "deter", 0.6, ["en.secrecy.x"])]
ESCALATED = [("a crude remark", "escalate", 0.9, ["en.sexual_content.x"])]
REFERRED = [("pay you for a show", "refer", 0.3, ["en.gift_money.x"])]


@pytest.fixture(params=["sqlite", "postgresql"])
def qenv(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Env]:
    """The case-test environment on SQLite or on a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'queue.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    clock = Clock()
    signer = Signer.generate()
    runtime = open_runtime(url, signer=signer, checkpoint_every=50, clock=clock)
    hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    users = UserStore(runtime.store, recorder=runtime.recorder, hasher=hasher, clock=clock)
    env = Env(
        store=runtime.store,
        recorder=runtime.recorder,
        signer=signer,
        clock=clock,
        workflow=CaseWorkflow(runtime.recorder, clock=clock),
        users=users,
        analyst=users.add("ana", "analyst", PASSWORD),
        analyst2=users.add("ben", "analyst", PASSWORD),
        supervisor=users.add("sue", "supervisor", PASSWORD),
        supervisor2=users.add("sam", "supervisor", PASSWORD),
        admin=users.add("root", "admin", PASSWORD),
    )
    yield env
    runtime.store.close()


def _ids(rows: object) -> list[int]:
    return [r.case_id for r in rows]  # type: ignore[attr-defined]


def _every_severity(env: Env) -> dict[str, int]:
    """One case per severity level, recorded in an order unlike the queue's."""
    wf = env.workflow
    made = {
        "calm": record_conversation(env, "calm", CALM),
        "watched": record_conversation(env, "watched", CALM),
        "warned": record_conversation(env, "warned", WARNED),
        "returned": record_conversation(env, "back", WARNED),
        "escalated_low": record_conversation(env, "esc-low", [("rude", "escalate", 0.5, [])]),
        "escalated": record_conversation(env, "esc", ESCALATED),
        "policy_refer": record_conversation(env, "pay", REFERRED),
        "analyst_refer": record_conversation(env, "prop", CALM),
    }
    env.clock.advance(hours=1)
    # the warned contact comes back in a new conversation on another persona
    assert record_conversation(env, "back", CALM, persona="p-nl-12") == made["returned"]
    wf.keep_watching(made["watched"], env.analyst, "looks odd")
    wf.propose_referral(made["analyst_refer"], env.analyst, "grounds")
    return made


def test_queue_orders_by_strongest_action_then_returns_then_risk(qenv: Env) -> None:
    made = _every_severity(qenv)
    queue = qenv.workflow.review_queue()
    order = ["policy_refer", "analyst_refer", "escalated", "escalated_low", "returned"]
    order += ["warned", "watched", "calm"]
    # the policy refer (risk 0.3) outranks escalations of risk 0.9: action before risk; the two
    # refer cases tie on action and returns, so risk (0.3 > 0.05) decides
    assert _ids(queue) == [made[k] for k in order]
    by_id = {r.case_id: r for r in queue}
    assert [by_id[made[k]].strongest_action for k in order] == [
        "refer", "refer", "escalate", "escalate", "deter", "deter", "watch", None,
    ]  # fmt: skip
    assert by_id[made["returned"]].returns == 1 and by_id[made["warned"]].returns == 0
    assert by_id[made["calm"]].strongest_at is None
    watched = by_id[made["watched"]]
    assert watched.strongest_at == qenv.workflow.case_events(made["watched"])[-1].at
    ref = qenv.workflow.case_summary(made["analyst_refer"])
    assert ref.strongest_action == "refer" and ref.pending_referral is not None
    assert ref.strongest_at == qenv.clock()  # proposed now (the last thing done)
    assert not any(r.returned for r in queue)


def test_strongest_at_is_the_latest_time_of_that_level(env: Env) -> None:
    case = record_conversation(env, "twice", WARNED)
    first = env.workflow.case_summary(case).strongest_at
    env.clock.advance(hours=2)
    record_conversation(env, "twice", WARNED, persona="p2")
    later = env.workflow.case_summary(case)
    assert first is not None and later.strongest_at is not None
    assert later.strongest_at - first >= timedelta(hours=2)
    assert later.returns == 1  # the second conversation began after the first warning
    assert later.warnings == 2


def test_lines_after_a_warning_in_the_same_conversation_are_no_return(env: Env) -> None:
    case = record_conversation(env, "stay", [*WARNED, ("still here", "continue", 0.6, [])])
    assert env.workflow.case_summary(case).returns == 0


def test_rejected_referral_does_not_count_as_refer(env: Env) -> None:
    case = record_conversation(env, "rej", CALM)
    ref = env.workflow.propose_referral(case, env.analyst, "grounds")
    env.workflow.reject_referral(ref.id, env.supervisor, "not enough")
    assert env.workflow.case_summary(case).strongest_action is None


def test_is_return() -> None:
    assert is_return(Action.ESCALATE, None) and is_return("refer", None)
    assert is_return("deter", "v1") and not is_return("deter", None)
    assert not is_return("continue", None)


def _decision(action: Action, variant: str | None = None) -> Decision:
    return Decision(action=action, after_line=1, risk=0.9, indicators=(), rule="t", reason="t",
                    variant=variant)  # fmt: skip


def _last_decision_id(env: Env, case_id: int) -> int:
    detail = env.workflow.case_detail(case_id)
    return detail.conversations[-1].decisions[-1].id


def test_returning_contact_reopens_a_dismissed_case(qenv: Env) -> None:
    wf = qenv.workflow
    case = record_conversation(qenv, "gone", WARNED)
    wf.dismiss(case, qenv.analyst, "seemed harmless")
    assert case not in _ids(wf.review_queue())
    qenv.clock.advance(days=1)
    record_conversation(qenv, "gone", ESCALATED, persona="p2")
    rec = qenv.recorder
    dismissed = rec.get_case(case)
    dec = _last_decision_id(qenv, case)
    assert reopen_returned(rec, dismissed, _decision(Action.CONTINUE), dec) is None
    event = reopen_returned(rec, dismissed, _decision(Action.ESCALATE), dec, clock=qenv.clock)
    assert event is not None and event.actor == "system" and event.action == "reopen"
    assert event.details["decision_id"] == dec
    assert reopen_returned(rec, rec.get_case(case), _decision(Action.ESCALATE), dec) is None
    row = next(r for r in wf.review_queue() if r.case_id == case)
    assert row.status == "open" and row.returned and row.returns == 1
    assert wf.case_summary(case).returned
    wf.keep_watching(case, qenv.analyst, "seen it")  # an analyst acts: the flag goes
    assert not wf.case_summary(case).returned


def test_returning_contact_lists_a_referred_case_in_the_active_queue(qenv: Env) -> None:
    wf = qenv.workflow
    case = record_conversation(qenv, "ref", WARNED)
    ref = wf.propose_referral(case, qenv.analyst, "grounds")
    wf.approve_referral(ref.id, qenv.supervisor)
    assert case not in _ids(wf.review_queue())
    wf.record_reveal(case, qenv.analyst, wf.case_detail(case).conversations[0].messages[0].id)
    qenv.clock.advance(days=1)
    record_conversation(qenv, "ref", [("hi again", "continue", 0.1, [])], persona="p2")
    assert case not in _ids(wf.review_queue())  # a harmless return is no return decision
    record_conversation(qenv, "ref", ESCALATED, persona="p3")
    referred = qenv.recorder.get_case(case)
    dec = _last_decision_id(qenv, case)
    assert reopen_returned(qenv.recorder, referred, _decision(Action.ESCALATE), dec) is None
    row = next(r for r in wf.review_queue() if r.case_id == case)
    assert row.status == "referred" and row.returned  # stays referred, listed as returned
    assert case in _ids(wf.review_queue(statuses=("referred",)))
    assert case not in _ids(wf.review_queue(statuses=("open",)))
    wf.reopen(case, qenv.analyst, "new material for the police")
    assert not wf.case_summary(case).returned


def test_filters(qenv: Env) -> None:
    wf, rec = qenv.workflow, qenv.recorder
    made = _every_severity(qenv)
    other = rec.find_or_create_operation(
        organisation="Other NGO", jurisdiction="NL", legal_basis="test basis",
        authorisation_ref="OP-B", officer="officer b", starts_at=T0,
    ).id  # fmt: skip
    contact = rec.get_case(made["calm"]).contact_id
    rec.open_conversation(
        operation_id=other, persona_id="p-de-13", platform="matrix", account="p@matrix",
        contact_id=contact, lang="de", started_at=qenv.clock(),
    )  # fmt: skip

    def ids(**kw: object) -> set[int]:
        return set(_ids(wf.review_queue(**kw)))  # type: ignore[arg-type]

    assert ids(search="ESC") == {made["escalated"], made["escalated_low"]}  # handle, any case
    assert ids(search="esc_") == set()  # "_" is literal
    assert ids(text="show") == {made["policy_refer"]}
    assert ids(text="SECRET") == {made["warned"], made["returned"]}
    assert ids(platforms=("matrix",)) == {made["calm"]}
    assert ids(personas=("p-nl-12",)) == {made["returned"]}
    assert ids(languages=("de",)) == {made["calm"]}
    assert ids(operations=(other,)) == {made["calm"]}
    assert ids(actions=("refer",)) == {made["policy_refer"], made["analyst_refer"]}
    assert ids(actions=("none", "watch")) == {made["calm"], made["watched"]}
    assert ids(min_risk=0.6) == {made["escalated"], made["warned"], made["returned"]}
    day = T0.date()
    assert len(ids(active_from=day, active_to=day)) == 8
    assert ids(active_from=day + timedelta(days=1)) == set()
    assert ids(active_to=day - timedelta(days=1)) == set()
    assert ids(search="esc", min_risk=0.6) == {made["escalated"]}  # filters combine
    for bad in (
        {"actions": ("shout",)},
        {"min_risk": 1.5},
        {"sort": "colour"},
        {"operations": (0,)},
        {"active_from": day, "active_to": day - timedelta(days=1)},
        {"search": "x" * 201},
        {"statuses": ("bogus",)},
    ):
        with pytest.raises(InputError):
            wf.review_queue(**bad)  # type: ignore[arg-type]


def test_sorting(qenv: Env) -> None:
    wf = qenv.workflow
    made = _every_severity(qenv)
    default = _ids(wf.review_queue())
    assert _ids(wf.review_queue(descending=False)) == default[::-1]
    by_risk = wf.review_queue(sort="risk")
    risks = [r.risk for r in by_risk]
    assert risks == sorted(risks, reverse=True) and by_risk[0].case_id == made["escalated"]
    assert _ids(wf.review_queue(sort="case", descending=False)) == sorted(made.values())
    assert _ids(wf.review_queue(sort="case")) == sorted(made.values(), reverse=True)
    recent = wf.review_queue(sort="activity")
    assert recent[0].case_id == made["returned"]  # it came back an hour later
    acts = [r.last_activity for r in recent]
    assert acts == sorted(acts, reverse=True)  # type: ignore[type-var]


def test_keyset_pages_have_no_duplicates_or_gaps(qenv: Env) -> None:
    wf = qenv.workflow
    _every_severity(qenv)
    for sort in ("severity", "risk", "activity", "case"):
        for descending in (True, False):
            whole = _ids(wf.review_queue(sort=sort, descending=descending))
            query = QueueQuery(sort=sort, descending=descending, page_size=3)
            seen: list[int] = []
            pages = []
            page = wf.queue_page(query)
            while True:
                assert page.total == len(whole) == 8
                pages.append(page)
                seen += _ids(page.rows)
                if page.next_cursor is None:
                    break
                query = QueueQuery(sort=sort, descending=descending, page_size=3,
                                   cursor=page.next_cursor)  # fmt: skip
                page = wf.queue_page(query)
            assert seen == whole and [len(p.rows) for p in pages] == [3, 3, 2]
            assert pages[0].prev_cursor is None
            # and back again from the last page
            back = wf.queue_page(QueueQuery(sort=sort, descending=descending, page_size=3,
                                            cursor=pages[-1].prev_cursor))  # fmt: skip
            assert _ids(back.rows) == _ids(pages[1].rows)
            first = wf.queue_page(QueueQuery(sort=sort, descending=descending, page_size=3,
                                             cursor=back.prev_cursor))  # fmt: skip
            assert _ids(first.rows) == _ids(pages[0].rows) and first.prev_cursor is None


def test_new_case_between_pages_is_not_duplicated(env: Env) -> None:
    wf = env.workflow
    for n in range(5):
        record_conversation(env, f"c{n}", [("hi", "continue", 0.1 * (n + 1), [])])
    page1 = wf.queue_page(QueueQuery(page_size=2))
    record_conversation(env, "top", ESCALATED)  # sorts first: before the cursor
    page2 = wf.queue_page(QueueQuery(page_size=2, cursor=page1.next_cursor))
    assert not set(_ids(page1.rows)) & set(_ids(page2.rows))
    assert page2.total == 6


def test_page_size_and_cursor_are_checked(env: Env) -> None:
    wf = env.workflow
    record_conversation(env, "one", CALM)
    for bad in (QueueQuery(page_size=0), QueueQuery(page_size=201)):
        with pytest.raises(InputError, match="page size"):
            wf.queue_page(bad)
    assert len(wf.review_queue(limit=500)) == 1  # the CLI's limit is not the page cap
    for cursor in ("garbage!", "e30", encode_cursor((1,), "case", True)):
        with pytest.raises(InputError, match="cursor"):
            wf.queue_page(QueueQuery(cursor=cursor))
    token = encode_cursor((1, 0, 0.5, T0, 3), "severity", True)
    assert decode_cursor(token, "severity", True) == ("after", (1, 0, 0.5, T0, 3))


def test_grants_restrict_rows_and_count(env: Env) -> None:
    wf = env.workflow
    demo = env.recorder.ensure_demo_operation().id
    inside = record_conversation(env, "in", WARNED)
    outside = record_conversation(env, "out", ESCALATED)
    other = env.recorder.find_or_create_operation(
        organisation="Other", jurisdiction="NL", legal_basis="b", authorisation_ref="OP-C",
        officer="o", starts_at=T0,
    ).id  # fmt: skip
    env.recorder.open_conversation(
        operation_id=other, persona_id="p", platform="local", account="p@local",
        contact_id=env.recorder.get_case(outside).contact_id, lang="en", started_at=env.clock(),
    )  # fmt: skip
    grant_operation(env.recorder, env.analyst.id, demo, actor="root")
    page = wf.queue_page(QueueQuery(), reader=env.analyst)
    assert _ids(page.rows) == [inside] and page.total == 1
    assert _ids(wf.queue_page(QueueQuery(), reader=env.analyst2).rows) == [outside, inside]
    assert _ids(wf.review_queue(reader=env.analyst, text="remark")) == []
    with pytest.raises(PermissionDenied, match="read case content"):
        wf.queue_page(QueueQuery(text="remark"), reader=env.admin)


# -- issue 12 review: tampered cursors, control characters, calendar ends, rejected referrals,
# -- ledger-order returns, acknowledged returns


@pytest.mark.parametrize(
    ("sort", "key"),
    [
        ("severity", (T0, 0, 0.5, T0, 3)),  # a time where the rank goes
        ("severity", (10**30, 0, 0.5, T0, 3)),
        ("severity", (1, 2**40, 0.5, T0, 3)),
        ("risk", (float("nan"), 0, 0, T0, 1)),
        ("risk", (float("inf"), 0, 0, T0, 1)),
        ("risk", (-0.1, 0, 0, T0, 1)),
        ("activity", (5, 1)),  # a number where the time goes
        ("activity", (T0.replace(year=9999, month=12, day=31), 1)),
        ("activity", (datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5))), 1)),
        ("case", (1.5,)),
        ("case", (10**30,)),
        ("case", (2**40,)),
        ("case", (0,)),
        ("case", (False,)),
    ],
)
def test_tampered_cursor_key_is_an_input_error(qenv: Env, sort: str, key: tuple) -> None:
    record_conversation(qenv, "a", ESCALATED)
    cursor = encode_cursor(key, sort, True)
    with pytest.raises(InputError, match="cursor"):
        decode_cursor(cursor, sort, True)
    with pytest.raises(InputError, match="cursor"):  # never a store error from the database
        qenv.workflow.queue_page(QueueQuery(sort=sort, cursor=cursor))


def test_cursor_keys_in_range_still_page(qenv: Env) -> None:
    case = record_conversation(qenv, "a", ESCALATED)
    early = datetime(1, 1, 2, tzinfo=UTC)
    for sort, key, desc in (
        ("case", (2**31 - 1,), True),
        ("risk", (1, 4, 0, T0, 2**31 - 1), True),
        ("activity", (early, 1), False),  # ascending from the first days of the calendar
    ):
        cursor = encode_cursor(key, sort, desc)
        page = qenv.workflow.queue_page(QueueQuery(sort=sort, descending=desc, cursor=cursor))
        assert _ids(page.rows) == [case]


@pytest.mark.parametrize(
    "kw",
    [
        {"search": "a\x00"},
        {"text": "\x00"},
        {"text": "x\x07y"},
        {"platforms": ("\x00x",)},
        {"personas": ("p\x1bq",)},
        {"languages": ("e\nn",)},
    ],
)
def test_control_characters_in_filters_are_refused(qenv: Env, kw: dict) -> None:
    record_conversation(qenv, "a", ESCALATED)
    with pytest.raises(InputError, match="control characters"):
        qenv.workflow.review_queue(**kw)


def test_last_calendar_day_is_no_upper_bound(qenv: Env) -> None:
    from datetime import date

    case = record_conversation(qenv, "a", ESCALATED)
    got = qenv.workflow.review_queue(active_from=date.min, active_to=date.max)
    assert _ids(got) == [case]


def test_rejected_policy_referral_no_longer_ranks_refer(qenv: Env) -> None:
    wf = qenv.workflow
    payer = record_conversation(qenv, "payer", REFERRED)
    ref = wf.record_policy_proposal(payer, decision_id=_last_decision_id(qenv, payer))
    assert wf.case_summary(payer).strongest_action == "refer"
    wf.reject_referral(ref.id, qenv.supervisor, "not grounds: a joke")
    qenv.clock.advance(hours=1)
    crude = record_conversation(qenv, "crude", [("a crude remark", "escalate", 0.95, [])])
    summary = wf.case_summary(payer)
    assert summary.strongest_action == "escalate"  # the policy still decided more than deter
    assert _ids(wf.review_queue()) == [crude, payer]  # same level: risk 0.95 before 0.3
    qenv.clock.advance(hours=1)
    record_conversation(qenv, "payer", REFERRED, persona="p2")  # new material after the reject
    assert wf.case_summary(payer).strongest_action == "refer"


def test_returns_follow_ledger_order_not_message_times(qenv: Env) -> None:
    from tutela.web.timeline import returns

    case = record_conversation(qenv, "x", WARNED)
    # an older chat of the same contact, imported afterwards: earlier message times
    qenv.clock.now = T0 - timedelta(days=3)
    record_conversation(qenv, "x", CALM, persona="p-old")
    summary = qenv.workflow.case_summary(case)
    assert summary.returns == 1
    assert summary.returns == len(returns(qenv.workflow.case_detail(case)))
    row = next(r for r in qenv.workflow.review_queue() if r.case_id == case)
    assert row.returns == 1


def test_a_referred_cases_return_can_be_acknowledged(qenv: Env) -> None:
    from tutela.cases.transitions import InvalidTransition
    from tutela.store.models import AuditLogRow

    wf = qenv.workflow
    case = record_conversation(qenv, "ref", WARNED)
    ref = wf.propose_referral(case, qenv.analyst, "grounds")
    wf.approve_referral(ref.id, qenv.supervisor)
    with pytest.raises(InvalidTransition):  # nothing returned yet
        wf.acknowledge_return(case, qenv.analyst)
    qenv.clock.advance(days=1)
    record_conversation(qenv, "ref", ESCALATED, persona="p3")
    assert case in _ids(wf.review_queue()) and wf.case_summary(case).returned
    with pytest.raises(PermissionDenied):
        wf.acknowledge_return(case, qenv.admin)
    event = wf.acknowledge_return(case, qenv.analyst, "nothing new for the police")
    assert event.action == "watch" and event.details["reason"] == "return_acknowledged"
    assert event.details["status_from"] == event.details["status_to"] == "referred"
    summary = wf.case_summary(case)
    assert summary.status == "referred" and not summary.returned
    assert case not in _ids(wf.review_queue())
    with qenv.store.session() as s:
        audit = s.query(AuditLogRow).filter(AuditLogRow.target == f"case:{case}").all()
    assert any(a.details.get("reason") == "return_acknowledged" for a in audit)
    qenv.clock.advance(days=1)
    record_conversation(qenv, "ref", ESCALATED, persona="p4")  # back once more
    assert wf.case_summary(case).returned and case in _ids(wf.review_queue())
