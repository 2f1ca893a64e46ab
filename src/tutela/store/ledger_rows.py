"""Rows that mirror ledger entries, checked against them: audit rows, decisions, case events and
referrals (proposer and decider against the review entries: four-eyes). Used by
:func:`tutela.store.ledger_verify.verify_ledger`; a deleted row is found by its orphaned entry.
"""

from __future__ import annotations

import json
from typing import Any, Literal, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from tutela.ledger import (
    AuditPayload,
    DecisionPayload,
    EntryKind,
    ReviewPayload,
    TamperError,
    canonical_json,
    sha256_hex,
)
from tutela.store.engine import Store
from tutela.store.models import LedgerEntryRow

__all__ = ["check_records"]

# -- rows that mirror ledger entries (audit log, decisions, case events, referrals) ------------
_REFERRAL_DECISIONS = ("approve_referral", "reject_referral")
_EVENTS = frozenset(
    ("dismiss", "watch", "propose_referral", "approve_referral", "reject_referral", "reveal",
     "purge", "reopen")
)  # fmt: skip
"""The case-event actions (``case_events.action``'s check constraint)."""
_AUDIT_FIELDS: tuple[Literal["actor", "action", "target"], ...] = ("actor", "action", "target")
"""``AuditPayload`` keys that mirror ``audit_log`` columns of the same name."""
_DecisionField = Literal["after_line", "action", "rule", "reason", "variant", "indicators"]
_DECISION_FIELDS: tuple[_DecisionField, ...] = (
    "after_line", "action", "rule", "reason", "variant", "indicators"
)  # fmt: skip
"""``DecisionPayload`` keys that mirror ``decisions`` columns of the same name (``risk``: apart)."""


def _row_mismatch(seq: int, what: str, field_name: str, expected: object, actual: object) -> None:
    raise TamperError(
        f"{what} {field_name} differs from its ledger entry (row edited)",
        seq=seq, expected=expected, actual=actual,
    )  # fmt: skip


def _first_unmirrored(s: Session, kind: str, start: int, last_seq: int, column: Any) -> int | None:
    """The first entry of ``kind`` in the range with no row pointing at it (a deleted row)."""
    has_row = select(column).where(column == LedgerEntryRow.seq).exists()
    return s.execute(
        select(LedgerEntryRow.seq)
        .where(LedgerEntryRow.kind == kind, LedgerEntryRow.seq.between(start, last_seq), ~has_row)
        .order_by(LedgerEntryRow.seq)
        .limit(1)
    ).scalar_one_or_none()


def check_records(store: Store, start: int, last_seq: int, wanted: set[int] | None) -> int:
    """Every audit row, decision, case event and referral against the ledger entry that records it,
    and every such entry against its row (a deleted row is found by its orphaned entry).

    The rows are what the dashboard, the workflow and exports read (``referral_ready`` reads the
    referral and audit tables); the entries are what the chain and the signed checkpoints cover.
    Decisions are limited to ``wanted`` conversations when given. Raises ``TamperError`` naming the
    entry; returns the number of rows checked.
    """
    from tutela.store.models import AuditLogRow, CaseEventRow, DecisionRow, ReferralRow

    checked = 0
    in_range = LedgerEntryRow.seq.between(start, last_seq)
    with store.session() as s:
        # audit rows
        q = (
            select(AuditLogRow, LedgerEntryRow.kind, LedgerEntryRow.payload)
            .outerjoin(LedgerEntryRow, LedgerEntryRow.seq == AuditLogRow.ledger_seq)
            .where((AuditLogRow.ledger_seq >= start) | AuditLogRow.ledger_seq.is_(None))
            .order_by(AuditLogRow.id)
        )
        for row, kind, payload_text in s.execute(q):
            what = f"audit row {row.id}"
            if row.ledger_seq is None or kind != EntryKind.AUDIT.value or row.ledger_seq > last_seq:
                raise TamperError(
                    f"{what} ({row.action}) has no audit entry in the ledger (row inserted)",
                    seq=row.ledger_seq, expected="an audit entry", actual=kind,
                )  # fmt: skip
            p = cast(AuditPayload, json.loads(payload_text))
            for name in _AUDIT_FIELDS:
                if p.get(name) != getattr(row, name):
                    _row_mismatch(row.ledger_seq, what, name, p.get(name), getattr(row, name))
            if canonical_json(p.get("details")) != canonical_json(row.details):
                _row_mismatch(row.ledger_seq, what, "details", p.get("details"), row.details)
            checked += 1
        orphan = _first_unmirrored(
            s, EntryKind.AUDIT.value, start, last_seq, AuditLogRow.ledger_seq
        )
        if orphan is not None:
            raise TamperError(
                "audit entry without its audit row (row deleted)", seq=orphan,
                expected="an audit_log row", actual=None,
            )  # fmt: skip

        # decisions
        dq = (
            select(
                DecisionRow,
                LedgerEntryRow.kind,
                LedgerEntryRow.conversation,
                LedgerEntryRow.payload,
            )
            .outerjoin(LedgerEntryRow, LedgerEntryRow.seq == DecisionRow.ledger_seq)
            .where(DecisionRow.ledger_seq >= start)
            .order_by(DecisionRow.ledger_seq)
        )
        if wanted is not None:
            dq = dq.where(DecisionRow.conversation_id.in_(sorted(wanted)))
        for dec, kind, conversation, payload_text in s.execute(dq):
            what = f"decision {dec.id}"
            if kind != EntryKind.DECISION.value or dec.ledger_seq > last_seq:
                raise TamperError(
                    f"{what} has no decision entry in the ledger (row inserted)",
                    seq=dec.ledger_seq, expected="a decision entry", actual=kind,
                )  # fmt: skip
            dp = cast(DecisionPayload, json.loads(payload_text))
            if conversation != dec.conversation_id:
                _row_mismatch(
                    dec.ledger_seq, what, "conversation", conversation, dec.conversation_id
                )
            for field in _DECISION_FIELDS:
                if dp.get(field) != getattr(dec, field):
                    _row_mismatch(dec.ledger_seq, what, field, dp.get(field), getattr(dec, field))
            try:
                same_risk = abs(float(dp.get("risk")) - float(dec.risk)) <= 5e-7
            except (TypeError, ValueError):
                same_risk = False
            if not same_risk:
                _row_mismatch(dec.ledger_seq, what, "risk", dp.get("risk"), dec.risk)
            checked += 1
        dec_orphan = select(LedgerEntryRow.seq).where(
            LedgerEntryRow.kind == EntryKind.DECISION.value,
            in_range,
            ~select(DecisionRow.id).where(DecisionRow.ledger_seq == LedgerEntryRow.seq).exists(),
        )
        if wanted is not None:
            dec_orphan = dec_orphan.where(LedgerEntryRow.conversation.in_(sorted(wanted)))
        orphan = s.execute(dec_orphan.order_by(LedgerEntryRow.seq).limit(1)).scalar_one_or_none()
        if orphan is not None:
            raise TamperError(
                "decision entry without its decision row (row deleted)", seq=orphan,
                expected="a decisions row", actual=None,
            )  # fmt: skip

        # review entries (case events) and the referrals they decide
        # ``ReviewPayload`` (``Recorder.append_entry`` may write other review payloads: ``.get``)
        reviews: dict[int, ReviewPayload] = {
            seq: json.loads(text)
            for seq, text in s.execute(
                select(LedgerEntryRow.seq, LedgerEntryRow.payload).where(
                    LedgerEntryRow.kind == EntryKind.REVIEW.value, in_range
                )
            )
        }
        seen: set[int] = set()
        for event in s.execute(select(CaseEventRow).order_by(CaseEventRow.id)).scalars():
            seq = event.details.get("review_seq") if isinstance(event.details, dict) else None
            if isinstance(seq, int) and 0 < seq < start:
                continue  # before an excerpt
            what = f"case event {event.id}"
            if not isinstance(seq, int) or (rp := reviews.get(seq)) is None:
                raise TamperError(
                    f"{what} ({event.action}) has no review entry in the ledger (row inserted)",
                    seq=seq if isinstance(seq, int) else None, expected="a review entry",
                    actual=None,
                )  # fmt: skip
            seen.add(seq)
            expected = {"case_id": event.case_id, "action": event.action, "actor": event.actor,
                        "note_sha256": sha256_hex(event.note.encode("utf-8"))}  # fmt: skip
            for key, actual in expected.items():
                if rp.get(key) != actual:
                    _row_mismatch(seq, what, key, rp.get(key), actual)
            checked += 1
        # a review entry of a case-event action always has its row (the workflow writes both);
        # other review entries (``Recorder.append_entry``) have none
        missing = sorted(
            seq for seq, rp in reviews.items() if seq not in seen and rp.get("action") in _EVENTS
        )
        if missing:
            raise TamperError(
                "review entry without its case event (row deleted)", seq=missing[0],
                expected="a case_events row", actual=None,
            )  # fmt: skip
        by_referral: dict[int, dict[str, ReviewPayload]] = {}
        for rp in reviews.values():
            ref_id = rp.get("referral_id")
            if isinstance(ref_id, int):
                by_referral.setdefault(ref_id, {})[str(rp.get("action"))] = rp
        for ref in s.execute(select(ReferralRow).order_by(ReferralRow.id)).scalars():
            facts = by_referral.get(ref.id, {})
            proposal = facts.get("propose_referral")
            if proposal is None and start == 1:  # an excerpt may begin after the proposal
                raise TamperError(
                    f"referral {ref.id} has no proposal in the ledger (row inserted)",
                    seq=None, expected="a propose_referral review entry", actual=None,
                )  # fmt: skip
            if not facts:
                continue  # proposed before the excerpt, or another case's
            if proposal is not None and proposal.get("actor_id") != ref.proposed_by:
                raise TamperError(
                    f"referral {ref.id} proposer differs from its ledger entry (row edited)",
                    seq=None, expected=proposal.get("actor_id"), actual=ref.proposed_by,
                )  # fmt: skip
            decision = next((facts[a] for a in _REFERRAL_DECISIONS if a in facts), None)
            if ref.status == "proposed":
                if decision is not None:
                    raise TamperError(
                        f"referral {ref.id} was decided in the ledger but reads 'proposed'",
                        seq=None, expected=decision.get("action"), actual=ref.status,
                    )  # fmt: skip
                continue
            want = "approve_referral" if ref.status == "approved" else "reject_referral"
            if decision is None or decision.get("action") != want:
                raise TamperError(
                    f"referral {ref.id} reads {ref.status!r} without that decision in the ledger "
                    "(row edited)",
                    seq=None,
                    expected=want,
                    actual=None if decision is None else decision["action"],
                )
            if decision.get("actor_id") != ref.decided_by or (
                ref.decided_by is not None and ref.decided_by == ref.proposed_by
            ):
                raise TamperError(
                    f"referral {ref.id} decider differs from its ledger entry or proposed it "
                    "(four-eyes)",
                    seq=None, expected=decision.get("actor_id"), actual=ref.decided_by,
                )  # fmt: skip
            checked += 1
    return checked
