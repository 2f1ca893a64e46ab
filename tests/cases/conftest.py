"""Case-workflow fixtures: a SQLite store with a signing recorder (opened by
``tutela.runtime.open_runtime``) and users of each role."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from cases_support import PASSWORD, Clock, Env

from tutela.accounts.users import UserStore
from tutela.cases.workflow import CaseWorkflow
from tutela.ledger import Signer
from tutela.runtime import open_runtime


@pytest.fixture
def fast_hasher() -> PasswordHasher:
    """argon2id with small costs, so tests stay fast (production uses the RFC 9106 profile)."""
    return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture
def env(tmp_path: Path, fast_hasher: PasswordHasher) -> Iterator[Env]:
    clock = Clock()
    signer = Signer.generate()  # a throwaway key: these tests check what it signed
    runtime = open_runtime(
        f"sqlite:///{tmp_path / 'cases.db'}", signer=signer, checkpoint_every=5, clock=clock
    )
    store, recorder = runtime.store, runtime.recorder
    users = UserStore(store, recorder=recorder, hasher=fast_hasher, clock=clock)
    e = Env(
        store=store,
        recorder=recorder,
        signer=signer,
        clock=clock,
        workflow=CaseWorkflow(recorder, clock=clock),
        users=users,
        analyst=users.add("ana", "analyst", PASSWORD),
        analyst2=users.add("ben", "analyst", PASSWORD),
        supervisor=users.add("sue", "supervisor", PASSWORD),
        supervisor2=users.add("sam", "supervisor", PASSWORD),
        admin=users.add("root", "admin", PASSWORD),
    )
    yield e
    store.close()
