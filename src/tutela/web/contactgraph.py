"""The contact page's identity graph: a contact, its linked identities (handles, e-mail, phone,
payment references, platform ids), the personas and platforms it spoke to and the contacts merged
into it, each link with its evidence line.

:func:`contact_graph` is a pure function of what the page already read (the workflow's
``CaseDetail`` identities and conversations, the contact's conversation list, its merges from
``tutela.store.queries.casework.merged_contacts``); :func:`graph_svg` draws it as inline SVG
(presentation attributes only, so it renders under the dashboard's Content-Security-Policy, which
allows no inline styles; no JavaScript). The SVG never carries a line's text, only where the line
is (conversation and contact line, linked to the line on the case page); the page's nested list
shows the texts, masked like the transcript (``IdentityView.source_explicit`` /
``MessageView.explicit``). Every text drawn is XML-escaped.

Evidence of a link: an identity's is the line it was read from (``IdentityView.source_*``; none
when the platform itself gave it, e.g. the sender id); a merge's are the line that repeated the
shared identifier and the line that first volunteered it (the ``contacts_merged`` audit row).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape

from tutela.cases.views import CaseDetail, IdentityView, MessageView
from tutela.store.queries.casework import MergeRecord
from tutela.store.queries.dashboard import ContactConversation

__all__ = [
    "ContactGraph",
    "EvidenceLine",
    "IdentityLink",
    "MergeLink",
    "PersonaLink",
    "contact_graph",
    "graph_svg",
]


@dataclass(frozen=True, slots=True)
class EvidenceLine:
    """Where a link was read: message ``message_id`` (contact line ``contact_line`` of
    conversation ``conversation_id``); ``message``: the line's view when the case page has it
    (its ``text``/``explicit``/``purged`` say what may be shown), else ``None``; ``href``: the
    line on the case page (``None`` without a case)."""

    message_id: int
    conversation_id: int | None
    contact_line: int | None
    message: MessageView | None
    href: str | None


@dataclass(frozen=True, slots=True)
class IdentityLink:
    """An identity of the contact and the line it was read from (``None``: from the platform)."""

    identity: IdentityView
    evidence: EvidenceLine | None


@dataclass(frozen=True, slots=True)
class PersonaLink:
    """A persona the contact spoke to on ``platform``, in ``conversation_ids`` (ascending)."""

    persona_id: str
    platform: str
    conversation_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class MergeLink:
    """A contact merged into this one: the shared identifier (``identity``, found by its
    SHA-256 among the contact's identities, else ``None``), when, and both evidence lines."""

    absorbed: int
    at: datetime | None
    platform: str | None
    kind: str | None
    identity: IdentityView | None
    evidence: tuple[EvidenceLine, ...]


@dataclass(frozen=True, slots=True)
class ContactGraph:
    """The graph of one contact (module docstring). ``platforms``: every platform it was met
    or identified on, sorted."""

    contact_id: int
    case_id: int | None
    identities: tuple[IdentityLink, ...]
    personas: tuple[PersonaLink, ...]
    platforms: tuple[str, ...]
    merges: tuple[MergeLink, ...]


def _line(
    message_id: int | None,
    messages: dict[int, tuple[int, MessageView]],
    case_id: int | None,
    *,
    conversation_id: int | None = None,
    contact_line: int | None = None,
) -> EvidenceLine | None:
    if message_id is None:
        return None
    found = messages.get(message_id)
    conv, view = found if found is not None else (conversation_id, None)
    return EvidenceLine(
        message_id=message_id,
        conversation_id=conv,
        contact_line=view.contact_line if view is not None else contact_line,
        message=view,
        href=None if case_id is None else f"/cases/{case_id}#msg-{message_id}",
    )


def contact_graph(
    contact_id: int,
    *,
    case_id: int | None,
    detail: CaseDetail | None,
    conversations: Iterable[ContactConversation],
    merges: Iterable[MergeRecord] = (),
) -> ContactGraph:
    """The identity graph of ``contact_id`` (module docstring); ``detail`` ``None`` (no case
    file) gives no identities and no line texts."""
    messages: dict[int, tuple[int, MessageView]] = {}
    identities: Sequence[IdentityView] = ()
    if detail is not None:
        identities = detail.identities
        for c in detail.conversations:
            for m in c.messages:
                messages[m.id] = (c.id, m)
    links = tuple(
        IdentityLink(
            i,
            _line(
                i.source_message_id,
                messages,
                case_id,
                conversation_id=i.source_conversation_id,
                contact_line=i.source_contact_line,
            ),
        )
        for i in identities
    )
    by_pair: dict[tuple[str, str], list[int]] = {}
    for conv in conversations:
        by_pair.setdefault((conv.persona_id, conv.platform), []).append(conv.id)
    personas = tuple(
        PersonaLink(p, pl, tuple(sorted(ids))) for (p, pl), ids in sorted(by_pair.items())
    )
    by_sha = {hashlib.sha256(i.value.encode("utf-8")).hexdigest(): i for i in identities}
    merge_links = []
    for mr in merges:
        ev = [
            e
            for e in (
                _line(mr.source_message_id, messages, case_id),
                _line(mr.identity_source_message_id, messages, case_id),
            )
            if e is not None
        ]
        if len(ev) == 2 and ev[0].message_id == ev[1].message_id:
            ev = ev[:1]
        merge_links.append(
            MergeLink(
                absorbed=mr.absorbed,
                at=mr.at,
                platform=mr.platform,
                kind=mr.kind,
                identity=by_sha.get(mr.value_sha256 or ""),
                evidence=tuple(ev),
            )
        )
    platforms = sorted({p.platform for p in personas} | {i.platform for i in identities})
    return ContactGraph(
        contact_id=contact_id,
        case_id=case_id,
        identities=links,
        personas=personas,
        platforms=tuple(platforms),
        merges=tuple(merge_links),
    )


# -- drawing -------------------------------------------------------------------------------------
_W = 760
_ROW = 34
_TOP = 40
_COLS = (10, 300, 520)  # left edge of: identities, contact, personas
_BOX_W = (250, 170, 230)
_BOX_H = 24
_FILL = {"identity": "#e3f2fd", "contact": "#fff3e0", "persona": "#e8f5e9", "merged": "#f3e5f5"}


def _short(text: str, n: int = 34) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _identity(text: str) -> str:
    return text


def _plural(one: str, many: str, n: int) -> str:
    return one if n == 1 else many


def _box(x: int, y: int, w: int, label: str, fill: str, title: str) -> str:
    return (
        f'<g><title>{escape(title)}</title><rect x="{x}" y="{y}" width="{w}" height="{_BOX_H}" '
        f'rx="5" fill="{fill}" stroke="#555" stroke-width="1"/>'
        f'<text x="{x + 8}" y="{y + 16}" font-size="12" font-family="sans-serif" fill="#111">'
        f"{escape(_short(label))}</text></g>"
    )


def graph_svg(
    graph: ContactGraph,
    *,
    gettext: Callable[[str], str] = _identity,
    ngettext: Callable[[str, str, int], str] = _plural,
) -> str:
    """Inline SVG of ``graph`` (module docstring): identities on the left, the contact (and the
    contacts merged into it) in the middle, personas on the right; each identity edge carries
    its evidence line's place, linked to the case page's line."""
    _ = gettext
    n_rows = max(len(graph.identities), len(graph.personas), 1 + len(graph.merges), 1)
    height = _TOP + n_rows * _ROW + 20
    cx, cw = _COLS[1], _BOX_W[1]
    cy = _TOP
    title = _("Identity graph of contact %(id)s") % {"id": graph.contact_id}
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {height}" width="{_W}" '
        f'height="{height}" role="img" aria-labelledby="cg-title" class="contact-graph">',
        f'<title id="cg-title">{escape(title)}</title>',
        f'<text x="{_COLS[0]}" y="20" font-size="13" font-weight="bold" font-family="sans-serif">'
        f"{escape(_('Identities'))}</text>",
        f'<text x="{_COLS[2]}" y="20" font-size="13" font-weight="bold" font-family="sans-serif">'
        f"{escape(_('Personas spoken to'))}</text>",
    ]
    edges: list[str] = []
    nodes: list[str] = []
    for n, link in enumerate(graph.identities):
        i = link.identity
        y = _TOP + n * _ROW
        label = f"{i.platform} · {i.kind} · {i.value}"
        nodes.append(_box(_COLS[0], y, _BOX_W[0], label, _FILL["identity"], label))
        x1, y1 = _COLS[0] + _BOX_W[0], y + _BOX_H // 2
        x2, y2 = cx, cy + _BOX_H // 2
        edges.append(
            f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="#1565c0" stroke-width="1"/>'
        )
        ev = link.evidence
        if ev is not None and ev.contact_line is not None:
            where = _("conversation %(conv)s, line %(line)s") % {
                "conv": ev.conversation_id,
                "line": ev.contact_line,
            }
        elif ev is not None:
            where = _("message %(id)s") % {"id": ev.message_id}
        else:
            where = _("from the platform")
        tag = (
            f'<text x="{x1 + 4}" y="{y1 - 3}" font-size="9" font-family="sans-serif" '
            f'fill="#0d47a1">{escape(where)}</text>'
        )
        if ev is not None and ev.href is not None:
            tag = f'<a href="{escape(ev.href)}">{tag}</a>'
        edges.append(tag)
    contact_label = _("contact %(id)s") % {"id": graph.contact_id}
    nodes.append(_box(cx, cy, cw, contact_label, _FILL["contact"], contact_label))
    for n, m in enumerate(graph.merges, start=1):
        y = cy + n * _ROW
        label = _("merged contact %(id)s") % {"id": m.absorbed}
        why = _("shared %(kind)s") % {"kind": m.kind or "?"}
        nodes.append(_box(cx, y, cw, label, _FILL["merged"], f"{label}: {why}"))
        edges.append(
            f'<line x1="{cx + cw // 2}" y1="{y - _ROW + _BOX_H}" x2="{cx + cw // 2}" y2="{y}" '
            f'stroke="#6a1b9a" stroke-width="1" stroke-dasharray="3 2"/>'
        )
    for n, p in enumerate(graph.personas):
        y = _TOP + n * _ROW
        count = ngettext("%(n)s conversation", "%(n)s conversations", len(p.conversation_ids)) % {
            "n": len(p.conversation_ids)
        }
        label = f"{p.persona_id} · {p.platform}"
        nodes.append(_box(_COLS[2], y, _BOX_W[2], label, _FILL["persona"], f"{label}: {count}"))
        x1, y1 = cx + cw, cy + _BOX_H // 2
        x2, y2 = _COLS[2], y + _BOX_H // 2
        edges.append(
            f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="#2e7d32" stroke-width="1"/>'
        )
        edges.append(
            f'<text x="{x2 - 4}" y="{y2 - 3}" font-size="9" text-anchor="end" '
            f'font-family="sans-serif" fill="#1b5e20">{escape(count)}</text>'
        )
    parts.extend(edges)
    parts.extend(nodes)
    parts.append("</svg>")
    return "".join(parts)
