"""The public names of ``tutela.research`` are locked."""

from __future__ import annotations

import tutela.research
import tutela.research.export
import tutela.research.stats


def test_public_names() -> None:
    assert sorted(tutela.research.__all__) == [
        "ExportReport",
        "PermissionDenied",
        "TEXT_ROLES",
        "default_key_path",
        "export_research",
        "key_id",
        "load_or_create_key",
        "pseudonym",
        "summary",
    ]
    for module in (tutela.research, tutela.research.stats, tutela.research.export):
        for name in module.__all__:
            assert hasattr(module, name), name
    # an admin manages accounts and reads no case content (issue 10, items 11 and 15)
    assert {"supervisor"} == tutela.research.TEXT_ROLES
