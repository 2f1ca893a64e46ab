"""Fixtures for the connector tests: an in-memory hub and real servers on 127.0.0.1.

``xmpp_server`` (Prosody) and ``irc_server`` (miniircd) are module-scoped: one server per test
module; tests use distinct account names. Both skip when the server is not installed, or fail
under ``TUTELA_REQUIRE_SERVERS=1`` (see tests/servers.py).
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

_TESTS = str(Path(__file__).resolve().parents[1])
if _TESTS not in sys.path:  # tests/ holds servers.py, shared with the end-to-end tests
    sys.path.insert(0, _TESTS)

from servers import IrcServer, XmppServer, miniircd_server, prosody_server  # noqa: E402
from tutela.connectors import MemoryHub  # noqa: E402

_names = itertools.count(1)


@pytest.fixture
def memory_hub() -> MemoryHub:
    """A fresh in-memory chat hub."""
    return MemoryHub()


@pytest.fixture(scope="module")
def xmpp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[XmppServer]:
    """A Prosody on 127.0.0.1 (domain ``localhost``, MUC ``conference.localhost``)."""
    with prosody_server(tmp_path_factory.mktemp("xmpp")) as server:
        yield server


@pytest.fixture(scope="module")
def irc_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IrcServer]:
    """A miniircd on 127.0.0.1."""
    with miniircd_server(tmp_path_factory.mktemp("irc")) as server:
        yield server


@pytest.fixture
def unique() -> str:
    """A short suffix that makes account names unique within the test session."""
    return str(next(_names))
