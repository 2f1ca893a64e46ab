"""What the route handlers use, built once per app: the store, the recorder, the user store, the
case workflow, the sessions, the login throttle and the operator outbox.

Sessions and the throttle live in the database (``web_sessions``, ``login_throttle``), so several
``tutela serve`` processes over one database share them; only the argon2 concurrency bound is per
process (``argon2_max_concurrency`` slots in each).

The store and the recorder are built by :func:`tutela.runtime.open_runtime`. The dashboard's
recorder signs checkpoints only with the key the ledger is already signed with, when it is at
hand (``tutela.runtime.LEDGER_KEY``): a dashboard beside a ``tutela run`` that signs with its own
``signing_key:`` must never add checkpoints by another key, which would make the ledger read as
tampered. The export key (:attr:`Services.signer`) follows the runtime's rule
(``WebSettings.signing_key_path``, else the database's own key, else the user's ledger key) and
is loaded on the first export; the export refuses a key that did not sign the ledger.

Nothing here decides anything: the workflow (``tutela.cases.workflow``) holds the rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from tutela.live.takeover import OperatorOutbox
from tutela.runtime import LEDGER_KEY, open_runtime
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
        """Open the store (migrating it; or use ``store``, already open on
        ``settings.db_url``) and build the parts over it (:func:`tutela.runtime.open_runtime`).

        Raises ``StoreError`` for a database that cannot be opened.
        """
        runtime = open_runtime(
            settings.db_url, key=settings.signing_key_path, store=store, signer=LEDGER_KEY
        )
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

    @cached_property
    def signer(self) -> Signer:
        """The key that signs exports, by the runtime's rule (module docstring), loaded (or
        created) on first use. Raises ``SigningKeyError`` for an unusable key."""
        from tutela.runtime import load_signer

        return load_signer(self.settings.db_url, self.settings.signing_key_path)

    def close(self) -> None:
        self.store.close()
