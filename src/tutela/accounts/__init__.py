"""Dashboard accounts: users, roles, passwords and second factors, per-operation access grants.

Accounts are apart from case work (``tutela.cases``): a case workflow asks *whether* a user may
act; this package says *who* the user is and what they were granted. Every change is an audit
row with its ledger entry, written through the store.
"""

from __future__ import annotations

from tutela.accounts.access import grant_operation, granted_operations, revoke_operation
from tutela.accounts.users import LoginCheck, Role, TotpSecretBox, User, UserStore, totp_uri

__all__ = [
    "LoginCheck",
    "Role",
    "TotpSecretBox",
    "User",
    "UserStore",
    "grant_operation",
    "granted_operations",
    "revoke_operation",
    "totp_uri",
]
