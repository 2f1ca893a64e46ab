"""A dashboard workspace with review-queue cases of every severity, built through the product's own
paths (no SQL, no hand-made rows): the shared seed of ``tools/screenshots.py`` and
``tests/web/test_workspace_browser.py``.

``tools/`` is not a package: load this file by path (``importlib.util.spec_from_file_location``).

What :func:`seed_workspace` builds in a fresh SQLite database (folder ``tutela-demo-*``, so the
demo's signing key lies beside it, ``signing-key.pem``):

========================  ===========================================================  ==========
scenario                  how                                                          strongest
========================  ===========================================================  ==========
``commercial_tl``         shipped demo (``tutela demo``): the policy proposes referral  refer
``grooming_en`` +         shipped demos, same contact ``stranger-42``: warned, then     escalate
``return_en``             comes back (``ladder.repeat_contact``)
``grooming_nl``           shipped demo: warned once (``ladder.first_solicitation``)     deter
``grooming_de``           shipped demo: warned once                                     deter
``pet_photo_en``          synthetic benign chat (platform ``matrix``) with a media      watch
                          link: the case is opened for the media metadata (hard
                          rule 2); then an analyst keeps it under watch
                          (``CaseWorkflow.keep_watching``)
``holiday_photo_en``      the same on ``irc``, left untouched                           none
========================  ===========================================================  ==========

plus one conversation still open (a contact line recorded through the ``Recorder``, as
``tutela run`` records it) for the live page's operator takeover, and the dashboard users
:data:`USERS` with password :data:`PASSWORD`. Every scenario's outcome is checked
(``SeedError`` when the product no longer gives the expected action), never assumed.
"""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = [
    "PASSWORD",
    "SEVERITY_ORDER",
    "USERS",
    "SeedError",
    "Workspace",
    "seed_workspace",
    "web_settings",
]

PASSWORD = "correct horse battery"
USERS: Mapping[str, str] = {"ana": "analyst", "ben": "analyst", "sue": "supervisor"}
SEVERITY_ORDER = ("refer", "escalate", "deter", "watch", "none")
"""Queue order of the strongest action (issue 12: refer > escalate > deter > watch > none)."""

# synthetic, non-graphic lines written for this seed; the URLs are never fetched (.invalid)
_MEDIA_SCENARIOS = {
    "pet_photo_en": (
        "matrix",
        "classmate-31",
        ["hiya", "this is my new puppy https://media.example.invalid/puppy.jpg", "ok bye"],
    ),
    "holiday_photo_en": (
        "irc",
        "cousin-12",
        ["hello", "we went to the beach https://media.example.invalid/beach.png", "see u"],
    ),
}
LIVE_LINE = "are you still there?"


class SeedError(RuntimeError):
    """A scenario no longer gives the outcome the seed expects (the product changed)."""


@dataclass(frozen=True)
class Workspace:
    """What :func:`seed_workspace` built. ``cases``: severity → case ids (``deter`` has two);
    ``scenario_cases``: scenario name → case id; ``live_conversation``: the open conversation's
    id; ``folder``: the database folder (``tutela.db``, ``signing-key.pem``)."""

    folder: Path
    db_url: str
    cases: dict[str, tuple[int, ...]]
    scenario_cases: dict[str, int]
    contacts: dict[int, int]  # case id -> contact id
    live_conversation: int
    users: Mapping[str, str] = field(default_factory=lambda: dict(USERS))

    @property
    def all_cases(self) -> list[int]:
        """Every seeded case id, strongest severity first."""
        return [c for sev in SEVERITY_ORDER for c in self.cases[sev]]

    def severity_of(self, case_id: int) -> str:
        """The severity this seed gave ``case_id``."""
        for sev, ids in self.cases.items():
            if case_id in ids:
                return sev
        raise KeyError(case_id)


def web_settings(folder: Path, **overrides: Any) -> Any:
    """The dashboard settings over the seeded folder (plain HTTP on 127.0.0.1)."""
    from pydantic import SecretStr

    from tutela.web.settings import WebSettings

    return WebSettings(
        db_url=f"sqlite:///{folder / 'tutela.db'}",
        session_secret=SecretStr(secrets.token_urlsafe(48)),
        signing_key_path=folder / "signing-key.pem",
        **overrides,
    )


def _demo(name: str, url: str, scenario: Any = None) -> dict:
    from tutela.live.demo import load_scenario, run_demo

    return run_demo(scenario if scenario is not None else load_scenario(name), db_url=url)


def _expect(name: str, out: dict, action: str, *, case: bool = True) -> int:
    if out["final_action"] != action or (out["case_id"] is None) == case:
        raise SeedError(
            f"scenario {name}: expected final action {action!r} with a case, got "
            f"{out['final_action']!r} (case {out['case_id']})"
        )
    return int(out["case_id"])


def seed_workspace(parent: Path | None = None, *, hasher: Any = None) -> Workspace:
    """Build the workspace (module docstring) in a new ``tutela-demo-*`` folder under ``parent``
    (``None``: the system temp folder). ``hasher``: an ``argon2.PasswordHasher`` for the users
    (tests pass a fast one; default: the product's). Takes about 20 s (seven demo runs).

    Raises ``SeedError`` when a scenario's outcome differs from the table above.
    """
    from tutela.live.demo import Scenario

    folder = Path(tempfile.mkdtemp(prefix="tutela-demo-", dir=parent))
    url = f"sqlite:///{folder / 'tutela.db'}"
    by_name: dict[str, int] = {}
    out = _demo("grooming_en", url)
    first = _expect("grooming_en", out, "deter")
    out = _demo("return_en", url)
    by_name["return_en"] = _expect("return_en", out, "escalate")
    if by_name["return_en"] != first:
        raise SeedError(f"return_en opened case {by_name['return_en']}, not the case {first}")
    by_name["commercial_tl"] = _expect("commercial_tl", _demo("commercial_tl", url), "refer")
    by_name["grooming_nl"] = _expect("grooming_nl", _demo("grooming_nl", url), "deter")
    by_name["grooming_de"] = _expect("grooming_de", _demo("grooming_de", url), "deter")
    for name, (platform, contact, lines) in _MEDIA_SCENARIOS.items():
        sc = Scenario(
            lines=tuple(lines), lang="en", persona="gb-ellie", platform=platform, contact=contact
        )
        by_name[name] = _expect(name, _demo(name, url, sc), "continue")
    return _finish(folder, url, by_name, hasher)


def _finish(folder: Path, url: str, by_name: dict[str, int], hasher: Any) -> Workspace:
    from tutela.accounts.users import UserStore
    from tutela.store import open_store
    from tutela.web.services import Services

    settings = web_settings(folder)
    services = Services.from_settings(settings, store=open_store(settings.db_url))
    try:
        users = (
            UserStore(services.store, recorder=services.recorder, hasher=hasher)
            if hasher is not None
            else services.users
        )
        made = {name: users.add(name, role, PASSWORD) for name, role in USERS.items()}
        services.workflow.keep_watching(
            by_name["pet_photo_en"], made["ana"], "photo link of a pet; keep an eye on it"
        )
        rec = services.recorder
        contacts = {cid: rec.get_case(cid).contact_id for cid in by_name.values()}
        now = datetime.now(UTC)
        conv = rec.open_conversation(
            operation_id=rec.ensure_demo_operation().id,
            persona_id="gb-ellie",
            platform="irc",
            account="gb-ellie",
            contact_id=contacts[by_name["holiday_photo_en"]],
            lang="en",
            started_at=now,
        )
        rec.record_inbound(
            conversation_id=conv.id,
            author="cousin-12",
            text=LIVE_LINE,
            wire=LIVE_LINE.encode(),
            received_at=now,
            contact_line=1,
        )
        rec.checkpoint()
    finally:
        services.close()
    cases = {
        "refer": (by_name["commercial_tl"],),
        "escalate": (by_name["return_en"],),
        "deter": (by_name["grooming_nl"], by_name["grooming_de"]),
        "watch": (by_name["pet_photo_en"],),
        "none": (by_name["holiday_photo_en"],),
    }
    return Workspace(
        folder=folder,
        db_url=url,
        cases=cases,
        scenario_cases=by_name,
        contacts=contacts,
        live_conversation=conv.id,
    )
