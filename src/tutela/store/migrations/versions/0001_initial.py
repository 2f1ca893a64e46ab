"""Initial schema: operations, contacts, identities, conversations, messages, decisions, cases,
audit log, room counters, and the append-only ledger with its checkpoints.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tutela.store.types import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

GENESIS_HASH = "0" * 64
APPEND_ONLY_TABLES = ("ledger_entries", "checkpoints")


def _append_only_triggers() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for table in APPEND_ONLY_TABLES:
            for event in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                    "BEGIN SELECT RAISE(ABORT, 'ledger is append-only'); END"
                )
    elif dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION tutela_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'ledger is append-only'; END; $$"
        )
        for table in APPEND_ONLY_TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION tutela_append_only()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION tutela_append_only()"
            )
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        raise RuntimeError(f"unsupported database dialect {dialect!r}")


def upgrade() -> None:
    op.create_table(
        "operations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation", sa.String(200), nullable=False),
        sa.Column("jurisdiction", sa.String(100), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("authorisation_ref", sa.String(200), nullable=False),
        sa.Column("officer", sa.String(200), nullable=False),
        sa.Column("starts_at", UTCDateTime(), nullable=False),
        sa.Column("ends_at", UTCDateTime(), nullable=True),
        sa.Column("evidential", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_operations"),
    )
    op.create_table(
        "contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("first_seen", UTCDateTime(), nullable=False),
        sa.Column("last_seen", UTCDateTime(), nullable=False),
        sa.Column("merged_into", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["merged_into"], ["contacts.id"], name="fk_contacts_merged_into_contacts"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_contacts"),
    )
    op.create_table(
        "ledger_entries",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("conversation", sa.Integer(), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("payload_sha256", sa.String(64), nullable=False),
        sa.Column("entry_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_ledger_entries"),
        sa.UniqueConstraint("entry_hash", name="uq_ledger_entries_entry_hash"),
    )
    op.create_index("ix_ledger_entries_conversation", "ledger_entries", ["conversation"])
    op.create_table(
        "ledger_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("entry_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ledger_head"),
    )
    op.execute(
        sa.text("INSERT INTO ledger_head (id, seq, entry_hash) VALUES (1, 0, :h)").bindparams(
            h=GENESIS_HASH
        )
    )
    op.create_table(
        "checkpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("entry_hash", sa.String(64), nullable=False),
        sa.Column("signature", sa.String(128), nullable=False),
        sa.Column("key_fingerprint", sa.String(64), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.ForeignKeyConstraint(
            ["seq"], ["ledger_entries.seq"], name="fk_checkpoints_seq_ledger_entries"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_checkpoints"),
    )
    op.create_index("ix_checkpoints_seq", "checkpoints", ["seq"])
    op.create_table(
        "conversations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("operation_id", sa.Integer(), nullable=False),
        sa.Column("persona_id", sa.String(100), nullable=False),
        sa.Column("platform", sa.String(100), nullable=False),
        sa.Column("account", sa.String(300), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("room", sa.String(300), nullable=True),
        sa.Column("lang", sa.String(16), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name="fk_conversations_contact_id_contacts"
        ),
        sa.ForeignKeyConstraint(
            ["operation_id"], ["operations.id"], name="fk_conversations_operation_id_operations"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_conversations"),
    )
    op.create_index("ix_conversations_contact_id", "conversations", ["contact_id"])
    op.create_index("ix_conversations_open", "conversations", ["ended_at"])
    op.create_table(
        "messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("contact_line", sa.Integer(), nullable=True),
        sa.Column("author", sa.String(300), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("wire", sa.LargeBinary(), nullable=True),
        sa.Column("platform_msg_id", sa.String(300), nullable=True),
        sa.Column("origin", sa.String(200), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("attachments", sa.JSON(), nullable=False),
        sa.Column("ledger_seq", sa.Integer(), nullable=False),
        sa.Column("purged_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint("direction IN ('in', 'out')", name="ck_messages_direction"),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name="fk_messages_conversation_id_conversations",
        ),
        sa.ForeignKeyConstraint(
            ["ledger_seq"], ["ledger_entries.seq"], name="fk_messages_ledger_seq_ledger_entries"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_messages"),
        sa.UniqueConstraint("conversation_id", "seq", name="uq_messages_conversation_id_seq"),
        sa.UniqueConstraint(
            "conversation_id", "contact_line", name="uq_messages_conversation_id_contact_line"
        ),
    )
    op.create_table(
        "identities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("value", sa.String(500), nullable=False),
        sa.Column("source_message_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('platform_id', 'email', 'phone', 'handle', 'payment_ref')",
            name="ck_identities_kind",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name="fk_identities_contact_id_contacts"
        ),
        sa.ForeignKeyConstraint(
            ["source_message_id"],
            ["messages.id"],
            name="fk_identities_source_message_id_messages",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_identities"),
        sa.UniqueConstraint("platform", "kind", "value", name="uq_identities_platform_kind_value"),
    )
    op.create_index("ix_identities_contact_id", "identities", ["contact_id"])
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("after_line", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("risk", sa.Float(), nullable=False),
        sa.Column("indicators", sa.JSON(), nullable=False),
        sa.Column("rule", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("variant", sa.String(100), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("ledger_seq", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name="fk_decisions_conversation_id_conversations",
        ),
        sa.ForeignKeyConstraint(
            ["ledger_seq"], ["ledger_entries.seq"], name="fk_decisions_ledger_seq_ledger_entries"
        ),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name="fk_decisions_message_id_messages"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_decisions"),
    )
    op.create_index("ix_decisions_conversation_id", "decisions", ["conversation_id"])
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("risk", sa.Float(), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name="fk_cases_contact_id_contacts"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_cases"),
        sa.UniqueConstraint("contact_id", name="uq_cases_contact_id"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("target", sa.String(300), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("ledger_seq", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["ledger_seq"], ["ledger_entries.seq"], name="fk_audit_log_ledger_seq_ledger_entries"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_table(
        "room_counters",
        sa.Column("platform", sa.String(100), nullable=False),
        sa.Column("account", sa.String(300), nullable=False),
        sa.Column("room", sa.String(300), nullable=False),
        sa.Column("ignored_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("platform", "account", "room", name="pk_room_counters"),
    )
    _append_only_triggers()


def downgrade() -> None:
    raise RuntimeError("the evidence store cannot be downgraded: the ledger is append-only")
