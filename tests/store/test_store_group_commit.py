"""Group commit: writers queued behind a commit are committed together, each in its own
savepoint, so one failing item neither blocks nor undoes the others."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from tutela.errors import InputError
from tutela.store import StoreError, open_store


def test_batched_writers_fail_independently(sqlite_url: str) -> None:
    store = open_store(sqlite_url)
    with store.session() as s:
        s.execute(text("CREATE TABLE t (k INTEGER PRIMARY KEY)"))
    results: dict[str, object] = {}
    batches: list[int] = []
    original = store._commit_batch

    def spy(batch: list) -> None:  # type: ignore[type-arg]
        batches.append(len(batch))
        original(batch)

    store._commit_batch = spy  # type: ignore[method-assign]

    def insert(k: int, name: str) -> None:
        def work(s: Session) -> int:
            s.execute(text("INSERT INTO t (k) VALUES (:k)"), {"k": k})
            return k

        try:
            results[name] = store.write(work)
        except StoreError as e:
            results[name] = e

    def bad() -> None:
        def work(s: Session) -> None:
            s.execute(text("INSERT INTO t (k) VALUES (99)"))
            raise InputError("refused")

        try:
            store.write(work)
        except InputError as e:
            results["bad"] = e

    store._write_lock.acquire()  # hold the "commit in progress" so the writers queue up
    threads = [
        threading.Thread(target=insert, args=(1, "first")),
        threading.Thread(target=bad),
        threading.Thread(target=insert, args=(2, "second")),
        threading.Thread(target=insert, args=(1, "duplicate")),  # fails alone
    ]
    for i, th in enumerate(threads, start=1):
        th.start()  # queued one after the other, so the batch order is known
        deadline = time.monotonic() + 10
        while len(store._pending) < i and time.monotonic() < deadline:
            time.sleep(0.005)
    store._write_lock.release()
    for th in threads:
        th.join()
    assert batches[0] == 4
    assert isinstance(results["bad"], InputError)
    assert (results["first"], results["second"]) == (1, 2)
    assert isinstance(results["duplicate"], StoreError)
    with store.session() as s:
        assert [r[0] for r in s.execute(text("SELECT k FROM t ORDER BY k"))] == [1, 2]
    store.close()


def test_single_writer_error_is_mapped(sqlite_url: str) -> None:
    store = open_store(sqlite_url)

    def work(s: Session) -> None:
        s.execute(text("SELECT * FROM no_such_table"))

    with pytest.raises(StoreError) as info:
        store.write(work)
    assert info.value.__cause__ is not None
    store.close()
