"""The store contract, written once and run against every backend (eventsourcing's
``tests/persistence.py`` pattern). Subclasses provide the ``url`` fixture."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from tutela.domain import Attachment
from tutela.errors import InputError
from tutela.ledger import EntryKind, Signer, TamperError, sha256_hex, verify_chain
from tutela.store import (
    NotFoundError,
    Recorder,
    Store,
    StoreError,
    iter_checkpoints,
    iter_ledger,
    open_store,
    verify_store,
)

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


class Clock:
    """A deterministic clock advancing one millisecond per call."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now


def make_recorder(store: Store, signer: Signer, every: int = 5) -> Recorder:
    return Recorder(store, signer=signer, checkpoint_every=every, clock=Clock())


class StoreContract:
    @pytest.fixture
    def url(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    @pytest.fixture
    def store(self, url: str) -> Iterator[Store]:
        st = open_store(url)
        yield st
        st.close()

    @pytest.fixture
    def rec(self, store: Store, signer: Signer) -> Recorder:
        return make_recorder(store, signer)

    @staticmethod
    def conversation(rec: Recorder, contact: str = "contact-1", persona: str = "p-en-1") -> int:
        op = rec.ensure_demo_operation()
        cid = rec.get_or_create_contact("local", contact)
        conv = rec.open_conversation(
            operation_id=op.id,
            persona_id=persona,
            platform="local",
            account="persona@local",
            contact_id=cid,
            lang="en",
            started_at=T0,
        )
        return conv.id

    @staticmethod
    def inbound(rec: Recorder, conv: int, line: int, text_: str = "hello there") -> int:
        return rec.record_inbound(
            conversation_id=conv,
            author="contact-1",
            text=text_,
            wire=f"<msg>{text_}</msg>".encode(),
            received_at=T0 + timedelta(seconds=line),
            contact_line=line,
        ).id

    # -- schema ----------------------------------------------------------------------------
    def test_open_twice_is_idempotent(self, url: str) -> None:
        from alembic.script import ScriptDirectory

        from tutela.store.engine import alembic_config

        open_store(url).close()
        st = open_store(url)
        head = ScriptDirectory.from_config(alembic_config(st.engine)).get_current_head()
        with st.session() as s:
            assert s.execute(text("SELECT version_num FROM alembic_version")).scalar() == head
        st.close()

    # -- messages and ledger ---------------------------------------------------------------
    def test_inbound_outbound_round_trip(self, rec: Recorder) -> None:
        conv = self.conversation(rec)
        m = rec.record_inbound(
            conversation_id=conv,
            author="contact-1",
            text="hi, how are you?",
            wire=b"<message>hi</message>",
            received_at=T0,
            platform_msg_id="abc",
            attachments=(Attachment(kind="image", mime="image/png", size=10),),
            contact_line=1,
        )
        o = rec.record_outbound(conversation_id=conv, text="fine", origin="bank:x", sent_at=T0)
        msgs = rec.conversation_messages(conv)
        assert [(x.seq, x.direction, x.contact_line) for x in msgs] == [
            (1, "in", 1),
            (2, "out", None),
        ]
        assert msgs[0] == m
        assert msgs[1] == o
        assert msgs[0].at == T0 and msgs[0].at.tzinfo is not None
        assert msgs[0].attachments == (Attachment(kind="image", mime="image/png", size=10),)
        assert msgs[1].author == "p-en-1"

    def test_ledger_payload_holds_hashes_not_texts(self, store: Store, rec: Recorder) -> None:
        conv = self.conversation(rec)
        m_id = self.inbound(rec, conv, 1, "a synthetic line")
        msg = rec.conversation_messages(conv)[0]
        assert msg.id == m_id
        entry = next(e for e in iter_ledger(store) if e.seq == msg.ledger_seq)
        assert entry.kind is EntryKind.INBOUND and entry.conversation == conv
        assert entry.payload is not None
        assert entry.payload["text_sha256"] == sha256_hex(b"a synthetic line")
        assert "a synthetic line" not in (entry.payload_json() or "")

    def test_decision_and_summary(self, rec: Recorder) -> None:
        conv = self.conversation(rec)
        m1 = self.inbound(rec, conv, 1)
        m2 = self.inbound(rec, conv, 2)
        rec.record_decision(
            conversation_id=conv,
            message_id=m1,
            after_line=1,
            action="continue",
            risk=0.1,
            indicators=[],
            rule="none",
            reason="",
            variant=None,
        )
        d = rec.record_decision(
            conversation_id=conv,
            message_id=m2,
            after_line=2,
            action="deter",
            risk=0.91,
            indicators=["en.age_probe.how_old"],
            rule="ladder.first",
            reason="r",
            variant="v1",
        )
        assert d.risk == pytest.approx(0.91) and d.indicators == ("en.age_probe.how_old",)
        assert [x.action for x in rec.conversation_decisions(conv)] == ["continue", "deter"]
        cid = rec.conversation(conv).contact_id
        summary = rec.contact_summary(cid)
        assert (summary.conversations, summary.personas, summary.platforms) == (
            1,
            ("p-en-1",),
            ("local",),
        )
        assert summary.warnings == 1
        assert summary.last_warning_at == d.created_at

    def test_decision_for_message_of_other_conversation_refused(self, rec: Recorder) -> None:
        a = self.conversation(rec)
        b = self.conversation(rec, contact="contact-2")
        m = self.inbound(rec, a, 1)
        with pytest.raises(NotFoundError):
            rec.record_decision(
                conversation_id=b,
                message_id=m,
                after_line=1,
                action="deter",
                risk=0.5,
                indicators=[],
                rule="r",
                reason="",
                variant=None,
            )

    def test_bad_arguments_write_nothing(self, store: Store, rec: Recorder) -> None:
        conv = self.conversation(rec)
        before = sum(1 for _ in iter_ledger(store))
        with pytest.raises(InputError):
            rec.record_decision(
                conversation_id=conv,
                message_id=1,
                after_line=1,
                action="deter",
                risk=1.5,
                indicators=[],
                rule="r",
                reason="",
                variant=None,
            )
        with pytest.raises(InputError):
            rec.record_audit("alice", "viewed", "case:1", {"score": 0.5})
        with pytest.raises(InputError):
            rec.record_inbound(
                conversation_id=conv,
                author="x",
                text="y",
                wire=b"",
                contact_line=1,
                received_at=T0.replace(tzinfo=None),
            )
        with pytest.raises(NotFoundError):
            rec.record_outbound(conversation_id=999, text="x", origin="o", sent_at=T0)
        assert sum(1 for _ in iter_ledger(store)) == before

    def test_duplicate_contact_line_fails_atomically(self, store: Store, rec: Recorder) -> None:
        conv = self.conversation(rec)
        self.inbound(rec, conv, 1)
        before = [e.seq for e in iter_ledger(store)]
        with pytest.raises(StoreError):
            self.inbound(rec, conv, 1)
        assert [e.seq for e in iter_ledger(store)] == before
        assert len(rec.conversation_messages(conv)) == 1

    def test_chain_and_checkpoints_verify(
        self, store: Store, rec: Recorder, signer: Signer
    ) -> None:
        conv = self.conversation(rec)
        for i in range(1, 13):
            self.inbound(rec, conv, i)
        cp = rec.checkpoint()
        assert cp is not None
        cps = iter_checkpoints(store)
        assert [c.seq for c in cps][:-1] == [5, 10, 15][: len(cps) - 1]
        assert cps[-1] == cp
        n = verify_store(store, signer.public_key, require_signed_head=True)
        assert n == cp.seq
        verify_chain(list(iter_ledger(store)), cps, signer.public_key_bytes())

    def test_ledger_rows_are_append_only(self, store: Store, rec: Recorder) -> None:
        conv = self.conversation(rec)
        self.inbound(rec, conv, 1)
        rec.checkpoint()
        for stmt in (
            "UPDATE ledger_entries SET kind = 'audit' WHERE seq = 1",
            "DELETE FROM ledger_entries WHERE seq = 1",
            "UPDATE checkpoints SET seq = 1",
            "DELETE FROM checkpoints",
        ):
            with pytest.raises(StoreError, match="append-only"), store.session() as s:
                s.execute(text(stmt))

    def test_evidential_rows_are_append_only(self, store: Store, rec: Recorder) -> None:
        """Security issue item 7: direct SQL may not edit or delete decisions, audit rows, case
        events, referral proposals or message rows, nor move the ledger head (triggers of
        migration 0004); a retention purge and one referral decision stay possible."""
        from tutela.store.models import (
            CaseEventRow,
            CaseRow,
            ContactRow,
            ConversationRow,
            ReferralRow,
            UserRow,
        )

        conv = self.conversation(rec)
        mid = self.inbound(rec, conv, 1)
        rec.record_decision(
            conversation_id=conv, message_id=mid, after_line=1, action="continue", risk=0.1,
            indicators=[], rule="r", reason="why", variant=None,
        )  # fmt: skip
        rec.record_audit("ana", "reveal", "case:1", {"k": "v"})
        with store.session() as s:
            contact_id = s.get(ConversationRow, conv).contact_id
            assert s.get(ContactRow, contact_id) is not None
            case = CaseRow(contact_id=contact_id, status="open", risk=0.5, opened_at=T0,
                           updated_at=T0)  # fmt: skip
            s.add(case)
            s.flush()
            s.add(CaseEventRow(case_id=case.id, at=T0, actor="ana", action="watch", note="n",
                               details={}))  # fmt: skip
            ana = UserRow(name="ana", role="analyst", password_hash="x", active=True,
                          created_at=T0)  # fmt: skip
            sue = UserRow(name="sue", role="supervisor", password_hash="x", active=True,
                          created_at=T0)  # fmt: skip
            s.add_all([ana, sue])
            s.flush()
            s.add(ReferralRow(case_id=case.id, status="proposed", proposed_by=ana.id,
                              proposed_at=T0, note="grounds"))  # fmt: skip
            ids = {"ana": ana.id, "sue": sue.id}
        refused = (
            "UPDATE decisions SET action = 'none'",
            "DELETE FROM decisions",
            "UPDATE audit_log SET actor = 'someone else'",
            "DELETE FROM audit_log",
            "UPDATE case_events SET note = 'rewritten'",
            "DELETE FROM case_events",
            "UPDATE referrals SET note = 'other grounds'",
            "DELETE FROM referrals",
            "UPDATE messages SET author = 'another contact'",
            "DELETE FROM messages",
            "UPDATE ledger_head SET seq = seq - 1",
            "DELETE FROM ledger_head",
        )
        for stmt in refused:
            with (
                pytest.raises(StoreError, match=r"append-only|fixed|forward"),
                store.session() as s,
            ):
                s.execute(text(stmt))
        for decider in ("NULL", str(ids["ana"])):  # no decider, or the proposer (four-eyes)
            with pytest.raises(StoreError, match="decided once"), store.session() as s:
                s.execute(
                    text(
                        "UPDATE referrals SET status = 'approved', decided_at = proposed_at, "
                        f"decided_by = {decider}"
                    )
                )
        with store.session() as s:  # one decision by someone else is allowed...
            ref = s.execute(select(ReferralRow)).scalar_one()
            ref.status, ref.decided_at, ref.decision_note = "approved", T0, "ok"
            ref.decided_by = ids["sue"]
        with pytest.raises(StoreError, match="decided once"), store.session() as s:
            s.execute(text("UPDATE referrals SET status = 'rejected'"))  # ...but only one
        assert rec.purge_messages([mid], actor="retention", reason="expired") is not None

    def test_edited_message_text_is_detected(
        self, store: Store, rec: Recorder, signer: Signer
    ) -> None:
        conv = self.conversation(rec)
        self.inbound(rec, conv, 1, "original words")
        with pytest.raises(StoreError, match="append-only"), store.session() as s:
            s.execute(text("UPDATE messages SET text = 'other words'"))
        # An attacker with direct SQL drops the guard first: the chain still catches the edit.
        with store.session() as s:
            if store.engine.dialect.name == "sqlite":
                s.execute(text("DROP TRIGGER messages_guard_update"))
            else:
                s.execute(text("DROP TRIGGER messages_guard_update ON messages"))
            s.execute(text("UPDATE messages SET text = 'other words'"))
        with pytest.raises(TamperError, match="text_sha256"):
            verify_store(store, signer.public_key)

    def test_purge_deletes_text_and_chain_still_verifies(
        self, store: Store, rec: Recorder, signer: Signer
    ) -> None:
        conv = self.conversation(rec)
        ids = [self.inbound(rec, conv, i) for i in (1, 2)]
        entry = rec.purge_messages(ids[:1], actor="retention", reason="expired")
        assert entry is not None and entry.kind is EntryKind.RETENTION_PURGE
        assert entry.payload is not None
        assert [dict(m) for m in entry.payload["messages"]] == [
            {"conversation": conv, "message_seq": 1}
        ]
        msgs = rec.conversation_messages(conv)
        assert msgs[0].text is None and msgs[0].wire is None and msgs[0].purged_at is not None
        assert msgs[1].text == "hello there"
        assert rec.purge_messages(ids[:1], actor="retention", reason="again") is None
        verify_store(store, signer.public_key)

    # -- conversations ---------------------------------------------------------------------
    def test_open_and_end_conversations(self, rec: Recorder) -> None:
        a = self.conversation(rec)
        b = self.conversation(rec, contact="contact-2")
        assert [c.id for c in rec.open_conversations()] == [a, b]
        ended = rec.end_conversation(a, ended_at=T0 + timedelta(hours=1), reason="contact left")
        assert ended.ended_at == T0 + timedelta(hours=1)
        assert [c.id for c in rec.open_conversations()] == [b]
        rec.save_state(b, {"turn": 3, "slots": ["age"]})
        assert rec.conversation(b).state == {"turn": 3, "slots": ["age"]}

    def test_demo_operation_is_not_evidential_and_unique(self, rec: Recorder) -> None:
        a = rec.ensure_demo_operation()
        assert a.evidential is False
        assert rec.ensure_demo_operation().id == a.id

    # -- contacts and identities -----------------------------------------------------------
    def test_get_or_create_contact_is_stable(self, rec: Recorder) -> None:
        a = rec.get_or_create_contact("xmpp", "someone@example.org")
        assert rec.get_or_create_contact("xmpp", "someone@example.org") == a
        assert rec.get_or_create_contact("irc", "someone@example.org") != a

    def test_link_identity_idempotent(self, rec: Recorder) -> None:
        a = rec.get_or_create_contact("xmpp", "a@example.org")
        first = rec.link_identity(a, "any", "email", "a@example.org", None)
        assert first and first.created and first.contact_id == a
        again = rec.link_identity(a, "any", "email", "a@example.org", None)
        assert not again and again.contact_id == a

    def test_link_identity_merges_into_older_contact(self, rec: Recorder) -> None:
        a = rec.get_or_create_contact("xmpp", "a@example.org")
        conv_a = self.conversation(rec, contact="ca")
        b = rec.get_or_create_contact("irc", "nick_b")
        case_b = rec.get_or_create_case(b)
        rec.link_identity(a, "any", "payment_ref", "PAY-123", None)
        result = rec.link_identity(b, "any", "payment_ref", "PAY-123", None)
        assert result and result.contact_id == a and result.merged_from == b
        assert rec.resolve_contact(b) == a
        assert rec.get_or_create_contact("irc", "nick_b") == a
        assert rec.get_or_create_case(b).id == case_b.id  # moved to the survivor
        assert rec.get_case(case_b.id).contact_id == a
        assert conv_a > 0

    def test_merge_keeps_both_cases(self, rec: Recorder) -> None:
        a = rec.get_or_create_contact("xmpp", "a@example.org")
        b = rec.get_or_create_contact("irc", "nick_b")
        case_a = rec.get_or_create_case(a)
        case_b = rec.get_or_create_case(b)
        rec.link_identity(b, "any", "phone", "+000", None)
        rec.link_identity(a, "any", "phone", "+000", None)
        assert rec.get_or_create_case(b).id == case_a.id
        assert rec.get_case(case_b.id).status == "merged"

    def test_summary_counts_across_personas_and_platforms(self, rec: Recorder) -> None:
        self.conversation(rec, contact="same", persona="p1")
        c2 = self.conversation(rec, contact="same", persona="p2")
        s = rec.contact_summary(rec.conversation(c2).contact_id)
        assert s.conversations == 2 and s.personas == ("p1", "p2") and s.warnings == 0
        assert s.last_warning_at is None

    def test_unknown_identity_kind_refused(self, rec: Recorder) -> None:
        a = rec.get_or_create_contact("xmpp", "a@example.org")
        with pytest.raises(InputError):
            rec.link_identity(a, "any", "address", "x", None)

    def test_case_update_is_audited(self, store: Store, rec: Recorder) -> None:
        a = rec.get_or_create_contact("xmpp", "a@example.org")
        case = rec.get_or_create_case(a)
        updated = rec.update_case(case.id, actor="alice", status="review", risk=0.7)
        assert (updated.status, updated.risk) == ("review", 0.7)
        last = list(iter_ledger(store))[-1]
        assert last.kind is EntryKind.AUDIT and last.payload is not None
        assert last.payload["details"]["risk"] == "0.700000"

    def test_room_traffic_is_counted(self, rec: Recorder) -> None:
        assert rec.count_room_message("irc", "persona", "#room") == 1
        assert rec.count_room_message("irc", "persona", "#room", 4) == 5

    def test_audit_and_generic_entries(self, store: Store, rec: Recorder) -> None:
        audit_id = rec.record_audit("alice", "login", "user:alice", {"ip_sha256": "x"})
        assert audit_id > 0
        e = rec.append_entry("review", None, {"case": 1, "outcome": "approved"})
        assert e.kind is EntryKind.REVIEW
        with pytest.raises(InputError):
            rec.append_entry("inbound", None, {})
        assert [x.kind for x in iter_ledger(store)][-2:] == [EntryKind.AUDIT, EntryKind.REVIEW]

    def test_checkpoint_without_signer_is_an_error(self, store: Store) -> None:
        with pytest.raises(StoreError):
            Recorder(store).checkpoint()
        assert Recorder(store, signer=Signer.generate()).checkpoint() is None  # empty ledger
