"""Completeness of a package's conversations: every ledger entry of each one is present.

Called by :mod:`tutela.evidence.checks` after the chain, the checkpoints and the message rows
verified. What is already proven before this runs: the excerpt ``first_seq..last_seq`` is one
unbroken hash chain whose head (the signed ``export`` entry) is covered by an Ed25519
checkpoint, so no entry can be deleted, inserted or reordered without the key; every entry of
a case conversation is disclosed (a redacted one is an error); every message row is bound to its
entry and every message entry has its row. What this module adds is the *internal* numbering a
conversation carries, which a forger who re-chains and re-signs (a holder of the ledger key)
must also rewrite consistently, and the statement of what was proven, per conversation:

- exactly one ``conversation_opened`` entry, before every other entry of the conversation, and
  at most one ``conversation_ended`` after it;
- the ``inbound`` (the contact's) and ``outbound`` (the persona's or a human operator's)
  entries' ``message_seq`` are exactly ``1..n``: none missing, none twice (the store numbers
  them ``last + 1`` in the transaction that appends the entry:
  ``tutela.store.Recorder.record_inbound``), in ledger order;
- inbound ``contact_line`` numbers strictly increase (unique per conversation); numbers skipped
  are reported (``contact_line_gaps``), not refused: the live engine counts a line before its
  write commits, so a failed write skips one;
- every outbound entry is attributed to the conversation's persona (``author_sha256`` is the
  digest of the opening's ``persona_id``);
- every ``decision`` names a ``message_seq`` recorded before it in the same conversation;
- the ``messages.jsonl`` rows of the conversation are exactly its message entries.

A conversation without a ``conversation_ended`` entry is reported as open at export: complete
up to the export entry, not final. Entries of other cases are redacted and never counted.
Limit: a holder of the signing key can forge a consistent history (a shorter one included);
only a checkpoint published or RFC 3161 time-stamped before the forgery binds the count.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, cast

from tutela.ledger.entry import EntryKind, LedgerEntry, sha256_hex
from tutela.ledger.errors import TamperError
from tutela.ledger.payloads import (
    ConversationOpenedPayload,
    DecisionPayload,
    InboundPayload,
    OutboundPayload,
)

__all__ = ["Completeness", "ConversationCompleteness", "check_completeness"]

_MESSAGE_KINDS = (EntryKind.INBOUND, EntryKind.OUTBOUND)


@dataclass(frozen=True, slots=True)
class ConversationCompleteness:
    """What was proven about one conversation (numbers are ledger ``seq`` or ``message_seq``).

    ``status``: ``"complete"`` when its ``conversation_ended`` entry is in the package, else
    ``"open"`` (complete up to ``up_to_entry``, the export entry, and not final). ``messages``:
    n, the messages numbered ``1..n`` (``inbound`` + ``outbound``; ``purged`` of them have a
    retention tombstone instead of text). ``entries``: the conversation's ledger entries, seq
    ``first_entry..last_entry`` (other cases' entries between them are redacted, not counted).
    ``after_end``: messages recorded after ``ended_seq`` (a contact may write after the persona
    left). ``contact_line_gaps``: contact-line numbers skipped. ``statement``: one line saying it.
    """

    conversation: int
    status: Literal["complete", "open"]
    opened_seq: int
    ended_seq: int | None
    messages: int
    inbound: int
    outbound: int
    purged: int
    decisions: int
    entries: int
    first_entry: int
    last_entry: int
    after_end: int
    up_to_entry: int
    contact_line_gaps: tuple[int, ...]
    statement: str


@dataclass(frozen=True, slots=True)
class Completeness:
    """The completeness of every conversation of a package, by conversation id.

    ``all_final``: every conversation ended before the export (none open); ``up_to_entry``: the
    export entry's seq, the end of what the package proves."""

    all_final: bool
    up_to_entry: int
    conversations: tuple[ConversationCompleteness, ...]


def check_completeness(
    entries: Sequence[LedgerEntry],
    messages: Sequence[Mapping[str, Any]],
    conversations: Sequence[int],
) -> Completeness:
    """Prove every conversation in ``conversations`` complete within ``entries`` (a verified
    excerpt ending with its export entry) and ``messages`` (the ``messages.jsonl`` rows).

    Raises ``TamperError`` (``what`` starts with ``completeness: conversation N``, ``seq`` the
    entry concerned) for any rule of the module docstring broken."""
    up_to = entries[-1].seq if entries else 0
    out = tuple(
        _conversation(conv, entries, messages, up_to) for conv in sorted(set(conversations))
    )
    return Completeness(
        all_final=all(c.status == "complete" for c in out), up_to_entry=up_to, conversations=out
    )


def _seq_number(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _conversation(
    conv: int,
    entries: Sequence[LedgerEntry],
    messages: Sequence[Mapping[str, Any]],
    up_to: int,
) -> ConversationCompleteness:
    where = f"completeness: conversation {conv}"
    own = [e for e in entries if e.conversation == conv and e.payload is not None]
    opened = [e for e in own if _event(e) == "conversation_opened"]
    ended = [e for e in own if _event(e) == "conversation_ended"]
    if len(opened) != 1:
        raise TamperError(
            f"{where}: conversation_opened entries",
            seq=opened[1].seq if opened else None,
            expected=1,
            actual=len(opened),
        )
    opening = opened[0]
    if own[0] is not opening:
        raise TamperError(
            f"{where}: an entry precedes its conversation_opened entry",
            seq=own[0].seq,
            expected=opening.seq,
            actual=own[0].seq,
        )
    if len(ended) > 1:
        raise TamperError(
            f"{where}: conversation_ended recorded twice", seq=ended[1].seq, expected=1,
            actual=len(ended),
        )  # fmt: skip
    end = ended[0] if ended else None
    persona = cast(ConversationOpenedPayload, opening.payload).get("persona_id")
    persona_sha = sha256_hex(str(persona).encode("utf-8"))
    numbered: list[tuple[int, LedgerEntry]] = []
    first_at: dict[int, LedgerEntry] = {}
    for e in own:
        if e.kind not in _MESSAGE_KINDS:
            continue
        p = cast("InboundPayload | OutboundPayload", e.payload)
        n = _seq_number(p.get("message_seq"))
        if n is None or n < 1:
            raise TamperError(
                f"{where}: message_seq", seq=e.seq, expected="a positive integer",
                actual=p.get("message_seq"),
            )  # fmt: skip
        if n in first_at:
            raise TamperError(
                f"{where}: message_seq {n} recorded twice (entry inserted)",
                seq=e.seq,
                expected=f"message_seq {n} once (entry {first_at[n].seq})",
                actual=f"again at entry {e.seq}",
            )
        if e.kind is EntryKind.OUTBOUND and p.get("author_sha256") != persona_sha:
            raise TamperError(
                f"{where}: outbound message {n} not attributed to the conversation's persona",
                seq=e.seq,
                expected=persona_sha,
                actual=p.get("author_sha256"),
            )
        first_at[n] = e
        numbered.append((n, e))
    total = len(numbered)
    missing = sorted(set(range(1, total + 1)) - set(first_at))
    if missing:
        raise TamperError(
            f"{where}: message_seq {missing[0]} missing (gap in 1..{max(first_at)}: entry deleted)",
            seq=first_at[max(first_at)].seq,
            expected=list(range(1, max(first_at) + 1)),
            actual=sorted(first_at),
        )
    for i, (n, e) in enumerate(numbered, start=1):
        if n != i:
            raise TamperError(
                f"{where}: message_seq {n} recorded before message {i} (entries reordered)",
                seq=e.seq,
                expected=i,
                actual=n,
            )
    gaps = _contact_lines(where, numbered)
    decisions = _decisions(where, own, first_at)
    rows = [m for m in messages if m.get("conversation") == conv]
    row_seqs = sorted(_seq_number(m.get("ledger_seq")) or 0 for m in rows)
    entry_seqs = [e.seq for _, e in numbered]
    if row_seqs != entry_seqs:
        raise TamperError(
            f"{where}: messages.jsonl rows are not its message entries",
            expected=entry_seqs,
            actual=row_seqs,
        )
    inbound = sum(1 for _, e in numbered if e.kind is EntryKind.INBOUND)
    after_end = 0 if end is None else sum(1 for _, e in numbered if e.seq > end.seq)
    result = ConversationCompleteness(
        conversation=conv,
        status="open" if end is None else "complete",
        opened_seq=opening.seq,
        ended_seq=None if end is None else end.seq,
        messages=total,
        inbound=inbound,
        outbound=total - inbound,
        purged=sum(1 for m in rows if m.get("purged")),
        decisions=decisions,
        entries=len(own),
        first_entry=own[0].seq,
        last_entry=own[-1].seq,
        after_end=after_end,
        up_to_entry=up_to,
        contact_line_gaps=gaps,
        statement="",
    )
    return replace(result, statement=_statement(result))


def _event(e: LedgerEntry) -> object:
    return e.payload.get("event") if e.kind is EntryKind.OPERATION and e.payload else None


def _contact_lines(where: str, numbered: list[tuple[int, LedgerEntry]]) -> tuple[int, ...]:
    """Inbound contact-line numbers strictly increase; returns the numbers skipped."""
    last = 0
    gaps: list[int] = []
    for _, e in numbered:
        if e.kind is not EntryKind.INBOUND:
            continue
        line = _seq_number(cast(InboundPayload, e.payload).get("contact_line"))
        if line is None or line <= last:
            raise TamperError(
                f"{where}: contact_line does not increase (line repeated or reordered)",
                seq=e.seq,
                expected=f"above {last}",
                actual=line,
            )
        gaps.extend(range(last + 1, line))
        last = line
    return tuple(gaps)


def _decisions(where: str, own: list[LedgerEntry], first_at: dict[int, LedgerEntry]) -> int:
    """Every decision names a message recorded before it; returns how many there are."""
    count = 0
    for e in own:
        if e.kind is not EntryKind.DECISION:
            continue
        n = _seq_number(cast(DecisionPayload, e.payload).get("message_seq"))
        message = first_at.get(n) if n is not None else None
        if message is None or message.seq > e.seq:
            raise TamperError(
                f"{where}: decision refers to message_seq {n}, not recorded before it",
                seq=e.seq,
                expected=f"one of message_seq 1..{len(first_at)} before entry {e.seq}",
                actual=n,
            )
        count += 1
    return count


def _statement(c: ConversationCompleteness) -> str:
    """The one line ``tutela verify`` prints for the conversation."""
    if c.messages:
        body = f"messages 1..{c.messages} ({c.inbound} inbound, {c.outbound} outbound)"
    else:
        body = "no messages"
    body += f", {c.entries} ledger entries ({c.first_entry}..{c.last_entry}) all present, no gap"
    extras = []
    if c.purged:
        extras.append(f"{c.purged} purged under retention (tombstoned)")
    if c.ended_seq is not None:
        extras.append(f"ended at entry {c.ended_seq}")
        if c.after_end:
            extras.append(f"{c.after_end} message{'s' * (c.after_end != 1)} recorded after the end")
    if c.contact_line_gaps:
        extras.append(f"contact-line numbers skipped: {', '.join(map(str, c.contact_line_gaps))}")
    tail = "".join(f"; {x}" for x in extras)
    if c.status == "complete":
        return f"complete: conversation {c.conversation}: {body}{tail}"
    return (
        f"open at export: conversation {c.conversation}: complete up to entry {c.up_to_entry}: "
        f"{body}{tail}; not final"
    )
