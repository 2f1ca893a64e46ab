"""Every payload the store writes matches its kind's ``TypedDict`` (``tutela.ledger.payloads``).

A synthetic run touches every entry kind and every ``operation`` event (with and without the
optional keys), then each ledger entry is read back and its keys compared with its type: a
required key missing or a key the type does not declare fails, so a writer cannot add a key
without declaring it. Lines are short synthetic texts written for this test.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher

from tutela.accounts.users import UserStore
from tutela.cases.workflow import CaseWorkflow
from tutela.domain import Attachment
from tutela.ledger import (
    OPERATION_EVENTS,
    PAYLOAD_TYPES,
    AttachmentPayload,
    EntryKind,
    LedgerEntry,
    PurgedMessage,
    Signer,
    payload_type,
)
from tutela.store import Recorder, iter_ledger, open_store
from tutela.store.queries.evidence import record_export
from tutela.store.queries.trials import allocate, register_trial

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"


class _Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> datetime:
        self.now += timedelta(**kw)
        return self.now


def _key_problems(tp: type, payload: Mapping[str, Any], where: str) -> list[str]:
    required: frozenset[str] = tp.__required_keys__  # type: ignore[attr-defined]
    optional: frozenset[str] = tp.__optional_keys__  # type: ignore[attr-defined]
    keys = set(payload)
    out = [f"{where}: {tp.__name__} lacks required {k!r}" for k in sorted(required - keys)]
    out += [
        f"{where}: {k!r} is not declared by {tp.__name__}"
        for k in sorted(keys - required - optional)
    ]
    return out


def payload_problems(entry: LedgerEntry) -> list[str]:
    """What in ``entry``'s payload disagrees with its type (nested lists included)."""
    assert entry.payload is not None
    p = entry.payload
    where = f"entry {entry.seq} ({entry.kind.value})"
    out = _key_problems(payload_type(entry.kind, p), p, where)
    if entry.kind is EntryKind.INBOUND:
        for a in p.get("attachments", ()):
            out += _key_problems(AttachmentPayload, a, f"{where} attachment")
    if entry.kind is EntryKind.RETENTION_PURGE:
        for m in p.get("messages", ()):
            out += _key_problems(PurgedMessage, m, f"{where} message")
    return out


def _shape(entry: LedgerEntry) -> tuple[str, ...]:
    """What variant of its type an entry exercises: kind, event, and the optional keys set."""
    assert entry.payload is not None
    tp = payload_type(entry.kind, entry.payload)
    optional = tp.__optional_keys__  # type: ignore[attr-defined]
    event = entry.payload.get("event") if entry.kind is EntryKind.OPERATION else None
    return (entry.kind.value, str(event), *sorted(set(entry.payload) & optional))


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[list[LedgerEntry]]:
    """The entries of a small run: operation, conversations (one imported), messages with and
    without the optional keys, decisions, identity links and a merge, users, case reviews
    (watch, reveal, policy proposal and its approval, proposal and rejection, dismissal and
    retention purge), exports (draft and final), a key rotation, a conversation ending, a
    registered trial and one allocation."""
    clock = _Clock()
    store = open_store(f"sqlite:///{tmp_path / 'payloads.db'}")
    signer = Signer.generate()
    rec = Recorder(store, signer=signer, checkpoint_every=4, clock=clock)
    hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    users = UserStore(store, recorder=rec, hasher=hasher, clock=clock)
    analyst = users.add("ana", "analyst", PASSWORD)
    sup = users.add("sue", "supervisor", PASSWORD)
    sup2 = users.add("sam", "supervisor", PASSWORD)
    flow = CaseWorkflow(rec, clock=clock)
    op = rec.create_operation(
        organisation="Example Unit",
        jurisdiction="NL",
        legal_basis="synthetic test record",
        authorisation_ref="AUTH-T-1",
        officer="officer-1",
        starts_at=T0,
    )

    def converse(
        contact: str, actions: list[str], **opened: Any
    ) -> tuple[int, int, list[int], int]:
        cid = rec.get_or_create_contact("local", contact, seen_at=clock())
        conv = rec.open_conversation(
            operation_id=op.id,
            persona_id="p-test",
            platform="local",
            account="p-test@local",
            contact_id=cid,
            lang="en",
            started_at=clock(),
            **opened,
        ).id
        decisions = []
        first_msg = 0
        for n, action in enumerate(actions, start=1):
            quiet = n == 2
            m = rec.record_inbound(
                conversation_id=conv,
                author=contact,
                text=f"line {n}",
                wire=f"<msg>line {n}</msg>".encode(),
                received_at=clock.advance(seconds=30),
                contact_line=n,
                platform_msg_id=f"id-{contact}-{n}" if n == 1 else None,
                attachments=[Attachment(kind="image", mime="image/png", size=10)] if quiet else (),
                sent_at=clock() - timedelta(seconds=2) if quiet else None,
                sent_by="local.example" if quiet else None,
                answer=not quiet,
            )
            first_msg = first_msg or m.id
            decisions.append(
                rec.record_decision(
                    conversation_id=conv,
                    message_id=m.id,
                    after_line=n,
                    action=action,
                    risk=0.9 if action == "refer" else 0.1,
                    indicators=["en.test"] if action != "continue" else [],
                    rule="ladder.test" if action != "continue" else "none",
                    reason="test decision",
                    variant="v1" if action == "deter" else None,
                ).id
            )
            rec.record_outbound(
                conversation_id=conv,
                text="ok",
                origin="bank:test",
                sent_at=clock.advance(seconds=5),
            )
        rec.record_outbound(
            conversation_id=conv,
            text="typed elsewhere",
            origin="human:device:phone",
            sent_at=clock.advance(seconds=5),
            wire=b"<carbon/>",
            platform_msg_id=f"carbon-{contact}",
        )
        return cid, conv, decisions, first_msg

    c1, conv1, dec1, msg_id = converse("suspect-1", ["continue", "deter", "refer"])
    c2, conv2, _, _ = converse(
        "other-2", ["continue", "continue"], provenance={"file": "chat.txt", "format": "plain"}
    )
    c3, _, _, _ = converse("third-3", ["continue", "continue"])
    trial = register_trial(
        rec, name="trial-t", plan_text="# plan\n", arms=("combined", "help"), seed=1,
        block_size=2, timestamp_token=b"tsr", timestamped_at=T0, actor="admin",
    )  # fmt: skip
    allocate(
        rec, trial_id=trial.id, contact_id=c1, conversation_id=conv1, stratum="en",
        choose=lambda t, n: ("help", 0),
    )  # fmt: skip
    rec.link_identity(c1, "local", "email", "someone@example.org")
    rec.link_identity(c2, "local", "email", "someone@example.org")  # merges c2 into c1
    case1 = rec.get_or_create_case(c1)
    case3 = rec.get_or_create_case(c3)
    flow.keep_watching(case1.id, analyst, "watching")
    flow.record_reveal(case1.id, sup, msg_id)
    ref = flow.record_policy_proposal(case1.id, decision_id=dec1[-1])
    flow.approve_referral(ref.id, sup)
    flow.keep_watching(case3.id, analyst)
    ref3 = flow.propose_referral(case3.id, analyst, "grounds")
    flow.reject_referral(ref3.id, sup2, "not enough")
    record_export(
        rec, signer=signer, case_id=case1.id, conversations=[conv1, conv2], operations=[op.id],
        actor="sue", draft=True, package_name="draft.zip",
    )  # fmt: skip
    record_export(
        rec, signer=signer, case_id=case1.id, conversations=[conv1, conv2], operations=[op.id],
        actor="sue",
    )  # fmt: skip
    flow.dismiss(case3.id, sup, "no concern")
    flow.purge_expired(retention_days=0, now=clock.advance(days=1))
    rec.end_conversation(conv1, ended_at=clock.advance(seconds=1), reason="done")
    rec.rotate_key(Signer.generate(), actor="admin", reason="yearly")
    entries = list(iter_ledger(store))
    store.close()
    yield entries


def test_every_kind_has_a_type() -> None:
    assert set(PAYLOAD_TYPES) == set(EntryKind)
    assert set(OPERATION_EVENTS) == {
        "operation_created", "conversation_opened", "conversation_ended", "key_rotated",
        "trial_registered", "trial_allocated",
    }  # fmt: skip


def test_every_payload_matches_its_type(ledger: list[LedgerEntry]) -> None:
    problems = [p for e in ledger for p in payload_problems(e)]
    assert problems == []


def test_the_run_exercises_every_type_and_optional_key(ledger: list[LedgerEntry]) -> None:
    shapes = {_shape(e) for e in ledger}
    kinds = {s[0] for s in shapes}
    assert kinds == {k.value for k in EntryKind}
    events = {s[1] for s in shapes if s[0] == "operation"}
    assert events == set(OPERATION_EVENTS)
    used = {(s[0], s[1], k) for s in shapes for k in s[2:]}
    for kind, tp in PAYLOAD_TYPES.items():
        types = OPERATION_EVENTS.items() if kind is EntryKind.OPERATION else [("None", tp)]
        for event, t in types:
            for key in t.__optional_keys__:  # type: ignore[attr-defined]
                assert (kind.value, event, key) in used, f"no {kind.value} entry sets {key!r}"


def test_an_undeclared_or_missing_key_is_reported() -> None:
    entry = LedgerEntry.create(
        seq=1,
        prev_hash="0" * 64,
        at=T0,
        kind=EntryKind.OUTBOUND,
        conversation=1,
        payload={"message_seq": 1, "author_sha256": "a", "text_sha256": "t", "sent_at": "x",
                 "colour": "blue"},
    )  # fmt: skip
    assert payload_problems(entry) == [
        "entry 1 (outbound): OutboundPayload lacks required 'origin'",
        "entry 1 (outbound): 'colour' is not declared by OutboundPayload",
    ]
