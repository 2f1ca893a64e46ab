"""Security: server-side dashboard sessions and the login throttle in the database (shared by
several ``tutela serve`` processes), per-user session epoch and TOTP replay guard, room for an
encrypted TOTP secret, and append-only guards on every evidential table.

Evidential tables and what the triggers allow (SQLite and PostgreSQL):

* ``decisions``, ``audit_log``, ``case_events``: insert only.
* ``messages``: insert, and one retention purge per row (``text``/``wire`` to ``NULL``,
  ``attachments`` emptied, ``purged_at`` set); every other column is immutable; no delete.
* ``referrals``: insert, and one decision per row (``status`` from ``proposed`` to ``approved``
  or ``rejected`` with ``decided_by``/``decided_at``) by someone other than the proposer
  (four-eyes); who proposed what, when, stays fixed.
* ``ledger_head``: moves forward by exactly one entry, to an entry that exists.

Direct SQL that drops these triggers is outside their reach; ``tutela ledger verify`` and the
checkpoint witness file catch what the chain covers.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tutela.store.types import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

INSERT_ONLY_TABLES = ("decisions", "audit_log", "case_events")

# Conditions under which an UPDATE is allowed (SQL over OLD/NEW, same text on both dialects).
_MESSAGE_PURGE = (
    "OLD.purged_at IS NULL AND NEW.purged_at IS NOT NULL AND NEW.text IS NULL "
    "AND NEW.wire IS NULL AND NEW.id = OLD.id AND NEW.conversation_id = OLD.conversation_id "
    "AND NEW.seq = OLD.seq AND NEW.direction = OLD.direction "
    "AND NEW.contact_line IS NOT DISTINCT FROM OLD.contact_line AND NEW.author = OLD.author "
    "AND NEW.platform_msg_id IS NOT DISTINCT FROM OLD.platform_msg_id "
    "AND NEW.origin IS NOT DISTINCT FROM OLD.origin AND NEW.at = OLD.at "
    "AND NEW.ledger_seq = OLD.ledger_seq"
)
_REFERRAL_DECISION = (
    "OLD.status = 'proposed' AND NEW.status IN ('approved', 'rejected') "
    "AND NEW.id = OLD.id AND NEW.case_id = OLD.case_id "
    "AND NEW.proposed_by IS NOT DISTINCT FROM OLD.proposed_by "
    "AND NEW.proposed_at = OLD.proposed_at AND NEW.note = OLD.note "
    "AND OLD.decided_by IS NULL AND OLD.decided_at IS NULL AND NEW.decided_at IS NOT NULL "
    "AND NEW.decided_by IS NOT NULL "
    "AND (OLD.proposed_by IS NULL OR NEW.decided_by <> OLD.proposed_by)"
)
_HEAD_FORWARD = (
    "NEW.id = OLD.id AND NEW.seq = OLD.seq + 1 AND NEW.entry_hash = "
    "(SELECT e.entry_hash FROM ledger_entries e WHERE e.seq = NEW.seq)"
)
GUARDED_UPDATES = {
    "messages": (_MESSAGE_PURGE, "messages are append-only (a retention purge only)"),
    "referrals": (
        _REFERRAL_DECISION,
        "a referral proposal is fixed; it may be decided once, not by its proposer",
    ),
    "ledger_head": (_HEAD_FORWARD, "ledger_head moves forward by one existing entry only"),
}
NO_DELETE_TABLES = ("messages", "referrals", "ledger_head")


def _sqlite(condition: str) -> str:
    # SQLite has IS / IS NOT for NULL-safe comparison; IS NOT DISTINCT FROM only from 3.39.
    return condition.replace("IS NOT DISTINCT FROM", "IS")


def _triggers_sqlite() -> None:
    for table in INSERT_ONLY_TABLES:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )
    for table, (allowed, message) in GUARDED_UPDATES.items():
        op.execute(
            f"CREATE TRIGGER {table}_guard_update BEFORE UPDATE ON {table} "
            f"WHEN NOT ({_sqlite(allowed)}) BEGIN SELECT RAISE(ABORT, '{message}'); END"
        )
    for table in NO_DELETE_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
        )


def _triggers_postgresql() -> None:
    # tutela_append_only() exists since 0001.
    for table in INSERT_ONLY_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION tutela_append_only()"
        )
    for table in (*INSERT_ONLY_TABLES, *NO_DELETE_TABLES):
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION tutela_append_only()"
        )
    for table, (allowed, message) in GUARDED_UPDATES.items():
        op.execute(
            f"CREATE FUNCTION tutela_guard_{table}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN IF NOT ({allowed}) THEN RAISE EXCEPTION '{message}'; END IF; "
            "RETURN NEW; END; $$"
        )
        op.execute(
            f"CREATE TRIGGER {table}_guard_update BEFORE UPDATE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION tutela_guard_{table}()"
        )
    for table in NO_DELETE_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION tutela_append_only()"
        )


def upgrade() -> None:
    op.create_table(
        "web_sessions",
        sa.Column("token_sha256", sa.String(64), nullable=False),
        sa.Column("csrf_token", sa.String(100), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("user_epoch", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("last_seen", sa.Float(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_web_sessions_user_id_users"),
        sa.PrimaryKeyConstraint("token_sha256", name="pk_web_sessions"),
    )
    op.create_index("ix_web_sessions_user_id", "web_sessions", ["user_id"])
    op.create_index("ix_web_sessions_last_seen", "web_sessions", ["last_seen"])
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("failures", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("locked_until", sa.Float(), nullable=False),
        sa.Column("in_flight", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_login_throttle"),
    )
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("session_epoch", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("totp_last_step", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("credentials_changed_at", UTCDateTime(), nullable=True))
        batch.alter_column(
            "totp_secret", existing_type=sa.String(64), type_=sa.String(400), nullable=True
        )
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        _triggers_sqlite()
    elif dialect == "postgresql":
        _triggers_postgresql()
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        raise RuntimeError(f"unsupported database dialect {dialect!r}")


def downgrade() -> None:
    raise RuntimeError("the evidence store cannot be downgraded: the ledger is append-only")
