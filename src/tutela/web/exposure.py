"""Exposure limits: how much case content one dashboard session may open, and when to pause.

Reading grooming conversations all day harms the people who do it; services that moderate such
content cap the exposure and build breaks into the shift. Four limits, each configurable in
:class:`~tutela.web.settings.WebSettings` (``0`` or ``None`` switches one off), apply to the
roles that read case content (``tutela.cases.CASE_READERS``: analysts and supervisors) on every
route that shows case content (:data:`EXPOSURE_ROUTES`): the case page (``GET /cases/{id}``),
the reveals of a line, a conversation or an identity's source line (case page, live feed,
contact page), a contact's page, the evidence export, and the live page and its polled feed.
A route that names a case (its ``case_id``, or the case of its contact or conversation) counts
as opening that case, reveals included; the live page and feed name none, so they count nothing
but are refused, like every other listed route, during a break and after the case-work limit
(the feed's poll then shows the reason in place of the conversations).

Not limited, on purpose: the decisions on a case (dismiss, keep watching, reopen, propose,
approve or reject a referral, notes, assignment, legal hold). They show no content, and a
wellbeing limit must not lock a supervisor out of a referral decision or keep an analyst from
writing down what they saw; their redirect back to the case page is refused as usual.

``exposure_max_cases`` (default 40)
    distinct cases opened in one session. A case already opened in the session stays available
    (the analyst can finish the decisions they started); a new one is refused.
``exposure_max_high_risk`` (default 10)
    distinct *high-risk* cases opened in one session: a case whose risk (``CaseSummary.risk``,
    the highest calibrated risk of its conversations) is at least
    ``exposure_high_risk_threshold`` (default 0.7, the dashboard's red ``risk-high`` class), or
    whose strongest or latest policy action is ``escalate`` or ``refer``.
``exposure_max_case_work_min`` (default 240 minutes)
    minutes from the first case opened in the session (breaks included); then every case page
    is refused for the rest of the session.
``exposure_break_after_min`` / ``exposure_break_min`` (default 50 / 10 minutes)
    a stretch of case work (case pages opened with less than ``exposure_break_min`` minutes
    between them) may last ``exposure_break_after_min`` minutes; then case pages are refused
    for ``exposure_break_min`` minutes, counted from the moment the stretch reached its length
    (or from the last case opened, if later). A pause of that length taken on one's own (no
    case opened) counts as the break.

Sources of the defaults: the break follows the UK Health and Safety Executive's guidance to
the Display Screen Equipment Regulations 1992 (L26, regulation 4; HSE FAQ "Should VDU users be
given breaks?": "a 5-10 minute break after 50-60 minutes continuous screen and/or keyboard work
is likely to be better than a 15 minute break every 2 hours"). The four hours of case work
follow YouTube's published limit of four hours a day of disturbing content for its reviewers
(announced at SXSW, March 2018; a press report, not a guideline). The case counts (40, 10) have
no published source: they are a starting point for an NGO to adjust to its own wellbeing policy.

**Counted per dashboard session**, in the session's database row (``web_sessions.data``, key
``exposure``; :func:`tutela.store.queries.session_state.update_session_value` locks the row), so
several ``tutela serve`` processes agree. Another session of the same user (a second login)
counts on its own: the limits are a wellbeing aid that interrupts the work and makes the user
stop and log in again, not an access control; every limit reached is audited, so a supervisor
sees a user who keeps reaching them. When a limit is reached the route answers **429** with
a page (for HTMX, a fragment) naming the limit, the counts and when case work can resume, and
the first refusal of each limit (for the break: of each stretch) writes one
``exposure_limit_reached`` audit row ``{limit, limit_value, cases, high_risk_cases,
case_work_min, case_id, route, session}`` in the same transaction as the counters (``case_id``:
``None`` on a route naming no case; ``route``: the route's name; ``session``: the first 12 hex
digits of the session's token digest). A counted view costs one account read, one access
check (two for a contact or conversation), one risk read for a case new to the session and one
locked row update; no audit row; a live page or poll with no limit reached costs no write.
Times are wall-clock epoch seconds from the guard's injectable ``clock``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeGuard

from fastapi import HTTPException, Request

from tutela.store.queries.session_state import AuditNote, SessionValueUpdate, update_session_value
from tutela.web.i18n import gettext_for, ngettext_for
from tutela.web.render import env
from tutela.web.sessions import token_digest

if TYPE_CHECKING:
    from tutela.web.services import Services
    from tutela.web.sessions import WebSession
    from tutela.web.settings import WebSettings

__all__ = [
    "AUDIT_ACTION",
    "EXPOSURE_ROUTES",
    "ExposureGuard",
    "ExposureLimits",
    "ExposureState",
    "Refusal",
    "enforce",
    "exposure_status",
    "step",
]

AUDIT_ACTION = "exposure_limit_reached"
"""Audit action of a limit reached (target ``user:<id>``)."""
SESSION_KEY = "exposure"
"""Key of the counters in ``web_sessions.data``."""
_CASE_KEY: dict[str, str | None] = {
    "case": "case_id",
    "reveal": "case_id",
    "reveal_conversation": "case_id",
    "export_case": "case_id",
    "contact": "contact_id",
    "reveal_identity_source": "contact_id",
    "live_reveal_conversation": "conversation_id",
    "live_reveal_line": "conversation_id",
    "live": None,
    "live_feed": None,
}
EXPOSURE_ROUTES = frozenset(_CASE_KEY)
"""Route names that show case content (module docstring), any method: each counts the case it
names (``case_id``, or the case of its ``contact_id`` / ``conversation_id``) and is refused when
a limit is reached; ``live`` and ``live_feed`` name no case (refused by the time limits only)."""
CASES, HIGH_RISK, CASE_WORK, BREAK = "cases", "high_risk", "case_work", "break"
"""The limits' names (audit ``limit`` values)."""
HIGH_ACTIONS = frozenset({"escalate", "refer"})
"""Policy actions that make a case high-risk whatever its score."""
_MAX_IDS = 10_000  # bound on the case ids kept per session (far above any sane limit)


@dataclass(frozen=True, slots=True)
class ExposureLimits:
    """The limits (module docstring); ``None`` = off. Durations in seconds."""

    max_cases: int | None = 40
    max_high_risk: int | None = 10
    high_risk_threshold: float = 0.7
    max_case_work_s: float | None = 240 * 60
    break_after_s: float | None = 50 * 60
    break_s: float | None = 10 * 60

    @classmethod
    def from_settings(cls, settings: WebSettings) -> ExposureLimits:
        """The limits of ``settings`` (``0``/``None`` -> off; the break needs both values)."""

        def on(v: int | None) -> int | None:
            return v if v else None

        brk, after = on(settings.exposure_break_min), on(settings.exposure_break_after_min)
        work = on(settings.exposure_max_case_work_min)
        return cls(
            max_cases=on(settings.exposure_max_cases),
            max_high_risk=on(settings.exposure_max_high_risk),
            high_risk_threshold=settings.exposure_high_risk_threshold,
            max_case_work_s=None if work is None else work * 60.0,
            break_after_s=None if brk is None or after is None else after * 60.0,
            break_s=None if brk is None or after is None else brk * 60.0,
        )

    @property
    def enabled(self) -> bool:
        """True when at least one limit is on."""
        return any(
            v is not None
            for v in (self.max_cases, self.max_high_risk, self.max_case_work_s, self.break_s)
        )


@dataclass(frozen=True, slots=True)
class ExposureState:
    """A session's counters: the case ids opened (``cases``) and the high-risk ones among them
    (``high``), the epoch seconds of the first case opened (``first``), of the start of the
    current stretch of case work (``stretch``) and of the last case opened (``last``), the
    limits already audited (``audited``; the break's is cleared with each new stretch) and the
    end of a break that fell due (``break_until``)."""

    cases: tuple[int, ...] = ()
    high: tuple[int, ...] = ()
    first: float | None = None
    stretch: float | None = None
    last: float | None = None
    audited: tuple[str, ...] = ()
    break_until: float | None = None

    @classmethod
    def from_json(cls, value: Any) -> ExposureState:
        """The state stored in the session (anything malformed reads as a fresh state)."""
        if not isinstance(value, dict):
            return cls()
        try:

            def ids(k: str) -> tuple[int, ...]:
                return tuple(int(i) for i in value.get(k, ()))[:_MAX_IDS]

            def t(k: str) -> float | None:
                v = value.get(k)
                return None if v is None else float(v)

            return cls(
                cases=ids("cases"),
                high=ids("high"),
                first=t("first"),
                stretch=t("stretch"),
                last=t("last"),
                audited=tuple(str(a) for a in value.get("audited", ())),
                break_until=t("break_until"),
            )
        except (TypeError, ValueError):
            return cls()

    def to_json(self) -> dict[str, Any]:
        """The JSON object stored in the session."""
        return {
            "cases": list(self.cases),
            "high": list(self.high),
            "first": self.first,
            "stretch": self.stretch,
            "last": self.last,
            "audited": list(self.audited),
            "break_until": self.break_until,
        }

    def case_work_s(self, now: float) -> float:
        """Seconds since the first case opened in the session (0 before any)."""
        return 0.0 if self.first is None else max(0.0, now - self.first)


@dataclass(frozen=True, slots=True)
class Refusal:
    """A limit reached: its name, its value (a count, or minutes), when case work can resume
    (epoch seconds; ``None``: in a new session) and the session's counts at that moment."""

    limit: str
    value: int
    resume_at: float | None
    cases: int
    high_risk: int
    case_work_min: int


def step(
    state: ExposureState,
    *,
    now: float,
    case_id: int | None,
    high_risk: bool,
    limits: ExposureLimits,
) -> tuple[ExposureState, Refusal | None]:
    """One case page (or other listed route) opened at ``now``: the new state and ``None``, or
    the state to store and the :class:`Refusal` of the first limit hit (``audited`` is left to
    the caller).

    Order: a break that was due ends once its time has passed (``break_until``); without one, a
    pause of at least ``break_s`` since ``last`` ends the stretch too. Then the time limits
    (case work, break), which refuse every case; then, for a case new to the session, the counts
    (cases, high-risk cases), which refuse only new cases. A break that falls due starts when the
    stretch reached ``break_after_s`` (or at the last case opened, if later) and lasts
    ``break_s``; refused attempts do not move it. ``high_risk``: whether the case is high-risk
    (only read for a new case). ``case_id=None`` (a route naming no case): only the time limits
    apply and nothing is counted (the state is returned as it was, a break that ended cleared).
    """
    pause = limits.break_s
    ended = state.break_until is not None and now >= state.break_until
    natural = (
        state.break_until is None
        and pause is not None
        and state.last is not None
        and now - state.last >= pause
    )
    if ended or natural:
        state = replace(
            state,
            stretch=None,
            break_until=None,
            audited=tuple(a for a in state.audited if a != BREAK),
        )

    def refuse(limit: str, value: float, resume_at: float | None) -> Refusal:
        return Refusal(
            limit=limit,
            value=int(value),
            resume_at=resume_at,
            cases=len(state.cases),
            high_risk=len(state.high),
            case_work_min=int(state.case_work_s(now) // 60),
        )

    work = limits.max_case_work_s
    if work is not None and state.first is not None and now - state.first >= work:
        return state, refuse(CASE_WORK, work // 60, None)
    after = limits.break_after_s
    if state.break_until is not None and after is not None:
        return state, refuse(BREAK, after // 60, state.break_until)
    if (
        after is not None
        and pause is not None
        and state.stretch is not None
        and now - state.stretch >= after
    ):
        until = max(state.last or now, state.stretch + after) + pause
        state = replace(state, break_until=until)
        return state, refuse(BREAK, after // 60, until)
    if case_id is None:
        return state, None
    cases, high = state.cases, state.high
    if case_id not in cases:
        if limits.max_cases is not None and len(cases) >= limits.max_cases:
            return state, refuse(CASES, limits.max_cases, None)
        if high_risk and limits.max_high_risk is not None and len(high) >= limits.max_high_risk:
            return state, refuse(HIGH_RISK, limits.max_high_risk, None)
        cases = (*cases, case_id)[-_MAX_IDS:]
        if high_risk:
            high = (*high, case_id)[-_MAX_IDS:]
    return (
        replace(
            state,
            cases=cases,
            high=high,
            first=state.first if state.first is not None else now,
            stretch=state.stretch if state.stretch is not None else now,
            last=now,
        ),
        None,
    )


class ExposureGuard:
    """Applies :class:`ExposureLimits` to sessions (module docstring); ``clock``: epoch seconds
    (injectable for tests). One per app (``app.state.exposure``, built on first use)."""

    def __init__(self, limits: ExposureLimits, *, clock: Callable[[], float] = time.time) -> None:
        self.limits = limits
        self.clock = clock

    def is_high_risk(self, services: Services, case_id: int) -> bool:
        """True when case ``case_id`` is high-risk (module docstring; one summary read)."""
        s = services.workflow.case_summary(case_id)
        return (
            s.risk >= self.limits.high_risk_threshold
            or s.strongest_action in HIGH_ACTIONS
            or s.last_action in HIGH_ACTIONS
        )

    def record_view(
        self, services: Services, session: WebSession, case_id: int | None, route: str = "case"
    ) -> tuple[ExposureState, Refusal | None]:
        """Count one view of case ``case_id`` by ``session`` on route ``route`` (atomically in
        its row) and audit the first refusal of a limit. Returns the stored state and the
        refusal, if any; a session gone meanwhile counts nothing (``(fresh state, None)``).
        ``case_id=None``: the time limits only; nothing is written unless a limit refuses (a
        polled feed costs no write)."""
        known = ExposureState.from_json(session.data.get(SESSION_KEY))
        now = self.clock()
        if case_id is None:
            kept, refusal = step(known, now=now, case_id=None, high_risk=False, limits=self.limits)
            if refusal is None:
                return kept, None
        high = False
        if (
            case_id is not None
            and case_id not in known.cases
            and self.limits.max_high_risk is not None
        ):
            high = self.is_high_risk(services, case_id)
        digest = token_digest(session.token)

        def _update(stored: Any) -> SessionValueUpdate:
            state = ExposureState.from_json(stored)
            new, refusal = step(state, now=now, case_id=case_id, high_risk=high, limits=self.limits)
            audit = None
            if refusal is not None and refusal.limit not in new.audited:
                new = replace(new, audited=(*new.audited, refusal.limit))
                audit = AuditNote(
                    actor=session.username or f"user:{session.user_id}",
                    action=AUDIT_ACTION,
                    target=f"user:{session.user_id}",
                    details={
                        "limit": refusal.limit,
                        "limit_value": refusal.value,
                        "cases": refusal.cases,
                        "high_risk_cases": refusal.high_risk,
                        "case_work_min": refusal.case_work_min,
                        "case_id": case_id,
                        "route": route,
                        "session": digest[:12],
                    },
                )
            return SessionValueUpdate(value=new.to_json(), result=refusal, audit=audit)

        found, value, refusal = update_session_value(
            services.recorder, digest, SESSION_KEY, _update
        )
        if not found:
            return ExposureState(), None
        session.data[SESSION_KEY] = value
        return ExposureState.from_json(value), refusal


def guard_of(request: Request) -> ExposureGuard:
    """The app's guard (``app.state.exposure``), built from its settings on first use."""
    guard = getattr(request.app.state, "exposure", None)
    if guard is None:
        guard = ExposureGuard(ExposureLimits.from_settings(request.app.state.settings))
        request.app.state.exposure = guard
    return guard


def _reader(session: WebSession | None) -> TypeGuard[WebSession]:
    from tutela.cases import CASE_READERS

    return session is not None and session.authenticated and session.role in CASE_READERS


def _hhmm(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%H:%M UTC")


def refusal_message(
    r: Refusal, _: Callable[[str], str], ngettext: Callable[[str, str, int], str], now: float
) -> str:
    """The sentence the refused case page shows (translated with ``_`` / ``ngettext``)."""
    if r.limit == BREAK:
        wait = max(1, int(-(-((r.resume_at or now) - now) // 60)))
        return ngettext(
            "Time for a break: you have worked on cases for %(limit)d minutes without a pause. "
            "Case pages open again at %(resume)s (in %(wait)d minute).",
            "Time for a break: you have worked on cases for %(limit)d minutes without a pause. "
            "Case pages open again at %(resume)s (in %(wait)d minutes).",
            wait,
        ) % {"limit": r.value, "resume": _hhmm(r.resume_at or now), "wait": wait}
    if r.limit == CASE_WORK:
        return _(
            "Case work limit reached: this session has included %(limit)d minutes of case work. "
            "Take a break and log in again later to continue."
        ) % {"limit": r.value}
    if r.limit == HIGH_RISK:
        return ngettext(
            "High-risk case limit reached: you have opened %(n)d high-risk case in this "
            "session (limit %(limit)d). Cases you already opened stay available; take a break "
            "and log in again for new ones.",
            "High-risk case limit reached: you have opened %(n)d high-risk cases in this "
            "session (limit %(limit)d). Cases you already opened stay available; take a break "
            "and log in again for new ones.",
            r.high_risk,
        ) % {"n": r.high_risk, "limit": r.value}
    return ngettext(
        "Case limit reached: you have opened %(n)d case in this session (limit %(limit)d). "
        "Cases you already opened stay available; take a break and log in again for new ones.",
        "Case limit reached: you have opened %(n)d cases in this session (limit %(limit)d). "
        "Cases you already opened stay available; take a break and log in again for new ones.",
        r.cases,
    ) % {"n": r.cases, "limit": r.value}


def _case_of(request: Request, services: Services, user: Any, key: str | None) -> int | None:
    """The case the request names (``key``: its path parameter, :data:`EXPOSURE_ROUTES`), or
    ``None`` (none named, or the contact / conversation has no case the user may read).
    ``LookupError`` when the id is invalid, unknown or not readable: the route answers 422, 404
    or 403 itself, and the view is not counted."""
    from tutela.errors import PermissionDenied
    from tutela.store import NotFoundError
    from tutela.web.queries import MAX_ID, case_of_contact

    if key is None:
        return None
    raw = str(request.path_params.get(key, ""))
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_ID:
        raise LookupError(key)
    ident = int(raw)
    try:
        if key == "case_id":
            services.workflow.check_case_access(ident, user)
            return ident
        if key == "conversation_id":
            services.workflow.check_conversation_access(ident, user)
            ident = services.recorder.conversation(ident).contact_id
        case_id = case_of_contact(services.store, ident)
    except (PermissionDenied, NotFoundError) as e:
        raise LookupError(key) from e
    if case_id is None:
        return None
    try:
        services.workflow.check_case_access(case_id, user)
    except (PermissionDenied, NotFoundError):
        return None
    return case_id


def enforce(request: Request) -> None:
    """The exposure hook of the routes in :data:`EXPOSURE_ROUTES` (called by
    ``tutela.web.deps.require_login``): count the view of the case the route names, or raise
    ``HTTPException(429)`` with the refusal's sentence. Does nothing for other roles, when every
    limit is off, or when the id is invalid, unknown or not readable by the user (the route
    answers 422, 404 or 403 itself, and such a view is not counted)."""
    from tutela.errors import PermissionDenied
    from tutela.store import NotFoundError

    session = getattr(request.state, "session", None)
    if not _reader(session):
        return
    name = getattr(request.scope.get("route"), "name", None)
    if name not in _CASE_KEY:
        return
    guard = guard_of(request)
    if not guard.limits.enabled:
        return
    services: Services = request.app.state.services
    user = services.users.get_by_id(session.user_id) if session.user_id is not None else None
    if user is None:
        return
    try:
        case_id = _case_of(request, services, user, _CASE_KEY[name])
        _, refusal = guard.record_view(services, session, case_id, name)
    except (LookupError, PermissionDenied, NotFoundError):
        return
    if refusal is not None:
        raise HTTPException(
            status_code=429,
            detail=refusal_message(
                refusal, gettext_for(request), ngettext_for(request), guard.clock()
            ),
        )


def exposure_status(request: Request) -> dict[str, Any] | None:
    """The page's exposure indicator (template ``_exposure.html``): ``cases``/``max_cases``,
    ``high``/``max_high``, ``break_in_min`` (minutes of the current stretch left; ``None`` when
    the break is off or no stretch runs), ``work_left_min``; ``None`` for users the limits do
    not apply to or when every limit is off."""
    session = getattr(request.state, "session", None)
    if not _reader(session):
        return None
    guard = guard_of(request)
    lim = guard.limits
    if not lim.enabled:
        return None
    state = ExposureState.from_json(session.data.get(SESSION_KEY))
    now = guard.clock()
    stretch = state.stretch
    if state.break_until is not None:
        stretch = stretch if now < state.break_until else None
    elif lim.break_s is not None and state.last is not None and now - state.last >= lim.break_s:
        stretch = None
    break_in = None
    if lim.break_after_s is not None and stretch is not None:
        break_in = max(0, int((stretch + lim.break_after_s - now) // 60))
    work_left = None
    if lim.max_case_work_s is not None and state.first is not None:
        work_left = max(0, int((state.first + lim.max_case_work_s - now) // 60))
    return {
        "cases": len(state.cases),
        "max_cases": lim.max_cases,
        "high": len(state.high),
        "max_high": lim.max_high_risk,
        "break_in_min": break_in,
        "work_left_min": work_left,
    }


env.globals["exposure_status"] = exposure_status
