"""What the route handlers use, built once per app: the store, the recorder, the user store, the
case workflow, the sessions, the login throttle and the operator outbox.

Sessions and the throttle live in the database (``web_sessions``, ``login_throttle``), so several
``tutela serve`` processes over one database share them; only the argon2 concurrency bound is per
process (``argon2_max_concurrency`` slots in each).

The store and the recorder are built by :func:`tutela.runtime.open_runtime`, so the dashboard's
recorder signs checkpoints (every ``checkpoint_every`` entries, and each export) with the key the
runtime's rule chooses: ``WebSettings.signing_key_path``, else the database's own key (a demo
database's key beside it), else the user's ledger key. The key is loaded when the app is built:
an unusable key (a wrong or missing passphrase) stops ``tutela serve`` before it listens.

Nothing here decides anything: the workflow (``tutela.cases.workflow``) holds the rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from tutela.live.takeover import OperatorOutbox
from tutela.runtime import open_runtime
from tutela.store import Recorder, Store
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
        """Load the signing key, open the store (migrating it; or use ``store``, already open
        on ``settings.db_url``) and build the parts over it (:func:`tutela.runtime.open_runtime`).

        Raises ``SigningKeyError`` for an unusable key, ``StoreError`` for a database that cannot
        be opened.
        """
        runtime = open_runtime(settings.db_url, key=settings.signing_key_path, store=store)
        store = runtime.store
        return cls(
            settings=settings,
            store=store,
            recorder=runtime.recorder,
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

    @property
    def signer(self) -> Signer:
        """The key that signs the recorder's checkpoints and the exports (module docstring)."""
        signer = self.recorder.signer
        if signer is None:  # a Services built by hand around an unsigned recorder
            from tutela.store import StoreError

            raise StoreError("no signer configured: cannot sign an export")
        return signer

    def close(self) -> None:
        self.store.close()
