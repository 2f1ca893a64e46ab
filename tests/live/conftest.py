"""Live-path fixtures: the packaged detection (config, shipped model, scoring tables), loaded once
by :func:`tutela.runtime.load_detection` and shared by every engine of the session."""

from __future__ import annotations

import pytest

from tutela.runtime import Detection, load_detection


@pytest.fixture(scope="session")
def detection() -> Detection:
    det = load_detection()
    det.tables  # noqa: B018  (built once, here)
    return det
