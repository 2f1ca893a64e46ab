"""Case workflow: review queue, case page, actions, role rules and four-eyes, audit and ledger."""

from __future__ import annotations

import json

import pytest
from cases_support import Env, record_conversation
from sqlalchemy import select

from tutela.cases.workflow import (
    CaseStatus,
    EventAction,
    InvalidTransition,
    PermissionDenied,
)
from tutela.errors import InputError
from tutela.ledger import EntryKind
from tutela.store import NotFoundError, iter_ledger, verify_store
from tutela.store.models import AuditLogRow

GROOMING = [
    ("hi there", "continue", 0.10, []),
    ("how old are you", "continue", 0.40, ["en.age_probe.how_old"]),
    ("keep this our secret", "deter", 0.85, ["en.secrecy.our_secret"]),
]
EXPLICIT = [("a clinical sexual remark", "escalate", 0.95, ["en.sexual_content.explicit"])]
HARMLESS = [("hello", "continue", 0.05, [])]


def _plain(o: object) -> object:
    return dict(o) if hasattr(o, "keys") else list(o)  # type: ignore[call-overload]


def _audit(env: Env) -> list[AuditLogRow]:
    with env.store.session() as s:
        return list(s.execute(select(AuditLogRow).order_by(AuditLogRow.id)).scalars())


def _reviews(env: Env) -> list[dict[str, object]]:
    return [dict(e.payload) for e in iter_ledger(env.store) if e.kind is EntryKind.REVIEW]


def test_review_queue_orders_by_case_risk(env: Env) -> None:
    low = record_conversation(env, "low", HARMLESS)
    high = record_conversation(env, "high", EXPLICIT)
    mid = record_conversation(env, "mid", GROOMING)
    queue = env.workflow.review_queue()
    assert [c.case_id for c in queue] == [high, mid, low]
    assert [c.risk for c in queue] == [0.95, 0.85, 0.05]
    row = queue[1]
    assert row.status == "open" and row.n_conversations == 1
    assert row.platforms == ("local",) and row.personas == ("p-en-13",)
    assert row.warnings == 1  # the deter decision carried a variant
    assert row.last_action == "deter"
    assert row.identities == 1  # the platform id
    assert row.last_activity is not None and row.pending_referral is None
    assert [c.case_id for c in env.workflow.review_queue(limit=1)] == [high]


def test_case_risk_is_max_over_conversations_of_the_contact(env: Env) -> None:
    case = record_conversation(env, "rep", HARMLESS, persona="p1")
    assert record_conversation(env, "rep", GROOMING, persona="p2") == case
    summary = env.workflow.case_summary(case)
    assert summary.risk == 0.85 and summary.n_conversations == 2
    assert summary.personas == ("p1", "p2")


def test_case_detail_shows_lines_indicators_and_identities(env: Env) -> None:
    case = record_conversation(env, "det", GROOMING + EXPLICIT)
    detail = env.workflow.case_detail(case)
    assert detail.case.id == case and detail.risk == 0.95
    (conv,) = detail.conversations
    inbound = [m for m in conv.messages if m.direction == "in"]
    assert [m.contact_line for m in inbound] == [1, 2, 3, 4]
    assert inbound[1].text == "how old are you"
    assert inbound[1].indicators == ("en.age_probe.how_old",)
    assert [m.explicit for m in inbound] == [False, False, False, True]
    assert all(
        m.direction == "out" and m.indicators == () for m in conv.messages if m.contact_line is None
    )
    assert [d.after_line for d in conv.decisions] == [1, 2, 3, 4]
    assert conv.decisions[2].action == "deter" and conv.decisions[2].variant == "v1"
    assert [i.value for i in detail.identities] == ["det"]
    assert detail.referrals == () and detail.events == ()


def test_identity_shows_the_message_it_came_from(env: Env) -> None:
    case = record_conversation(env, "idc", [("mail me at x@example.com", "continue", 0.2, [])])
    detail = env.workflow.case_detail(case)
    msg = next(m for m in detail.conversations[0].messages if m.direction == "in")
    env.recorder.link_identity(detail.case.contact_id, "local", "email", "x@example.com", msg.id)
    ident = next(i for i in env.workflow.case_detail(case).identities if i.kind == "email")
    assert ident.source_message_id == msg.id
    assert ident.source_text == "mail me at x@example.com" and ident.source_contact_line == 1


def test_referral_happy_path(env: Env) -> None:
    wf = env.workflow
    case = record_conversation(env, "ref", GROOMING)
    assert not wf.referral_ready(case)
    wf.keep_watching(case, env.analyst, "looks like grooming")
    ref = wf.propose_referral(case, env.analyst, "secrecy after an age probe")
    assert ref.status == "proposed" and ref.proposed_by_name == "ana"
    assert wf.case_summary(case).pending_referral == ref.id
    assert wf.pending_referrals() == [ref]
    assert not wf.referral_ready(case)
    decided = wf.approve_referral(ref.id, env.supervisor, "agreed")
    assert decided.status == "approved" and decided.decided_by_name == "sue"
    assert decided.decided_at == env.clock() and decided.decision_note == "agreed"
    assert wf.referral_ready(case)
    detail = wf.case_detail(case)
    assert detail.case.status == CaseStatus.REFERRED
    assert [e.action for e in detail.events] == ["watch", "propose_referral", "approve_referral"]
    assert detail.referrals == (decided,)
    assert wf.pending_referrals() == []
    assert verify_store(env.store, env.signer.public_key) > 0


def test_proposer_cannot_decide_own_referral(env: Env) -> None:
    wf = env.workflow
    case = record_conversation(env, "fe", GROOMING)
    ref = wf.propose_referral(case, env.supervisor, "grounds")
    with pytest.raises(PermissionDenied, match="four-eyes"):
        wf.approve_referral(ref.id, env.supervisor)
    with pytest.raises(PermissionDenied, match="four-eyes"):
        wf.reject_referral(ref.id, env.supervisor, "changed my mind")
    assert wf.referral(ref.id).status == "proposed"
    assert not wf.referral_ready(case)
    assert wf.approve_referral(ref.id, env.supervisor2).status == "approved"


@pytest.mark.parametrize("who", ["analyst", "analyst2", "admin"])
def test_only_supervisors_decide_referrals(env: Env, who: str) -> None:
    wf = env.workflow
    case = record_conversation(env, "ro", GROOMING)
    ref = wf.propose_referral(case, env.analyst, "grounds")
    actor = getattr(env, who)
    with pytest.raises(PermissionDenied):
        wf.approve_referral(ref.id, actor)
    with pytest.raises(PermissionDenied):
        wf.reject_referral(ref.id, actor, "no")
    assert wf.referral(ref.id).status == "proposed" and not wf.referral_ready(case)


def test_admin_takes_no_case_decisions(env: Env) -> None:
    case = record_conversation(env, "adm", GROOMING)
    for call in (
        lambda: env.workflow.dismiss(case, env.admin, "nothing"),
        lambda: env.workflow.keep_watching(case, env.admin),
        lambda: env.workflow.propose_referral(case, env.admin, "grounds"),
    ):
        with pytest.raises(PermissionDenied):
            call()
    assert env.workflow.case_events(case) == []


def test_deactivated_or_stale_user_is_refused(env: Env) -> None:
    case = record_conversation(env, "deact", GROOMING)
    ref = env.workflow.propose_referral(case, env.analyst, "grounds")
    env.users.deactivate("sue")
    with pytest.raises(PermissionDenied, match="deactivated"):
        env.workflow.approve_referral(ref.id, env.supervisor)  # the caller's User is stale
    forged = type(env.analyst)(
        id=999, name="ghost", role=env.supervisor.role, active=True, has_totp=False
    )
    with pytest.raises(PermissionDenied):
        env.workflow.approve_referral(ref.id, forged)


def test_decided_referral_cannot_be_decided_again(env: Env) -> None:
    wf = env.workflow
    case = record_conversation(env, "twice", GROOMING)
    ref = wf.propose_referral(case, env.analyst, "grounds")
    rejected = wf.reject_referral(ref.id, env.supervisor, "not enough")
    assert rejected.status == "rejected"
    assert wf.case_summary(case).status == "watching"
    with pytest.raises(InvalidTransition):
        wf.approve_referral(ref.id, env.supervisor2)
    assert not wf.referral_ready(case)
    # a new proposal is possible after a rejection
    again = wf.propose_referral(case, env.analyst2, "new grounds")
    assert again.id != ref.id


def test_pending_proposal_blocks_dismiss_and_second_proposal(env: Env) -> None:
    wf = env.workflow
    case = record_conversation(env, "pend", GROOMING)
    wf.propose_referral(case, env.analyst, "grounds")
    with pytest.raises(InvalidTransition):
        wf.dismiss(case, env.analyst2, "nothing here")
    with pytest.raises(InvalidTransition):
        wf.propose_referral(case, env.analyst2, "more grounds")
    with pytest.raises(InvalidTransition):
        wf.keep_watching(case, env.analyst2)


def test_required_texts_and_unknown_ids(env: Env) -> None:
    wf = env.workflow
    case = record_conversation(env, "req", GROOMING)
    with pytest.raises(InputError):
        wf.dismiss(case, env.analyst, "  ")
    with pytest.raises(InputError):
        wf.propose_referral(case, env.analyst, "")
    with pytest.raises(InputError):
        wf.reopen(case, env.analyst, "")
    with pytest.raises(NotFoundError):
        wf.dismiss(9999, env.analyst, "reason")
    with pytest.raises(NotFoundError):
        wf.approve_referral(9999, env.supervisor)
    with pytest.raises(NotFoundError):
        wf.case_detail(9999)
    with pytest.raises(InvalidTransition):
        wf.reopen(case, env.analyst, "it is open already")
    with pytest.raises(InputError):
        wf.review_queue(statuses=("bogus",))
    assert wf.case_events(case) == []


def test_dismiss_and_reopen(env: Env) -> None:
    wf = env.workflow
    case = record_conversation(env, "dis", HARMLESS)
    wf.dismiss(case, env.analyst, "ordinary chat")
    assert wf.review_queue() == []
    assert [c.case_id for c in wf.review_queue(statuses=("dismissed",))] == [case]
    with pytest.raises(InvalidTransition):
        wf.dismiss(case, env.analyst, "again")
    wf.reopen(case, env.analyst2, "contact came back")
    assert wf.case_summary(case).status == "open"
    assert wf.case_summary(case).last_event == "reopen"


def test_reveal_is_audited_and_checks_the_message(env: Env) -> None:
    wf = env.workflow
    case = record_conversation(env, "rev", EXPLICIT)
    other = record_conversation(env, "oth", HARMLESS)
    msg = next(m for m in wf.case_detail(case).conversations[0].messages if m.explicit)
    foreign = wf.case_detail(other).conversations[0].messages[0]
    with pytest.raises(NotFoundError):
        wf.record_reveal(case, env.analyst, foreign.id)
    ev = wf.record_reveal(case, env.analyst, msg.id)
    assert ev.action == "reveal" and ev.details["message_id"] == msg.id
    assert wf.case_summary(case).status == "open"
    assert _audit(env)[-1].action == "reveal" and _audit(env)[-1].actor == "ana"


def test_every_action_is_audited_and_in_the_ledger(env: Env) -> None:
    wf = env.workflow
    a = record_conversation(env, "a1", GROOMING)
    b = record_conversation(env, "b1", HARMLESS)
    msg_id = wf.case_detail(a).conversations[0].messages[0].id
    audit_before = len(_audit(env))
    wf.keep_watching(a, env.analyst, "watch note")
    wf.record_reveal(a, env.analyst, msg_id)
    r1 = wf.propose_referral(a, env.analyst, "grounds one")
    wf.reject_referral(r1.id, env.supervisor, "not yet")
    r2 = wf.propose_referral(a, env.analyst2, "grounds two")
    wf.approve_referral(r2.id, env.supervisor, "")
    wf.reopen(a, env.supervisor, "new contact")
    wf.dismiss(b, env.analyst, "harmless")
    expected = [
        "watch", "reveal", "propose_referral", "reject_referral",
        "propose_referral", "approve_referral", "reopen", "dismiss",
    ]  # fmt: skip
    audit = _audit(env)[audit_before:]
    assert [r.action for r in audit] == expected
    assert [r.actor for r in audit] == ["ana", "ana", "ana", "sue", "ben", "sue", "sue", "ana"]
    assert all(r.ledger_seq is not None for r in audit)
    reviews = _reviews(env)
    assert [r["action"] for r in reviews] == expected
    # the ledger holds the notes only as hashes
    ledger_text = json.dumps([e.payload for e in iter_ledger(env.store)], default=_plain)
    for note in ("watch note", "grounds one", "not yet", "harmless"):
        assert note not in ledger_text
    events = wf.case_events(a) + wf.case_events(b)
    assert sorted(e.details["audit_id"] for e in events) == sorted(r.id for r in audit)
    assert {e.details["review_seq"] for e in events} == {r.details["review_seq"] for r in audit}
    assert verify_store(env.store, env.signer.public_key) > 0


def test_failed_action_writes_nothing(env: Env) -> None:
    case = record_conversation(env, "nope", GROOMING)
    ref = env.workflow.propose_referral(case, env.analyst, "grounds")
    head = list(iter_ledger(env.store))[-1].seq
    with pytest.raises(PermissionDenied):
        env.workflow.approve_referral(ref.id, env.analyst)
    assert list(iter_ledger(env.store))[-1].seq == head


def test_policy_proposal_is_decided_by_any_supervisor(env: Env) -> None:
    case = record_conversation(env, "pol", [("pay for a webcam show", "refer", 0.97, [])])
    dec = env.workflow.case_detail(case).conversations[0].decisions[0]
    ref = env.workflow.record_policy_proposal(case, decision_id=dec.id)
    assert ref.proposed_by is None and ref.proposed_by_name == "system"
    assert env.workflow.record_policy_proposal(case, decision_id=dec.id).id == ref.id
    assert env.workflow.case_summary(case).status == "referral_proposed"
    assert env.workflow.approve_referral(ref.id, env.supervisor).status == "approved"
    assert env.workflow.referral_ready(case)


def test_event_action_values_match_schema() -> None:
    assert {a.value for a in EventAction} == {
        "dismiss", "watch", "propose_referral", "approve_referral",
        "reject_referral", "reveal", "purge", "reopen",
    }  # fmt: skip


# -- issue 10: who may read case content; per-operation access; ids out of range ---------------


def test_admin_may_not_read_case_content(env: Env) -> None:
    wf = env.workflow
    case = record_conversation(env, "adread", EXPLICIT)
    wf.propose_referral(case, env.analyst, "grounds")
    for call in (
        lambda: wf.review_queue(reader=env.admin),
        lambda: wf.case_detail(case, reader=env.admin),
        lambda: wf.pending_referrals(reader=env.admin),
        lambda: wf.check_case_access(case, env.admin),
        lambda: wf.reader_scope(env.admin),
    ):
        with pytest.raises(PermissionDenied, match="read case content"):
            call()
    assert [c.case_id for c in wf.review_queue(reader=env.analyst)] == [case]
    assert wf.case_detail(case, reader=env.supervisor).case.id == case
    assert wf.reader_scope(env.analyst) is None  # no grants: every case


def _second_operation(env: Env) -> int:
    from cases_support import T0

    return env.recorder.find_or_create_operation(
        organisation="Test NGO",
        jurisdiction="GB",
        legal_basis="test basis",
        authorisation_ref="TEST-OP-B",
        officer="officer b",
        starts_at=T0,
    ).id


def _move_to(env: Env, case_id: int, operation_id: int) -> None:
    """Open a second conversation of the case's contact under ``operation_id``."""
    rec = env.recorder
    rec.open_conversation(
        operation_id=operation_id,
        persona_id="p-en-13",
        platform="local",
        account="p-en-13@local",
        contact_id=rec.get_case(case_id).contact_id,
        lang="en",
        started_at=env.clock(),
    )


def test_operation_grants_restrict_reads_and_actions(env: Env) -> None:
    from tutela.accounts.access import grant_operation, granted_operations, revoke_operation

    wf = env.workflow
    demo = env.recorder.ensure_demo_operation().id
    other = _second_operation(env)
    in_demo = record_conversation(env, "opa", GROOMING)
    both = record_conversation(env, "opb", HARMLESS)
    _move_to(env, both, other)  # conversations under both operations
    assert grant_operation(env.recorder, env.analyst.id, demo, actor="root")
    assert not grant_operation(env.recorder, env.analyst.id, demo, actor="root")  # idempotent
    assert granted_operations(env.store, env.analyst.id) == {demo}
    assert wf.reader_scope(env.analyst) == {demo}
    assert [c.case_id for c in wf.review_queue(reader=env.analyst)] == [in_demo]
    with pytest.raises(PermissionDenied, match="outside your operations"):
        wf.case_detail(both, reader=env.analyst)
    with pytest.raises(PermissionDenied, match="outside your operations"):
        wf.keep_watching(both, env.analyst)
    with pytest.raises(PermissionDenied, match="outside your operations"):
        wf.propose_referral(both, env.analyst, "grounds")
    msg = wf.case_detail(both).conversations[0].messages[0]
    with pytest.raises(PermissionDenied):
        wf.record_reveal(both, env.analyst, msg.id)
    assert wf.case_events(both) == []
    wf.keep_watching(in_demo, env.analyst)  # inside the grant: allowed
    # a supervisor restricted to the other operation cannot decide a demo-case referral
    ref = wf.propose_referral(in_demo, env.analyst2, "grounds")
    grant_operation(env.recorder, env.supervisor.id, other, actor="root")
    with pytest.raises(PermissionDenied):
        wf.approve_referral(ref.id, env.supervisor)
    assert wf.pending_referrals(reader=env.supervisor) == []
    assert [r.id for r in wf.pending_referrals(reader=env.supervisor2)] == [ref.id]
    # both operations granted: the spanning case is visible
    grant_operation(env.recorder, env.analyst.id, other, actor="root")
    assert {c.case_id for c in wf.review_queue(reader=env.analyst)} == {in_demo, both}
    assert revoke_operation(env.recorder, env.analyst.id, other, actor="root")
    assert not revoke_operation(env.recorder, env.analyst.id, other, actor="root")
    actions = [(r.action, r.actor, r.target) for r in _audit(env) if "access" in r.action]
    assert actions == [
        ("operation_access_granted", "root", f"user:{env.analyst.id}"),
        ("operation_access_granted", "root", f"user:{env.supervisor.id}"),
        ("operation_access_granted", "root", f"user:{env.analyst.id}"),
        ("operation_access_revoked", "root", f"user:{env.analyst.id}"),
    ]
    assert all(r.ledger_seq is not None for r in _audit(env) if "access" in r.action)
    with pytest.raises(NotFoundError):
        grant_operation(env.recorder, env.analyst.id, 9999, actor="root")
    with pytest.raises(InputError):
        grant_operation(env.recorder, env.analyst.id, demo, actor=" ")


def test_ids_beyond_the_integer_range_are_unknown(env: Env) -> None:
    wf = env.workflow
    case = record_conversation(env, "big", GROOMING)
    for huge in (2**31, 10**23):
        with pytest.raises(NotFoundError):
            wf.case_detail(huge)
        with pytest.raises(NotFoundError):
            wf.referral(huge)
        with pytest.raises(NotFoundError):
            wf.dismiss(huge, env.analyst, "r")
        with pytest.raises(NotFoundError):
            wf.approve_referral(huge, env.supervisor)
        with pytest.raises(NotFoundError):
            wf.record_reveal(case, env.analyst, huge)
        with pytest.raises(NotFoundError):
            wf.check_conversation_access(huge, env.analyst)
    assert wf.case_events(case) == []


def test_identity_read_from_an_explicit_line_is_marked(env: Env) -> None:
    wf = env.workflow
    case = record_conversation(env, "idx", HARMLESS + EXPLICIT)
    inbound = [m for m in wf.case_detail(case).conversations[0].messages if m.direction == "in"]
    contact = wf.case_detail(case).case.contact_id
    env.recorder.link_identity(contact, "local", "email", "a@example.org", inbound[0].id)
    env.recorder.link_identity(contact, "local", "email", "b@example.org", inbound[1].id)
    marks = {i.value: i.source_explicit for i in wf.case_detail(case).identities}
    assert marks == {"idx": False, "a@example.org": False, "b@example.org": True}
    ev = wf.record_reveal(case, env.analyst, inbound[1].id, shown_on="contact")
    assert ev.details["shown_on"] == "contact" and _audit(env)[-1].details["shown_on"] == "contact"
    with pytest.raises(InputError):
        wf.record_reveal(case, env.analyst, inbound[1].id, shown_on="elsewhere")
