"""Human-readable evidence reports (HTML and PDF) derived from a package's data members.

One source: the Jinja2 template ``tutela/evidence/templates/report.html.j2`` (package data,
autoescaped) gives ``report.html``, and ``report.pdf`` is that same HTML rendered by WeasyPrint
(its ``@page`` rules: A4 landscape, a footer on every page with the case id, the package's data
digest and "page N of M"), so the two cannot drift. Both show: a non-evidential banner in large
letters when any operation is not evidential (demonstrations), "INTERIM — conversation open at
export" when a conversation of the case had no recorded end at export, the operations, each
conversation's transcript with whole UTC timestamps (never wrapped mid-value; for a contact's line
both when Tutela received it and when the platform says it was sent, or "not stated") and the
indicators that first appeared after each line, the decisions (action, risk, rule, reason,
variant) and the chain of custody (who exported when, checkpoint fingerprints, timestamp, member
hashes, data digest). The PDF's metadata carry the title, the tool and the package's
``created_at`` as creation date.

WeasyPrint needs Pango (Debian: ``libpango-1.0-0``, ``libpangoft2-1.0-0``) and a font
(``fonts-dejavu-core``); characters the font lacks render as a placeholder box, so
``messages.jsonl`` and the HTML remain the authoritative text (the PDF says so).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, cast

from tutela.evidence.contents import PackageContents, TranscriptLine
from tutela.evidence.layout import data_digest
from tutela.ledger.payloads import ExportPayload, InboundPayload
from tutela.store.queries.evidence import NOT_ANSWERED

__all__ = ["INTERIM", "render_html", "render_pdf", "report_context"]

INTERIM = "INTERIM — conversation open at export"
"""Banner (HTML, PDF, footer) of a package whose case has a conversation without a recorded end."""
_FRACTION = re.compile(r"\.\d+(?=Z$)")


def _stamp_label(by: str | None) -> str:
    """Whose claim a sent time is: ``"as stamped by SERVER, the server's claim"`` when the ledger
    entry names who stated it (``sent_by``: the XEP-0203 ``from`` of an XMPP delay stamp, a
    server's claim that a sender can imitate; Tutela does not verify it), else
    ``"platform's stamp"`` (e.g. a Matrix ``origin_server_ts``)."""
    return f"as stamped by {by}, the server's claim" if by else "platform's stamp"


def _line_times(line: TranscriptLine, sent_by: str | None = None) -> str:
    """The time cell of a transcript line: an inbound line shows when Tutela received it and
    when the platform says it was sent, with whose stamp that is (``sent_by``, see
    :func:`_stamp_label`), or that it did not say; an outbound one its send time. The HTML
    template writes the same."""
    if line.direction != "in":
        return f"sent {line.at}"
    sent = f"{line.sent_at} ({_stamp_label(sent_by)})" if line.sent_at else "not stated"
    return f"received {line.at}\nsent {sent}"


def _stamps_of(c: PackageContents) -> dict[int, str]:
    """``{ledger_seq: sent_by}`` of the inbound entries that name who stated their sent time
    (migration 0006; entries without one are absent)."""
    out: dict[int, str] = {}
    for e in c.entries:
        if e.kind.value != "inbound":
            continue
        p = cast(InboundPayload, e.payload or {})
        sent_by = p.get("sent_by")
        if isinstance(sent_by, str):
            out[e.seq] = sent_by
    return out


def report_context(c: PackageContents) -> dict[str, Any]:
    """The template context: ``c`` (contents), ``views`` (conversation views), ``export``
    ({seq, at, actor, entry_hash}), ``first_seq``, ``last_seq``, ``n_entries``, ``n_redacted``,
    ``stamp_of`` ({ledger_seq: label of whose sent-time stamp it is}), ``sent_by``
    ({ledger_seq: who stated the sent time}), ``not_answered`` (the mark of a line whose entry
    holds ``"answer": false``), ``digest`` (the data digest, ``layout.data_digest``),
    ``open_conversations`` (ids without a recorded end), ``interim`` (:data:`INTERIM` or
    ``None``), ``created_w3c`` (``created_at`` to the second, for the PDF metadata) and
    ``after_export`` (ledger entries of the case dated after the export entry: a clock that ran
    ahead)."""
    stamps = _stamps_of(c)
    export = c.export_entry
    payload = cast(ExportPayload, export.payload or {})
    views = c.conversation_views()
    open_ids = [v.id for v in views if v.ended is None]
    wanted = set(c.conversations)
    return {
        "c": c,
        "views": views,
        "digest": data_digest(c.data_hashes),
        "open_conversations": open_ids,
        "interim": INTERIM if open_ids else None,
        "created_w3c": _FRACTION.sub("", c.created_at),
        "after_export": [e.seq for e in c.entries if e.conversation in wanted and e.at > export.at],
        "stamp_of": {seq: _stamp_label(by) for seq, by in stamps.items()},
        "sent_by": stamps,
        "not_answered": NOT_ANSWERED,
        "export": {
            "seq": export.seq,
            "at": export.at,
            "actor": payload.get("actor", c.exported_by),
            "entry_hash": export.entry_hash,
        },
        "first_seq": c.entries[0].seq,
        "last_seq": export.seq,
        "n_entries": len(c.entries),
        "n_redacted": sum(1 for e in c.entries if e.payload is None),
    }


def render_html(c: PackageContents) -> str:
    """The report as a self-contained HTML document (no scripts, no external resources)."""
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=PackageLoader("tutela.evidence", "templates"),
        autoescape=select_autoescape(["html", "j2"], default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("report.html.j2").render(**report_context(c))


def render_pdf(c: PackageContents, html: str | None = None) -> bytes:
    """The report as PDF bytes: ``html`` (default :func:`render_html` of ``c``) rendered by
    WeasyPrint (A4 landscape, footer on every page: case id, data digest, page N of M; metadata
    title, creator and creation date ``c.created_at``). The file identifier is derived from the
    HTML, so equal contents give equal bytes. No resource is fetched (only ``data:`` URLs are
    allowed: WeasyPrint's ``URLFetcher(allowed_protocols=...)``). Raises ``OSError`` when
    Pango is missing."""
    from weasyprint import HTML  # type: ignore[import-untyped]  # no stubs or py.typed
    from weasyprint.urls import URLFetcher  # type: ignore[import-untyped]

    source = html if html is not None else render_html(c)
    ident = hashlib.sha256(source.encode("utf-8")).hexdigest()[:32].encode("ascii")
    # fetches nothing but inline data: URLs. The report is self-contained (inline CSS, no
    # images); any other URL could only come from a contact's text that escaped the template's
    # autoescaping, and must never be fetched (no request, no local file read or embedded).
    fetcher = URLFetcher(allowed_protocols=("data",), allow_redirects=False)
    pdf = HTML(string=source, url_fetcher=fetcher).write_pdf(pdf_identifier=ident)
    assert pdf is not None  # no target given: the bytes are returned
    return bytes(pdf)
