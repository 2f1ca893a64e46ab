"""The case state machine as data, and the public names of tutela.cases."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

import tutela.cases
from tutela.accounts.users import Role
from tutela.cases.transitions import (
    TRANSITIONS,
    CaseStatus,
    EventAction,
    InvalidTransition,
    check_transition,
)
from tutela.store import CaseRecord

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def _case(status: str) -> CaseRecord:
    return CaseRecord(id=7, contact_id=3, status=status, risk=0.5, opened_at=T0, updated_at=T0)


def test_every_action_has_one_row() -> None:
    assert set(TRANSITIONS) == set(EventAction)
    assert all(t.action is a for a, t in TRANSITIONS.items())


def test_the_table() -> None:
    rows = {
        a.value: (
            sorted(r.value for r in t.roles),
            None if t.from_statuses is None else [s.value for s in t.from_statuses],
            None if t.to is None else t.to.value,
        )
        for a, t in TRANSITIONS.items()
    }
    workers = ["analyst", "supervisor"]
    assert rows == {
        "dismiss": (workers, ["open", "watching"], "dismissed"),
        "watch": (workers, ["open", "watching"], "watching"),
        "propose_referral": (workers, ["open", "watching"], "referral_proposed"),
        "approve_referral": (["supervisor"], ["referral_proposed"], "referred"),
        "reject_referral": (["supervisor"], ["referral_proposed"], "watching"),
        "reopen": (workers, ["dismissed", "purged", "referred"], "open"),
        "reveal": (workers, None, None),
        "purge": ([], ["dismissed"], "purged"),
    }
    assert Role.ADMIN not in set().union(*(t.roles for t in TRANSITIONS.values()))


def test_check_transition() -> None:
    assert check_transition(_case("open"), EventAction.DISMISS).to is CaseStatus.DISMISSED
    assert check_transition(_case("merged"), EventAction.REVEAL).to is None
    with pytest.raises(InvalidTransition, match=r"cannot reopen case 7: it is open \(allowed from "
                       r"dismissed, purged, referred\)"):  # fmt: skip
        check_transition(_case("open"), EventAction.REOPEN)


def test_public_names() -> None:
    expected = {
        "CASE_READERS", "DEFAULT_RETENTION_DAYS", "IMPORT_PERSONA", "MAX_ID", "REVIEW_STATUSES",
        "TRANSITIONS", "CaseDetail", "CaseEvent", "CaseStatus", "CaseSummary", "CaseWorkflow",
        "ConversationView", "EventAction", "IdentityView", "ImportSummary", "InvalidTransition",
        "MessageView", "OperationInactive", "Referral", "ReferralStatus", "Transition",
        "active_operation", "add_operation", "check_import", "file_sha256", "import_account",
        "import_analysis", "is_active", "list_operations", "require_active",
    }  # fmt: skip
    assert set(tutela.cases.__all__) == expected
    for name in expected:
        assert getattr(tutela.cases, name) is not None
    from tutela.cases import workflow

    assert workflow.CaseWorkflow is tutela.cases.CaseWorkflow
    assert workflow.InvalidTransition is tutela.cases.InvalidTransition
