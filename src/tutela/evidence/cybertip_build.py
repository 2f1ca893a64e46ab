"""The content of a CyberTipline-style report: the ``<report>`` element tree and one message CSV
per conversation, built from :class:`tutela.store.queries.cybertip.CyberTipFacts` (pure: no
database, no files; :mod:`tutela.evidence.cybertip` writes, validates and audits them).

What each field is filled from (and nothing else: a field the case cannot fill is left out):

=====================================  ======================================================
element                                source
=====================================  ======================================================
``incidentSummary/incidentType``       always "Online Enticement of Children for Sexual Acts"
``incidentSummary/platform``           the conversations' platforms, in order of first use
``.../escalateToHighPriority``         present only when a policy decision of the case is
                                       ``refer`` (``tutela.domain.Action.REFER``: a threat,
                                       commercial exploitation, a third contact); its rule,
                                       place and reason
``.../incidentDateTime`` (+ descr.)    the reported user's first message as Tutela received it
``internetDetails/chatImIncident``     one per conversation: platform (``chatClient``), room,
                                       the persona's account (``decoyAccount``), the CSV
                                       (``transcript``: file, SHA-256, counts, times)
``reporter``                           the operation of the first conversation: officer
                                       (``reportingPerson/name``) and organisation
``personOrUserReported``               the contact: ``espService``/``espIdentifier``/
                                       ``screenName`` on the first conversation's platform (the
                                       sender name seen there), every other identity as an
                                       ``associatedAccount``, e-mail and phone identities in
                                       ``personOrUserReportedPerson``, payment references and
                                       each identifier's provenance in ``additionalInfo``
``ipCaptureEvent``                     never: Tutela records no IP capture event
``additionalInfo``, ``decoy``          the decoy statement: no child victim, the operations
                                       (legal basis, authorisation reference, officer, dates)
``tutelaExport``                       case, contact, status (draft or approved referral),
                                       who and when, the strongest policy action, the approved
                                       referrals
=====================================  ======================================================

Instants are UTC ISO 8601 with microseconds, as the ledger writes them
(``tutela.ledger.entry.format_instant``). Characters XML 1.0 cannot carry (C0 controls other
than tab, newline and carriage return; lone surrogates; U+FFFE/U+FFFF) are written as ``\\uXXXX``
text in the XML (the CSV keeps them as they are).

CSV (RFC 4180, UTF-8, CRLF), one row per message of the conversation, both parties, in message
order: ``conversation, message_seq, direction (in: reported user → decoy; out: decoy → reported
user), sender_role (reported_user | decoy), sender, recipient, recorded_at (when Tutela received
or sent it), platform_sent_at (the platform's own send stamp, inbound, if stated), text,
text_sha256 (of the stored text: the ledger entry's digest), purged, attachments (count; metadata
only, never fetched), ledger_seq``. A purged message keeps its row with empty ``text`` and
``text_sha256``. A cell that begins with ``=``, ``+``, ``-``, ``@``, tab or carriage return is
written with a leading apostrophe so a spreadsheet does not run it as a formula (OWASP "CSV
injection"); ``text_sha256`` is always of the text as stored.
"""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from tutela.domain import Action
from tutela.ledger.entry import format_instant, sha256_hex
from tutela.store.queries.case_records import IdentityRecord, ReferralRecord
from tutela.store.queries.cybertip import CyberTipFacts
from tutela.store.records import (
    ConversationRecord,
    DecisionRecord,
    MessageRecord,
    OperationRecord,
)

__all__ = [
    "CSV_COLUMNS",
    "INCIDENT_TYPE",
    "Transcript",
    "build_report",
    "contact_handle",
    "conversation_csv",
    "csv_name",
    "high_priority_reason",
]

INCIDENT_TYPE = "Online Enticement of Children for Sexual Acts"
"""The CyberTipline incident type of a decoy-chat solicitation report."""

CSV_COLUMNS = (
    "conversation",
    "message_seq",
    "direction",
    "sender_role",
    "sender",
    "recipient",
    "recorded_at",
    "platform_sent_at",
    "text",
    "text_sha256",
    "purged",
    "attachments",
    "ledger_seq",
)

_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_MAX_SHORT = 3000  # the API's limit on escalateToHighPriority and additionalInfo texts


@dataclass(frozen=True, slots=True)
class Transcript:
    """One conversation's CSV: its file name beside the report, bytes and SHA-256."""

    conversation: int
    name: str
    data: bytes
    sha256: str


def _x(text: str) -> str:
    """``text`` with the characters XML 1.0 cannot carry written as ``\\uXXXX``."""
    return _XML_BAD.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _t(at: datetime) -> str:
    return format_instant(at)


def _cell(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


_MAX_NAME = 255
"""The schema's shortest limit on names and identifiers (Text255 / Text256): a longer value is
clipped with "…" there; the full value stays in the reported user's ``additionalInfo``."""


def _sub(
    parent: ET.Element,
    tag: str,
    text: str | None = None,
    *,
    limit: int | None = None,
    attrs: Mapping[str, str] | None = None,
) -> ET.Element:
    el = ET.SubElement(parent, tag, {k: _clip(_x(v), _MAX_NAME) for k, v in (attrs or {}).items()})
    if text is not None:
        el.text = _x(text) if limit is None else _clip(_x(text), limit)
    return el


def _name(parent: ET.Element, tag: str, value: str | None) -> None:
    """An identifier element, clipped to :data:`_MAX_NAME`; left out when blank (a hostile
    contact's blank or over-long id must not make the report invalid)."""
    if value is not None and value.strip():
        _sub(parent, tag, value, limit=_MAX_NAME)


def _clip(text: str, limit: int = _MAX_SHORT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def csv_name(report_name: str, conversation: int) -> str:
    """The CSV file name of ``conversation`` beside report ``report_name`` (``report.xml`` →
    ``report.conversation-7.csv``)."""
    stem = report_name[:-4] if report_name.lower().endswith(".xml") else report_name
    return f"{stem}.conversation-{conversation}.csv"


def contact_handle(
    conv: ConversationRecord,
    messages: Sequence[MessageRecord],
    identities: Iterable[IdentityRecord],
) -> str | None:
    """The reported user's name in ``conv``: the sender of its first inbound message, else the
    contact's first ``platform_id`` identity on the conversation's platform, else ``None``."""
    for m in messages:
        if m.direction == "in":
            return m.author
    for i in identities:
        if i.platform == conv.platform and i.kind == "platform_id":
            return i.value
    return None


def conversation_csv(
    conv: ConversationRecord, messages: Sequence[MessageRecord], handle: str | None
) -> bytes:
    """The CSV of ``conv`` (module docstring) from its ``messages`` (in ``seq`` order);
    ``handle``: the reported user's name (:func:`contact_handle`; empty when unknown)."""
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(CSV_COLUMNS)
    them = handle or ""
    for m in messages:
        inbound = m.direction == "in"
        purged = m.purged_at is not None or m.text is None
        w.writerow(
            [
                str(conv.id),
                str(m.seq),
                m.direction,
                "reported_user" if inbound else "decoy",
                _cell(m.author if inbound else conv.account),
                _cell(conv.account if inbound else them),
                _t(m.at),
                _t(m.sent_at) if inbound and m.sent_at is not None else "",
                "" if purged or m.text is None else _cell(m.text),
                "" if purged or m.text is None else sha256_hex(m.text.encode("utf-8")),
                "true" if purged else "false",
                str(len(m.attachments)),
                str(m.ledger_seq),
            ]
        )
    return buf.getvalue().encode("utf-8")


def _strongest(decisions: Sequence[DecisionRecord]) -> DecisionRecord | None:
    """The first decision of the strongest action (``Action.rank``), or ``None``."""
    best: DecisionRecord | None = None
    for d in decisions:
        if best is None or _rank(d.action) > _rank(best.action):
            best = d
    return best


def _rank(action: str) -> int:
    try:
        return Action(action).rank
    except ValueError:  # an action this version does not know: weakest
        return -1


def high_priority_reason(decisions: Sequence[DecisionRecord]) -> str | None:
    """The ``escalateToHighPriority`` text: every ``refer`` decision (a referral proposal of
    the policy ladder: threat, commercial exploitation, third contact;
    ``docs/architecture.md``, "Policy ladder"), one per rule, with its place and reason;
    ``None`` when the case has none (the element is then absent). At most 3,000 characters."""
    seen: dict[str, DecisionRecord] = {}
    for d in decisions:
        if d.action == Action.REFER.value:
            seen.setdefault(d.rule, d)
    if not seen:
        return None
    parts = [
        f"Tutela policy proposed a referral ({d.rule}) in conversation {d.conversation_id} "
        f"after contact line {d.after_line}, {_t(d.created_at)}: {d.reason}"
        for d in seen.values()
    ]
    return _clip(" | ".join(parts))


def _op_line(op: OperationRecord) -> str:
    basis = _clip(op.legal_basis.rstrip(". "), 500)
    return (
        f"operation {op.id} of {op.organisation} (jurisdiction: {op.jurisdiction}; "
        f"legal basis: {basis}; authorisation reference: {op.authorisation_ref}; "
        f"officer: {op.officer})"
    )


def build_report(
    facts: CyberTipFacts,
    transcripts: Sequence[Transcript],
    *,
    exported_at: datetime,
    exported_by: str,
    tool: str,
    status: str,
    approved: Sequence[ReferralRecord],
    notes: Sequence[str] = (),
) -> ET.Element:
    """The ``<report>`` element of ``facts`` (module docstring), with ``transcripts`` (one per
    conversation, in ``facts.conversations`` order), the export's ``status`` text
    (``tutela.evidence.layout.DRAFT_STATUS`` or ``"referral approved"``) and the ``approved``
    referrals. ``notes``: lines prepended to the report's ``additionalInfo`` (draft, not
    evidential). ``facts`` must hold at least one conversation."""
    convs = facts.conversations
    by_conv = {c.id: [m for m in facts.messages if m.conversation_id == c.id] for c in convs}
    root = ET.Element("report")

    summary = _sub(root, "incidentSummary")
    _sub(summary, "incidentType", INCIDENT_TYPE)
    platforms = list(dict.fromkeys(c.platform for c in convs))
    _sub(summary, "platform", _clip(", ".join(platforms), 256))
    reason = high_priority_reason(facts.decisions)
    if reason is not None:
        _sub(summary, "escalateToHighPriority", reason)
    inbound = [m for m in facts.messages if m.direction == "in"]
    first = min(inbound, key=lambda m: m.at) if inbound else None
    start = first.at if first is not None else min(c.started_at for c in convs)
    _sub(summary, "incidentDateTime", _t(start))
    open_convs = [c.id for c in convs if c.ended_at is None]
    ended = [c.ended_at for c in convs if c.ended_at is not None]
    span = (
        f"conversations {', '.join(map(str, open_convs))} still open"
        if open_convs
        else f"the last conversation ended {_t(max(ended))}"
    )
    what = (
        "the reported user's first message to a decoy persona, as received by Tutela (UTC)"
        if first is not None
        else "the first conversation's start (no message from the reported user is recorded)"
    )
    _sub(summary, "incidentDateTimeDescription", f"{what}; {len(convs)} conversation(s), {span}.")

    for conv, tr in zip(convs, transcripts, strict=True):
        msgs = by_conv[conv.id]
        chat = _sub(_sub(root, "internetDetails"), "chatImIncident")
        _name(chat, "chatClient", conv.platform)
        _name(chat, "chatRoomName", conv.room)
        n_in = sum(1 for m in msgs if m.direction == "in")
        purged = sum(1 for m in msgs if m.purged_at is not None or m.text is None)
        handle = contact_handle(conv, msgs, facts.identities)
        info = (
            f"Conversation {conv.id} between the reported user"
            f"{f' ({handle})' if handle else ''} and the decoy persona account {conv.account} "
            f"on {conv.platform}: {len(msgs)} messages ({n_in} from the reported user, "
            f"{len(msgs) - n_in} from the decoy)"
            + (f", {purged} purged under retention (text removed, digest kept)" if purged else "")
            + f". Transcript: {tr.name} (SHA-256 {tr.sha256})."
        )
        _sub(chat, "additionalInfo", info)
        _sub(chat, "decoyAccount", conv.account, limit=_MAX_NAME, attrs={"platform": conv.platform})
        attrs = {
            "conversation": str(conv.id),
            "file": tr.name,
            "sha256": tr.sha256,
            "messages": str(len(msgs)),
            "fromReportedUser": str(n_in),
            "fromDecoy": str(len(msgs) - n_in),
            "purged": str(purged),
            "startedAt": _t(conv.started_at),
        }
        if msgs:
            attrs["firstMessageAt"] = _t(min(m.at for m in msgs))
            attrs["lastMessageAt"] = _t(max(m.at for m in msgs))
        if conv.ended_at is not None:
            attrs["endedAt"] = _t(conv.ended_at)
        _sub(chat, "transcript", attrs=attrs)

    ops = {op.id: op for op in facts.operations}
    lead = ops[convs[0].operation_id]
    reporter = _sub(root, "reporter")
    _sub(_sub(reporter, "reportingPerson"), "name", lead.officer)
    _sub(reporter, "organisation", lead.organisation)

    _reported(root, facts, by_conv)

    accounts = ", ".join(dict.fromkeys(f"{c.account} on {c.platform}" for c in convs))
    statement = (
        f"DECOY OPERATION, NO CHILD VICTIM. The account(s) the reported user wrote to ({accounts}) "
        "are decoy personas run by "
        + "; ".join(_op_line(op) for op in facts.operations)
        + ". No child took part in these conversations and there is no victim to identify; "
        "the messages are in the conversation CSV files named under internetDetails, each with "
        "its SHA-256."
    )
    _sub(root, "additionalInfo", _clip(" ".join([*notes, statement])))
    decoy = _sub(root, "decoy")
    _sub(decoy, "statement", statement)
    for op in facts.operations:
        flags = {"id": str(op.id), "evidential": "true" if op.evidential else "false"}
        el = _sub(decoy, "operation", attrs=flags)
        _sub(el, "organisation", op.organisation)
        _sub(el, "jurisdiction", op.jurisdiction)
        _sub(el, "legalBasis", op.legal_basis)
        _sub(el, "authorisationRef", op.authorisation_ref)
        _sub(el, "officer", op.officer)
        _sub(el, "startsAt", _t(op.starts_at))
        if op.ends_at is not None:
            _sub(el, "endsAt", _t(op.ends_at))

    export = _sub(root, "tutelaExport")
    _sub(export, "caseId", str(facts.case.id))
    _sub(export, "contactId", str(facts.case.contact_id))
    _sub(export, "status", status)
    _sub(export, "exportedAt", _t(exported_at))
    _sub(export, "exportedBy", exported_by)
    _sub(export, "tool", tool)
    best = _strongest(facts.decisions)
    if best is not None:
        _sub(
            export,
            "strongestAction",
            best.action,
            attrs={
                "rule": best.rule,
                "conversation": str(best.conversation_id),
                "afterLine": str(best.after_line),
                "at": _t(best.created_at),
            },
        )
    for ref in approved:
        assert ref.decided_at is not None
        el = _sub(export, "referral", attrs={"id": str(ref.id)})
        _sub(el, "proposedAt", _t(ref.proposed_at))
        if ref.proposed_by_name:
            _sub(el, "proposedBy", ref.proposed_by_name)
        _sub(el, "decidedAt", _t(ref.decided_at))
        _sub(el, "decidedBy", ref.decided_by_name or f"user {ref.decided_by}")
    return root


def _provenance(i: IdentityRecord) -> str:
    src = i.source
    where = (
        f"read from conversation {src.conversation_id}, contact line {src.contact_line}"
        if src is not None
        else "the sender's own id"
        if i.kind == "platform_id"
        else "no source message recorded"
    )
    return f"{i.platform} {i.kind} {i.value} ({where}; recorded {_t(i.created_at)})"


def _reported(
    root: ET.Element, facts: CyberTipFacts, by_conv: dict[int, list[MessageRecord]]
) -> None:
    """``personOrUserReported`` (module docstring)."""
    conv = facts.conversations[0]
    handle = contact_handle(conv, by_conv[conv.id], facts.identities)
    ids = list(facts.identities)
    primary = next(
        (i for i in ids if i.platform == conv.platform and i.kind == "platform_id"), None
    )
    if handle is not None:  # prefer the platform id the sender name is
        primary = next(
            (
                i
                for i in ids
                if i.platform == conv.platform and i.kind == "platform_id" and i.value == handle
            ),
            primary,
        )
    el = _sub(root, "personOrUserReported")
    phones = [i for i in ids if i.kind == "phone"]
    emails = [i for i in ids if i.kind == "email"]
    if phones or emails:
        person = _sub(el, "personOrUserReportedPerson")
        for i in phones:
            _name(person, "phone", i.value)
        for i in emails:
            _name(person, "email", i.value)
    if primary is not None:
        _name(el, "espIdentifier", primary.value)
    _name(el, "espService", conv.platform)
    _name(el, "screenName", handle)
    for i in ids:
        if i is primary or i.kind not in ("platform_id", "handle"):
            continue
        acct = _sub(el, "associatedAccount")
        _sub(acct, "platform", i.platform, limit=_MAX_NAME)
        _name(acct, "espService", i.platform)
        _name(acct, "espIdentifier" if i.kind == "platform_id" else "screenName", i.value)
        _sub(acct, "additionalInfo", _provenance(i))
    lines = [f"Tutela contact {facts.case.contact_id}."]
    if ids:
        lines.append(
            "Identifiers recorded for the reported user: " + "; ".join(map(_provenance, ids))
        )
    payments = [i for i in ids if i.kind == "payment_ref"]
    if payments:
        lines.append(
            "Payment references volunteered by the reported user: "
            + "; ".join(f"{i.platform} {i.value}" for i in payments)
        )
    _sub(el, "additionalInfo", " ".join(lines))
