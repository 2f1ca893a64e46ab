"""``tutela run --config FILE``: personas on real platforms until stopped.

Run configuration (YAML, validated; unknown keys are errors)::

    db: sqlite:////var/lib/tutela/tutela.db       # optional; else --db / TUTELA_DB / default
    signing_key: /var/lib/tutela/signing-key.pem  # optional; else the database's key (runtime)
    policy: policy.yaml                           # optional; else the packaged defaults
    detection: detection.yaml                     # optional; else the packaged defaults
    reply_delay_scale: 1.0                        # multiplier on human-like typing delays
    operation:                                    # the authority the personas work under
      organisation: Example Child Protection NGO
      jurisdiction: NL
      legal_basis: "..."
      authorisation_ref: "OM-2026-0001"           # e.g. a prosecutor's approval
      officer: "J. Jansen"
      starts_at: 2026-11-01T00:00:00Z
      ends_at: 2027-05-01T00:00:00Z
    personas:
      - persona: nl-daan                          # a shipped persona id or a profile YAML path
        connectors:
          - {kind: xmpp, jid: daan@example.org, password_env: DAAN_XMPP_PASSWORD, nick: daan}
          - {kind: irc, host: irc.example.org, port: 6697, tls: true, nick: daan13, channels: [...]}
          - {kind: matrix, homeserver: "https://matrix.example.org", user_id: "@daan:example.org",
             password_file: secrets/daan-matrix.txt}   # secrets: examples/run.yaml

Personas only run inside an active operation (now between ``starts_at`` and ``ends_at``).
The store, the signing key (``signing_key``, else the rule of :mod:`tutela.runtime`: the key
beside a demo database, else the user's ledger key), detection, policy and the engines are built
by :func:`tutela.runtime.build_live`; the deterrence-variant rotation continues after the
warnings the database holds.

Every persona whose deterrence helpline (``persona/helplines.yaml``, for its country and each of
its languages) is still marked ``verify_before_deployment`` gets one ``helpline.unverified``
warning in the log at start: a warning names that helpline, whose number may have changed.
``tutela demo`` does not warn (a demonstration contacts nobody).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, SecretStr, model_validator

from tutela.cases.operations import OperationInactive, is_active, require_active
from tutela.configfile import SECRET_KEYS, load_config
from tutela.connectors import create_connector
from tutela.live.engine import PersonaEngine
from tutela.live.takeover import OperatorOutbox
from tutela.persona import PersonaProfile
from tutela.runtime import build_live, load_detection, select_persona

__all__ = ["OperationConfig", "RunConfig", "load_run_config", "run_personas"]

log = structlog.get_logger("tutela.run")


class OperationConfig(BaseModel):
    """The operation record every conversation of this run belongs to (legal authority)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    organisation: str = Field(min_length=1)
    jurisdiction: str = Field(min_length=1)
    legal_basis: str = Field(min_length=1)
    authorisation_ref: str = Field(min_length=1)
    officer: str = Field(min_length=1)
    starts_at: AwareDatetime
    ends_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _ends_after_start(self) -> OperationConfig:
        if self.ends_at is not None and self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class ConnectorConfig(BaseModel):
    """One platform account of a persona; every key but ``kind`` goes to the connector."""

    model_config = ConfigDict(extra="allow", frozen=True)

    kind: str

    @model_validator(mode="after")
    def _port_is_a_tcp_port(self) -> ConnectorConfig:
        # checked here, not when the connector connects (an OverflowError deep in asyncio)
        port = (self.model_extra or {}).get("port")
        if port is not None and (
            isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535
        ):
            raise ValueError(f"port must be an integer from 1 to 65535, got {port!r}")
        return self


class PersonaRun(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    persona: str
    connectors: list[ConnectorConfig] = Field(min_length=1)


class RunConfig(BaseModel):
    """The whole run configuration (see module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    db: SecretStr | None = None  # db / db_env / db_file (tutela.configfile, "Secrets")
    signing_key: Path | None = None
    signing_key_passphrase: SecretStr | None = None  # also _env / _file; else the environment
    policy: Path | None = None
    detection: Path | None = None
    reply_delay_scale: float = Field(default=1.0, ge=0.0, le=10.0)
    operation: OperationConfig
    personas: list[PersonaRun] = Field(min_length=1)


def load_run_config(path: str | Path) -> RunConfig:
    """Read and validate a run configuration; relative paths are resolved against its folder.

    Raises
    ------
    ConfigError: unreadable or invalid file (names the file and the field).
    """
    p = Path(path)
    # FILE:LINE: KEY: problem (configfile); password_env / _file and the like resolved there
    cfg = load_config(p, RunConfig, what="run config", secrets=SECRET_KEYS)
    base = p.parent
    updates: dict[str, Any] = {}
    for name in ("signing_key", "policy", "detection"):
        value = getattr(cfg, name)
        if value is not None and not value.is_absolute():
            updates[name] = base / value
    return cfg.model_copy(update=updates)


def warn_unverified_helplines(personas: list[PersonaProfile]) -> list[str]:
    """Log one ``helpline.unverified`` warning per persona whose helpline (for its ``country``
    and any of its ``languages``, :func:`tutela.persona.deterrence.helpline_for`) still carries
    ``verify_before_deployment``; returns the ids of the personas warned about, in order.
    Raises ``ConfigError`` for a malformed ``helplines.yaml``."""
    from tutela.persona.deterrence import helpline_for

    warned = []
    for persona in personas:
        found = (helpline_for(persona.country, lang) for lang in persona.languages)
        names = sorted({h.name for h in found if h is not None and h.verify_before_deployment})
        if names:
            log.warning(
                "helpline.unverified",
                persona=persona.id,
                country=persona.country,
                helplines=names,
                hint="verify name, number, url, hours and languages in persona/helplines.yaml",
            )
            warned.append(persona.id)
    return warned


async def run_personas(
    cfg: RunConfig,
    *,
    db_url: str | None = None,
    stop: asyncio.Event | None = None,
    shadow_policy: Path | None = None,
) -> None:
    """Start every configured persona/connector pair and serve until ``stop`` (or a signal).
    ``shadow_policy``: a candidate policy evaluated beside the active one, never acted on
    (``tutela run --shadow-policy``; :mod:`tutela.live.shadow`)."""
    now = datetime.now(UTC)
    # everything that can be checked is checked before the store is touched: a refused start
    # leaves no record behind
    if not is_active(cfg.operation, now):
        end = cfg.operation.ends_at.isoformat() if cfg.operation.ends_at else "open-ended"
        raise OperationInactive(
            f"operation {cfg.operation.authorisation_ref!r} is not active at {now.isoformat()}: "
            f"it runs from {cfg.operation.starts_at.isoformat()} to {end}; personas only run "
            "inside an active operation"
        )
    personas = {pr.persona: select_persona(pr.persona) for pr in cfg.personas}
    warn_unverified_helplines(list(personas.values()))
    system = build_live(
        db_url or (cfg.db.get_secret_value() if cfg.db is not None else None),
        detection=load_detection(cfg.detection),
        policy=cfg.policy,
        key=cfg.signing_key,
        passphrase=cfg.signing_key_passphrase,
        shadow_policy=shadow_policy,
    )
    store, recorder = system.store, system.recorder  # a refused key: open_runtime raised
    op = cfg.operation
    operation = recorder.find_or_create_operation(
        organisation=op.organisation,
        jurisdiction=op.jurisdiction,
        legal_basis=op.legal_basis,
        authorisation_ref=op.authorisation_ref,
        officer=op.officer,
        starts_at=op.starts_at,
        ends_at=op.ends_at,
        evidential=True,
    )
    require_active(operation, now)  # personas only run inside an active operation
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    engines: list[PersonaEngine] = []
    for pr in cfg.personas:
        persona = personas[pr.persona]
        for cc in pr.connectors:
            options = {  # secrets (SecretStr, tutela.configfile) revealed only here
                k: v.get_secret_value() if isinstance(v, SecretStr) else v
                for k, v in (cc.model_extra or {}).items()
            }
            connector = create_connector(cc.kind, **options)
            engines.append(
                system.engine(
                    PersonaEngine,
                    connector=connector,
                    persona=persona,
                    operation_id=operation.id,
                    organisation=op.organisation,
                    delay_scale=cfg.reply_delay_scale,
                )
            )
    tasks: list[asyncio.Task[None]] = []
    try:
        for engine in engines:
            await engine.connector.start()
            resumed = await engine.resume()
            log.info(
                "persona.online",
                persona=engine.persona.id,
                connector=engine.connector.name,
                resumed=len(resumed),
            )
        print("tutela run: personas online", flush=True)
        outbox = OperatorOutbox(store)
        tasks = [asyncio.create_task(e.run(outbox=outbox)) for e in engines]
        await stop.wait()
    finally:
        for engine in engines:
            with contextlib.suppress(Exception):
                await engine.connector.stop()
            ignored = engine.connector.stats.room_messages_ignored
            if ignored:
                recorder.count_room_message(
                    engine.connector.name, getattr(engine.connector, "account", "?"), "*", ignored
                )
        for t in tasks:
            t.cancel()
        with contextlib.suppress(Exception):
            recorder.checkpoint()
        system.close()
