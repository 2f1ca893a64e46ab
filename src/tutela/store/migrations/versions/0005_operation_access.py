"""Per-operation access: the operations a dashboard user is granted (``tutela.accounts.access``).

A user with at least one row reads and acts only on cases whose conversations all belong to their
granted operations; a user without rows is unrestricted (the behaviour before this revision).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tutela.store.types import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "operation_access",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("operation_id", sa.Integer(), nullable=False),
        sa.Column("granted_by", sa.String(200), nullable=False),
        sa.Column("granted_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_operation_access_user_id_users"
        ),
        sa.ForeignKeyConstraint(
            ["operation_id"],
            ["operations.id"],
            name="fk_operation_access_operation_id_operations",
        ),
        sa.PrimaryKeyConstraint("user_id", "operation_id", name="pk_operation_access"),
    )


def downgrade() -> None:
    raise RuntimeError("the evidence store cannot be downgraded: the ledger is append-only")
