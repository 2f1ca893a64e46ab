"""Helpers shared by the dashboard tests (imported by name; conftest modules are not)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

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
