"""Today's persona before issue 12, run next to the new one in the same process.

:func:`baseline_planner` copies ``src/tutela/persona`` at a git revision (default
:data:`BASELINE_REV`, the landed tree before the believable-persona change) with ``git show``
(read-only: no worktree, no checkout) into a temporary folder as the package
:data:`PACKAGE`, with every ``tutela.persona`` reference renamed, and imports it: its intent
rules, response banks, dialogue manager and outgoing guard are exactly that revision's, while the
rest of Tutela (configuration reader, errors, the shared normaliser) is this tree's.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from tutela.persona import PersonaProfile

BASELINE_REV = "b1b7b819a4774b5e7f4a31ce57f985192e62218c"
"""The landed revision the comparison is against (issue 12, before the persona change)."""
PACKAGE = "_tutela_persona_baseline"
ROOT = Path(__file__).resolve().parent.parent
_LOADED: dict[str, Any] = {}


def _git(*args: str) -> bytes:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True).stdout


def load_baseline(rev: str = BASELINE_REV) -> Any:
    """The baseline persona package at ``rev`` (imported once per process)."""
    if rev in _LOADED:
        return _LOADED[rev]
    if PACKAGE in sys.modules:
        raise RuntimeError("one baseline revision per process")
    target = Path(tempfile.mkdtemp(prefix="persona-baseline-")) / PACKAGE
    names = _git("ls-tree", "-r", "--name-only", rev, "src/tutela/persona").decode().split()
    for name in names:
        rel = Path(name).relative_to("src/tutela/persona")
        if "__pycache__" in rel.parts:
            continue
        body = _git("show", f"{rev}:{name}")
        if rel.suffix == ".py":
            body = body.replace(b"tutela.persona", PACKAGE.encode())
        out = target / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(body)
    sys.path.insert(0, str(target.parent))
    module = importlib.import_module(PACKAGE)
    _LOADED[rev] = module
    return module


def baseline_planner(rev: str = BASELINE_REV):
    """A planner (:data:`benchmarks.persona_set.Planner`) for the persona at ``rev``."""
    pkg = load_baseline(rev)

    def planner(profile: PersonaProfile):
        # the same profile data, validated by the baseline's own model
        base_profile = pkg.PersonaProfile.model_validate(profile.model_dump())
        dm = pkg.DialogueManager(base_profile)
        guard = pkg.OutgoingGuard(base_profile)

        def respond(state: Any, text: str) -> tuple[Any, str | None]:
            state, planned = dm.respond(state, text)
            return state, None if planned is None else planned.text

        return (
            lambda seed: dm.start(rng_seed=seed),
            respond,
            lambda text: guard.check(text, origin="bank").allowed,
        )

    return planner
