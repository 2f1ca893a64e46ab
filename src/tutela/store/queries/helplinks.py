"""The help-link click counter (``help_link_clicks``): one count per trial, arm, language and UTC
day, nothing else.

The redirect (``tutela.web.helplink``) is non-identifying by design: no address, user agent,
cookie, referrer or contact is stored, and the count keeps no time of day. For the same reason
a click writes **no** ledger entry and no audit row: both carry an exact instant, and an instant
next to the instant a warning was sent would tie a click to the warned contact. The counter is an
aggregate research measure, not evidence; what the trial's evidence is (the allocations, the
warnings) stays in the ledger.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tutela.errors import InputError
from tutela.store.engine import Store
from tutela.store.errors import StoreError
from tutela.store.models import HelpLinkClickRow, TrialRow

if TYPE_CHECKING:
    from tutela.store.recorder import Recorder

__all__ = ["HelpLinkTarget", "count_help_link_click", "help_link_target", "help_link_totals"]

MAX_LANG = 16  # help_link_clicks.lang is String(16)


@dataclass(frozen=True, slots=True)
class HelpLinkTarget:
    """A trial the redirect may count for: its id and arms."""

    trial_id: int
    arms: tuple[str, ...]


def help_link_target(store: Store, trial_id: int) -> HelpLinkTarget | None:
    """The trial ``trial_id`` with its arms, or ``None`` when there is no such trial."""
    with store.session() as s:
        arms = s.execute(select(TrialRow.arms).where(TrialRow.id == trial_id)).scalar_one_or_none()
    if arms is None:
        return None
    return HelpLinkTarget(trial_id, tuple(str(a) for a in arms))


def count_help_link_click(
    recorder: Recorder, *, trial_id: int, arm: str, lang: str, day: str
) -> int:
    """Add one click to ``(trial_id, arm, lang, day)`` and return the new count for that key.

    ``day``: the UTC date ``YYYY-MM-DD``. The caller has checked that the trial and arm exist
    (:func:`help_link_target`) and that ``lang`` is a deterrence language. No ledger entry,
    no audit row (module docstring). Raises ``InputError`` for a malformed key, ``StoreError``
    for a database failure (an unknown trial fails its foreign key where it is enforced).
    """
    if len(day) != 10 or day[4] != "-" or day[7] != "-" or not day.replace("-", "").isdigit():
        raise InputError(f"day must be YYYY-MM-DD, got {day!r}")
    if not lang or len(lang) > MAX_LANG or not arm or len(arm) > 100:
        raise InputError("arm and lang must be 1-100 and 1-16 characters")
    key = (
        HelpLinkClickRow.trial_id == trial_id,
        HelpLinkClickRow.arm == arm,
        HelpLinkClickRow.lang == lang,
        HelpLinkClickRow.day == day,
    )

    def _work(s: Session) -> int:
        done = s.execute(
            update(HelpLinkClickRow)
            .where(*key)
            .values(clicks=HelpLinkClickRow.clicks + 1)
            .execution_options(synchronize_session=False)
        )
        if not getattr(done, "rowcount", 0):
            s.add(HelpLinkClickRow(trial_id=trial_id, arm=arm, lang=lang, day=day, clicks=1))
            s.flush()
        return int(s.execute(select(HelpLinkClickRow.clicks).where(*key)).scalar_one())

    try:
        return recorder.store.write(_work)
    except StoreError as e:
        if not isinstance(e.__cause__, IntegrityError):
            raise
        # another process inserted the first click of that key at the same moment: now the
        # update finds its row
        return recorder.store.write(_work)


def help_link_totals(store: Store, trial_id: int) -> dict[tuple[str, str, str], int]:
    """``(arm, lang, day) -> clicks`` of one trial."""
    with store.session() as s:
        return {
            (arm, lang, day): int(n)
            for arm, lang, day, n in s.execute(
                select(
                    HelpLinkClickRow.arm,
                    HelpLinkClickRow.lang,
                    HelpLinkClickRow.day,
                    HelpLinkClickRow.clicks,
                ).where(HelpLinkClickRow.trial_id == trial_id)
            )
        }
