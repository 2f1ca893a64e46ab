"""Opening the store: engine set-up, pragmas, migrations and sessions.

SQLite (the default) runs in WAL mode with ``synchronous=FULL`` (a commit survives power loss once
``commit`` returns) and foreign keys on; write transactions start with ``BEGIN IMMEDIATE`` so the
ledger head is read and advanced under the database write lock, and one in-process lock keeps the
writers of one ``Store`` from spinning in SQLite's busy handler. PostgreSQL serialises appends by
locking the ``ledger_head`` row (``SELECT ... FOR UPDATE``).

Group commit (``Store.write``): a commit costs one fsync, so writers that arrive while another
commits are queued and the next of them commits the whole queue in one transaction, each item in
its own SAVEPOINT (a failing item is rolled back alone and gets its own error). Every caller still
returns only after *its* rows are committed; throughput grows with concurrency instead of latency.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from tutela.private import private_file
from tutela.store.errors import StoreError

__all__ = ["SUPPORTED_BACKENDS", "Store", "default_url", "open_store", "parse_url"]

SUPPORTED_BACKENDS = frozenset({"sqlite", "postgresql"})
"""Database backends Tutela's schema, triggers and locking are written and tested for."""

_WRITE = "tutela_write"
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
_T = TypeVar("_T")
MAX_BATCH = 256  # items per group commit


def default_url() -> str:
    """``TUTELA_DB`` if set, else ``sqlite:///<tutela.private.data_dir()>/tutela.db``."""
    env = os.environ.get("TUTELA_DB")
    if env:
        return env
    from tutela.private import data_dir

    return f"sqlite:///{data_dir() / 'tutela.db'}"


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (see module docstring)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get(_WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class _Pending:
    """One queued write: the work, and its result or error once its batch is done."""

    __slots__ = ("done", "error", "fn", "result")

    def __init__(self, fn: Callable[[Session], Any]) -> None:
        self.fn = fn
        self.result: Any = None
        self.error: BaseException | None = None
        self.done = threading.Event()

    def outcome(self) -> Any:
        self.done.wait()
        if self.error is not None:
            if isinstance(self.error, SQLAlchemyError):
                raise StoreError(
                    f"database error: {self.error.__class__.__name__}: {self.error}"
                ) from self.error
            raise self.error
        return self.result


class Store:
    """An open database. Create with ``open_store``.

    ``session()`` gives a read/write ORM session; ``write_session()`` one whose transaction holds
    the write lock from its start (used by ``Recorder`` for ledger appends).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.url = engine.url.render_as_string(hide_password=True)
        self.dialect = engine.dialect.name
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._write_engine = engine.execution_options(**{_WRITE: True})
        self._write_sessions = sessionmaker(self._write_engine, expire_on_commit=False)
        self._write_lock = threading.Lock()
        self._pending_lock = threading.Lock()
        self._pending: list[_Pending] = []

    @contextmanager
    def session(self) -> Iterator[Session]:
        """An ORM session; commits on normal exit, rolls back on error.

        Driver errors are raised as ``StoreError`` with the original as ``__cause__``.
        """
        try:
            with self._sessions.begin() as s:
                yield s
        except SQLAlchemyError as e:
            raise StoreError(f"database error: {e.__class__.__name__}: {e}") from e

    @contextmanager
    def write_session(self) -> Iterator[Session]:
        """Like ``session()`` but serialised with every other writer from the first statement."""
        with self._write_lock:
            try:
                with self._write_sessions.begin() as s:
                    yield s
            except SQLAlchemyError as e:
                raise StoreError(f"database error: {e.__class__.__name__}: {e}") from e

    def write(self, fn: Callable[[Session], _T]) -> _T:
        """Run ``fn(session)`` in a write transaction and return its result once committed.

        Concurrent calls are group-committed (module docstring). Exceptions raised by ``fn`` are
        re-raised to its caller (database errors as ``StoreError``); only ``fn``'s writes are
        rolled back.
        """
        item = _Pending(fn)
        with self._pending_lock:
            self._pending.append(item)
        with self._write_lock:
            if not item.done.is_set():
                with self._pending_lock:
                    batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                if item not in batch:  # pragma: no cover - only past MAX_BATCH waiting writers
                    batch.append(item)
                    self._pending.remove(item)
                self._commit_batch(batch)
        return item.outcome()

    def _commit_batch(self, batch: list[_Pending]) -> None:
        try:
            try:
                with self._write_sessions.begin() as s:
                    if len(batch) == 1:
                        batch[0].result = batch[0].fn(s)
                    else:
                        for it in batch:
                            try:
                                with s.begin_nested():
                                    it.result = it.fn(s)
                            except Exception as e:  # rolled back to its savepoint
                                it.error = e
            except SQLAlchemyError as e:
                raise StoreError(f"database error: {e.__class__.__name__}: {e}") from e
        except BaseException as e:  # the transaction failed: nothing of the batch was committed
            for it in batch:
                if it.error is None:
                    it.error = e
                    it.result = None
            if not isinstance(e, Exception):  # KeyboardInterrupt, SystemExit: propagate here too
                raise
        finally:
            for it in batch:
                it.done.set()

    def close(self) -> None:
        """Dispose of the connection pool."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def alembic_config(engine: Engine) -> Config:
    """An Alembic ``Config`` pointing at the packaged migrations (no alembic.ini)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(files("tutela.store") / "migrations"))
    # configparser interpolates '%': escape it (URL-encoded passwords and options contain it)
    url = engine.url.render_as_string(hide_password=False).replace("%", "%%")
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def upgrade(engine: Engine) -> None:
    """Bring the schema to the latest revision (idempotent)."""
    cfg = alembic_config(engine)
    with engine.execution_options(**{_WRITE: True}).connect() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
        conn.commit()


def _private_sqlite_file(db: Path) -> None:
    """The SQLite file holds chat texts and password hashes: folder 0700, file 0600 (SQLite gives
    its ``-wal`` and ``-shm`` files the database file's mode). See :mod:`tutela.private`."""
    if str(db).startswith("file:"):  # a URI filename: SQLite opens it, we do not guess the path
        return
    try:
        private_file(db)
    except OSError as e:
        raise StoreError(f"cannot create database file {str(db)!r}: {e.strerror or e}") from e


def parse_url(url: str) -> URL:
    """``url`` parsed; ``StoreError`` when it is not a URL (also a bad port, e.g. ``@db:54x2``) or
    names a backend outside :data:`SUPPORTED_BACKENDS` (e.g. ``mysql://``).

    The message never repeats a URL that cannot be parsed (it may hold a password): it names at
    most the scheme before ``://``; a parsed URL is shown with its password hidden.
    """
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        scheme = _SCHEME.match(url)
        shown = f" (scheme {scheme.group(1)!r})" if scheme else ""
        raise StoreError(
            f"invalid database URL{shown}: use sqlite:///PATH or "
            "postgresql+psycopg://USER:PASSWORD@HOST:PORT/NAME"
        ) from None
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED_BACKENDS:
        raise StoreError(
            f"unsupported database {backend!r} in "
            f"{parsed.render_as_string(hide_password=True)!r}: use sqlite:///PATH or "
            "postgresql+psycopg://USER@HOST/NAME"
        )
    return parsed


def open_store(url: str | None = None, *, migrate: bool = True) -> Store:
    """Open (and create/upgrade with Alembic) the store at ``url``.

    ``url``: a SQLAlchemy URL; ``None`` uses ``default_url()``. A SQLite file and the folders above
    it are created private (``0600``/``0700``, :mod:`tutela.private`).
    Raises ``StoreError`` when the URL is invalid, names a backend outside
    :data:`SUPPORTED_BACKENDS` (e.g. ``mysql://``) or a driver that is not installed, or the
    database cannot be opened or migrated (passwords are not shown in the message).
    """
    parsed = parse_url(url or default_url())
    shown = parsed.render_as_string(hide_password=True)
    is_sqlite = parsed.get_backend_name() == "sqlite"
    if is_sqlite and parsed.database and parsed.database != ":memory:":
        _private_sqlite_file(Path(parsed.database))
    try:
        if is_sqlite:
            engine = create_engine(parsed, connect_args={"timeout": 30, "check_same_thread": False})
            _sqlite_setup(engine)
        else:
            engine = create_engine(parsed, pool_pre_ping=True)
        if migrate:
            upgrade(engine)
    except ImportError as e:  # a dialect whose driver module is not installed
        raise StoreError(
            f"cannot open database {shown!r}: its driver is not installed ({e.name or e})"
        ) from e
    except SQLAlchemyError as e:
        cause = getattr(e, "orig", None) or e
        raise StoreError(f"cannot open database {shown!r}: {str(cause).strip()}") from e
    return Store(engine)
