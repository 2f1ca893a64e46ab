"""Every message reported as recorded survives a ``kill -9`` of the recording process, and the
ledger chain still verifies afterwards. Also: concurrent writers keep one unbroken chain."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from _store_contract import T0

from tutela.ledger import Signer
from tutela.store import Recorder, iter_ledger, open_store, verify_store

WRITER = textwrap.dedent(
    """
    import sys
    from datetime import UTC, datetime
    from tutela.ledger import Signer
    from tutela.store import Recorder, open_store

    store = open_store(sys.argv[1])
    rec = Recorder(store, signer=Signer.load_or_create(sys.argv[2]), checkpoint_every=7)
    op = rec.ensure_demo_operation()
    contact = rec.get_or_create_contact("local", "contact-1")
    conv = rec.open_conversation(operation_id=op.id, persona_id="p", platform="local",
                                 account="a", contact_id=contact, lang="en",
                                 started_at=datetime.now(UTC))
    line = 0
    while True:
        line += 1
        m = rec.record_inbound(conversation_id=conv.id, author="contact-1",
                               text=f"synthetic line {line}", wire=b"w",
                               received_at=datetime.now(UTC), contact_line=line)
        print(m.id, flush=True)
    """
)


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL is POSIX-only")
def test_recorded_messages_survive_kill_9(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'tutela.db'}"
    key = tmp_path / "key.pem"
    script = tmp_path / "writer.py"
    script.write_text(WRITER, encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, str(script), url, str(key)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    reported: list[int] = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        while len(reported) < 40 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            reported.append(int(line))
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()
        err = proc.stderr.read() if proc.stderr is not None else ""
        if proc.stderr is not None:
            proc.stderr.close()
    assert len(reported) == 40, err
    assert proc.returncode == -signal.SIGKILL

    store = open_store(url)
    rec = Recorder(store)
    conv = rec.open_conversations()[0]
    stored = {m.id for m in rec.conversation_messages(conv.id)}
    assert set(reported) <= stored
    n = verify_store(store, Signer.load_or_create(key).public_key)
    assert n >= len(reported)
    store.close()


def test_concurrent_writers_keep_one_chain(sqlite_url: str) -> None:
    signer = Signer.generate()
    store = open_store(sqlite_url)
    rec = Recorder(store, signer=signer, checkpoint_every=10)
    op = rec.ensure_demo_operation()
    convs = []
    for i in range(4):
        cid = rec.get_or_create_contact("local", f"c{i}")
        convs.append(
            rec.open_conversation(
                operation_id=op.id,
                persona_id="p",
                platform="local",
                account="a",
                contact_id=cid,
                lang="en",
                started_at=T0,
            ).id
        )
    errors: list[BaseException] = []

    def work(conv: int) -> None:
        try:
            for line in range(1, 16):
                rec.record_inbound(
                    conversation_id=conv,
                    author="c",
                    text=f"line {line}",
                    wire=b"",
                    received_at=T0 + timedelta(seconds=line),
                    contact_line=line,
                )
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(c,)) for c in convs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    # a second Store on the same file writes too (another process would do the same)
    other = open_store(sqlite_url)
    Recorder(other, signer=signer).record_outbound(
        conversation_id=convs[0], text="ok", origin="test", sent_at=T0
    )
    other.close()
    for c in convs:
        assert [m.seq for m in rec.conversation_messages(c)][:15] == list(range(1, 16))
    assert verify_store(store, signer.public_key) == len(list(iter_ledger(store)))
    store.close()
