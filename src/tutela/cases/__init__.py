"""Case work: the review queue, case pages, human decisions on cases and referrals, retention,
operations (the legal authority personas work under) and imports of analysed files.

The parts (``docs/architecture.md``, cases):

- ``workflow``: :class:`CaseWorkflow`, the facade the dashboard, the CLI and the live engine use;
- ``transitions``: the case state machine as data (``TRANSITIONS``: action -> roles,
  from-statuses, resulting status) and the statuses and actions;
- ``views``: the frozen view types the pages show;
- ``scope``: who may read and act on which case (roles, per-operation grants);
- ``retention``: the purge of dismissed cases' texts;
- ``operations`` and ``imports``: operations, and analysed files recorded as cases.

Nothing here speaks SQL: reads and writes go through ``tutela.store.queries.cases`` and the
``Recorder``. Users and grants are ``tutela.accounts``.
"""

from __future__ import annotations

from tutela.cases.imports import (
    IMPORT_PERSONA,
    ImportSummary,
    check_import,
    file_sha256,
    import_account,
    import_analysis,
)
from tutela.cases.operations import (
    OperationInactive,
    active_operation,
    add_operation,
    is_active,
    list_operations,
    require_active,
)
from tutela.cases.retention import DEFAULT_RETENTION_DAYS
from tutela.cases.scope import MAX_ID
from tutela.cases.transitions import (
    CASE_READERS,
    TRANSITIONS,
    CaseStatus,
    EventAction,
    InvalidTransition,
    ReferralStatus,
    Transition,
)
from tutela.cases.views import (
    CaseDetail,
    CaseEvent,
    CaseSummary,
    ConversationView,
    IdentityView,
    MessageView,
    Referral,
)
from tutela.cases.workflow import REVIEW_STATUSES, CaseWorkflow

__all__ = [
    "CASE_READERS",
    "DEFAULT_RETENTION_DAYS",
    "IMPORT_PERSONA",
    "MAX_ID",
    "REVIEW_STATUSES",
    "TRANSITIONS",
    "CaseDetail",
    "CaseEvent",
    "CaseStatus",
    "CaseSummary",
    "CaseWorkflow",
    "ConversationView",
    "EventAction",
    "IdentityView",
    "ImportSummary",
    "InvalidTransition",
    "MessageView",
    "OperationInactive",
    "Referral",
    "ReferralStatus",
    "Transition",
    "active_operation",
    "add_operation",
    "check_import",
    "file_sha256",
    "import_account",
    "import_analysis",
    "is_active",
    "list_operations",
    "require_active",
]
