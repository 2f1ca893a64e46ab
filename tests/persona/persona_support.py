"""Shared helpers of the persona tests: every shipped persona plus a test-only German one."""

from __future__ import annotations

from pathlib import Path

from tutela.persona import (
    DialogueManager,
    OutgoingGuard,
    PersonaProfile,
    load_personas,
)

DATA = Path(__file__).resolve().parent / "data"


def all_profiles() -> list[PersonaProfile]:
    """The shipped personas (gb, nl, be, ph, de)."""
    return list(load_personas().values())


_GUARDS: dict[str, OutgoingGuard] = {}
_MANAGERS: dict[str, DialogueManager] = {}


def guard_for(profile: PersonaProfile) -> OutgoingGuard:
    """One cached guard per persona (building one renders the whole bank)."""
    if profile.id not in _GUARDS:
        _GUARDS[profile.id] = OutgoingGuard(profile)
    return _GUARDS[profile.id]


def manager_for(profile: PersonaProfile) -> DialogueManager:
    """One cached dialogue manager per persona."""
    if profile.id not in _MANAGERS:
        _MANAGERS[profile.id] = DialogueManager(profile)
    return _MANAGERS[profile.id]


PROFILES = all_profiles()
PROFILE_IDS = [p.id for p in PROFILES]
