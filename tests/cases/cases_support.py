"""Helpers of the case tests: a settable clock, the test environment, and a helper that records
demo-like conversations (contact, inbound lines, decisions) through the Recorder. Lines are short
synthetic texts written for these tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tutela.accounts.users import User, UserStore
from tutela.cases.workflow import CaseWorkflow
from tutela.ledger import Signer
from tutela.store import Recorder, Store

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"


class Clock:
    """A settable clock (aware UTC)."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> datetime:
        self.now += timedelta(**kw)
        return self.now


@dataclass
class Env:
    store: Store
    recorder: Recorder
    signer: Signer
    clock: Clock
    workflow: CaseWorkflow
    users: UserStore
    analyst: User
    analyst2: User
    supervisor: User
    supervisor2: User
    admin: User


def record_conversation(
    env: Env,
    contact: str,
    lines: Sequence[tuple[str, str, float, Sequence[str]]],
    *,
    persona: str = "p-en-13",
    platform: str = "local",
    own: Mapping[int, Sequence[str]] | None = None,
) -> int:
    """Record one conversation of ``contact`` and return its case id.

    ``lines``: (text, action, risk, indicators) per inbound line; each line gets a persona reply.
    ``own``: each line's own indicator ids by line number, recorded as the live engine does
    (``decisions.line_indicators``); ``None``: not recorded, as before migration 0008.
    """
    rec = env.recorder
    op = rec.ensure_demo_operation()
    contact_id = rec.get_or_create_contact(platform, contact, seen_at=env.clock())
    conv = rec.open_conversation(
        operation_id=op.id,
        persona_id=persona,
        platform=platform,
        account=f"{persona}@{platform}",
        contact_id=contact_id,
        lang="en",
        started_at=env.clock(),
    )
    for n, (text, action, risk, indicators) in enumerate(lines, start=1):
        msg = rec.record_inbound(
            conversation_id=conv.id,
            author=contact,
            text=text,
            wire=text.encode(),
            received_at=env.clock.advance(seconds=30),
            contact_line=n,
        )
        rec.record_decision(
            conversation_id=conv.id,
            message_id=msg.id,
            after_line=n,
            action=action,
            risk=risk,
            indicators=indicators,
            rule="none" if action == "continue" else "ladder.test",
            reason="test decision",
            variant="v1" if action == "deter" else None,
            line_indicators=None if own is None else own.get(n, []),
        )
        rec.record_outbound(
            conversation_id=conv.id, text="ok", origin="bank:test", sent_at=env.clock()
        )
    return rec.get_or_create_case(contact_id).id
