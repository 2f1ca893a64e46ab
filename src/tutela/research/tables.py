"""The de-identified research tables, as lists of rows (header first).

Columns (``*`` = keyed pseudonym, :mod:`tutela.research.pseudonym`; days are UTC dates)::

    conversations: conversation*, contact*, persona, platform, lang, start_day,
                   messages_in, messages_out, final_action
    messages:      conversation*, seq, direction, day, contact_line, attachments, indicators
                   [, text]  (text only when asked for and permitted)
    decisions:     conversation*, after_line, action, risk, rule, variant, day
    contacts:      contact*, conversations, platforms, personas, warnings

Never exported: database ids, identities (platform ids, handles, e-mails, phones, payment refs),
persona accounts, message authors, platform message ids, wire bytes, attachment URLs or hashes,
decision reasons (free text), times of day. ``final_action`` is the strongest decision action of
the conversation (``none`` without decisions); ``indicators`` of a message are those listed by
the decision taken after it (``;``-separated, empty for persona lines); ``attachments`` is the
number of media items declared (metadata only); ``risk`` is rounded to 3 decimals; ``warnings``
counts decisions that sent a deterrence warning (:func:`tutela.domain.is_warning`).
Rows are sorted by pseudonym (then ``seq``/``after_line``), so their order reveals nothing about
when they were recorded.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from tutela.domain import Action, is_warning
from tutela.research.pseudonym import pseudonym
from tutela.research.stats import conversation_contacts
from tutela.store import Store
from tutela.store.queries.research import research_table_rows

__all__ = [
    "CONTACT_COLUMNS",
    "CONVERSATION_COLUMNS",
    "DECISION_COLUMNS",
    "MESSAGE_COLUMNS",
    "Table",
    "research_tables",
]

Table = list[list[Any]]

CONVERSATION_COLUMNS = (
    "conversation",
    "contact",
    "persona",
    "platform",
    "lang",
    "start_day",
    "messages_in",
    "messages_out",
    "final_action",
)
MESSAGE_COLUMNS = (
    "conversation",
    "seq",
    "direction",
    "day",
    "contact_line",
    "attachments",
    "indicators",
)
DECISION_COLUMNS = ("conversation", "after_line", "action", "risk", "rule", "variant", "day")
CONTACT_COLUMNS = ("contact", "conversations", "platforms", "personas", "warnings")

_RANK = {a.value: a.rank for a in Action}


def research_tables(store: Store, key: bytes, *, include_text: bool = False) -> dict[str, Table]:
    """``{"conversations", "messages", "decisions", "contacts"}`` → rows, header row first.

    ``include_text`` adds a ``text`` column to ``messages`` (empty after a retention purge); the
    caller checks the permission (:func:`tutela.research.export.export_research`).
    """
    rows = research_table_rows(store, include_text=include_text)
    convs = rows.graph.conversations
    counts = {(c.conversation_id, c.direction): c.n for c in rows.counts}
    contact_of = conversation_contacts(rows.graph)
    conv_p = {c.id: pseudonym(key, "conversation", c.id) for c in convs}
    contact_p = {k: pseudonym(key, "contact", k) for k in set(contact_of.values())}

    final: dict[int, str] = {}
    indicators_of: dict[int, list[str]] = {}
    warnings_of: dict[int, int] = defaultdict(int)
    decision_rows: Table = []
    for d in rows.decisions:
        if _RANK.get(d.action, -1) > _RANK.get(final.get(d.conversation_id, ""), -1):
            final[d.conversation_id] = d.action
        indicators_of[d.message_id] = list(d.indicators)
        if is_warning(d.action, d.variant):
            warnings_of[contact_of[d.conversation_id]] += 1
        decision_rows.append(
            [
                conv_p[d.conversation_id],
                d.after_line,
                d.action,
                f"{round(d.risk, 3):.3f}",
                d.rule,
                d.variant or "",
                d.created_at.date().isoformat(),
            ]
        )

    conversation_rows: Table = [
        [
            conv_p[c.id],
            contact_p[contact_of[c.id]],
            c.persona_id,
            c.platform,
            c.lang,
            c.started_at.date().isoformat(),
            counts.get((c.id, "in"), 0),
            counts.get((c.id, "out"), 0),
            final.get(c.id, "none"),
        ]
        for c in convs
    ]

    message_rows: Table = []
    for m in rows.messages:
        row = [
            conv_p[m.conversation_id],
            m.seq,
            m.direction,
            m.at.date().isoformat(),
            "" if m.contact_line is None else m.contact_line,
            m.attachments,
            ";".join(indicators_of.get(m.id, ())),
        ]
        if include_text:
            row.append(m.text or "")
        message_rows.append(row)

    per_contact: dict[int, list[set[Any]]] = defaultdict(lambda: [set(), set(), set()])
    for c in convs:
        entry = per_contact[contact_of[c.id]]
        entry[0].add(c.id)
        entry[1].add(c.platform)
        entry[2].add(c.persona_id)
    contact_rows: Table = [
        [contact_p[k], len(cs), len(ps), len(pe), warnings_of.get(k, 0)]
        for k, (cs, ps, pe) in per_contact.items()
    ]

    return {
        "conversations": [list(CONVERSATION_COLUMNS), *sorted(conversation_rows)],
        "messages": [
            list(MESSAGE_COLUMNS) + (["text"] if include_text else []),
            *sorted(message_rows, key=lambda r: (r[0], r[1])),
        ],
        "decisions": [list(DECISION_COLUMNS), *sorted(decision_rows, key=lambda r: (r[0], r[1]))],
        "contacts": [list(CONTACT_COLUMNS), *sorted(contact_rows)],
    }
