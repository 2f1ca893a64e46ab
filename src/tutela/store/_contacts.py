"""Contacts, identities, cases and room counters part of ``Recorder``; see ``recorder`` for
the identity merge rule."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tutela.errors import InputError
from tutela.ledger import format_risk
from tutela.store._base import (
    IDENTITY_KINDS,
    SYSTEM,
    RecorderBase,
    _check_aware,
    _sha,
)
from tutela.store.errors import NotFoundError, StoreError
from tutela.store.models import (
    CaseRow,
    ContactRow,
    ConversationRow,
    DecisionRow,
    IdentityRow,
    MessageRow,
    RoomCounterRow,
)
from tutela.store.queries.common import warning_clause
from tutela.store.records import (
    CaseRecord,
    ContactSummary,
    LinkResult,
)

__all__ = ["ContactsMixin"]


def _evidence(s: Session, message_id: int | None) -> dict[str, int] | None:
    """``{"message_id", "conversation", "message_seq"}`` of a stored message, else ``None``."""
    if message_id is None:
        return None
    row = s.get(MessageRow, message_id)
    if row is None:
        return None
    return {"message_id": message_id, "conversation": row.conversation_id, "message_seq": row.seq}


class ContactsMixin(RecorderBase):
    """Contacts, identity links and merges, cases, room counters."""

    # -- contacts, identities, cases ---------------------------------------------------------
    def get_or_create_contact(
        self, platform: str, platform_id: str, *, seen_at: datetime | None = None
    ) -> int:
        """The contact holding identity ``(platform, "platform_id", platform_id)``, created (with
        that identity, audited) when new. ``seen_at`` (default now) initialises first/last seen."""
        with self.store.session() as s:
            found = s.execute(
                select(IdentityRow.contact_id).where(
                    IdentityRow.platform == platform,
                    IdentityRow.kind == "platform_id",
                    IdentityRow.value == platform_id,
                )
            ).scalar_one_or_none()
        if found is not None:
            return int(found)
        seen = seen_at or self._now()
        _check_aware("seen_at", seen)

        def _work(s: Session) -> int:
            found = s.execute(  # re-check under the write lock
                select(IdentityRow.contact_id).where(
                    IdentityRow.platform == platform,
                    IdentityRow.kind == "platform_id",
                    IdentityRow.value == platform_id,
                )
            ).scalar_one_or_none()
            if found is not None:
                return int(found)
            now = self._now()
            contact = ContactRow(created_at=now, first_seen=seen, last_seen=seen)
            s.add(contact)
            s.flush()
            s.add(
                IdentityRow(
                    contact_id=contact.id,
                    platform=platform,
                    kind="platform_id",
                    value=platform_id,
                    source_message_id=None,
                    created_at=now,
                )
            )
            self._audit(
                s,
                SYSTEM,
                "contact_created",
                f"contact:{contact.id}",
                {"platform": platform, "kind": "platform_id", "value_sha256": _sha(platform_id)},
            )
            return contact.id

        try:
            return self.store.write(_work)
        except StoreError as e:
            if not isinstance(e.__cause__, IntegrityError):
                raise
            # another process created it between our check and insert (PostgreSQL, READ
            # COMMITTED): the retry's re-check finds it
            return self.store.write(_work)

    def link_identity(
        self,
        contact_id: int,
        platform: str,
        kind: str,
        value: str,
        source_message_id: int | None = None,
    ) -> LinkResult:
        """Link identifier ``(platform, kind, value)`` to a contact; idempotent.

        ``kind`` is one of ``IDENTITY_KINDS``. If the identifier already belongs to another
        contact the two contacts are merged (module docstring) and the survivor is returned in
        ``LinkResult.contact_id``. ``bool(result)`` is True when something changed.

        Audit details cite the evidence: ``source_message_id`` and ``source`` (``{"message_id",
        "conversation", "message_seq"}`` or ``None``) of the line that volunteered the identifier;
        a ``contacts_merged`` row also cites the identity's own first line
        (``identity_source_message_id``, ``identity_source``), so every link names both lines.
        """
        if kind not in IDENTITY_KINDS:
            raise InputError(f"identity kind must be one of {IDENTITY_KINDS}, got {kind!r}")
        try:

            def _work(s: Session) -> LinkResult:
                contact = self._resolve_contact(s, contact_id)
                existing = s.execute(
                    select(IdentityRow).where(
                        IdentityRow.platform == platform,
                        IdentityRow.kind == kind,
                        IdentityRow.value == value,
                    )
                ).scalar_one_or_none()
                details = {
                    "platform": platform,
                    "kind": kind,
                    "value_sha256": _sha(value),
                    "source_message_id": source_message_id,
                    "source": _evidence(s, source_message_id),
                }
                if existing is None:
                    s.add(
                        IdentityRow(
                            contact_id=contact.id,
                            platform=platform,
                            kind=kind,
                            value=value,
                            source_message_id=source_message_id,
                            created_at=self._now(),
                        )
                    )
                    s.flush()
                    self._audit(s, SYSTEM, "identity_linked", f"contact:{contact.id}", details)
                    return LinkResult(contact_id=contact.id, created=True)
                other = self._resolve_contact(s, existing.contact_id)
                if other.id == contact.id:
                    return LinkResult(contact_id=contact.id, created=False)
                survivor, absorbed = sorted((contact, other), key=lambda c: c.id)
                self._merge(s, survivor, absorbed)
                # both evidence lines: the one that first volunteered the identifier (the
                # identity's source) and the one that repeats it now
                first = existing.source_message_id
                self._audit(
                    s,
                    SYSTEM,
                    "contacts_merged",
                    f"contact:{survivor.id}",
                    {
                        **details,
                        "identity_source_message_id": first,
                        "identity_source": _evidence(s, first),
                        "survivor": survivor.id,
                        "absorbed": absorbed.id,
                    },
                )
                return LinkResult(contact_id=survivor.id, created=False, merged_from=absorbed.id)

            return self.store.write(_work)
        except StoreError as e:
            if isinstance(e.__cause__, IntegrityError) and source_message_id is not None:
                raise NotFoundError(f"message {source_message_id} does not exist") from e
            raise

    def _merge(self, s: Session, survivor: ContactRow, absorbed: ContactRow) -> None:
        for model in (IdentityRow, ConversationRow):
            s.execute(
                update(model).where(model.contact_id == absorbed.id).values(contact_id=survivor.id)
            )
        s.execute(
            update(ContactRow)
            .where(ContactRow.merged_into == absorbed.id)
            .values(merged_into=survivor.id)
        )
        absorbed.merged_into = survivor.id
        survivor.first_seen = min(survivor.first_seen, absorbed.first_seen)
        survivor.last_seen = max(survivor.last_seen, absorbed.last_seen)
        mine = s.execute(
            select(CaseRow).where(CaseRow.contact_id == survivor.id)
        ).scalar_one_or_none()
        theirs = s.execute(
            select(CaseRow).where(CaseRow.contact_id == absorbed.id)
        ).scalar_one_or_none()
        if theirs is not None:
            if mine is None:
                theirs.contact_id = survivor.id
            else:
                theirs.status = "merged"
            theirs.updated_at = self._now()
        s.flush()

    def resolve_contact(self, contact_id: int) -> int:
        """The surviving contact id after merges (``contact_id`` itself if never merged)."""
        with self.store.session() as s:
            return self._resolve_contact(s, contact_id).id

    def contact_summary(
        self, contact_id: int, *, exclude_conversation: int | None = None
    ) -> ContactSummary:
        """Conversations, personas, platforms and warnings of a contact (merges resolved).

        ``warnings`` counts decisions that sent a deterrence warning
        (:func:`tutela.domain.is_warning`; its SQL form is
        :func:`tutela.store.queries.research.warning_clause`); ``exclude_conversation`` leaves
        one conversation out of the warning count (the ladder wants warnings from *earlier*
        conversations).
        """
        with self.store.session() as s:
            cid = self._resolve_contact(s, contact_id).id
            convs = s.execute(
                select(ConversationRow.persona_id, ConversationRow.platform).where(
                    ConversationRow.contact_id == cid
                )
            ).all()
            conditions = [ConversationRow.contact_id == cid, warning_clause()]
            if exclude_conversation is not None:
                conditions.append(DecisionRow.conversation_id != exclude_conversation)
            n_warn, last = s.execute(
                select(func.count(DecisionRow.id), func.max(DecisionRow.created_at))
                .join(ConversationRow, ConversationRow.id == DecisionRow.conversation_id)
                .where(*conditions)
            ).one()
            return ContactSummary(
                contact_id=cid,
                conversations=len(convs),
                personas=tuple(sorted({p for p, _ in convs})),
                platforms=tuple(sorted({pl for _, pl in convs})),
                warnings=int(n_warn),
                last_warning_at=last,
            )

    def warnings_issued(self) -> int:
        """Deterrence warnings sent so far, all contacts (resumes the variant assignment);
        a warning is :func:`tutela.domain.is_warning`."""
        with self.store.session() as s:
            return int(
                s.execute(select(func.count(DecisionRow.id)).where(warning_clause())).scalar_one()
            )

    def get_or_create_case(self, contact_id: int) -> CaseRecord:
        """The case of a contact (merges resolved), opened (``status="open"``, audited) if none."""

        def _work(s: Session) -> CaseRecord:
            cid = self._resolve_contact(s, contact_id).id
            row = s.execute(select(CaseRow).where(CaseRow.contact_id == cid)).scalar_one_or_none()
            if row is None:
                now = self._now()
                row = CaseRow(
                    contact_id=cid, status="open", risk=0.0, opened_at=now, updated_at=now
                )
                s.add(row)
                s.flush()
                self._audit(s, SYSTEM, "case_opened", f"case:{row.id}", {"contact_id": cid})
            return CaseRecord.from_row(row)

        return self.store.write(_work)

    def update_case(
        self,
        case_id: int,
        *,
        actor: str,
        status: str | None = None,
        risk: float | None = None,
    ) -> CaseRecord:
        """Change a case's status and/or risk (audited; risk in the ledger as a string)."""
        risk_text = None if risk is None else format_risk(risk)

        def _work(s: Session) -> CaseRecord:
            row = s.get(CaseRow, case_id)
            if row is None:
                raise NotFoundError(f"case {case_id} does not exist")
            if status is not None:
                row.status = status
            if risk is not None:
                row.risk = float(risk)
            row.updated_at = self._now()
            self._audit(
                s, actor, "case_updated", f"case:{case_id}", {"status": status, "risk": risk_text}
            )
            s.flush()
            return CaseRecord.from_row(row)

        return self.store.write(_work)

    def get_case(self, case_id: int) -> CaseRecord:
        """One case; ``NotFoundError`` if absent."""
        with self.store.session() as s:
            row = s.get(CaseRow, case_id)
            if row is None:
                raise NotFoundError(f"case {case_id} does not exist")
            return CaseRecord.from_row(row)

    # -- room traffic --------------------------------------------------------------------------
    def count_room_message(self, platform: str, account: str, room: str, n: int = 1) -> int:
        """Count ``n`` room messages not addressed to a persona (never stored); returns total."""

        def _work(s: Session) -> int:
            row = s.get(RoomCounterRow, (platform, account, room))
            if row is None:
                row = RoomCounterRow(platform=platform, account=account, room=room, ignored_count=0)
                s.add(row)
            row.ignored_count += n
            s.flush()
            return row.ignored_count

        return self.store.write(_work)
