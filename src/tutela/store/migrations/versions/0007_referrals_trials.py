"""Police-ready referrals and the deterrence trial: legal holds, trials and their allocations,
help-link click counts and shadow-policy decisions.

* ``legal_holds``: a hold on a case (reason, who set it and when; release likewise). While a
  hold is active the case is never purged and no persona reply is sent in its conversations.
* ``trials``: a registered trial: the analysis plan's text and SHA-256, the optional RFC 3161
  reply over that hash, the arms, the allocation seed and block size, and its ledger entry.
* ``trial_allocations``: one contact's arm per trial (unique), with the stratum (language), the
  permuted block it was drawn from and its ledger entry.
* ``help_link_clicks``: clicks per trial, arm, language and UTC day (a count; nothing that
  identifies the person who clicked).
* ``shadow_decisions``: what a candidate policy would have decided after an inbound message,
  beside the active decision (never acted on).

Only new tables: nothing existing changes, so no trigger is re-created. Downgrade drops them
while they are empty and refuses otherwise.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tutela.store.types import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "legal_holds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("set_by", sa.String(200), nullable=False),
        sa.Column("set_at", UTCDateTime(), nullable=False),
        sa.Column("released_by", sa.String(200), nullable=True),
        sa.Column("released_at", UTCDateTime(), nullable=True),
        sa.Column("release_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_legal_holds_case_id_cases"),
        sa.PrimaryKeyConstraint("id", name="pk_legal_holds"),
    )
    op.create_index("ix_legal_holds_case_id", "legal_holds", ["case_id"])
    op.create_table(
        "trials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("plan_text", sa.Text(), nullable=False),
        sa.Column("plan_sha256", sa.String(64), nullable=False),
        sa.Column("arms", sa.JSON(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("block_size", sa.Integer(), nullable=False),
        sa.Column("timestamp_token", sa.LargeBinary(), nullable=True),
        sa.Column("timestamped_at", UTCDateTime(), nullable=True),
        sa.Column("registered_by", sa.String(200), nullable=False),
        sa.Column("registered_at", UTCDateTime(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("ledger_seq", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ledger_seq"], ["ledger_entries.seq"], name="fk_trials_ledger_seq_ledger_entries"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_trials"),
        sa.UniqueConstraint("name", name="uq_trials_name"),
    )
    op.create_table(
        "trial_allocations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trial_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("stratum", sa.String(32), nullable=False),
        sa.Column("arm", sa.String(100), nullable=False),
        sa.Column("block_index", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=True),
        sa.Column("allocated_at", UTCDateTime(), nullable=False),
        sa.Column("ledger_seq", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["trial_id"], ["trials.id"], name="fk_trial_allocations_trial_id_trials"
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name="fk_trial_allocations_contact_id_contacts"
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name="fk_trial_allocations_conversation_id_conversations",
        ),
        sa.ForeignKeyConstraint(
            ["ledger_seq"],
            ["ledger_entries.seq"],
            name="fk_trial_allocations_ledger_seq_ledger_entries",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_trial_allocations"),
        sa.UniqueConstraint(
            "trial_id", "contact_id", name="uq_trial_allocations_trial_id_contact_id"
        ),
    )
    op.create_index("ix_trial_allocations_trial_id", "trial_allocations", ["trial_id"])
    op.create_index("ix_trial_allocations_contact_id", "trial_allocations", ["contact_id"])
    op.create_table(
        "help_link_clicks",
        sa.Column("trial_id", sa.Integer(), nullable=False),
        sa.Column("arm", sa.String(100), nullable=False),
        sa.Column("lang", sa.String(16), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("clicks", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["trial_id"], ["trials.id"], name="fk_help_link_clicks_trial_id_trials"
        ),
        sa.PrimaryKeyConstraint("trial_id", "arm", "lang", "day", name="pk_help_link_clicks"),
    )
    op.create_table(
        "shadow_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("policy_sha256", sa.String(64), nullable=False),
        sa.Column("policy_name", sa.String(200), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("variant", sa.String(100), nullable=True),
        sa.Column("rule", sa.String(200), nullable=False),
        sa.Column("active_action", sa.String(20), nullable=False),
        sa.Column("active_variant", sa.String(100), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name="fk_shadow_decisions_message_id_messages"
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name="fk_shadow_decisions_conversation_id_conversations",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_shadow_decisions"),
    )
    op.create_index("ix_shadow_decisions_message_id", "shadow_decisions", ["message_id"])
    op.create_index("ix_shadow_decisions_conversation_id", "shadow_decisions", ["conversation_id"])
    op.create_index("ix_shadow_decisions_policy_sha256", "shadow_decisions", ["policy_sha256"])


_TABLES = ("shadow_decisions", "help_link_clicks", "trial_allocations", "trials", "legal_holds")


def downgrade() -> None:
    """Drop the tables; refused (``RuntimeError``) while any of them holds a row (a hold, a
    registered trial, an allocation, a click count or a shadow decision would be lost)."""
    conn = op.get_bind()
    held = {t: conn.execute(sa.text(f"SELECT COUNT(*) FROM {t}")).scalar_one() for t in _TABLES}
    if any(held.values()):
        rows = ", ".join(f"{t}: {n}" for t, n in held.items() if n)
        raise RuntimeError(f"refusing to downgrade below 0007: rows would be lost ({rows})")
    for table in _TABLES:
        op.drop_table(table)
