"""Migration 0006: ``messages.sent_at`` (the platform's send stamp), the platform-id lookup the
engine de-duplicates with, and old databases upgraded without a change to their ledger."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import inspect, text

from tutela.errors import InputError
from tutela.ledger import Signer, TamperError, format_instant, sha256_hex
from tutela.store import Recorder, Store, StoreError, iter_ledger, open_store, verify_store
from tutela.store.engine import _WRITE, alembic_config

DATA = Path(__file__).resolve().parent / "data"
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
OLD_INBOUND_KEYS = {
    "message_seq", "contact_line", "author_sha256", "text_sha256", "wire_sha256",
    "received_at", "platform_msg_id", "attachments",
}  # fmt: skip


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tutela.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def store(url: str) -> Iterator[Store]:
    st = open_store(url)
    yield st
    st.close()


def _recorder(store: Store, signer: Signer) -> Recorder:
    ticks = iter(range(100_000))
    return Recorder(
        store, signer=signer, checkpoint_every=4,
        clock=lambda: T0 + timedelta(milliseconds=next(ticks)),
    )  # fmt: skip


def _conversation(rec: Recorder, account: str = "mia@localhost", contact: str = "bob") -> int:
    op = rec.ensure_demo_operation()
    cid = rec.get_or_create_contact("xmpp", contact)
    return rec.open_conversation(
        operation_id=op.id, persona_id="p1", platform="xmpp", account=account,
        contact_id=cid, lang="en", started_at=T0,
    ).id  # fmt: skip


def _inbound(rec: Recorder, conv: int, line: int, **kw):
    kw.setdefault("author", "bob")
    kw.setdefault("text", f"line {line}")
    return rec.record_inbound(
        conversation_id=conv, wire=f"<m>{line}</m>".encode(),
        received_at=T0 + timedelta(minutes=line), contact_line=line, **kw,
    )  # fmt: skip


def _payload(store: Store, seq: int) -> dict:
    entry = next(e for e in iter_ledger(store) if e.seq == seq)
    assert entry.payload is not None
    return dict(entry.payload)


def _alembic(store: Store, action: str, revision: str) -> None:
    cfg = alembic_config(store.engine)
    with store.engine.execution_options(**{_WRITE: True}).connect() as conn:
        cfg.attributes["connection"] = conn
        getattr(command, action)(cfg, revision)
        conn.commit()


def _columns(store: Store) -> set[str]:
    return {c["name"] for c in inspect(store.engine).get_columns("messages")}


def _indexes(store: Store) -> set[str]:
    return {i["name"] for i in inspect(store.engine).get_indexes("messages")}


# ---------------------------------------------------------------------------------------------
# sent_at


def test_sent_at_is_stored_and_in_the_ledger_only_when_given(store: Store, signer: Signer) -> None:
    rec = _recorder(store, signer)
    conv = _conversation(rec)
    sent = datetime(2025, 3, 1, 11, 58, 30, 250000, tzinfo=UTC)
    late = _inbound(rec, conv, 1, sent_at=sent)
    live = _inbound(rec, conv, 2)
    assert late.sent_at == sent and late.at == T0 + timedelta(minutes=1)
    assert live.sent_at is None
    stored = rec.conversation_messages(conv)
    assert [m.sent_at for m in stored] == [sent, None]
    assert [m.at for m in stored] == [late.at, live.at]  # ``at`` stays the receive time
    p1, p2 = _payload(store, late.ledger_seq), _payload(store, live.ledger_seq)
    assert p1["sent_at"] == format_instant(sent) == "2025-03-01T11:58:30.250000Z"
    assert p1["received_at"] == format_instant(late.at)
    assert set(p2) == OLD_INBOUND_KEYS  # the payload of a message without it is unchanged
    rec.checkpoint()
    verify_store(store, signer.public_key)


def test_naive_sent_at_is_refused_and_nothing_written(store: Store, signer: Signer) -> None:
    rec = _recorder(store, signer)
    conv = _conversation(rec)
    n = len(list(iter_ledger(store)))
    with pytest.raises(InputError, match="sent_at"):
        _inbound(rec, conv, 1, sent_at=datetime(2025, 3, 1, 12, 0))
    assert len(list(iter_ledger(store))) == n
    assert rec.conversation_messages(conv) == []


def test_sent_at_is_immutable_and_a_purge_keeps_it(store: Store, signer: Signer) -> None:
    rec = _recorder(store, signer)
    conv = _conversation(rec)
    sent = T0 - timedelta(hours=3)
    mid = _inbound(rec, conv, 1, sent_at=sent).id
    for stmt in (
        "UPDATE messages SET sent_at = NULL",
        "UPDATE messages SET sent_at = at",
        "UPDATE messages SET author = 'someone else'",
        "DELETE FROM messages",
    ):
        with pytest.raises(StoreError, match="append-only"), store.session() as s:
            s.execute(text(stmt))
    # a purge that also clears sent_at is not a purge
    with pytest.raises(StoreError, match="append-only"), store.session() as s:
        s.execute(
            text(
                "UPDATE messages SET text = NULL, wire = NULL, sent_at = NULL, "
                "purged_at = at WHERE id = :id"
            ),
            {"id": mid},
        )
    assert rec.purge_messages([mid], actor="retention", reason="expired") is not None
    (m,) = rec.conversation_messages(conv)
    assert m.text is None and m.purged_at is not None and m.sent_at == sent
    verify_store(store, signer.public_key)


def test_find_message_by_account_platform_id_author_and_direction(
    store: Store, signer: Signer
) -> None:
    rec = _recorder(store, signer)
    conv = _conversation(rec)
    other = _conversation(rec, account="zoe@localhost", contact="carl")
    first = _inbound(rec, conv, 1, platform_msg_id="abc")
    _inbound(rec, other, 1, author="carl", platform_msg_id="zzz")
    own = rec.record_outbound(
        conversation_id=conv, text="typed on the phone", origin="human:device:phone",
        sent_at=T0, wire=b"<message>carbon</message>", platform_msg_id="own-1",
    )  # fmt: skip

    def find(pid: str, **kw):
        kw.setdefault("account", "mia@localhost")
        return rec.find_message(platform="xmpp", platform_msg_id=pid, **kw)

    found = find("abc")
    assert found is not None and (found.id, found.text) == (first.id, "line 1")
    assert find("abc", author="bob") is not None
    assert find("abc", text="line 1") is not None and find("abc", text="other words") is None
    assert find("abc", author="carl") is None
    assert find("abc", direction="out") is None
    assert find("abc", account="zoe@localhost") is None
    assert find("zzz") is None and find("zzz", account="zoe@localhost") is not None
    assert rec.find_message(platform="irc", account="mia@localhost", platform_msg_id="abc") is None
    out = find("own-1", direction="out")
    assert out is not None and out.id == own.id and out.wire == b"<message>carbon</message>"
    assert out.origin == "human:device:phone"
    with pytest.raises(InputError):
        find("abc", direction="sideways")
    assert "ix_messages_platform_msg_id" in _indexes(store)


def test_outbound_copy_keeps_its_wire_bound_to_the_ledger(store: Store, signer: Signer) -> None:
    rec = _recorder(store, signer)
    conv = _conversation(rec)
    bank = rec.record_outbound(conversation_id=conv, text="ok", origin="bank:x", sent_at=T0)
    own = rec.record_outbound(
        conversation_id=conv, text="hi", origin="human:device:phone", sent_at=T0,
        wire=b"<carbon/>", platform_msg_id="p-1",
    )  # fmt: skip
    assert set(_payload(store, bank.ledger_seq)) == {
        "message_seq", "author_sha256", "text_sha256", "origin", "sent_at",
    }  # fmt: skip
    p = _payload(store, own.ledger_seq)
    assert p["wire_sha256"] == sha256_hex(b"<carbon/>") and p["platform_msg_id"] == "p-1"
    verify_store(store, signer.public_key)


# ---------------------------------------------------------------------------------------------
# upgrade and downgrade


def _old_database(tmp_path: Path) -> str:
    """The 0005 fixture (written by the code of that revision, see data/_make_store_0005.py)."""
    db = tmp_path / "old.db"
    con = sqlite3.connect(db)
    con.executescript((DATA / "store_0005.sql").read_text())
    con.close()
    db.chmod(0o600)
    return f"sqlite:///{db}"


def _old_signer() -> Signer:
    raw = bytes.fromhex((DATA / "store_0005.key.hex").read_text().strip())
    return Signer(Ed25519PrivateKey.from_private_bytes(raw))


def test_database_of_0005_upgrades_and_its_ledger_still_verifies(tmp_path: Path) -> None:
    url = _old_database(tmp_path)
    signer = _old_signer()
    raw = sqlite3.connect(url.removeprefix("sqlite:///"))
    before = raw.execute("SELECT seq, entry_hash, payload FROM ledger_entries").fetchall()
    assert raw.execute("SELECT version_num FROM alembic_version").fetchone() == ("0005",)
    assert "sent_at" not in {r[1] for r in raw.execute("PRAGMA table_info(messages)")}
    raw.close()

    store = open_store(url)
    try:
        with store.session() as s:
            assert s.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0008"
        assert "sent_at" in _columns(store)
        with store.session() as s:
            after = s.execute(text("SELECT seq, entry_hash, payload FROM ledger_entries")).all()
        assert [tuple(r) for r in after] == before  # the ledger is not touched
        verify_store(store, signer.public_key, require_signed_head=True)
        rec = Recorder(store, signer=signer, checkpoint_every=0)
        (conv,) = {c.id for c in rec.open_conversations()}
        old = rec.conversation_messages(conv)
        assert [m.sent_at for m in old] == [None] * len(old)
        inbound = [json.loads(p) for _, _, p in before if '"received_at"' in p]
        assert inbound and all("sent_at" not in p for p in inbound)
        # the guard still holds on the upgraded table, the purge path too
        with pytest.raises(StoreError, match="append-only"), store.session() as s:
            s.execute(text("UPDATE messages SET text = 'rewritten' WHERE purged_at IS NULL"))
        with pytest.raises(StoreError, match="append-only"), store.session() as s:
            s.execute(text("DELETE FROM messages"))
        live = [m for m in old if m.direction == "in" and m.purged_at is None]
        assert rec.purge_messages([live[0].id], actor="retention", reason="expired")
        # a new message with a send stamp joins the old chain
        m = rec.record_inbound(
            conversation_id=conv, author="bob@localhost", text="sent while offline",
            wire=b"<message/>", received_at=T0 + timedelta(hours=1),
            sent_at=T0 + timedelta(minutes=50), contact_line=4,
        )  # fmt: skip
        rec.checkpoint()
        assert rec.conversation_messages(conv)[-1].sent_at == m.sent_at
        verify_store(store, signer.public_key, require_signed_head=True)
    finally:
        store.close()


def test_edit_of_an_upgraded_row_is_still_caught_by_the_chain(tmp_path: Path) -> None:
    url = _old_database(tmp_path)
    store = open_store(url)
    try:
        with store.session() as s:
            s.execute(text("DROP TRIGGER messages_guard_update"))
            s.execute(text("UPDATE messages SET text = 'other words' WHERE purged_at IS NULL"))
        with pytest.raises(TamperError, match="text_sha256"):
            verify_store(store, _old_signer().public_key)
    finally:
        store.close()


def test_downgrade_to_0005_and_back(store: Store, signer: Signer) -> None:
    rec = _recorder(store, signer)
    conv = _conversation(rec)
    ids = [_inbound(rec, conv, n, platform_msg_id=f"id-{n}").id for n in (1, 2)]
    rec.checkpoint()
    _alembic(store, "downgrade", "0005")
    assert "sent_at" not in _columns(store)
    assert "ix_messages_platform_msg_id" not in _indexes(store)
    # 0004's guard is back in force: no edit, no delete, one purge
    for stmt in ("UPDATE messages SET author = 'x'", "DELETE FROM messages"):
        with pytest.raises(StoreError, match="append-only"), store.session() as s:
            s.execute(text(stmt))
    with store.engine.connect() as conn:  # the purge is allowed (and rolled back here)
        done = conn.execute(
            text("UPDATE messages SET text = NULL, wire = NULL, purged_at = at WHERE id = :id"),
            {"id": ids[0]},
        )
        assert done.rowcount == 1
        conn.rollback()
    _alembic(store, "upgrade", "head")
    assert "sent_at" in _columns(store)
    assert "ix_messages_platform_msg_id" in _indexes(store)
    assert rec.purge_messages([ids[1]], actor="retention", reason="expired")
    late = _inbound(rec, conv, 3, sent_at=T0)
    assert late.sent_at == T0
    with pytest.raises(StoreError, match="append-only"), store.session() as s:
        s.execute(text("UPDATE messages SET sent_at = NULL"))
    rec.checkpoint()
    verify_store(store, signer.public_key)


def test_downgrade_refused_while_a_sent_time_is_held(store: Store, signer: Signer) -> None:
    rec = _recorder(store, signer)
    conv = _conversation(rec)
    _inbound(rec, conv, 1, sent_at=T0)
    with pytest.raises(RuntimeError, match="1 messages hold a platform sent time"):
        _alembic(store, "downgrade", "0005")
    assert "sent_at" in _columns(store)
    with store.session() as s:
        # SQLite: 0008 and 0007 (their tables empty) were downgraded first; PostgreSQL's
        # transactional DDL rolls the whole downgrade back
        expected = "0008" if store.engine.dialect.name == "postgresql" else "0006"
        assert s.execute(text("SELECT version_num FROM alembic_version")).scalar() == expected
    assert rec.conversation_messages(conv)[0].sent_at == T0


def test_a_sent_time_edited_behind_the_guard_is_caught(store: Store, signer: Signer) -> None:
    rec = _recorder(store, signer)
    conv = _conversation(rec)
    _inbound(rec, conv, 1, sent_at=T0)
    _inbound(rec, conv, 2)
    rec.checkpoint()
    verify_store(store, signer.public_key)
    with store.session() as s:  # an attacker with direct SQL drops the guard first
        if store.engine.dialect.name == "sqlite":
            s.execute(text("DROP TRIGGER messages_guard_update"))
        else:
            s.execute(text("DROP TRIGGER messages_guard_update ON messages"))
        s.execute(text("UPDATE messages SET sent_at = at WHERE contact_line = 2"))
    with pytest.raises(TamperError, match="sent_at"):
        verify_store(store, signer.public_key)


# ---------------------------------------------------------------------------------------------
# "do not answer", whose stamp, and every mirrored column checked (review of issue 11)


def test_answer_and_sent_by_are_stored_and_in_the_ledger_only_when_set(
    store: Store, signer: Signer
) -> None:
    rec = _recorder(store, signer)
    conv = _conversation(rec)
    quiet = _inbound(rec, conv, 1, answer=False, sent_at=T0, sent_by="localhost")
    plain = _inbound(rec, conv, 2)
    assert (quiet.answer, quiet.sent_by, plain.answer, plain.sent_by) == (
        False, "localhost", True, None,
    )  # fmt: skip
    stored = rec.conversation_messages(conv)
    assert [(m.answer, m.sent_by) for m in stored] == [(False, "localhost"), (True, None)]
    p1, p2 = _payload(store, quiet.ledger_seq), _payload(store, plain.ledger_seq)
    assert p1["answer"] is False and p1["sent_by"] == "localhost"
    assert set(p2) == OLD_INBOUND_KEYS
    with pytest.raises(InputError, match="sent_by"):
        _inbound(rec, conv, 3, sent_by="localhost")  # a claimant without a claim
    for stmt in ("UPDATE messages SET answer = NULL", "UPDATE messages SET sent_by = 'x'"):
        with pytest.raises(StoreError, match="append-only"), store.session() as s:
            s.execute(text(stmt))
    rec.checkpoint()
    verify_store(store, signer.public_key)


def test_downgrade_refused_while_a_message_must_not_be_answered(
    store: Store, signer: Signer
) -> None:
    rec = _recorder(store, signer)
    conv = _conversation(rec)
    _inbound(rec, conv, 1, answer=False)
    with pytest.raises(RuntimeError, match="1 messages must not be answered"):
        _alembic(store, "downgrade", "0005")
    assert {"answer", "sent_by", "sent_at"} <= _columns(store)


def _drop_message_guard(store: Store) -> None:
    with store.engine.execution_options(**{_WRITE: True}).begin() as c:
        if store.engine.dialect.name == "sqlite":
            c.execute(text("DROP TRIGGER messages_guard_update"))
        else:
            c.execute(text("DROP TRIGGER messages_guard_update ON messages"))


@pytest.mark.parametrize(
    ("stmt", "field"),
    [
        ("UPDATE messages SET at = '2020-01-01 00:00:00' WHERE direction = 'in'", "received_at"),
        ("UPDATE messages SET at = '2020-01-01 00:00:00' WHERE direction = 'out'", "sent_at"),
        ("UPDATE messages SET origin = 'human:device:phone' WHERE direction = 'out'", "origin"),
        ("UPDATE messages SET platform_msg_id = 'other' WHERE direction = 'in'", "platform_msg_id"),
        ("UPDATE messages SET platform_msg_id = 'p9' WHERE direction = 'out'", "platform_msg_id"),
        ("UPDATE messages SET contact_line = 7 WHERE direction = 'in'", "contact_line"),
        ("UPDATE messages SET answer = false WHERE direction = 'in'", "answer"),
        ("UPDATE messages SET sent_by = 'evil.example' WHERE direction = 'in'", "sent_by"),
        ("UPDATE messages SET attachments = '[]' WHERE direction = 'in'", "attachments"),
    ],
)
def test_every_mirrored_column_edited_behind_the_guard_is_caught(
    store: Store, signer: Signer, stmt: str, field: str
) -> None:
    from tutela.domain import Attachment

    rec = _recorder(store, signer)
    conv = _conversation(rec)
    _inbound(
        rec, conv, 1, sent_at=T0 - timedelta(hours=1), sent_by="localhost", platform_msg_id="p1",
        attachments=[Attachment(kind="image", url="https://x.example/a.jpg")],
    )  # fmt: skip
    rec.record_outbound(
        conversation_id=conv, text="hey", origin="bank:x", sent_at=T0 + timedelta(minutes=2)
    )
    rec.checkpoint()
    verify_store(store, signer.public_key)
    _drop_message_guard(store)
    with store.engine.execution_options(**{_WRITE: True}).begin() as c:
        assert c.execute(text(stmt)).rowcount == 1
    with pytest.raises(TamperError, match=field):
        verify_store(store, signer.public_key)


# columns no ledger entry holds for that row, edited behind the dropped guard (review of issue 11)
_IN = "direction = 'in' AND purged_at IS NULL"
_OUT = "direction = 'out'"
_GONE = "purged_at IS NOT NULL"


@pytest.mark.parametrize(
    ("stmt", "field", "row"),
    [
        # a line moved into another conversation
        (
            f"UPDATE messages SET conversation_id = :other WHERE {_IN}",
            "conversation differs",
            "kept",
        ),
        # content fabricated on a row the retention purge emptied
        (f"UPDATE messages SET text = 'made up' WHERE {_GONE}", "text of a purged message", "gone"),
        (f"UPDATE messages SET wire = :blob WHERE {_GONE}", "wire of a purged message", "gone"),
        (
            f"""UPDATE messages SET attachments = '[{{"kind": "image"}}]' WHERE {_GONE}""",
            "attachments of a purged message",
            "gone",
        ),
        # "the persona sent media", a send stamp beside ``at``, an origin on what the contact wrote
        (
            f"""UPDATE messages SET attachments = '[{{"kind": "image"}}]' WHERE {_OUT}""",
            "attachments",
            "out",
        ),
        (f"UPDATE messages SET sent_at = at WHERE {_OUT}", "sent_at column", "out"),
        (f"UPDATE messages SET origin = 'bank:x' WHERE {_IN}", "origin", "kept"),
        # a purged row's kept columns are still bound to its entry
        (f"UPDATE messages SET sent_by = 'evil.example' WHERE {_GONE}", "sent_by", "gone"),
    ],
)
def test_columns_an_entry_leaves_empty_edited_behind_the_guard_are_caught(
    store: Store, signer: Signer, stmt: str, field: str, row: str
) -> None:
    rec = _recorder(store, signer)
    conv = _conversation(rec)
    other = _conversation(rec)
    kept = _inbound(rec, conv, 1)
    gone = _inbound(rec, conv, 2, sent_at=T0, sent_by="localhost", answer=False)
    out = rec.record_outbound(
        conversation_id=conv, text="hey", origin="bank:x", sent_at=T0 + timedelta(minutes=3)
    )
    assert rec.purge_messages([gone.id], actor="retention", reason="expired") is not None
    rec.checkpoint()
    verify_store(store, signer.public_key)
    with store.session() as s:  # the outbound row holds no sent_at of its own
        assert s.execute(
            text("SELECT sent_at FROM messages WHERE id = :i"), {"i": out.id}
        ).one() == (None,)
    _drop_message_guard(store)
    with store.engine.execution_options(**{_WRITE: True}).begin() as c:
        assert c.execute(text(stmt), {"other": other, "blob": b"\x00"}).rowcount == 1
    with pytest.raises(TamperError, match=field) as info:
        verify_store(store, signer.public_key)
    want = {"kept": kept, "gone": gone, "out": out}[row]
    assert info.value.seq == want.ledger_seq  # the error names the edited row's entry
