"""Case work: notes and assignment (roles, scope, input rules, audit, insert only) and the rule
that decides which actions a case page offers. Lines are short synthetic texts."""

from __future__ import annotations

import pytest
from cases_support import T0, Env, record_conversation
from sqlalchemy import select, text

from tutela.accounts.access import grant_operation
from tutela.cases.casework import MAX_NOTE_CHARS, CaseWork, case_actions, clean_note
from tutela.errors import InputError, PermissionDenied, TutelaError
from tutela.ledger import sha256_hex
from tutela.store import NotFoundError
from tutela.store.models import AuditLogRow, CaseAssignmentRow, CaseNoteRow
from tutela.store.queries.casework import CASE_ASSIGNED, NOTE_ADDED

LINES = [
    ("hi there", "continue", 0.1, []),
    ("how old are you", "continue", 0.3, ["en.age_probe.how_old"]),
    ("send me a pic", "deter", 0.8, ["en.age_probe.how_old", "en.image_request.pic"]),
]


def _audit(env: Env, action: str) -> list[AuditLogRow]:
    with env.store.session() as s:
        return list(
            s.execute(
                select(AuditLogRow).where(AuditLogRow.action == action).order_by(AuditLogRow.id)
            ).scalars()
        )


def _count(env: Env, model: type) -> int:
    with env.store.session() as s:
        return len(s.execute(select(model)).scalars().all())


def _other_operation(env: Env) -> int:
    return env.recorder.find_or_create_operation(
        organisation="Test NGO",
        jurisdiction="GB",
        legal_basis="test basis",
        authorisation_ref="TEST-OP-CW",
        officer="officer c",
        starts_at=T0,
    ).id


@pytest.fixture
def work(env: Env) -> CaseWork:
    return CaseWork(env.recorder, clock=env.clock)


def test_a_note_is_stored_with_its_audit_row(env: Env, work: CaseWork) -> None:
    case_id = record_conversation(env, "c1", LINES)
    env.clock.advance(minutes=5)
    note = work.add_note(case_id, env.analyst, "  asked for a picture on line 3\r\nsee warning  ")
    assert (note.case_id, note.author, note.at) == (case_id, "ana", env.clock())
    assert note.text == "asked for a picture on line 3\nsee warning"
    work.add_note(case_id, env.supervisor, "agreed")
    assert [(n.author, n.text) for n in work.notes(case_id)] == [
        ("ana", note.text),
        ("sue", "agreed"),
    ]
    rows = _audit(env, NOTE_ADDED)
    target = f"case:{case_id}"
    assert [(r.actor, r.target) for r in rows] == [("ana", target), ("sue", target)]
    first = rows[0]
    assert first.details == {
        "case_id": case_id,
        "note_id": note.id,
        "text_sha256": sha256_hex(note.text.encode()),
        "chars": len(note.text),
    }
    assert first.ledger_seq is not None  # the audit entry is chained in the ledger
    assert "picture" not in str(first.details)  # the text stays in its row only


def test_notes_and_assignments_are_insert_only(env: Env, work: CaseWork) -> None:
    case_id = record_conversation(env, "c2", LINES)
    work.add_note(case_id, env.analyst, "first")
    work.assign(case_id, env.analyst, "ben")
    for sql in (
        "UPDATE case_notes SET text = 'changed'",
        "DELETE FROM case_notes",
        "UPDATE case_assignments SET assignee = 'sue'",
        "DELETE FROM case_assignments",
    ):
        with pytest.raises(TutelaError):
            env.store.write(lambda s, q=sql: s.execute(text(q)))
    assert [n.text for n in work.notes(case_id)] == ["first"]
    assert work.assignment(case_id).assignee == "ben"


@pytest.mark.parametrize(
    "bad",
    ["", "   \n ", "x" * (MAX_NOTE_CHARS + 1), "bell\x07", "nul\x00", "esc\x1b[31m", "rtl\u202e"],
)
def test_bad_note_text_is_refused_and_nothing_is_written(env: Env, work: CaseWork, bad) -> None:
    case_id = record_conversation(env, "c3", LINES)
    with pytest.raises(InputError):
        work.add_note(case_id, env.analyst, bad)
    assert work.notes(case_id) == [] and _audit(env, NOTE_ADDED) == []


def test_clean_note_keeps_tabs_line_breaks_and_the_limit() -> None:
    assert clean_note("a\tb\nc") == "a\tb\nc"
    assert len(clean_note("y" * MAX_NOTE_CHARS)) == MAX_NOTE_CHARS
    with pytest.raises(InputError):
        clean_note(None)


def test_admin_and_out_of_scope_users_take_no_case_work(env: Env, work: CaseWork) -> None:
    case_id = record_conversation(env, "c4", LINES)
    with pytest.raises(PermissionDenied):
        work.add_note(case_id, env.admin, "admin note")
    with pytest.raises(PermissionDenied):
        work.assign(case_id, env.admin, "ana")
    with pytest.raises(PermissionDenied):
        work.notes(case_id, reader=env.admin)
    grant_operation(env.recorder, env.analyst2.id, _other_operation(env), actor="root")
    with pytest.raises(PermissionDenied, match="outside your operations"):
        work.add_note(case_id, env.analyst2, "not mine")
    with pytest.raises(PermissionDenied, match="outside your operations"):
        work.assign(case_id, env.analyst2, None)
    with pytest.raises(PermissionDenied):
        work.assignments(case_id, reader=env.analyst2)
    env.users.deactivate("sam")
    with pytest.raises(PermissionDenied, match="deactivated"):
        work.add_note(case_id, env.supervisor2, "gone")
    with pytest.raises(NotFoundError):
        work.add_note(999_999, env.analyst, "no case")
    assert _count(env, CaseNoteRow) == 0 and _count(env, CaseAssignmentRow) == 0
    assert _audit(env, NOTE_ADDED) == [] and _audit(env, CASE_ASSIGNED) == []


def test_assignment_history_audit_and_unassign(env: Env, work: CaseWork) -> None:
    case_id = record_conversation(env, "c5", LINES)
    assert work.assignment(case_id) is None
    a1 = work.assign(case_id, env.analyst, "ben")
    env.clock.advance(minutes=1)
    again = work.assign(case_id, env.analyst, " ben ")  # the current assignee: nothing written
    assert again == a1
    a2 = work.assign(case_id, env.supervisor, "sue")
    a3 = work.assign(case_id, env.analyst, None)
    assert [(a.actor, a.assignee) for a in work.assignments(case_id)] == [
        ("ana", "ben"),
        ("sue", "sue"),
        ("ana", None),
    ]
    assert work.assignment(case_id) == a3 and a3.assignee is None
    rows = _audit(env, CASE_ASSIGNED)
    assert [(r.actor, r.details["assignee"], r.details["previous"]) for r in rows] == [
        ("ana", "ben", None),
        ("sue", "sue", "ben"),
        ("ana", None, "sue"),
    ]
    assert rows[1].details["assignment_id"] == a2.id
    assert all(r.ledger_seq is not None for r in rows)


def test_assignee_must_be_an_active_case_worker_who_may_read_the_case(
    env: Env, work: CaseWork
) -> None:
    case_id = record_conversation(env, "c6", LINES)
    for name, match in (("root", "admin"), ("nobody", "not an active account"), ("  ", "name")):
        with pytest.raises(InputError, match=match):
            work.assign(case_id, env.analyst, name)
    env.users.deactivate("sam")
    with pytest.raises(InputError, match="not an active account"):
        work.assign(case_id, env.analyst, "sam")
    grant_operation(env.recorder, env.analyst2.id, _other_operation(env), actor="root")
    with pytest.raises(InputError, match="may not read"):
        work.assign(case_id, env.analyst, "ben")
    assert work.assignments(case_id) == [] and _audit(env, CASE_ASSIGNED) == []
    assert work.assignable(case_id) == ["ana", "sue"]  # no admin, no deactivated, no out of scope


@pytest.mark.parametrize(
    ("status", "role", "pending", "hold", "expected"),
    [
        ("open", "analyst", False, False, {"dismiss", "watch", "propose_referral"}),
        ("watching", "supervisor", False, False, {"dismiss", "watch", "propose_referral"}),
        ("referral_proposed", "analyst", True, False, set()),
        ("referral_proposed", "supervisor", True, False, {"approve_referral", "reject_referral"}),
        ("referred", "analyst", False, False, {"reopen"}),
        ("referred", "supervisor", False, False, {"reopen"}),
        ("dismissed", "analyst", False, False, {"reopen"}),
        ("purged", "supervisor", False, False, {"reopen"}),
        ("merged", "analyst", False, False, set()),
        ("open", "analyst", True, False, set()),  # a pending proposal blocks them all
    ],
)
def test_case_actions_follow_the_transition_table(status, role, pending, hold, expected) -> None:
    got = case_actions(status, role, pending_referral=pending, hold_active=hold)
    assert got - {"note", "assign", "set_hold", "release_hold"} == expected
    assert {"note", "assign", "set_hold"} <= got and "release_hold" not in got


def test_case_actions_for_holds_and_admins() -> None:
    assert case_actions("open", "admin") == frozenset()
    assert case_actions("open", "nobody") == frozenset()
    assert "release_hold" in case_actions("open", "supervisor", hold_active=True)
    analyst = case_actions("open", "analyst", hold_active=True)
    assert "release_hold" not in analyst and "set_hold" not in analyst
    refer = case_actions("referred", "analyst")
    assert "propose_referral" not in refer and "dismiss" not in refer


def test_case_actions_match_what_the_workflow_accepts(env: Env, work: CaseWork) -> None:
    """The buttons offered on a referred case are exactly the actions the workflow takes."""
    case_id = record_conversation(env, "c7", LINES)
    ref = env.workflow.propose_referral(case_id, env.analyst, "grounds")
    env.workflow.approve_referral(ref.id, env.supervisor)
    offered = case_actions("referred", "analyst")
    from tutela.cases.workflow import InvalidTransition

    with pytest.raises(InvalidTransition):
        env.workflow.dismiss(case_id, env.analyst, "no")
    with pytest.raises(InvalidTransition):
        env.workflow.propose_referral(case_id, env.analyst, "again")
    assert "reopen" in offered
    env.workflow.reopen(case_id, env.analyst, "returned")


def test_acknowledge_return_is_offered_only_on_a_returned_referred_case() -> None:
    for role in ("analyst", "supervisor"):
        assert "acknowledge_return" in case_actions("referred", role, returned=True)
        assert "acknowledge_return" not in case_actions("referred", role)
    for status in ("open", "watching", "dismissed", "referral_proposed"):
        assert "acknowledge_return" not in case_actions(status, "analyst", returned=True)
    assert case_actions("referred", "admin", returned=True) == frozenset()
