"""Human-readable evidence reports (HTML and PDF) derived from a package's data members.

The HTML comes from the Jinja2 template ``tutela/evidence/templates/report.html.j2`` (package
data, autoescaped). The PDF is drawn with reportlab (pure Python) from the same context. Both show:
a non-evidential banner in large letters when any operation is not evidential (demonstrations),
the operations, each conversation's transcript with UTC timestamps (for a contact's line both
when Tutela received it and when the platform says it was sent, or "not stated") and the
indicators that first appeared after each line, the decisions (action, risk, rule, reason,
variant) and the chain of custody (who exported when, checkpoint fingerprints, timestamp, member
hashes).

The PDF uses DejaVu Sans when the system has it, else reportlab's bundled Vera; characters the
font lacks render as a placeholder box, so ``messages.jsonl`` and the HTML remain the authoritative
text (the PDF says so).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, cast
from xml.sax.saxutils import escape

from tutela.evidence.contents import PackageContents, TranscriptLine
from tutela.ledger.payloads import ExportPayload, InboundPayload
from tutela.store.queries.evidence import NOT_ANSWERED

__all__ = ["render_html", "render_pdf", "report_context"]

_DEJAVU = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/TTF/DejaVuSans.ttf"),
)


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
    holds ``"answer": false``)."""
    stamps = _stamps_of(c)
    export = c.export_entry
    payload = cast(ExportPayload, export.payload or {})
    return {
        "c": c,
        "views": c.conversation_views(),
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


def _font() -> tuple[str, str]:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    for path in _DEJAVU:
        if path.is_file():
            if "TutelaSans" not in pdfmetrics.getRegisteredFontNames():
                pdfmetrics.registerFont(TTFont("TutelaSans", str(path)))
            bold = path.with_name("DejaVuSans-Bold.ttf")
            if bold.is_file() and "TutelaSans-Bold" not in pdfmetrics.getRegisteredFontNames():
                pdfmetrics.registerFont(TTFont("TutelaSans-Bold", str(bold)))
            has_bold = "TutelaSans-Bold" in pdfmetrics.getRegisteredFontNames()
            return "TutelaSans", "TutelaSans-Bold" if has_bold else "TutelaSans"
    if "Vera" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("Vera", "Vera.ttf"))
        pdfmetrics.registerFont(TTFont("VeraBd", "VeraBd.ttf"))
    return "Vera", "VeraBd"


def render_pdf(c: PackageContents) -> bytes:
    """The report as PDF bytes (A4, reportlab). Deterministic for equal contents."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import (
        LongTable,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        TableStyle,
    )

    regular, bold = _font()
    ctx = report_context(c)
    base = ParagraphStyle("base", fontName=regular, fontSize=8, leading=10)
    mono = ParagraphStyle("mono", parent=base, fontSize=6.5, leading=8)
    h1 = ParagraphStyle("h1", parent=base, fontName=bold, fontSize=16, leading=20, spaceAfter=6)
    h2 = ParagraphStyle("h2", parent=base, fontName=bold, fontSize=12, leading=15, spaceBefore=10)
    banner = ParagraphStyle(
        "banner",
        parent=base,
        fontName=bold,
        fontSize=26,
        leading=32,
        textColor=colors.red,
        alignment=1,
        borderColor=colors.red,
        borderWidth=3,
        borderPadding=8,
        spaceBefore=8,
        spaceAfter=14,
    )

    def p(text: object, style: ParagraphStyle = base) -> Paragraph:
        return Paragraph(escape("" if text is None else str(text)).replace("\n", "<br/>"), style)

    def table(rows: list[list[object]], widths: list[float]) -> LongTable:
        data = [[x if isinstance(x, Paragraph) else p(x) for x in r] for r in rows]
        t = LongTable(data, colWidths=widths, repeatRows=1)
        t.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        return t

    pagesize = landscape(A4)
    width = pagesize[0] - 30 * mm
    story: list[Any] = [p(f"Tutela evidence report — case {c.case_id}", h1)]
    if c.draft:
        story.append(
            p("DRAFT — NOT EVIDENTIAL\nEXPORTED WITH --draft, NO APPROVED REFERRAL", banner)
        )
    if not c.operations_evidential:
        story.append(
            p("NOT EVIDENCE — NON-EVIDENTIAL OPERATION\nDEMONSTRATION / TEST DATA", banner)
        )
    exp = ctx["export"]
    story.append(
        table(
            [
                ["Case", f"{c.case_id} (contact {c.contact_id})"],
                ["Conversations", ", ".join(map(str, c.conversations))],
                ["Exported", f"{exp['at']} by {exp['actor']} (ledger entry {exp['seq']})"],
                ["Package created", f"{c.created_at} with {c.tool}"],
                [
                    "Ledger excerpt",
                    f"entries {ctx['first_seq']}–{ctx['last_seq']} ({ctx['n_entries']}; "
                    f"{ctx['n_redacted']} entries outside this case redacted)",
                ],
                ["Signing key fingerprint", p(c.key_fingerprint, mono)],
            ],
            [45 * mm, width - 45 * mm],
        )
    )
    story.append(
        p(
            "Verify with: tutela verify PACKAGE.zip --expect-fingerprint FINGERPRINT. The text of "
            "messages.jsonl is authoritative; characters this PDF's font lacks show as boxes."
        )
    )
    story.append(p("Operations", h2))
    story.append(
        table(
            [["Id", "Organisation", "Jurisdiction", "Legal basis", "Authorisation", "Officer"]]
            + [
                [
                    o["id"],
                    o["organisation"],
                    o["jurisdiction"],
                    o["legal_basis"],
                    o["authorisation_ref"],
                    f"{o['officer']}\n{o['starts_at']} – {o['ends_at'] or 'open'}\n"
                    f"evidential: {'yes' if o['evidential'] else 'NO'}; entry {o['ledger_seq']}",
                ]
                for o in c.operations
            ],
            [12 * mm, 40 * mm, 28 * mm, width - 190 * mm, 40 * mm, 70 * mm],
        )
    )
    for v in ctx["views"]:
        o = v.opened
        story.append(p(f"Conversation {v.id}", h2))
        ended = f"{v.ended.get('ended_at')} ({v.ended.get('reason')})" if v.ended else "open"
        story.append(
            p(
                f"Persona {o.get('persona_id')} (account {o.get('account')}) on "
                f"{o.get('platform')}; operation {o.get('operation_id')}; language "
                f"{o.get('lang')}; started {o.get('started_at')}; ended {ended}"
            )
        )
        prov = o.get("provenance")
        if prov:
            story.append(
                p(
                    f"Source: imported from the file {prov.get('file')} ({prov.get('format')} "
                    f"format, SHA-256 {prov.get('sha256')}), conversation "
                    f"{prov.get('conversation')}; not a live persona conversation: every line is "
                    "the export's own, none was written by a persona."
                )
            )
        rows: list[list[object]] = [
            ["#", "Time (UTC)", "From", "Text", "New indicators / decision"]
        ]
        for line in v.lines:
            who = ("contact " if line.direction == "in" else "persona ") + line.author
            if prov and line.direction == "in":  # an imported file's lines are its own authors'
                who = line.author
            text = "[text deleted under the retention rules]" if line.text is None else line.text
            if line.not_answered:
                text += f"\n[{NOT_ANSWERED}]"
            note = ", ".join(line.new_indicators)
            if line.decision:
                d = line.decision
                note += (
                    f"\n{d['action']} (risk {d['risk']}; rule {d['rule']}"
                    f"{'; variant ' + str(d['variant']) if d['variant'] else ''})"
                )
            times = _line_times(line, ctx["sent_by"].get(line.ledger_seq))
            rows.append([line.message_seq, times, who, text, note])
        story.append(table(rows, [12 * mm, 42 * mm, 35 * mm, width - 169 * mm, 80 * mm]))
        story.append(Spacer(1, 4 * mm))
        drows: list[list[object]] = [["After line", "Action", "Risk", "Rule", "Reason"]]
        drows += [
            [
                ln.decision["after_line"],
                ln.decision["action"],
                ln.decision["risk"],
                ln.decision["rule"],
                ln.decision["reason"],
            ]
            for ln in v.lines
            if ln.decision
        ]
        story.append(table(drows, [18 * mm, 18 * mm, 18 * mm, 50 * mm, width - 104 * mm]))
    reviews = c.reviews()
    if reviews:
        story.append(p("Case history (reviews)", h2))
        story.append(
            table(
                [["Time (UTC)", "Action", "By", "Status", "Ledger"]]
                + [
                    [
                        r["at"],
                        r["action"],
                        f"{r['actor']} ({r['actor_role']})",
                        f"{r['status_from']} → {r['status_to']}",
                        r["seq"],
                    ]
                    for r in reviews
                ],
                [45 * mm, 40 * mm, 60 * mm, width - 165 * mm, 20 * mm],
            )
        )
    story.append(p("Chain of custody", h2))
    ts = c.timestamp
    custody: list[list[object]] = [
        ["Exported by", f"{exp['actor']} at {exp['at']} (entry {exp['seq']})"],
        ["Export entry hash", p(exp["entry_hash"], mono)],
        ["Signing key", p(c.key_fingerprint, mono)],
        [
            "RFC 3161 timestamp",
            "none" if ts is None else f"{ts['gen_time']} by {ts['tsa']} (serial {ts['serial']})",
        ],
    ]
    custody += [
        [f"Checkpoint {cp.seq} ({cp.at})", p(f"{cp.entry_hash} key {cp.key_fingerprint}", mono)]
        for cp in c.checkpoints
    ]
    custody += [[name, p(h, mono)] for name, h in sorted(c.data_hashes.items())]
    story.append(table(custody, [55 * mm, width - 55 * mm]))
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=pagesize,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title=f"Tutela evidence report — case {c.case_id}",
        author=c.tool,
        creator=c.tool,
        invariant=1,
    )
    doc.build(story)
    return buf.getvalue()
