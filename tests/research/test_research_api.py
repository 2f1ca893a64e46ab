"""Every public name of ``tutela.research`` resolves (the lock: tests/test_public_api.py)."""

from __future__ import annotations

import tutela.research
import tutela.research.export
import tutela.research.stats


def test_public_names() -> None:
    for module in (tutela.research, tutela.research.stats, tutela.research.export):
        for name in module.__all__:
            assert hasattr(module, name), name
    # an admin manages accounts and reads no case content (issue 10, items 11 and 15)
    assert {"supervisor"} == tutela.research.TEXT_ROLES
