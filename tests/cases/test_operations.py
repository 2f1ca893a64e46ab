"""Operations: which one is active, and the refusal to work outside one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cases_support import T0, Env

from tutela.cases.operations import (
    OperationInactive,
    active_operation,
    add_operation,
    list_operations,
    require_active,
)
from tutela.errors import InputError

TERMS = {
    "organisation": "Test unit",
    "jurisdiction": "NL",
    "legal_basis": "test basis",
    "officer": "officer a",
}


def test_active_operation_window(env: Env) -> None:
    rec = env.recorder
    rec.ensure_demo_operation()  # never authorises real work
    assert active_operation(rec, T0) is None
    with pytest.raises(OperationInactive):
        require_active(active_operation(rec, T0), T0)
    op = add_operation(
        rec, **TERMS, authorisation_ref="R-1", starts_at=T0, ends_at=T0 + timedelta(days=30)
    )
    assert active_operation(rec, T0 - timedelta(seconds=1)) is None
    assert active_operation(rec, T0) == op
    assert require_active(op, T0 + timedelta(days=29)) == op
    with pytest.raises(OperationInactive, match="not active"):
        require_active(op, T0 + timedelta(days=30))
    later = add_operation(rec, **TERMS, authorisation_ref="R-2", starts_at=T0 + timedelta(days=1))
    assert active_operation(rec, T0 + timedelta(days=2)) == later
    assert active_operation(rec, T0 + timedelta(days=2), authorisation_ref="R-1") == op
    assert [o.authorisation_ref for o in list_operations(rec)] == ["tutela-demo", "R-1", "R-2"]


def test_add_operation_validates(env: Env) -> None:
    with pytest.raises(InputError):
        add_operation(
            env.recorder, **{**TERMS, "officer": " "}, authorisation_ref="R", starts_at=T0
        )
    with pytest.raises(InputError):
        add_operation(env.recorder, **TERMS, authorisation_ref="R", starts_at=T0, ends_at=T0)
    with pytest.raises(InputError):
        add_operation(env.recorder, **TERMS, authorisation_ref="tutela-demo", starts_at=T0)
    with pytest.raises(InputError):
        add_operation(
            env.recorder, **TERMS, authorisation_ref="R", starts_at=T0.replace(tzinfo=None)
        )
