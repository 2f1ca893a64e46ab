"""Message times, "do not answer" and de-duplication: ``messages.sent_at``, ``sent_by`` and
``answer``, and an index on ``platform_msg_id``.

* ``messages.sent_at`` (nullable): for an inbound message, the instant the platform says it was
  sent (XMPP XEP-0203 ``<delay stamp>`` of an offline delivery, Matrix ``origin_server_ts``);
  ``NULL`` when the platform states none and for every message recorded before this revision.
  ``messages.at`` stays the receive time (inbound) or send time (outbound).
* ``messages.sent_by`` (nullable): who made that claim when the platform names it (the XEP-0203
  ``from`` of the stamp, e.g. the persona's server domain); ``NULL`` otherwise.
* ``messages.answer`` (nullable boolean): ``FALSE`` for an inbound message that is recorded and
  decided but must never be answered automatically (a carbon copy that reached another device,
  an IRC ``NOTICE``, a DCC file offer, a Matrix edit or ``m.notice``); ``NULL`` otherwise (every
  older row: answered as before). The engine's restart (``resume``) honours it.
* ``ix_messages_platform_msg_id``: the engine looks a platform message id up before recording a
  message again (``Recorder.find_message``), so a message delivered twice is recorded once.

The append-only guard of migration 0004 on ``messages`` (a retention purge only, every other
column immutable, no delete) is re-created with the three columns among the immutable ones. They
are added with ``ALTER TABLE ... ADD COLUMN`` on both dialects (no SQLite table rebuild, which
would drop the triggers).

Downgrade drops the columns and the index and restores 0004's guard; it refuses (``RuntimeError``)
while any message holds a ``sent_at`` or ``answer = FALSE``: that value would be lost from the
tables (the ledger keeps it, but the rows would no longer show it, and a restarted engine would
answer a message it must not).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tutela.store.types import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# 0004's condition, frozen here (a migration must not change when a later one does).
_MESSAGE_PURGE_0004 = (
    "OLD.purged_at IS NULL AND NEW.purged_at IS NOT NULL AND NEW.text IS NULL "
    "AND NEW.wire IS NULL AND NEW.id = OLD.id AND NEW.conversation_id = OLD.conversation_id "
    "AND NEW.seq = OLD.seq AND NEW.direction = OLD.direction "
    "AND NEW.contact_line IS NOT DISTINCT FROM OLD.contact_line AND NEW.author = OLD.author "
    "AND NEW.platform_msg_id IS NOT DISTINCT FROM OLD.platform_msg_id "
    "AND NEW.origin IS NOT DISTINCT FROM OLD.origin AND NEW.at = OLD.at "
    "AND NEW.ledger_seq = OLD.ledger_seq"
)
_MESSAGE_PURGE_0006 = _MESSAGE_PURGE_0004 + (
    " AND NEW.sent_at IS NOT DISTINCT FROM OLD.sent_at"
    " AND NEW.sent_by IS NOT DISTINCT FROM OLD.sent_by"
    " AND NEW.answer IS NOT DISTINCT FROM OLD.answer"
)
_MESSAGE = "messages are append-only (a retention purge only)"


def _sqlite(condition: str) -> str:
    # SQLite has IS for NULL-safe comparison; IS NOT DISTINCT FROM only from 3.39.
    return condition.replace("IS NOT DISTINCT FROM", "IS")


def _guard(condition: str) -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS messages_guard_update")
        op.execute(
            "CREATE TRIGGER messages_guard_update BEFORE UPDATE ON messages "
            f"WHEN NOT ({_sqlite(condition)}) BEGIN SELECT RAISE(ABORT, '{_MESSAGE}'); END"
        )
    elif dialect == "postgresql":
        # the trigger of 0004 calls this function: replacing it is enough
        op.execute(
            "CREATE OR REPLACE FUNCTION tutela_guard_messages() RETURNS trigger LANGUAGE plpgsql "
            f"AS $$ BEGIN IF NOT ({condition}) THEN RAISE EXCEPTION '{_MESSAGE}'; END IF; "
            "RETURN NEW; END; $$"
        )
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        raise RuntimeError(f"unsupported database dialect {dialect!r}")


def upgrade() -> None:
    op.add_column("messages", sa.Column("sent_at", UTCDateTime(), nullable=True))
    op.add_column("messages", sa.Column("sent_by", sa.String(300), nullable=True))
    op.add_column("messages", sa.Column("answer", sa.Boolean(), nullable=True))
    op.create_index("ix_messages_platform_msg_id", "messages", ["platform_msg_id"])
    _guard(_MESSAGE_PURGE_0006)


def downgrade() -> None:
    bind = op.get_bind()
    held = bind.execute(
        sa.text("SELECT COUNT(*) FROM messages WHERE sent_at IS NOT NULL")
    ).scalar_one()
    if held:
        raise RuntimeError(
            f"cannot downgrade below 0006: {held} messages hold a platform sent time that the "
            "older schema has no column for"
        )
    silent = bind.execute(
        sa.text("SELECT COUNT(*) FROM messages WHERE answer IS NOT NULL AND NOT answer")
    ).scalar_one()
    if silent:
        raise RuntimeError(
            f"cannot downgrade below 0006: {silent} messages must not be answered, which the "
            "older schema cannot say"
        )
    if bind.dialect.name == "sqlite":
        # the guard names sent_at, and SQLite refuses to drop a column a trigger uses
        op.execute("DROP TRIGGER IF EXISTS messages_guard_update")
    op.drop_index("ix_messages_platform_msg_id", table_name="messages")
    if bind.dialect.name == "sqlite":
        for column in ("answer", "sent_by", "sent_at"):
            op.execute(f"ALTER TABLE messages DROP COLUMN {column}")  # SQLite >= 3.35
    else:
        for column in ("answer", "sent_by", "sent_at"):
            op.drop_column("messages", column)
    _guard(_MESSAGE_PURGE_0004)
