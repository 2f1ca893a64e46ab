"""Migration 0008's ``decisions.line_indicators`` (issue 12, analyst protection): each decided
line's own indicator ids, a display aid stored with the row and kept out of the ledger payload;
the column is added without rebuilding the table, so the insert-only guard of 0004 on
``decisions`` still refuses UPDATE and DELETE (SQLite and PostgreSQL)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, text

from tutela.ledger import Signer
from tutela.store import Recorder, Store, StoreError, iter_ledger, open_store, verify_store
from tutela.store.engine import _WRITE, alembic_config

DATA = Path(__file__).resolve().parent / "data"
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
SEX = "en.sexual_content.synthetic_test"
AGE = "en.age_probe.synthetic_test"
REFUSED = (
    "UPDATE decisions SET line_indicators = NULL",
    "UPDATE decisions SET indicators = '[]'",
    "DELETE FROM decisions",
)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'tutela.db'}"
    else:
        url = str(request.getfixturevalue("pg_url"))
    st = open_store(url)
    yield st
    st.close()


def _decide(rec: Recorder, own: list[str] | None) -> tuple[int, int]:
    """One conversation with two contact lines, each decided; returns (conversation, ledger seq
    of the second decision)."""
    cid = rec.get_or_create_contact("xmpp", "bob")
    conv = rec.open_conversation(
        operation_id=rec.ensure_demo_operation().id, persona_id="p1", platform="xmpp",
        account="mia@localhost", contact_id=cid, lang="en", started_at=T0,
    ).id  # fmt: skip
    seq = 0
    for n, so_far in ((1, [SEX]), (2, [SEX, AGE])):
        msg = rec.record_inbound(
            conversation_id=conv, author="bob", text=f"line {n}", wire=b"<m/>",
            received_at=T0 + timedelta(minutes=n), contact_line=n,
        )  # fmt: skip
        seq = rec.record_decision(
            conversation_id=conv, message_id=msg.id, after_line=n, action="escalate",
            risk=0.9, indicators=so_far, rule="t", reason="t", variant=None,
            line_indicators=own,
        ).ledger_seq  # fmt: skip
    return conv, seq


def _refused(store: Store, statements: tuple[str, ...] = REFUSED) -> None:
    for stmt in statements:
        with pytest.raises(StoreError, match="append-only"), store.session() as s:
            s.execute(text(stmt))


def _alembic(store: Store, action: str, revision: str) -> None:
    cfg = alembic_config(store.engine)
    with store.engine.execution_options(**{_WRITE: True}).connect() as conn:
        cfg.attributes["connection"] = conn
        getattr(command, action)(cfg, revision)


def _columns(store: Store) -> set[str]:
    return {c["name"] for c in inspect(store.engine).get_columns("decisions")}


def test_own_indicators_are_stored_outside_the_ledger_and_decisions_stay_insert_only(
    store: Store,
) -> None:
    signer = Signer.generate()
    rec = Recorder(store, signer=signer, checkpoint_every=0)
    conv, seq = _decide(rec, [SEX])
    decs = rec.conversation_decisions(conv)
    assert [d.line_indicators for d in decs] == [(SEX,), (SEX,)]
    assert decs[-1].indicators == (SEX, AGE)
    payload = next(e for e in iter_ledger(store) if e.seq == seq).payload
    assert payload is not None and "line_indicators" not in payload
    assert list(payload["indicators"]) == [SEX, AGE]
    _refused(store)
    rec.checkpoint()
    verify_store(store, signer.public_key)


def test_downgrade_drops_the_column_and_upgrade_adds_it_with_the_guard_intact(
    store: Store,
) -> None:
    rec = Recorder(store, signer=Signer.generate(), checkpoint_every=0)
    conv, _ = _decide(rec, None)  # a decision as recorded before 0008
    _alembic(store, "downgrade", "0007")
    assert "line_indicators" not in _columns(store)
    _refused(store, REFUSED[1:])
    _alembic(store, "upgrade", "head")
    assert "line_indicators" in _columns(store)
    assert [d.line_indicators for d in rec.conversation_decisions(conv)] == [None, None]
    _refused(store)


def test_database_of_0005_upgrades_with_null_own_indicators_and_the_guard(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    con = sqlite3.connect(db)
    con.executescript((DATA / "store_0005.sql").read_text())
    con.close()
    db.chmod(0o600)
    store = open_store(f"sqlite:///{db}")
    try:
        assert "line_indicators" in _columns(store)
        with store.session() as s:
            held = s.execute(text("SELECT COUNT(*), COUNT(line_indicators) FROM decisions")).one()
            names = set(
                s.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars()
            )
        assert held[0] > 0 and held[1] == 0
        assert {"decisions_no_update", "decisions_no_delete"} <= names
        _refused(store)
    finally:
        store.close()
