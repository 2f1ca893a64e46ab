"""Research statistics over the store: read-only, de-identified, JSON-ready via :func:`summary`.

Every function takes an open :class:`~tutela.store.Store`, reads plain records through
:mod:`tutela.store.queries.research` (one snapshot per statistic) and returns plain values. No
output holds a database id, a platform handle, an account, a text or a time of day: days are UTC
calendar dates, conversations are keyed pseudonyms (:mod:`tutela.research.pseudonym`). Merged
contacts are resolved to the surviving contact (``contacts.merged_into``). An empty store gives
empty results.

Definitions
-----------
contact per day
    A contact counts on UTC day *d* and platform *p* when it sent at least one message addressed to
    a persona (``messages.direction = 'in'``) received on *d* in a conversation on *p*.
warning
    A decision that sent a deterrence message: :func:`tutela.domain.is_warning` (``variant`` set
    and action in :data:`tutela.domain.WARNING_ACTIONS`: ``deter``, ``escalate``, ``refer``), the
    rule ``Recorder.contact_summary`` counts too. Its day is the UTC date of
    ``decisions.created_at``.
first solicitation (of a conversation)
    The earliest decision of the conversation (in recording order) that either took an action in
    ``WARNING_ACTIONS`` or lists an indicator whose category (the middle part of the id
    ``<lang>.<category>.<name>``, see ``tutela.detect.lexicon``) is in
    :data:`SOLICITATION_CATEGORIES` (sexual content, media request, meeting, gift or money: the
    solicitation/approach categories of the Sweetie 2.0 reports and Lorenzo-Dus et al. 2016).
    ``messages`` is its ``after_line``: the number of contact lines up to and including the line
    that triggered it; ``minutes`` runs from the conversation's ``started_at`` to that line's
    ``received_at``. Conversations without one are left out.
indicator frequency
    Number of conversations whose decisions list the indicator. (A decision lists the indicators
    that moved the conversation's risk so far, so counting decisions would weight long
    conversations; counting conversations does not.)
return after a warning (deterrence outcome, after Prichard et al. 2021, who compared warning
    messages by what the warned users did next)
    Unit: a (contact, variant) pair, at the contact's earliest warning of that variant. The contact
    *returned* when a conversation with the same contact (any persona, platform or linked
    identity) other than the warning's own was opened after that warning was recorded. Order is
    the ledger's recording order (first ledger entry of the conversation vs. the warning's entry),
    which is clock-independent: simulated demo clocks and skewed hosts cannot reorder it.
    ``rate = returned / warned``, with its Wilson score 95 % interval ``low``/``high``
    (:func:`tutela.research.trial_stats.wilson_interval`; Wilson 1927, Newcombe 1998).
    *Scope*: only conversations of operations in the study count, for the warning and for the
    return alike: evidential operations other than the built-in demonstration operation
    (:class:`tutela.store.queries.trial_outcomes.OperationScope`), optionally narrowed to given
    operation ids. Demo and training data never enter the deterrence outcome (issue 13). The
    randomised comparison of variants is :mod:`tutela.research.trial`.
"""

from __future__ import annotations

import secrets
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any, NamedTuple

from tutela.domain import WARNING_ACTIONS, is_warning
from tutela.research.pseudonym import pseudonym
from tutela.store import Store
from tutela.store.queries import research as rq
from tutela.store.queries.common import resolve_merges
from tutela.store.queries.trial_outcomes import study_scope

__all__ = [
    "SOLICITATION_CATEGORIES",
    "ContactsPerDay",
    "FirstSolicitation",
    "ReturnRate",
    "WarningsPerDay",
    "assemble_summary",
    "contacts_per_day",
    "conversation_contacts",
    "indicator_category",
    "indicator_frequencies",
    "is_warning",
    "resolved_contacts",
    "returns_after_warning",
    "summary",
    "time_to_first_solicitation",
    "warnings",
]

SOLICITATION_CATEGORIES = frozenset({"sexual_content", "media_request", "meeting", "gift_or_money"})

_PROCESS_KEY = secrets.token_bytes(32)


class ContactsPerDay(NamedTuple):
    """Distinct contacts that wrote to a persona on one UTC day on one platform."""

    day: date
    platform: str
    n: int


class FirstSolicitation(NamedTuple):
    """A conversation's first solicitation: contact lines and minutes from its start."""

    conversation: str  # pseudonym
    messages: int
    minutes: float


class WarningsPerDay(NamedTuple):
    """Warnings sent on one UTC day with one deterrence variant."""

    day: date
    variant: str
    n: int


class ReturnRate(NamedTuple):
    """Deterrence outcome of one variant; also a ``dict`` via :meth:`as_dict` (with the Wilson
    95 % interval of ``rate`` as ``low``/``high``, 4 decimals)."""

    warned: int
    returned: int
    rate: float

    @property
    def interval(self) -> tuple[float, float]:
        """Wilson score 95 % interval of ``returned / warned`` (``(0, 1)`` when none warned)."""
        from tutela.research.trial_stats import wilson_interval

        return wilson_interval(self.returned, self.warned)

    def as_dict(self) -> dict[str, Any]:
        low, high = self.interval
        return {
            "warned": self.warned,
            "returned": self.returned,
            "rate": self.rate,
            "low": round(low, 4),
            "high": round(high, 4),
        }


def indicator_category(indicator_id: str) -> str | None:
    """The category part of ``<lang>.<category>.<name>``; ``None`` for another shape."""
    parts = str(indicator_id).split(".")
    return parts[1] if len(parts) >= 3 else None


def _key(key: bytes | None) -> bytes:
    return _PROCESS_KEY if key is None else key


def resolved_contacts(links: Iterable[rq.ContactLink]) -> dict[int, int]:
    """Contact id → surviving contact id (following ``merged_into``), for every contact of
    ``links`` (:attr:`tutela.store.queries.research.ContactGraph.links`)."""
    return resolve_merges({link.contact_id: link.merged_into for link in links})


def conversation_contacts(graph: rq.ContactGraph) -> dict[int, int]:
    """Conversation id → surviving contact id."""
    resolve = resolved_contacts(graph.links)
    return {c.id: resolve.get(c.contact_id, c.contact_id) for c in graph.conversations}


def contacts_per_day(store: Store) -> list[ContactsPerDay]:
    """Distinct contacts writing to a persona per UTC day and platform, sorted by day, platform."""
    activity = rq.inbound_activity(store)
    contact_of = conversation_contacts(activity.graph)
    platform_of = {c.id: c.platform for c in activity.graph.conversations}
    groups: dict[tuple[date, str], set[int]] = defaultdict(set)
    for line in activity.lines:
        groups[(line.at.date(), platform_of[line.conversation_id])].add(
            contact_of[line.conversation_id]
        )
    return [ContactsPerDay(d, p, len(c)) for (d, p), c in sorted(groups.items())]


def _is_solicitation(action: str, indicators: Iterable[Any]) -> bool:
    return action in WARNING_ACTIONS or any(
        indicator_category(i) in SOLICITATION_CATEGORIES for i in indicators
    )


def time_to_first_solicitation(
    store: Store, *, key: bytes | None = None
) -> list[FirstSolicitation]:
    """Each conversation's first solicitation (module docstring), sorted by pseudonym.

    ``key``: pseudonym key (:func:`tutela.research.pseudonym.load_or_create_key`); ``None`` uses
    a random key held by this process (pseudonyms stable for the process's life, unlinkable to
    exports). ``minutes`` is rounded to 2 decimals and never negative.
    """
    k = _key(key)
    found: dict[int, tuple[int, float]] = {}
    for d in rq.solicitation_candidates(store):
        if d.conversation_id in found or not _is_solicitation(d.action, d.indicators):
            continue
        minutes = max(0.0, (d.at - d.started_at).total_seconds() / 60.0)
        found[d.conversation_id] = (d.after_line, round(minutes, 2))
    out = [FirstSolicitation(pseudonym(k, "conversation", c), m, t) for c, (m, t) in found.items()]
    return sorted(out)


def indicator_frequencies(store: Store) -> dict[str, int]:
    """Indicator id → number of conversations whose decisions list it; most frequent first,
    ties by id."""
    pairs: set[tuple[int, str]] = set()
    for listing in rq.decision_indicators(store):
        pairs.update((listing.conversation_id, i) for i in listing.indicators)
    counts = Counter(i for _, i in pairs)
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def warnings(store: Store) -> list[WarningsPerDay]:
    """Warnings per UTC day and variant, sorted by day, variant."""
    counts = Counter((w.created_at.date(), w.variant) for w in rq.warning_decisions(store))
    return [WarningsPerDay(d, v, n) for (d, v), n in sorted(counts.items())]


def returns_after_warning(
    store: Store, *, operations: Iterable[int] | None = None
) -> dict[str, ReturnRate]:
    """Variant → ``ReturnRate(warned, returned, rate)`` (module docstring), sorted by variant.

    ``ReturnRate`` is a named tuple; :func:`summary` gives the JSON shape
    ``{variant: {"warned": n, "returned": n, "rate": float, "low": float, "high": float}}``.
    ``rate`` is rounded to 4 decimals. Only in-study operations count (evidential, not the
    demo); ``operations``: keep only these operation ids (module docstring, *Scope*).
    """
    facts = rq.warning_returns(store)
    in_scope = study_scope(store).conversations_in(operations)
    contact_of = {
        c: contact for c, contact in conversation_contacts(facts.graph).items() if c in in_scope
    }
    opened = {o.conversation_id: o.first_seq for o in facts.opened}
    first: dict[tuple[int, str], tuple[int, int]] = {}  # (contact, variant) -> (seq, conv)
    for w in facts.warnings:
        if w.conversation_id not in contact_of:  # a conversation outside the study
            continue
        first.setdefault(
            (contact_of[w.conversation_id], w.variant), (w.ledger_seq, w.conversation_id)
        )
    convs_of: dict[int, list[int]] = defaultdict(list)
    for conv, contact in contact_of.items():
        convs_of[contact].append(conv)
    tally: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for (contact, variant), (seq, warned_in) in first.items():
        came_back = any(
            c != warned_in and opened.get(c, 0) > seq for c in convs_of.get(contact, ())
        )
        tally[variant][0] += 1
        tally[variant][1] += int(came_back)
    return {
        v: ReturnRate(w, r, round(r / w, 4) if w else 0.0) for v, (w, r) in sorted(tally.items())
    }


def _totals(store: Store) -> dict[str, int]:
    t = rq.store_totals(store)
    contact_of = conversation_contacts(t.graph)
    return {
        "contacts": len(set(contact_of.values())),
        "conversations": len(contact_of),
        "messages_in": t.messages_in,
        "messages_out": t.messages_out,
        "decisions": t.decisions,
        "warnings": t.warnings,
    }


def summary(
    store: Store, *, key: bytes | None = None, operations: Iterable[int] | None = None
) -> dict[str, Any]:
    """All statistics as one JSON-ready dict (days as ``"YYYY-MM-DD"``)::

        {"totals": {"contacts", "conversations", "messages_in", "messages_out", "decisions",
                    "warnings", "solicited_conversations"},
         "contacts_per_day": [{"day", "platform", "n"}],
         "time_to_first_solicitation": [{"conversation", "messages", "minutes"}],
         "indicator_frequencies": {indicator_id: n},
         "warnings": [{"day", "variant", "n"}],
         "returns_after_warning": {variant: {"warned", "returned", "rate", "low", "high"}}}

    ``key`` as for :func:`time_to_first_solicitation`; ``operations``: the deterrence section's
    operation filter (:func:`returns_after_warning`; demo and non-evidential operations are
    always left out of it).
    """
    return assemble_summary(
        store,
        contacts=contacts_per_day(store),
        solicitations=time_to_first_solicitation(store, key=key),
        indicators=indicator_frequencies(store),
        warned=warnings(store),
        returns=returns_after_warning(store, operations=operations),
    )


def assemble_summary(
    store: Store,
    *,
    contacts: Sequence[ContactsPerDay],
    solicitations: Sequence[FirstSolicitation],
    indicators: Mapping[str, int],
    warned: Sequence[WarningsPerDay],
    returns: Mapping[str, ReturnRate],
) -> dict[str, Any]:
    """The :func:`summary` dict from statistics already computed (adds the totals)."""
    totals = _totals(store)
    totals["solicited_conversations"] = len(solicitations)
    return {
        "totals": totals,
        "contacts_per_day": [
            {"day": r.day.isoformat(), "platform": r.platform, "n": r.n} for r in contacts
        ],
        "time_to_first_solicitation": [r._asdict() for r in solicitations],
        "indicator_frequencies": dict(indicators),
        "warnings": [{"day": r.day.isoformat(), "variant": r.variant, "n": r.n} for r in warned],
        "returns_after_warning": {v: r.as_dict() for v, r in returns.items()},
    }
