"""What the route handlers use, built once per app: the store, the recorder, the user store, the
case workflow, the sessions, the login throttle and the operator outbox.

Sessions and the throttle live in the database (``web_sessions``, ``login_throttle``), so several
``tutela serve`` processes over one database share them; only the argon2 concurrency bound is per
process (``argon2_max_concurrency`` slots in each).

Nothing here decides anything: the workflow (``tutela.cases.workflow``) holds the rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from tutela.live.takeover import OperatorOutbox
from tutela.store import Recorder, Store, open_store
from tutela.web.sessions import SessionStore
from tutela.web.settings import WebSettings
from tutela.web.throttle import LoginThrottle

if TYPE_CHECKING:
    from tutela.accounts.users import UserStore
    from tutela.cases.workflow import CaseWorkflow
    from tutela.ledger import Signer

__all__ = ["Services"]


@dataclass
class Services:
    """Shared objects of one dashboard app (see module docstring)."""

    settings: WebSettings
    store: Store
    recorder: Recorder
    sessions: SessionStore
    throttle: LoginThrottle
    outbox: OperatorOutbox

    @classmethod
    def from_settings(cls, settings: WebSettings, *, store: Store | None = None) -> Services:
        """Open the store (migrating it) and build the parts over it."""
        store = store or open_store(settings.db_url)
        return cls(
            settings=settings,
            store=store,
            recorder=Recorder(store),
            sessions=SessionStore(
                store, ttl_s=settings.session_ttl_s, idle_s=settings.session_idle_s
            ),
            throttle=LoginThrottle(
                store,
                max_failures=settings.throttle_max_failures,
                base_s=settings.throttle_base_lockout_s,
                max_s=settings.throttle_max_lockout_s,
                decay_s=settings.throttle_decay_s,
                address_max_failures=settings.throttle_address_max_failures,
                address_slow_s=settings.throttle_address_slow_s,
            ),
            outbox=OperatorOutbox(store),
        )

    @cached_property
    def users(self) -> UserStore:
        from tutela.accounts.users import UserStore

        return UserStore(
            self.store,
            recorder=self.recorder,
            max_concurrent_hashes=self.settings.argon2_max_concurrency,
        )

    @cached_property
    def workflow(self) -> CaseWorkflow:
        from tutela.cases.workflow import CaseWorkflow

        return CaseWorkflow(self.recorder)

    @cached_property
    def signer(self) -> Signer:
        """The checkpoint key used for exports (loaded on first export): ``signing_key_path``,
        else the database's own key by the rule every command uses
        (:func:`tutela.ledger.signing.key_path_for_db`: a demo database's key beside it, the
        default key otherwise)."""
        from tutela.ledger import Signer
        from tutela.ledger.signing import key_path_for_db

        path = self.settings.signing_key_path or key_path_for_db(self.settings.db_url)
        return Signer.load_or_create(path)

    def close(self) -> None:
        self.store.close()
