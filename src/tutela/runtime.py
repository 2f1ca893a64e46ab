"""The one place that builds the system: store, recorder, signing key, detection, policy, personas
and the live engine (``docs/architecture.md``, "The runtime builder").

Every entry point builds through here: ``tutela demo`` (:mod:`tutela.live.demo`), ``tutela run``
(:mod:`tutela.live.runner`), the dashboard (:mod:`tutela.web.services`), the CLI commands that
open a store, a recorder or a signer (:mod:`tutela.cli`) and ``benchmarks/bench_live.py``.

**Signing key rule** (:func:`signing_key_path`), the one the CLI documents for ``tutela export
--key`` ("default: the database's demo key or the user's ledger key") and ``tutela ledger
rotate-key --key`` ("default: the database's key"), and that the README states ("A database that
``tutela demo`` wrote to keeps its own demo key ... so demonstration data is never signed with the
production key"):

1. an explicit key file (``--key``, ``signing_key:`` of a run configuration, the dashboard's
   ``signing_key_path``);
2. else the key that belongs to the database (:func:`tutela.ledger.signing.key_path_for_db`):
   ``signing-key.pem`` beside a database in a ``tutela-demo-*`` folder, or
   ``<file>.demo-signing-key.pem`` beside a SQLite file a demo ran against;
3. else, for a demonstration run (``demo=True``), the demo key
   (:func:`tutela.ledger.signing.demo_key_path`), never the production key;
4. else the user's ledger key (:func:`tutela.ledger.signing.default_key_path`,
   ``<user data dir>/ledger-signing-key.pem``).

Its passphrase comes from ``passphrase`` (a run configuration's ``signing_key_passphrase``,
``_env`` or ``_file``: :func:`tutela.configfile.resolve_secrets`), else ``passphrase_file``
(first line), else ``$TUTELA_KEY_PASSPHRASE`` (:mod:`tutela.ledger.signing`).
Before this module the rule was written three ways: the CLI's
(``cli/ledger.py``, ``cli/evidence.py``, ``cli/batch.py``: steps 1, 2, 4), the demo's
(``live/demo.py``: step 3 only) and the runner's (``live/runner.py``: steps 1 and 4, so a run
against a demo database signed it with the production key); and the dashboard's and the CLI case
commands' recorders had no signer at all, so they never signed a checkpoint.

**Detection rule** (:func:`load_detection`): ``--model`` > the detection config's ``model:`` > the
model shipped in the package; the config is ``--config`` over the packaged defaults.

**Deterrence rotation** (:meth:`LiveSystem.assigner`): the variant assigner continues after the
warnings the database already holds (``Recorder.warnings_issued``), so a reused database never
restarts the rotation (the rule ``tutela run`` always had; the demo restarted it).

**Shadow policy** (:func:`load_shadow_policy`, ``tutela run --shadow-policy FILE``): a candidate
policy is loaded the way the active one is (the same YAML loader and validation, from the bytes
whose SHA-256 names it) before the store is touched; every engine evaluates it beside the active
policy (:mod:`tutela.live.shadow`, never acting) and the first engine built audits it
(``shadow_policy_started``, with the SHA-256 and path).

This module sits below :mod:`tutela.live` (which uses it); it calls the engine's constructor it is
given (:meth:`LiveSystem.engine`) instead of importing it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import structlog
from pydantic import SecretStr

from tutela.ledger import signing
from tutela.ledger.errors import SigningKeyError
from tutela.ledger.signing import Signer
from tutela.store import Recorder, Store, default_url, open_store
from tutela.store.queries.signing import ledger_key_fingerprints

if TYPE_CHECKING:
    from types import TracebackType

    from tutela.detect.config import DetectionConfig, WarningRule
    from tutela.detect.incremental import ScoringTables
    from tutela.detect.model import GroomingClassifier
    from tutela.persona import PersonaProfile
    from tutela.policy import Policy, PolicyParams, VariantAssigner

__all__ = [
    "Detection",
    "LiveSystem",
    "Runtime",
    "build_live",
    "load_detection",
    "load_signer",
    "open_runtime",
    "resolve_url",
    "select_persona",
    "signing_key_path",
]

E = TypeVar("E")
PathLike = str | os.PathLike[str]
FilePath = str | Path


def resolve_url(db_url: str | None) -> str:
    """``db_url``, else :func:`tutela.store.default_url` (``$TUTELA_DB`` or the user data dir)."""
    return db_url or default_url()


def signing_key_path(
    db_url: str | None = None, key: PathLike | None = None, *, demo: bool = False
) -> Path:
    """The signing key file for ``db_url`` by the rule of the module docstring (steps 1-4).

    ``db_url``: ``None`` is :func:`tutela.store.default_url`. ``key``: an explicit key file
    (step 1). ``demo``: a demonstration run (step 3 instead of step 4). Never touches the file.
    """
    if key is not None:
        return Path(key)
    url = resolve_url(db_url)
    own = signing.key_path_for_db(url)  # looked up at each call (tests point them elsewhere)
    if own is not None:
        return own
    return signing.demo_key_path(url) if demo else signing.default_key_path()


def load_signer(
    db_url: str | None = None,
    key: PathLike | None = None,
    *,
    passphrase_file: PathLike | None = None,
    passphrase: SecretStr | str | None = None,
    demo: bool = False,
    create: bool = True,
) -> Signer:
    """The signer of :func:`signing_key_path`, its passphrase from ``passphrase`` (a
    ``SecretStr`` from a run configuration), else ``passphrase_file`` (first line), else
    ``$TUTELA_KEY_PASSPHRASE``.

    ``create``: make the key (0600, folder 0700) when it does not exist yet
    (``Signer.load_or_create``); ``False`` only loads (``Signer.load``). Raises
    ``SigningKeyError`` (exit 2 in the CLI) for a missing key (``create=False``), a key readable
    by group/others, a missing or wrong passphrase, or a file that is not an Ed25519 PKCS#8 key.
    """
    path = signing_key_path(db_url, key, demo=demo)
    secret: bytes | str | None
    if passphrase is not None:
        secret = passphrase.get_secret_value() if isinstance(passphrase, SecretStr) else passphrase
    else:
        secret = None if passphrase_file is None else signing.read_passphrase_file(passphrase_file)
    if create:
        return Signer.load_or_create(path, passphrase=secret)
    return Signer.load(path, passphrase=secret)


@dataclass
class Runtime:
    """An open store with its recorder (which signs checkpoints when it has a signer).

    ``close()`` (or leaving a ``with`` block) closes the store.
    """

    url: str
    store: Store
    recorder: Recorder

    @property
    def signer(self) -> Signer | None:
        """The recorder's current signer (``None`` for an unsigned runtime)."""
        return self.recorder.signer

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Runtime:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


_RULE: Any = object()  # "choose the signer by the rule", the default of ``signer=``
LEDGER_KEY: Any = object()
"""``open_runtime(signer=LEDGER_KEY)``: sign only with the key this ledger is signed with now
(:func:`ledger_signer`); for the writers beside the process that holds the key (the dashboard,
the CLI's account, operation, case and research commands)."""

log = structlog.get_logger(__name__)


def require_ledger_key(store: Store, signer: Signer | None) -> None:
    """Refuse to sign this ledger with a key that is not the one it is signed with now.

    For the processes that hold a key of their own and sign every ``checkpoint_every`` entries
    (``tutela run``, ``tutela analyze --operation``; :func:`open_runtime` checks it for every key
    its rule chooses): a checkpoint by another key makes
    ``tutela ledger verify`` report the ledger as tampered, for good. A ledger nothing has signed
    yet accepts any key (the first signer sets it); ``signer=None`` signs nothing and passes.

    Raises ``SigningKeyError`` naming both fingerprints and the two ways out.
    """
    if signer is None:
        return
    known = ledger_key_fingerprints(store)
    if known and signer.fingerprint() not in known:
        raise SigningKeyError(
            f"this database's ledger is signed by another key ({', '.join(sorted(known))}), "
            f"not by {signer.fingerprint()}: point at the key file with that fingerprint (run "
            "config 'signing_key:', or --key); to move the ledger to a new key, run "
            "'tutela ledger rotate-key --key FILE' with that file"
        )


def ledger_signer(
    store: Store,
    db_url: str | None = None,
    key: PathLike | None = None,
    *,
    passphrase_file: PathLike | None = None,
) -> Signer | None:
    """The signer of :func:`signing_key_path` if, and only if, it already signs this ledger:
    its fingerprint is that of the ledger's latest checkpoint or latest key rotation
    (:func:`tutela.store.queries.signing.ledger_key_fingerprints`). ``None`` otherwise: the key
    file is absent (never created here), cannot be loaded without a prompt (a protected key
    without ``passphrase_file`` or ``$TUTELA_KEY_PASSPHRASE``), or is another key, e.g. when
    ``tutela run`` signs with the explicit ``signing_key:`` of its run configuration while the
    dashboard's rule finds the user's default key.

    Why: a checkpoint by any key but the ledger's makes ``tutela ledger verify`` report the
    ledger as tampered, for good (checkpoints are append-only). Entries written without a
    signer are covered by the next checkpoint of the process that holds the ledger's key, or by
    the checkpoint an export signs. Never raises for an unusable key; logs why it signs nothing.
    """
    path = signing_key_path(db_url, key)
    if not path.is_file():
        return None
    try:
        secret = None if passphrase_file is None else signing.read_passphrase_file(passphrase_file)
        candidate = Signer.load(path, passphrase=secret)
    except SigningKeyError as e:
        log.warning("ledger.not_signing", reason=str(e))
        return None
    if candidate.fingerprint() not in ledger_key_fingerprints(store):
        log.info("ledger.not_signing", reason="the key is not the key this ledger is signed with")
        return None
    return candidate


def open_runtime(
    db_url: str | None = None,
    *,
    key: PathLike | None = None,
    passphrase_file: PathLike | None = None,
    passphrase: SecretStr | str | None = None,
    signer: Signer | None = _RULE,
    store: Store | None = None,
    clock: Callable[[], datetime] | None = None,
    checkpoint_every: int = 100,
    demo: bool = False,
) -> Runtime:
    """Open the store at ``db_url`` (``None``: :func:`tutela.store.default_url`) with a recorder
    that signs checkpoints.

    ``signer``: by default :func:`load_signer` (``key``, ``passphrase``, ``passphrase_file``,
    ``demo``: a
    demonstration run, signing key rule step 3; the key is created when absent), loaded before
    the store is opened, so an unusable key leaves no database behind; :data:`LEDGER_KEY`: only
    the key this ledger is signed with, if it is at hand (:func:`ledger_signer`; never created
    or prompted for); a given ``Signer`` is used as it is; ``None`` records without signing
    (read-only commands, the benchmark). ``store``: an already open store of ``db_url`` to use
    instead of opening one. ``clock``: the recorder's clock (aware datetimes; default UTC now).
    ``checkpoint_every``: entries between automatic checkpoints (0: only explicit ones).
    A key chosen by the rule must be the one the ledger is signed with
    (:func:`require_ledger_key`); when it is not, the store is closed again and a key file this
    call created is removed.

    Raises ``SigningKeyError`` for an unusable key or one the ledger is not signed with,
    ``StoreError`` for a database that cannot be opened or migrated.
    """
    url = resolve_url(db_url)
    chosen: Signer | None = signer
    made_key: Path | None = None
    if signer is _RULE:
        path = signing_key_path(url, key, demo=demo)
        made_key = None if path.exists() else path
        chosen = load_signer(
            url, key, passphrase_file=passphrase_file, passphrase=passphrase, demo=demo
        )
    opened = store if store is not None else open_store(url)
    if signer is _RULE:
        try:  # never a second key on one ledger
            require_ledger_key(opened, chosen)
        except SigningKeyError:
            if store is None:
                opened.close()
            if made_key is not None:  # refused: leave no new key for the rule to pick next
                made_key.unlink(missing_ok=True)
            raise
    if signer is LEDGER_KEY:
        chosen = ledger_signer(opened, url, key, passphrase_file=passphrase_file)
    recorder = Recorder(opened, signer=chosen, checkpoint_every=checkpoint_every, clock=clock)
    return Runtime(url=url, store=opened, recorder=recorder)


@dataclass(frozen=True)
class Detection:
    """The detection side of the live path: config, model, incremental scoring tables."""

    config: DetectionConfig
    model: GroomingClassifier

    @property
    def rule(self) -> WarningRule:
        """The early-warning rule of the config."""
        return self.config.warning_rule

    @cached_property
    def tables(self) -> ScoringTables:
        """The model's incremental scoring tables (built on first use; the live path only)."""
        from tutela.detect.incremental import ScoringTables

        return ScoringTables(self.model)


def load_detection(config: FilePath | None = None, model: FilePath | None = None) -> Detection:
    """Detection by the rule of the module docstring: ``config`` (YAML over the packaged
    defaults; ``None``: the defaults) and ``model`` (else the config's ``model:``, else the
    shipped model). Raises ``ConfigError`` for a bad config and what
    :func:`tutela.detect.persistence.load_model` raises for a model that cannot be loaded.
    """
    from tutela.detect.config import load_detection_config
    from tutela.detect.persistence import load_model

    cfg = load_detection_config(config)
    return Detection(config=cfg, model=load_model(model if model is not None else cfg.model))


def select_persona(persona: str | Path | None = None, *, lang: str = "en") -> PersonaProfile:
    """``persona`` (a shipped id or a profile YAML path), else the shipped persona of ``lang``.

    Raises ``ConfigError`` for an unknown id, a bad file or a language no persona speaks.
    """
    from tutela.persona import load_persona, persona_for_language

    return load_persona(persona) if persona else persona_for_language(lang)


@dataclass(frozen=True)
class ShadowPolicy:
    """A candidate policy evaluated beside the active one: ``policy``, ``sha256`` (hex) of the
    file's bytes as loaded, ``name`` (the file name) and ``path`` (as given)."""

    policy: Policy
    sha256: str
    name: str
    path: str


def load_shadow_policy(path: FilePath) -> ShadowPolicy:
    """Load the shadow policy ``path`` exactly as :func:`tutela.policy.load_policy` loads the
    active one (YAML, validated; an empty file is the defaults), hashing the very bytes parsed.
    Raises ``ConfigError`` as ``load_policy`` does."""
    from tutela.configfile import MAX_CONFIG_BYTES, parse_yaml, validate
    from tutela.errors import ConfigError
    from tutela.files import read_small_file
    from tutela.ledger import sha256_hex
    from tutela.policy import Policy, PolicyParams

    shown = os.fspath(path)
    what = "policy file"
    data = read_small_file(path, what=what, limit=MAX_CONFIG_BYTES, error=ConfigError)
    params = validate(parse_yaml(data, name=shown), PolicyParams, what=what, empty_ok=True)
    return ShadowPolicy(Policy(params), sha256_hex(data), Path(shown).name, shown)


@dataclass
class LiveSystem:
    """Everything a persona engine needs apart from its connector and persona (see
    :func:`build_live`); one per process, shared by all its engines."""

    runtime: Runtime
    detection: Detection
    params: PolicyParams
    policy: Policy = field(init=False)
    assigner: VariantAssigner = field(init=False)
    shadow: ShadowPolicy | None = None
    """The candidate policy every engine evaluates beside the active one (module docstring)."""
    _shadow_audited: bool = field(default=False, init=False, repr=False)

    def __post_init__(self) -> None:
        from tutela.policy import Policy, VariantAssigner

        self.policy = Policy(self.params)
        # continue the rotation after the warnings this database already holds (module docstring)
        self.assigner = VariantAssigner(self.params, issued=self.recorder.warnings_issued())

    @property
    def store(self) -> Store:
        return self.runtime.store

    @property
    def recorder(self) -> Recorder:
        return self.runtime.recorder

    def engine(
        self,
        factory: Callable[..., E],
        *,
        connector: Any,
        persona: PersonaProfile,
        operation_id: int,
        **options: Any,
    ) -> E:
        """Build one engine: ``factory`` is the engine class
        (:class:`tutela.live.engine.PersonaEngine`), called with this system's recorder,
        policy, shared variant assigner, scoring tables and warning rule, and ``connector``,
        ``persona``, ``operation_id`` and ``options`` (``clock``, ``lang``, ``organisation``,
        ``delay_scale``, ...: the engine's keyword arguments). With a shadow policy the engine
        also gets ``shadow=`` and the first engine built audits it (module docstring)."""
        if self.shadow is not None and "shadow" not in options:
            options["shadow"] = self.shadow
            if not self._shadow_audited:
                from tutela.store.queries.shadow import record_shadow_start

                sp = self.shadow
                record_shadow_start(
                    self.recorder, policy_sha256=sp.sha256, policy_name=sp.name, path=sp.path
                )
                self._shadow_audited = True
        return factory(
            recorder=self.recorder,
            connector=connector,
            persona=persona,
            operation_id=operation_id,
            policy=self.policy,
            assigner=self.assigner,
            tables=self.detection.tables,
            rule=self.detection.rule,
            **options,
        )

    def close(self) -> None:
        self.runtime.close()


def build_live(
    db_url: str | None = None,
    *,
    detection: Detection | None = None,
    policy: FilePath | None = None,
    key: PathLike | None = None,
    passphrase: SecretStr | str | None = None,
    signer: Signer | None = _RULE,
    store: Store | None = None,
    clock: Callable[[], datetime] | None = None,
    demo: bool = False,
    shadow_policy: FilePath | ShadowPolicy | None = None,
) -> LiveSystem:
    """Load detection (default :func:`load_detection`) and the policy (``policy`` YAML, else the
    packaged defaults) *before* the store is touched, then open the runtime
    (:func:`open_runtime` with ``key``, ``passphrase``, ``signer``, ``store``, ``clock``,
    ``demo``: sign with the demo key, signing key rule step 3) and continue the deterrence
    rotation; the chosen signer is ``LiveSystem.runtime.signer``. ``shadow_policy``: a
    candidate policy file (:func:`load_shadow_policy`, loaded before the store too) or one
    already loaded. Raises
    what those raise; a failed load leaves no database behind.
    """
    from tutela.policy import load_policy

    det = detection if detection is not None else load_detection()
    det.tables  # noqa: B018  (built now: a failure leaves no database behind)
    params = load_policy(policy)
    shadow = (
        shadow_policy
        if shadow_policy is None or isinstance(shadow_policy, ShadowPolicy)
        else load_shadow_policy(shadow_policy)
    )
    runtime = open_runtime(
        db_url, key=key, passphrase=passphrase, signer=signer, store=store, clock=clock, demo=demo
    )
    try:
        return LiveSystem(runtime=runtime, detection=det, params=params, shadow=shadow)
    except BaseException:
        runtime.close()
        raise
