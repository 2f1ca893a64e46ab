"""Writes ``store_0005.sql`` and ``store_0005.key.hex`` (the raw Ed25519 private key, hex): a
store at migration 0005 (before ``messages.sent_at``) with a conversation, messages, a decision,
a purge, a case and signed checkpoints, dumped as SQL text. Run it with the source tree of
revision 0005 on the path::

    git archive <commit before 0006> src | tar -x -C /tmp/old
    PYTHONPATH=/tmp/old/src python tests/store/data/_make_store_0005.py

The test key is synthetic and signs nothing but this fixture.
"""

from __future__ import annotations

import sqlite3
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from tutela.ledger import Signer
from tutela.store import Recorder, open_store

HERE = Path(__file__).resolve().parent
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def main() -> None:
    signer = Signer.generate()
    ticks = iter(range(10_000))
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "old.db"
        store = open_store(f"sqlite:///{db}")
        rec = Recorder(
            store,
            signer=signer,
            checkpoint_every=3,
            clock=lambda: T0 + timedelta(milliseconds=next(ticks)),
        )
        op = rec.create_operation(
            organisation="Example Unit", jurisdiction="NL", legal_basis="synthetic test record",
            authorisation_ref="AUTH-OLD-1", officer="officer-1", starts_at=T0,
            ends_at=T0 + timedelta(days=30), evidential=True,
        )  # fmt: skip
        contact = rec.get_or_create_contact("xmpp", "bob@localhost")
        conv = rec.open_conversation(
            operation_id=op.id, persona_id="p-old", platform="xmpp",
            account="mia@localhost", contact_id=contact, lang="en", started_at=T0,
        ).id  # fmt: skip
        ids = []
        for n, text in enumerate(["hello there", "how was school", "see you"], start=1):
            at = T0 + timedelta(minutes=n)
            m = rec.record_inbound(
                conversation_id=conv, author="bob@localhost", text=text,
                wire=f"<message><body>{text}</body></message>".encode(), received_at=at,
                platform_msg_id=f"old-{n}", contact_line=n,
            )  # fmt: skip
            ids.append(m.id)
            rec.record_decision(
                conversation_id=conv, message_id=m.id, after_line=n, action="continue",
                risk=0.1, indicators=[], rule="none", reason="synthetic", variant=None,
            )  # fmt: skip
            rec.record_outbound(
                conversation_id=conv, text="ok", origin="bank:test",
                sent_at=at + timedelta(seconds=5),
            )  # fmt: skip
        rec.purge_messages(ids[:1], actor="retention", reason="expired")
        rec.get_or_create_case(contact)
        rec.checkpoint()
        store.close()
        con = sqlite3.connect(db)
        (HERE / "store_0005.sql").write_text("\n".join(con.iterdump()) + "\n")
        con.close()
    raw = signer._key.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    (HERE / "store_0005.key.hex").write_text(raw.hex() + "\n")


if __name__ == "__main__":
    main()
