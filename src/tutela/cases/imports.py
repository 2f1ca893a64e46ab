"""Batch results into cases: ``tutela analyze PATH --db URL --operation ID``.

An investigator or moderator who analyses a chat export they hold wants the flagged authors in
the same review queue as the live contacts, with the same chain of custody. :func:`import_analysis`
does that, through the :class:`~tutela.store.Recorder` only:

1. the file's SHA-256 is computed first (streamed) and an ``import_started`` audit entry names
   the file, its format, its SHA-256, the operation and the actor;
2. for every flagged author, each conversation of the file in which that author was flagged (the
   conversation is flagged, or the author has evidence lines in it) is recorded as a conversation
   whose **contact** is that author: persona ``"import"``, platform = the reader's format
   (``whatsapp``, ``telegram``...), account ``import:<first 16 hex of the SHA-256>``, and
   ``provenance`` ``{"kind": "imported_file", "file", "sha256", "format", "conversation"}`` in
   its ``conversation_opened`` ledger entry (an evidence package of the case therefore shows it
   came from an imported file, and which one);
3. every line of that conversation is recorded in file order as an inbound message under its real
   author (none is a persona line: the persona took no part), with ``wire`` = the canonical JSON
   of the line as read (source position, author, the export's own time text, text, kind); where
   the export states a real instant (a UTC offset or a Unix time: Telegram, Discord, Messenger,
   CSV with offsets) it is the line's sent time; local times without a zone (WhatsApp, IRC logs)
   stay in ``wire`` only, never turned into an instant; the import time is the received time;
4. one ``escalate`` decision with the author's risk and evidence lines (rule ``import.analysis``)
   after the author's strongest line, the contact's case opened (or reused) with that risk, and
   the conversation ended;
5. an ``import_finished`` audit entry with the counts.

Conversations without a flagged author are not stored (only what the review needs is kept; the
audit entry counts them). Importing the same file (same SHA-256) into the same operation twice is
refused, so a queue never holds a file twice.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tutela.domain import Action, Conversation, Message
from tutela.errors import InputError

__all__ = [
    "IMPORT_PERSONA",
    "ImportSummary",
    "check_import",
    "file_sha256",
    "import_account",
    "import_analysis",
]

#: ``persona_id`` of conversations that came from a file, not from a live persona.
IMPORT_PERSONA = "import"
_RULE = "import.analysis"


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """What :func:`import_analysis` recorded.

    ``conversations_analysed``: in the file; ``conversations_recorded``: stored (one per flagged
    author and conversation); ``cases``: case ids of the flagged authors, in queue order (highest
    risk first); ``messages``: lines recorded.
    """

    file: str
    sha256: str
    format: str
    operation_id: int
    conversations_analysed: int
    conversations_recorded: int
    messages: int
    cases: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "file": self.file,
            "sha256": self.sha256,
            "format": self.format,
            "operation_id": self.operation_id,
            "conversations_analysed": self.conversations_analysed,
            "conversations_recorded": self.conversations_recorded,
            "messages": self.messages,
            "cases": list(self.cases),
        }


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 (hex) of the file's bytes, streamed in 1 MiB blocks."""
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def import_account(sha256: str) -> str:
    """The ``account`` of an imported file's conversations: ``import:`` + 16 hex of its SHA-256."""
    return f"import:{sha256[:16]}"


def check_import(
    recorder: Any, *, path: str | os.PathLike[str], fmt: str, sha256: str, operation_id: int
) -> None:
    """Refuse an import before any work: the operation must exist and the file (by SHA-256)
    must not be imported into it already. The command line calls this before the analysis;
    :func:`import_analysis` calls it again before it writes.

    Raises
    ------
    InputError
        No operation ``operation_id``, or this file was already imported into it.
    """
    from tutela.store import NotFoundError

    try:
        recorder.get_operation(operation_id)
    except NotFoundError as e:
        raise InputError(
            f"--operation {operation_id}: no such operation (see tutela operations list)"
        ) from e
    if recorder.has_account_conversations(
        platform=fmt, account=import_account(sha256), operation_id=operation_id
    ):
        raise InputError(
            f"this file (SHA-256 {sha256[:16]}…) was already imported into operation "
            f"{operation_id}",
            path=str(path),
        )


def _wire(sha: str, m: Message) -> bytes:
    return json.dumps(
        {
            "file_sha256": sha,
            "source": m.source,
            "author": m.author,
            "time": m.time,
            "text": m.text,
            "kind": m.kind,
        },
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    ).encode("utf-8")


def _flagged_pairs(result: Any) -> dict[str, dict[str, Any]]:
    """``{conversation id: {author id: AuthorResult}}`` for every flagged author."""
    flagged_convs = {c.id for c in result.conversations if c.assessed and c.label}
    out: dict[str, dict[str, Any]] = {}
    for a in result.authors:
        if not a.assessed or not a.label:
            continue
        # where the author has evidence lines, or indicators in a flagged conversation
        lined = {cid for cid, _ in a.lines}
        for cid in lined | ({cid for cid, _ in a.indicators} & flagged_convs):
            out.setdefault(cid, {})[a.id] = a
    return out


def import_analysis(
    recorder: Any,
    *,
    path: str | os.PathLike[str],
    fmt: str,
    result: Any,
    conversations: Callable[[], Iterable[Conversation]],
    operation_id: int,
    actor: str,
    sha256: str | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> ImportSummary:
    """Record the flagged authors of an analysed file as cases (module docstring).

    Parameters
    ----------
    recorder: a :class:`tutela.store.Recorder`.
    path, fmt: the analysed file and its reader's format name.
    result: the :class:`tutela.detect.analyze.AnalysisResult` of that file.
    conversations: re-reads the file (called once; the analysis consumed the first pass).
    operation_id: an existing operation (``tutela operations list``).
    actor: who imports (``cli:<login>``), for the audit log.
    sha256: the file's SHA-256 when already computed (else computed here).

    Raises
    ------
    InputError
        The operation does not exist, or this file was already imported into it.
    """
    sha = sha256 or file_sha256(path)
    name = Path(path).name
    account = import_account(sha)
    check_import(recorder, path=path, fmt=fmt, sha256=sha, operation_id=operation_id)
    recorder.record_audit(
        actor,
        "import_started",
        f"file:{sha}",
        {"file": name, "format": fmt, "sha256": sha, "operation_id": operation_id},
    )
    pairs = _flagged_pairs(result)
    # the language the analysis found (the second reading of the file has none set yet)
    langs = {c.id: c.lang for c in result.conversations}
    recorded = messages = 0
    case_risk: dict[int, float] = {}
    for conv in conversations():
        authors = pairs.get(conv.id)
        if not authors or not conv.messages:
            continue
        for author_id, res in sorted(authors.items()):
            at = now()
            contact = recorder.get_or_create_contact(fmt, author_id, seen_at=at)
            record = recorder.open_conversation(
                operation_id=operation_id,
                persona_id=IMPORT_PERSONA,
                platform=fmt,
                account=account,
                contact_id=contact,
                lang=conv.lang or langs.get(conv.id) or "und",
                started_at=at,
                provenance={
                    "kind": "imported_file",
                    "file": name,
                    "sha256": sha,
                    "format": fmt,
                    "conversation": conv.id,
                    "author": author_id,
                    "author_name": conv.author_names.get(author_id),
                },
            )
            evidence = {line for cid, line in res.lines if cid == conv.id}
            last_own = last_evidence = last = None
            for i, m in enumerate(conv.messages, start=1):
                last = recorder.record_inbound(
                    conversation_id=record.id,
                    author=m.author,
                    text=m.text,
                    wire=_wire(sha, m),
                    received_at=now(),
                    platform_msg_id=m.source,
                    attachments=m.attachments,
                    contact_line=i,
                    sent_at=m.at,  # the export's own instant, where it states one
                )
                messages += 1
                if m.author == author_id:
                    last_own = last
                    if m.line in evidence:
                        last_evidence = last
            # the decision follows the author's last evidence line (else their last line)
            anchor = last_evidence or last_own or last
            assert anchor is not None  # conv.messages is not empty
            categories = sorted({h.category.value for c, h in res.indicators if c == conv.id})
            lines = sorted(evidence)
            recorder.record_decision(
                conversation_id=record.id,
                message_id=anchor.id,
                after_line=anchor.contact_line,
                action=Action.ESCALATE,
                risk=res.risk,
                indicators=categories,
                rule=_RULE,
                reason=(
                    f"tutela analyze flagged author {author_id!r} in {name} (risk "
                    f"{res.risk:.3f}; evidence lines {', '.join(map(str, lines)) or 'none'})"
                ),
                variant=None,
            )
            case = recorder.get_or_create_case(contact)
            case_risk[case.id] = max(case_risk.get(case.id, 0.0), res.risk, case.risk)
            recorder.end_conversation(record.id, ended_at=now(), reason="imported")
            recorded += 1
    for case_id, risk in case_risk.items():
        recorder.update_case(case_id, actor=actor, risk=risk)
    cases = tuple(sorted(case_risk, key=lambda c: (-case_risk[c], c)))
    summary = ImportSummary(
        file=name,
        sha256=sha,
        format=fmt,
        operation_id=operation_id,
        conversations_analysed=len(result.conversations),
        conversations_recorded=recorded,
        messages=messages,
        cases=cases,
    )
    recorder.record_audit(actor, "import_finished", f"file:{sha}", _audit_counts(summary))
    return summary


def _audit_counts(summary: ImportSummary) -> Mapping[str, Any]:
    d = summary.to_dict()
    return {k: d[k] for k in ("conversations_analysed", "conversations_recorded", "messages")} | {
        "cases": list(summary.cases)
    }
