"""The verified content of an evidence package, and the views the report and JSON-LD are built from.

``PackageContents`` holds the parsed data members of a package (ledger excerpt, checkpoints,
messages, operations, key). ``export_package`` builds one before writing the derived members
(``report.html``, ``report.pdf``, ``case.jsonld``); ``verify_package`` returns one after every
check passed, so what a report shows is exactly what was verified. Derived views
(``conversations``) read only ledger payloads and the message rows bound to them.
``PackageReport`` is the summary both return to their caller (``package_report``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from tutela.evidence.completeness import Completeness, check_completeness
from tutela.ledger.entry import EntryKind, LedgerEntry
from tutela.ledger.payloads import (
    DecisionPayload,
    ExportPayload,
    InboundPayload,
    OutboundPayload,
    ReviewPayload,
)
from tutela.ledger.signing import Checkpoint

__all__ = [
    "ConversationView",
    "PackageContents",
    "PackageReport",
    "TranscriptLine",
    "package_report",
]


@dataclass(frozen=True, slots=True)
class TranscriptLine:
    """One message of a conversation as the report shows it.

    ``text`` is ``None`` when purged under retention. For an inbound line ``decision`` is the
    decision taken after it (``{action, risk (6-decimal string), rule, reason, variant,
    indicators, ledger_seq, at}``) and ``new_indicators`` the indicator ids that first appear in
    that decision (decisions list the indicators seen so far in the conversation). ``at`` is the
    receive time of an inbound line and the send time of an outbound one; ``sent_at`` (inbound
    only) the platform's own send stamp, ``None`` when the platform stated none.
    ``not_answered``: the ledger entry of an inbound line holds ``"answer": false`` (it was not to
    be answered, by design); the entry says nothing more.
    """

    message_seq: int
    direction: str  # "in" | "out"
    contact_line: int | None
    author: str
    text: str | None
    at: str
    ledger_seq: int
    origin: str | None = None
    decision: Mapping[str, Any] | None = None
    new_indicators: tuple[str, ...] = ()
    sent_at: str | None = None
    not_answered: bool = False


@dataclass(frozen=True, slots=True)
class ConversationView:
    """A conversation of the case: its opening record (persona, platform, account, operation...),
    its end (if recorded) and its transcript in message order."""

    id: int
    opened: Mapping[str, Any]
    opened_seq: int
    ended: Mapping[str, Any] | None
    lines: tuple[TranscriptLine, ...]


@dataclass(frozen=True, slots=True)
class PackageContents:
    """Parsed data members of a package (see ``tutela.evidence.layout`` for the layout).

    ``messages``/``operations`` are the rows of ``messages.jsonl``/``operations.json``;
    ``timestamp`` summarises a verified RFC 3161 token (``{gen_time, tsa, serial, imprint,
    hash_algorithm}``) or is ``None``; ``data_hashes`` maps data member names to SHA-256 hex;
    ``completeness``: what ``verify_package`` proved (``tutela.evidence.completeness``), ``None``
    before that check ran (``package_report`` then derives it).
    """

    case_id: int
    contact_id: int
    conversations: tuple[int, ...]
    operation_ids: tuple[int, ...]
    created_at: str
    exported_by: str
    tool: str
    entries: tuple[LedgerEntry, ...]
    checkpoints: tuple[Checkpoint, ...]
    messages: tuple[Mapping[str, Any], ...]
    operations: tuple[Mapping[str, Any], ...]
    key_fingerprint: str
    public_key_pem: str
    timestamp: Mapping[str, Any] | None = None
    data_hashes: Mapping[str, str] = field(default_factory=dict)
    completeness: Completeness | None = None

    @property
    def export_entry(self) -> LedgerEntry:
        """The signed ``export`` entry that ends the excerpt."""
        return self.entries[-1]

    @property
    def draft(self) -> bool:
        """True when the signed export entry marks the package a draft (``tutela export --draft``:
        a working copy, never evidence)."""
        payload = cast("ExportPayload | None", self.entries[-1].payload if self.entries else None)
        return payload is not None and payload.get("draft") is True

    @property
    def operations_evidential(self) -> bool:
        """True when the case has operations and every one is marked evidential (no demo)."""
        return bool(self.operations) and all(bool(o["evidential"]) for o in self.operations)

    @property
    def evidential(self) -> bool:
        """True only when the package is not a draft and every operation of the case is marked
        evidential."""
        return not self.draft and self.operations_evidential

    def reviews(self) -> list[dict[str, Any]]:
        """The case's ``review`` entries in order: ``{seq, at, action, actor, actor_role,
        status_from, status_to}`` (notes are in the ledger only as ``note_sha256``)."""
        out = []
        for e in self.entries:
            if e.kind is not EntryKind.REVIEW or e.payload is None:
                continue
            p = cast(ReviewPayload, e.payload)
            if p.get("case_id") == self.case_id:
                out.append(
                    {
                        "seq": e.seq,
                        "at": e.at,
                        "action": p.get("action"),
                        "actor": p.get("actor"),
                        "actor_role": p.get("actor_role"),
                        "status_from": p.get("status_from"),
                        "status_to": p.get("status_to"),
                    }
                )
        return out

    def conversation_views(self) -> list[ConversationView]:
        """One ``ConversationView`` per conversation of the case, by id."""
        wanted = set(self.conversations)
        opened: dict[int, tuple[int, Mapping[str, Any]]] = {}
        ended: dict[int, Mapping[str, Any]] = {}
        decisions: dict[tuple[int, int], dict[str, Any]] = {}
        origin: dict[int, str] = {}
        quiet: set[int] = set()  # inbound entries holding "answer": false
        for e in self.entries:
            if e.conversation not in wanted or e.payload is None:
                continue
            conv = int(e.conversation)
            p = e.payload
            if e.kind is EntryKind.OPERATION and p.get("event") == "conversation_opened":
                opened[conv] = (e.seq, p)
            elif e.kind is EntryKind.OPERATION and p.get("event") == "conversation_ended":
                ended[conv] = p
            elif e.kind is EntryKind.DECISION:
                dp = cast(DecisionPayload, p)
                decisions[(conv, int(dp.get("message_seq", 0)))] = {
                    "action": dp.get("action"),
                    "risk": dp.get("risk"),
                    "rule": dp.get("rule"),
                    "reason": dp.get("reason"),
                    "variant": dp.get("variant"),
                    "indicators": tuple(dp.get("indicators") or ()),
                    "after_line": dp.get("after_line"),
                    "ledger_seq": e.seq,
                    "at": e.at,
                }
            elif e.kind is EntryKind.OUTBOUND:
                origin[e.seq] = str(cast(OutboundPayload, p).get("origin"))
            elif e.kind is EntryKind.INBOUND and cast(InboundPayload, p).get("answer") is False:
                quiet.add(e.seq)
        views = []
        for conv in sorted(wanted):
            seen: set[str] = set()
            lines = []
            for m in self.messages:
                if m["conversation"] != conv:
                    continue
                d = decisions.get((conv, int(m["message_seq"])))
                new: tuple[str, ...] = ()
                if d is not None:
                    new = tuple(i for i in d["indicators"] if i not in seen)
                    seen.update(d["indicators"])
                lines.append(
                    TranscriptLine(
                        message_seq=int(m["message_seq"]),
                        direction=str(m["direction"]),
                        contact_line=m.get("contact_line"),
                        author=str(m["author"]),
                        text=None if m.get("purged") else m.get("text"),
                        at=str(m["at"]),
                        ledger_seq=int(m["ledger_seq"]),
                        origin=origin.get(int(m["ledger_seq"])),
                        decision=d,
                        new_indicators=new,
                        sent_at=m.get("sent_at"),
                        not_answered=int(m["ledger_seq"]) in quiet,
                    )
                )
            seq, opened_payload = opened.get(conv, (0, {}))
            views.append(
                ConversationView(
                    id=conv,
                    opened=opened_payload,
                    opened_seq=seq,
                    ended=ended.get(conv),
                    lines=tuple(lines),
                )
            )
        return views


@dataclass(frozen=True, slots=True)
class PackageReport:
    """What ``verify_package`` checked (or ``export_package`` wrote).

    ``evidential`` is False for a draft or when any operation of the case is non-evidential (a
    demonstration); ``operations_evidential`` only the latter; ``timestamp`` is the RFC 3161
    generation time (ledger text) when a token was present;
    ``timestamp_trusted`` tells whether its certificate chain was checked against a given TSA
    certificate (otherwise only the imprint and the token's own signature were checked).
    ``completeness``: per conversation, that every ledger entry and message is present (or that
    it was open at export), ``tutela.evidence.completeness``.
    """

    case_id: int
    conversations: tuple[int, ...]
    operations: tuple[int, ...]
    first_seq: int
    last_seq: int
    entries: int
    case_entries: int
    messages: int
    purged_messages: int
    key_fingerprint: str
    evidential: bool
    files: tuple[str, ...]
    timestamp: str | None = None
    timestamp_trusted: bool = False
    operations_evidential: bool = True
    completeness: Completeness | None = None


def package_report(
    c: PackageContents, files: tuple[str, ...], *, timestamp_trusted: bool
) -> PackageReport:
    """The summary of ``c`` for ``verify_package``/``export_package``: ``files`` are the member
    names the manifest lists (sorted here); ``timestamp_trusted``: whether the RFC 3161 token's
    certificate chain was checked against given TSA certificates."""
    return PackageReport(
        case_id=c.case_id,
        conversations=c.conversations,
        operations=c.operation_ids,
        first_seq=c.entries[0].seq,
        last_seq=c.entries[-1].seq,
        entries=len(c.entries),
        case_entries=sum(1 for e in c.entries if e.payload is not None),
        messages=len(c.messages),
        purged_messages=sum(1 for m in c.messages if m.get("purged")),
        key_fingerprint=c.key_fingerprint,
        evidential=c.evidential,
        operations_evidential=c.operations_evidential,
        files=tuple(sorted(files)),
        timestamp=None if c.timestamp is None else str(c.timestamp["gen_time"]),
        timestamp_trusted=timestamp_trusted,
        completeness=c.completeness or check_completeness(c.entries, c.messages, c.conversations),
    )
