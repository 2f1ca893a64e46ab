"""Helpers shared by the dashboard tests (imported by name; conftest modules are not)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # conftest imports TestClient itself, with its warning silenced
    from fastapi.testclient import TestClient

PASSWORD = "correct horse battery"


def csrf_of(client: TestClient, path: str = "/login") -> str:
    """The CSRF token of the client's session, read from a page's hidden field."""
    page = client.get(path)
    m = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    if m is None:
        m = re.search(r'"X-CSRF-Token": "([^"]+)"', page.text)
    assert m is not None, page.text[:500]
    return m.group(1)


EXPLICIT = "en.sexual_content.synthetic_test"
"""A sexual-content indicator id for tests (its line is masked until revealed)."""


def explicit_line(
    web: Any,
    *,
    contact_id: int | None = None,
    text: str = "placeholder line standing for explicit content",
    author: str = "contact-1",
) -> int:
    """Add, on a new conversation of the demo case's contact (or ``contact_id``), an inbound line
    whose decision lists the :data:`EXPLICIT` indicator; returns the message id. The text is a
    neutral placeholder."""
    rec = web.services.recorder
    if contact_id is None:
        contact_id = rec.get_case(web.case_id).contact_id
    conv = rec.open_conversation(
        operation_id=rec.ensure_demo_operation().id,
        persona_id="gb-ellie",
        platform="local",
        account="gb-ellie",
        contact_id=contact_id,
        lang="en",
        started_at=datetime.now(UTC),
    )
    msg = rec.record_inbound(
        conversation_id=conv.id,
        author=author,
        text=text,
        wire=b"x",
        received_at=datetime.now(UTC),
        contact_line=1,
    )
    rec.record_decision(
        conversation_id=conv.id,
        message_id=msg.id,
        after_line=1,
        action="escalate",
        risk=0.9,
        indicators=[EXPLICIT],
        rule="test",
        reason="test",
        variant=None,
    )
    return msg.id
