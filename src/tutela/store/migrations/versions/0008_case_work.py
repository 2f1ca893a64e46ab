"""The analyst's workspace: case notes, case assignment and a user's dashboard language.

* ``case_notes``: an analyst's note on a case (author, time, text); insert only (a note is never
  edited or deleted; a correction is a new note), each written with an audit row.
* ``case_assignments``: who a case is assigned to, as a history (the latest row is the current
  assignment; ``assignee`` ``NULL``: unassigned); insert only, each written with an audit row.
* ``users.lang``: the user's dashboard language (``en``, ``nl``, ``de``; ``NULL``: from the
  browser's ``Accept-Language``).
* ``decisions.line_indicators``: the indicator ids the decided line raised itself (JSON list,
  ``NULL`` for older decisions), a display aid for masking; not part of the ledger payload.
  Added with ``ALTER TABLE ... ADD COLUMN`` (no table rebuild on SQLite), so the insert-only
  triggers of 0004 on ``decisions`` stay in place.

Downgrade drops the tables while they are empty and refuses otherwise; the columns are dropped
(``decisions.line_indicators`` with a plain ``ALTER TABLE ... DROP COLUMN``, SQLite 3.35 or
later, again without a rebuild that would lose the triggers).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tutela.store.types import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_TABLES = ("case_notes", "case_assignments")


def _insert_only(table: str) -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )
    elif dialect == "postgresql":  # tutela_append_only() exists since 0001
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
        "case_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_case_notes_case_id_cases"),
        sa.PrimaryKeyConstraint("id", name="pk_case_notes"),
    )
    op.create_index("ix_case_notes_case_id", "case_notes", ["case_id"])
    op.create_table(
        "case_assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("assignee", sa.String(100), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name="fk_case_assignments_case_id_cases"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_case_assignments"),
    )
    op.create_index("ix_case_assignments_case_id", "case_assignments", ["case_id"])
    for table in _TABLES:
        _insert_only(table)
    op.add_column("users", sa.Column("lang", sa.String(10), nullable=True))
    op.add_column("decisions", sa.Column("line_indicators", sa.JSON(), nullable=True))


def downgrade() -> None:
    """Drop the tables and ``users.lang``; refused (``RuntimeError``) while a note or an
    assignment exists (it would be lost)."""
    conn = op.get_bind()
    held = {t: conn.execute(sa.text(f"SELECT COUNT(*) FROM {t}")).scalar_one() for t in _TABLES}
    if any(held.values()):
        rows = ", ".join(f"{t}: {n}" for t, n in held.items() if n)
        raise RuntimeError(f"refusing to downgrade below 0008: rows would be lost ({rows})")
    for table in _TABLES:
        op.drop_table(table)
    op.execute("ALTER TABLE decisions DROP COLUMN line_indicators")  # no rebuild: triggers stay
    with op.batch_alter_table("users") as batch:
        batch.drop_column("lang")
