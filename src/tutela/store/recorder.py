"""The write API of the store: every method commits ONE transaction that writes its rows AND the
ledger entry that records them (or neither).

What enters the ledger (see ``tutela.ledger.entry``): personal content — message texts, wire
bytes, authors, identity values — only as SHA-256 hex (``*_sha256``), so a retention purge can
delete the content while the chain still verifies; floats never (risk as a 6-decimal string).
Messages and decisions are referred to by ``(conversation, message_seq)``, not by database ids.

Identity rule (``link_identity``): an identifier ``(platform, kind, value)`` belongs to at most one
contact. Linking it to contact A when it already belongs to contact B means A and B are the same
person: the two are merged into the *older* contact (smaller id), which keeps every identity and
conversation of both; the absorbed contact keeps its row with ``merged_into`` set, its case moves to
the survivor if the survivor has none, else is marked ``merged``. Every merge is audited.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from tutela.domain import Action, Attachment
from tutela.errors import InputError
from tutela.ledger import (
    Checkpoint,
    DecisionPayload,
    EntryKind,
    InboundPayload,
    KeyRotatedPayload,
    LedgerEntry,
    OutboundPayload,
    RetentionPurgePayload,
    Signer,
    canonical_json,
    format_instant,
    format_risk,
    sha256_hex,
)
from tutela.store import ledger
from tutela.store._base import (
    DEMO_AUTHORISATION_REF,
    IDENTITY_KINDS,
    WARNING_ACTIONS,
    RecorderBase,
    _attachment_dict,
    _check_aware,
    _inserted_id,
    _sha,
)
from tutela.store._contacts import ContactsMixin
from tutela.store._conversations import ConversationsMixin
from tutela.store.errors import NotFoundError, StoreError
from tutela.store.models import (
    ContactRow,
    ConversationRow,
    DecisionRow,
    MessageRow,
)
from tutela.store.records import (
    DecisionRecord,
    MessageRecord,
)

# Hot-path statements, built once.
_INSERT_DECISION = cast(Table, DecisionRow.__table__).insert()  # typed as any FromClause
_MESSAGE_REF = select(MessageRow.conversation_id, MessageRow.seq).where(
    MessageRow.id == bindparam("mid")
)
_TOUCH_CONTACT = (
    update(ContactRow)
    .where(
        ContactRow.id
        == select(ConversationRow.contact_id)
        .where(ConversationRow.id == bindparam("cid"))
        .scalar_subquery(),
        ContactRow.last_seen < bindparam("seen"),
    )
    .values(last_seen=bindparam("seen"))
)

__all__ = ["DEMO_AUTHORISATION_REF", "IDENTITY_KINDS", "WARNING_ACTIONS", "Recorder"]


class Recorder(ContactsMixin, ConversationsMixin, RecorderBase):
    """Transactional writes and the reads the live engine needs.

    Parameters
    ----------
    store: an open ``Store``.
    signer: signs a checkpoint every ``checkpoint_every`` entries and on ``checkpoint()``;
        ``None`` disables signing (entries are still chained).
    checkpoint_every: entries between automatic checkpoints (default 100; 0 disables them).
    clock: source of "now" for ledger ``at`` and ``created_at`` (aware UTC); default wall clock.

    Every write method raises ``InputError`` for bad arguments, ``NotFoundError`` for a missing
    referenced row and ``StoreError`` for other database failures (nothing is written then).
    """

    # -- messages ----------------------------------------------------------------------------
    def record_inbound(
        self,
        *,
        conversation_id: int,
        author: str,
        text: str,
        wire: bytes,
        received_at: datetime,
        platform_msg_id: str | None = None,
        attachments: Iterable[Attachment] = (),
        contact_line: int,
        sent_at: datetime | None = None,
        sent_by: str | None = None,
        answer: bool = True,
    ) -> MessageRecord:
        """Durably record a message addressed to a persona; returns after the commit.

        ``wire``: the raw bytes as received (stanza, IRC line...); ``contact_line``: 1-based
        number of this contact line in the conversation (unique per conversation);
        ``attachments``: metadata only; ``received_at``: when Tutela received it (the record's
        ``at``); ``sent_at``: when the platform says it was sent (aware; XMPP XEP-0203 delay
        stamp, Matrix ``origin_server_ts``), ``None`` when it says nothing; ``sent_by``: who
        made that claim when the platform names it (the stamp's XEP-0203 ``from``), only with
        ``sent_at``; ``answer``: ``False`` for a message that is recorded and decided but must
        never be answered automatically (``InboundMessage.answer``), honoured on restart.
        Ledger: ``inbound`` with ``message_seq``, ``contact_line``, ``author_sha256``,
        ``text_sha256``, ``wire_sha256``, ``received_at``, ``platform_msg_id``, the attachments'
        metadata and, only when given, ``sent_at``, ``sent_by`` and ``answer: false`` (so
        entries of other messages, and every entry written before migration 0006, keep their
        exact payload).
        """
        _check_aware("received_at", received_at)
        if sent_at is not None:
            _check_aware("sent_at", sent_at)
        if sent_by is not None and (sent_at is None or not isinstance(sent_by, str)):
            raise InputError("sent_by must be a string, and only given with sent_at")
        if not isinstance(answer, bool):
            raise InputError(f"answer must be a bool, got {answer!r}")
        if not isinstance(wire, bytes | bytearray):
            raise InputError("wire must be bytes")
        if isinstance(contact_line, bool) or not isinstance(contact_line, int) or contact_line < 1:
            raise InputError(f"contact_line must be a positive integer, got {contact_line!r}")
        atts = [_attachment_dict(a) for a in attachments]

        def _work(s: Session) -> MessageRecord:
            self._persona_of(s, conversation_id)  # NotFoundError for an unknown conversation
            seq = self._next_seq(s, conversation_id)
            payload: InboundPayload = {
                "message_seq": seq,
                "contact_line": contact_line,
                "author_sha256": _sha(author),
                "text_sha256": _sha(text),
                "wire_sha256": sha256_hex(bytes(wire)),
                "received_at": format_instant(received_at),
                "platform_msg_id": platform_msg_id,
                "attachments": atts,
            }
            if sent_at is not None:
                payload["sent_at"] = format_instant(sent_at)
            if sent_by is not None:
                payload["sent_by"] = sent_by
            if not answer:
                payload["answer"] = False
            entry = self._append(s, EntryKind.INBOUND, conversation_id, payload)
            record = MessageRecord(
                id=0,
                conversation_id=conversation_id,
                seq=seq,
                direction="in",
                contact_line=contact_line,
                author=author,
                text=text,
                at=received_at,
                platform_msg_id=platform_msg_id,
                attachments=tuple(Attachment(**a) for a in atts),
                wire=bytes(wire),
                ledger_seq=entry.seq,
                sent_at=sent_at,
                sent_by=sent_by,
                answer=answer,
            )
            record = self._insert_message(s, record, atts)
            s.connection().execute(_TOUCH_CONTACT, {"cid": conversation_id, "seen": received_at})
            return record

        return self.store.write(_work)

    def record_outbound(
        self,
        *,
        conversation_id: int,
        text: str,
        origin: str,
        sent_at: datetime,
        wire: bytes | None = None,
        platform_msg_id: str | None = None,
    ) -> MessageRecord:
        """Record a message the persona's account sent (``origin``: what produced it, e.g.
        ``"bank:en.greeting.3"``, ``"deterrence:v2"``, ``"human:alice"``, or
        ``"human:device:RESOURCE"`` for a line a human typed on another device of the account,
        reported by an XMPP sent carbon). Author = persona id.

        ``wire`` and ``platform_msg_id``: the platform's copy of a line Tutela did not send itself
        (the carbon stanza and its id); ``None`` for what the engine sent. Ledger: ``outbound``
        with ``message_seq``, ``author_sha256``, ``text_sha256``, ``origin``, ``sent_at`` and,
        only when given, ``wire_sha256`` and ``platform_msg_id`` (earlier entries unchanged)."""
        _check_aware("sent_at", sent_at)
        if wire is not None and not isinstance(wire, bytes | bytearray):
            raise InputError("wire must be bytes")

        def _work(s: Session) -> MessageRecord:
            persona_id = self._persona_of(s, conversation_id)
            seq = self._next_seq(s, conversation_id)
            payload: OutboundPayload = {
                "message_seq": seq,
                "author_sha256": _sha(persona_id),
                "text_sha256": _sha(text),
                "origin": origin,
                "sent_at": format_instant(sent_at),
            }
            if wire is not None:
                payload["wire_sha256"] = sha256_hex(bytes(wire))
            if platform_msg_id is not None:
                payload["platform_msg_id"] = platform_msg_id
            entry = self._append(s, EntryKind.OUTBOUND, conversation_id, payload)
            record = MessageRecord(
                id=0,
                conversation_id=conversation_id,
                seq=seq,
                direction="out",
                contact_line=None,
                author=persona_id,
                text=text,
                at=sent_at,
                origin=origin,
                platform_msg_id=platform_msg_id,
                wire=None if wire is None else bytes(wire),
                ledger_seq=entry.seq,
            )
            return self._insert_message(s, record, [])

        return self.store.write(_work)

    def find_message(
        self,
        *,
        platform: str,
        account: str,
        platform_msg_id: str,
        direction: str = "in",
        author: str | None = None,
        text: str | None = None,
        attachments: Iterable[Attachment] | None = None,
    ) -> MessageRecord | None:
        """The first recorded message with ``platform_msg_id`` in any conversation of the
        persona account ``(platform, account)`` (``direction`` ``"in"`` or ``"out"``; by
        ``author``, with exactly ``text`` and exactly the attachment metadata ``attachments``
        (same items, same order) when given; a purged message has neither), or ``None``. The
        engine's durable de-duplication: a message the platform delivers again (after a
        reconnection, a restart, an offline replay) is found here and not recorded twice.
        Uses the index of migration 0006."""
        if direction not in ("in", "out"):
            raise InputError(f"direction must be 'in' or 'out', got {direction!r}")
        q = (
            select(MessageRow)
            .join(ConversationRow, ConversationRow.id == MessageRow.conversation_id)
            .where(
                MessageRow.platform_msg_id == platform_msg_id,
                MessageRow.direction == direction,
                ConversationRow.platform == platform,
                ConversationRow.account == account,
            )
            .order_by(MessageRow.id)
        )
        if author is not None:
            q = q.where(MessageRow.author == author)
        if text is not None:
            q = q.where(MessageRow.text == text)
        wanted = None if attachments is None else [_attachment_dict(a) for a in attachments]
        if wanted is None:
            q = q.limit(1)
        with self.store.session() as s:
            for row in s.execute(q).scalars():
                if wanted is None or (row.purged_at is None and list(row.attachments) == wanted):
                    return MessageRecord.from_row(row)
            return None

    def record_decision(
        self,
        *,
        conversation_id: int,
        message_id: int,
        after_line: int,
        action: Action | str,
        risk: float,
        indicators: Sequence[str],
        rule: str,
        reason: str,
        variant: str | None,
        line_indicators: Sequence[str] | None = None,
    ) -> DecisionRecord:
        """Record a policy decision taken after inbound message ``message_id``.

        Ledger: ``decision`` with ``message_seq``, ``after_line``, ``action``, ``risk`` (string,
        6 decimals), ``indicators``, ``rule``, ``reason``, ``variant``. ``line_indicators``: the
        ids the decided line raised itself, stored with the row only (a display aid, not in the
        ledger payload; ``None``: not known).
        """
        try:
            action_value = Action(action).value
        except ValueError as e:
            raise InputError(f"unknown action {action!r}") from e
        risk_text = format_risk(risk)
        inds = [str(i) for i in indicators]
        own = None if line_indicators is None else [str(i) for i in line_indicators]

        def _work(s: Session) -> DecisionRecord:
            msg = s.connection().execute(_MESSAGE_REF, {"mid": message_id}).one_or_none()
            if msg is None or msg.conversation_id != conversation_id:
                raise NotFoundError(
                    f"message {message_id} does not exist in conversation {conversation_id}"
                )
            now = self._now()
            payload: DecisionPayload = {
                "message_seq": msg.seq,
                "after_line": after_line,
                "action": action_value,
                "risk": risk_text,
                "indicators": inds,
                "rule": rule,
                "reason": reason,
                "variant": variant,
            }
            entry = self._append(s, EntryKind.DECISION, conversation_id, payload)
            res = s.connection().execute(
                _INSERT_DECISION,
                {
                    "conversation_id": conversation_id,
                    "message_id": message_id,
                    "after_line": after_line,
                    "action": action_value,
                    "risk": float(risk),
                    "indicators": inds,
                    "rule": rule,
                    "reason": reason,
                    "variant": variant,
                    "created_at": now,
                    "ledger_seq": entry.seq,
                    "line_indicators": own,
                },
            )
            return DecisionRecord(
                id=_inserted_id(res),
                conversation_id=conversation_id,
                message_id=message_id,
                after_line=after_line,
                action=action_value,
                risk=float(risk),
                indicators=tuple(inds),
                rule=rule,
                reason=reason,
                variant=variant,
                created_at=now,
                ledger_seq=entry.seq,
                line_indicators=None if own is None else tuple(own),
            )

        return self.store.write(_work)

    def record_audit(self, actor: str, action: str, target: str, details: Mapping[str, Any]) -> int:
        """Append an audit-log row and its ``audit`` ledger entry; returns the row id.

        ``details`` must be hashable JSON (no floats; ``InputError`` otherwise).
        """

        def _work(s: Session) -> int:
            return self._audit(s, actor, action, target, details).id

        return self.store.write(_work)

    def append_entry(
        self, kind: EntryKind | str, conversation: int | None, payload: Mapping[str, Any]
    ) -> LedgerEntry:
        """Append a ledger entry that has no row of its own (``review``, ``export``...)."""
        try:
            k = EntryKind(kind)
        except ValueError as e:
            raise InputError(f"unknown entry kind {kind!r}") from e
        if k in (EntryKind.INBOUND, EntryKind.OUTBOUND, EntryKind.DECISION):
            raise InputError(f"use the record_* method for {k.value!r} entries")
        canonical_json(payload)

        def _work(s: Session) -> LedgerEntry:
            return self._append(s, k, conversation, payload)

        return self.store.write(_work)

    def checkpoint(self) -> Checkpoint | None:
        """Sign the current ledger head now; ``None`` when the ledger is empty.

        Raises ``StoreError`` when the recorder has no signer.
        """
        signer = self.signer
        if signer is None:
            raise StoreError("no signer configured: cannot checkpoint the ledger")

        def _work(s: Session) -> Checkpoint | None:
            return ledger.sign_head(s, signer, self._now())

        return self.store.write(_work)

    def rotate_key(self, new_signer: Signer, *, actor: str, reason: str = "") -> LedgerEntry:
        """Record a signing-key rotation and continue with ``new_signer``.

        One transaction appends an ``operation`` entry ``{"event": "key_rotated",
        old_fingerprint, new_fingerprint, old_public_key, new_public_key (raw, hex),
        handover_signature (the old key's, ``Signer.sign_handover``), actor, reason}`` and
        signs a checkpoint over it with the old key and one with the new key, so verifiers
        (``ledger_verify.verify_ledger``) link the two keys either way. Raises ``StoreError``
        without a current signer, ``InputError`` when the new key is the current one.
        """
        old = self.signer
        if old is None:
            raise StoreError("no signer configured: nothing to rotate from")
        if new_signer.fingerprint() == old.fingerprint():
            raise InputError("the new signing key is the current key")
        payload: KeyRotatedPayload = {
            "event": ledger.KEY_ROTATED,
            "old_fingerprint": old.fingerprint(),
            "new_fingerprint": new_signer.fingerprint(),
            "old_public_key": old.public_key_bytes().hex(),
            "new_public_key": new_signer.public_key_bytes().hex(),
            "handover_signature": old.sign_handover(new_signer.public_key),
            "actor": actor,
            "reason": reason,
        }

        def _work(s: Session) -> LedgerEntry:
            now = self._now()
            entry = ledger.append(
                s, kind=EntryKind.OPERATION, conversation=None, payload=payload, at=now
            )
            ledger.sign_head(s, old, now)
            ledger.sign_head(s, new_signer, now)
            return entry

        entry = self.store.write(_work)
        self.signer = new_signer
        return entry

    def purge_messages(
        self,
        message_ids: Iterable[int],
        *,
        actor: str,
        reason: str,
        unless: Callable[[Session], bool] | None = None,
    ) -> LedgerEntry | None:
        """Delete the text, wire bytes and attachment metadata of messages (retention) and append a
        ``retention_purge`` tombstone naming them by ``(conversation, message_seq)``. The ledger
        is untouched otherwise and keeps verifying. Already purged messages are skipped;
        returns ``None`` when there was nothing to purge. ``unless``: run first, inside the
        purge's own transaction (a store query module's check, e.g. a legal hold:
        ``tutela.store.queries.holds.purge_unless_held``); when it returns True nothing is
        purged and ``None`` is returned."""
        ids = sorted(set(message_ids))

        def _work(s: Session) -> LedgerEntry | None:
            if unless is not None and unless(s):
                return None
            rows = (
                s.execute(
                    select(MessageRow)
                    .where(MessageRow.id.in_(ids), MessageRow.purged_at.is_(None))
                    .order_by(MessageRow.conversation_id, MessageRow.seq)
                )
                .scalars()
                .all()
            )
            if not rows:
                return None
            now = self._now()
            payload: RetentionPurgePayload = {
                "actor": actor,
                "reason": reason,
                "messages": [
                    {"conversation": r.conversation_id, "message_seq": r.seq} for r in rows
                ],
            }
            entry = self._append(s, EntryKind.RETENTION_PURGE, None, payload)
            for r in rows:
                r.text = None
                r.wire = None
                r.attachments = []
                r.purged_at = now
            s.flush()
            return entry

        return self.store.write(_work)
