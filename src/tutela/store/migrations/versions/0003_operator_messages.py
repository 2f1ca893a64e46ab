"""Operator takeover: texts an analyst typed as the persona, queued for the running engine.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tutela.store.types import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "operator_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("operator", sa.String(200), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("queued_at", UTCDateTime(), nullable=False),
        sa.Column("taken_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint("status IN ('queued', 'taken')", name="ck_operator_messages_status"),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name="fk_operator_messages_conversation_id_conversations",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_operator_messages"),
    )
    op.create_index(
        "ix_operator_messages_conversation_id", "operator_messages", ["conversation_id"]
    )


def downgrade() -> None:
    raise RuntimeError("the evidence store cannot be downgraded: the ledger is append-only")
