"""``tutela preservation CASE --out DIR``: one preservation-request letter per platform of a case.

A preservation request asks a provider to *keep* what it holds about an account (subscriber
information, IP address and login logs, stored content) until the legal process that discloses
it is served; it discloses nothing itself. Tutela writes the letters for the officer to check,
sign and send (it sends nothing): one Markdown file per platform the case's contact used with a
persona (``preservation-<platform>.md``), naming the contact's identifiers on that platform, the
period of the conversations, the persona's account, the operation's organisation, legal basis,
authorisation reference and officer, a reference number and the **preserve-until date: one year
from the date of the letter** (the issue's one-year horizon); beside them
``preservation-index.json`` (shape in :func:`write_preservation_requests`).

Bases the letter names for the receiving unit to check (it asserts none of them itself):
18 U.S.C. § 2703(f) (a U.S. provider keeps records 90 days, extended by 90 on a renewed
request, § 2703(f)(2)); Council of Europe Convention on Cybercrime (Budapest, ETS No. 185)
art. 16 (domestic expedited preservation, up to 90 days, renewable) and art. 29 (expedited
preservation requested of another Party, at least 60 days, art. 29(7)); Regulation (EU)
2023/1543 (European Preservation Order) where it applies; the operation's own legal basis. A
one-year horizon therefore needs renewals where a regime is shorter: the letter lists the
renewal dates (90, 180 and 270 days after the letter).

Rules: a case without conversations is refused (``InputError``); identifiers and accounts are
shown as Markdown code spans and free text escaped, with control, line-separator and
bidirectional-format characters as ``<U+XXXX>`` (a handle cannot add lines or headings to a
letter, nor reorder what is printed); identifiers the contact volunteered in a message (the live
engine's ``disclosed`` platform) name no provider and go to the index only; a letter of a
non-evidential (demonstration) operation carries a NOT FOR SENDING banner; every letter is
audited (one ``preservation_request_written`` row per letter with case, platform, reference,
file name and the file's SHA-256, in one transaction: ``tutela.store.queries.preservation``);
files are written ``0600`` (they name a suspect's accounts) under temporary names and renamed
after the audit commits; an existing letter or index is never overwritten.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from tutela import __version__
from tutela.errors import InputError
from tutela.ledger.entry import format_instant, sha256_hex
from tutela.private import private_folder, write_new_file
from tutela.store import Recorder, Store
from tutela.store.queries.preservation import (
    PreservationConversation,
    PreservationIdentifier,
    PreservationScope,
    preservation_scope,
    record_preservation_letters,
)

__all__ = [
    "INDEX_NAME",
    "KIND_LABELS",
    "PRESERVATION_FORMAT",
    "RENEWAL_DAYS",
    "PreservationLetter",
    "PreservationResult",
    "md_code",
    "md_literal",
    "preserve_until",
    "write_preservation_requests",
]

PRESERVATION_FORMAT = "tutela-preservation-requests-v1"
"""The index's ``format``."""
INDEX_NAME = "preservation-index.json"
RENEWAL_DAYS = (90, 180, 270)
"""Days after the letter by which a 90-day preservation (18 U.S.C. § 2703(f)(2); Budapest
Convention art. 16(2)) must be renewed to reach the one-year horizon."""
NOT_FOR_SENDING = (
    "NOT FOR SENDING: prepared under a demonstration or non-evidential operation; no "
    "preservation request may be based on it"
)
KIND_LABELS = {
    "platform_id": "account identifier",
    "handle": "handle",
    "email": "e-mail address",
    "phone": "telephone number",
    "payment_ref": "payment reference",
}
"""How a letter names each identity kind (``tutela.store`` ``identities.kind``)."""
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")
_INVISIBLE = frozenset(("Cc", "Cf", "Zl", "Zp", "Co", "Cs", "Cn"))


@dataclass(frozen=True, slots=True)
class PreservationLetter:
    """One letter written: ``file`` (name inside the output folder), its ``sha256`` (hex of the
    file's bytes), the ``identifiers`` it names (``(kind, value)``), the conversations it covers
    and the period (ledger-text instants, UTC), the audit row that records it."""

    platform: str
    reference: str
    file: str
    sha256: str
    identifiers: tuple[tuple[str, str], ...]
    conversations: tuple[int, ...]
    period_from: str
    period_to: str
    audit_id: int


@dataclass(frozen=True, slots=True)
class PreservationResult:
    """What ``write_preservation_requests`` wrote: the letters (by platform), the index path, the
    letter date and the preserve-until date (one year later), and whether every operation of
    the case is evidential (otherwise every letter says NOT FOR SENDING)."""

    case_id: int
    letters: tuple[PreservationLetter, ...]
    index: Path
    letter_date: date
    preserve_until: date
    evidential: bool


def preserve_until(letter_date: date) -> date:
    """One year after ``letter_date``, the same day of the month (29 February → 28 February)."""
    try:
        return letter_date.replace(year=letter_date.year + 1)
    except ValueError:
        return letter_date.replace(year=letter_date.year + 1, day=28)


def _visible(ch: str) -> str:
    """A character as printed in a letter: control, line/paragraph-separator, format
    (bidirectional override, zero-width), private-use and unassigned ones as ``<U+XXXX>``."""
    if unicodedata.category(ch) in _INVISIBLE:
        return f"<U+{ord(ch):04X}>"
    return ch


def md_literal(value: object) -> str:
    """``value`` as inert Markdown text on one line: invisible characters as ``<U+XXXX>``
    (:func:`_visible`), inline Markdown punctuation (``\\ ` * _ [ ] < > |``) backslash-escaped.
    For free text of the operation record (organisation, legal basis, officer)."""
    return "".join(
        _visible(ch) if unicodedata.category(ch) in _INVISIBLE else _MD_SPECIAL.sub(r"\\\1", ch)
        for ch in str(value)
    )


def md_code(value: object) -> str:
    """``value`` as a Markdown code span (nothing inside is interpreted; the fence is longer
    than any run of backticks in it), invisible characters as ``<U+XXXX>``. For identifiers
    and accounts, so they can be copied exactly (no escaping backslashes)."""
    text = "".join(_visible(ch) for ch in str(value))
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _slug(platform: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", platform.lower()).strip("-")
    return slug or "platform"


def _provider_hint(platform: str, identifiers: Sequence[tuple[str, str]]) -> str | None:
    """The service an XMPP or Matrix identifier names (``user@server/resource``,
    ``@user:server``), for the officer to address the letter; ``None`` when none does."""
    servers = set()
    for kind, value in identifiers:
        if kind != "platform_id":
            continue
        if platform.lower() == "xmpp" and "@" in value:
            servers.add(value.split("@", 1)[1].split("/", 1)[0])
        elif platform.lower() == "matrix" and value.startswith("@") and ":" in value:
            servers.add(value.split(":", 1)[1])
    return ", ".join(sorted(servers)) or None


def _period(convs: Sequence[PreservationConversation]) -> tuple[datetime, datetime]:
    starts = [c.first_message_at or c.started_at for c in convs] + [c.started_at for c in convs]
    ends = [t for c in convs for t in (c.last_message_at, c.ended_at, c.started_at) if t]
    return min(starts), max(ends)


def _environment() -> Any:
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(
        loader=PackageLoader("tutela.evidence", "templates/preservation"),
        undefined=StrictUndefined,
        autoescape=False,  # Markdown: every value from the case goes through ``md``
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["md"] = md_literal
    env.filters["code"] = md_code
    return env


def _accounts_text(convs: Sequence[PreservationConversation]) -> str:
    accounts = sorted({c.account for c in convs})
    noun = "the account" if len(accounts) == 1 else "the accounts"
    return f"{noun} {', '.join(md_code(a) for a in accounts)}"


def _rooms_text(convs: Sequence[PreservationConversation]) -> str:
    rooms = sorted({c.room for c in convs if c.room})
    if not rooms:
        return ""
    return f" (room{'s' * (len(rooms) > 1)} {', '.join(md_code(r) for r in rooms)})"


def _reference(case_id: int, slug: str, letter_date: date) -> str:
    return f"TUT-PR-{case_id:05d}-{slug.upper()}-{letter_date:%Y%m%d}"


def _letters(
    scope: PreservationScope, letter_date: date, until: date, actor: str
) -> list[tuple[str, PreservationLetter, bytes, dict[str, Any]]]:
    """(platform, letter without audit id, file bytes, index entry) per platform."""
    template = _environment().get_template("letter.md.j2")
    ops = {o.id: o for o in scope.operations}
    evidential = bool(ops) and all(o.evidential for o in ops.values())
    platforms = sorted({c.platform for c in scope.conversations})
    used: set[str] = set()
    out = []
    for platform in platforms:
        convs = [c for c in scope.conversations if c.platform == platform]
        idents: list[PreservationIdentifier] = [
            i for i in scope.identifiers if i.platform == platform
        ]
        pairs = tuple((i.kind, i.value) for i in idents)
        slug = base = _slug(platform)
        n = 1
        while slug in used:
            n += 1
            slug = f"{base}-{n}"
        used.add(slug)
        start, end = _period(convs)
        reference = _reference(scope.case_id, slug, letter_date)
        text = template.render(
            banner=None if evidential else NOT_FOR_SENDING,
            platform=platform,
            provider=_provider_hint(platform, pairs),
            reference=reference,
            case_id=scope.case_id,
            letter_date=letter_date.isoformat(),
            preserve_until=until.isoformat(),
            renewals=[(letter_date + timedelta(days=d)).isoformat() for d in RENEWAL_DAYS],
            identifiers=pairs,
            conversations=convs,
            kind_labels=KIND_LABELS,
            accounts=_accounts_text(convs),
            rooms=_rooms_text(convs),
            operations=[ops[i] for i in sorted({c.operation_id for c in convs}) if i in ops],
            period_from=format_instant(start),
            period_to=format_instant(end),
            actor=actor,
            tool=f"tutela {__version__}",
        )
        data = text.encode("utf-8")
        letter = PreservationLetter(
            platform=platform,
            reference=reference,
            file=f"preservation-{slug}.md",
            sha256=sha256_hex(data),
            identifiers=pairs,
            conversations=tuple(c.id for c in convs),
            period_from=format_instant(start),
            period_to=format_instant(end),
            audit_id=0,
        )
        entry = {
            "platform": platform,
            "reference": reference,
            "file": letter.file,
            "sha256": letter.sha256,
            "identifiers": [{"kind": k, "value": v} for k, v in pairs],
            "persona_accounts": sorted({c.account for c in convs}),
            "conversations": list(letter.conversations),
            "operations": sorted({c.operation_id for c in convs}),
            "period": {"from": letter.period_from, "to": letter.period_to},
        }
        out.append((platform, letter, data, entry))
    return out


def write_preservation_requests(
    store: Store,
    case_id: int,
    out_dir: str | Path,
    *,
    recorder: Recorder,
    actor: str,
    letter_date: date | None = None,
) -> PreservationResult:
    """Write the preservation-request letters of case ``case_id`` into ``out_dir`` (created
    ``0700`` when missing) and audit them (module docstring); returns what was written.

    ``letter_date``: the date printed on the letters (default: today, UTC); the preserve-until
    date is one year later (:func:`preserve_until`). ``recorder`` (of ``store``) records the
    audit rows; the caller signs them (``Recorder.checkpoint``).

    Index (``preservation-index.json``, UTF-8 JSON): ``{format, case_id, letter_date,
    preserve_until, renewal_dates, evidential, prepared_by, tool, letters: [{platform,
    reference, file, sha256, identifiers: [{kind, value}], persona_accounts, conversations,
    operations, period: {from, to}, audit_id}], other_identifiers: [{kind, value}]}``
    (``other_identifiers``: those the contact volunteered, named in no letter).

    Raises ``NotFoundError`` (unknown case), ``InputError`` (no conversations; ``out_dir`` a
    file or unwritable; a letter or the index already there; a recorder of another store).
    Nothing is audited or left under the final names when it raises.
    """
    if recorder.store is not store:
        raise InputError("write_preservation_requests: the recorder writes to another store")
    scope = preservation_scope(store, case_id)
    if not scope.conversations:
        raise InputError(f"case {case_id} has no conversations: no platform to write to")
    when = letter_date or datetime.now(UTC).date()
    until = preserve_until(when)
    folder = Path(out_dir)
    if folder.exists() and not folder.is_dir():
        raise InputError(
            "--out is a file, not a folder to write the letters into", path=str(folder)
        )
    last = max(_period([c])[1] for c in scope.conversations)
    if when < last.date():
        raise InputError(
            f"--date {when} is before the conversations' last recorded activity "
            f"({format_instant(last)}): a letter cannot describe a period after its own date"
        )
    built = _letters(scope, when, until, actor)
    evidential = bool(scope.operations) and all(o.evidential for o in scope.operations)
    targets = [folder / letter.file for _, letter, _, _ in built] + [folder / INDEX_NAME]
    for target in targets:
        if target.exists():
            raise InputError("already exists; choose another --out folder", path=str(target))
    temps: list[Path] = []
    try:
        private_folder(folder)
        for (_, _letter, data, _), target in zip(built, targets, strict=False):
            tmp = target.with_name(f".{target.name}.part")
            tmp.unlink(missing_ok=True)
            temps.append(write_new_file(tmp, data))
        details = [
            {
                "case_id": case_id,
                "platform": letter.platform,
                "reference": letter.reference,
                "file": letter.file,
                "sha256": letter.sha256,
                "letter_date": when.isoformat(),
                "preserve_until": until.isoformat(),
                "identifiers": len(letter.identifiers),
            }
            for _, letter, _, _ in built
        ]
        audit_ids = record_preservation_letters(
            recorder, case_id=case_id, actor=actor, letters=details
        )
        letters = []
        entries = []
        for (_, letter, _, entry), audit_id, tmp, target in zip(
            built, audit_ids, temps, targets, strict=False
        ):
            tmp.replace(target)
            letters.append(_with_audit(letter, audit_id))
            entries.append({**entry, "audit_id": audit_id})
        index = {
            "format": PRESERVATION_FORMAT,
            "case_id": case_id,
            "letter_date": when.isoformat(),
            "preserve_until": until.isoformat(),
            "renewal_dates": [(when + timedelta(days=d)).isoformat() for d in RENEWAL_DAYS],
            "evidential": evidential,
            "prepared_by": actor,
            "tool": f"tutela {__version__}",
            "letters": entries,
            "other_identifiers": [
                {"kind": i.kind, "value": i.value}
                for i in scope.identifiers
                if i.platform not in {letter.platform for letter in letters}
            ],
        }
        index_path = write_new_file(
            folder / INDEX_NAME,
            (json.dumps(index, ensure_ascii=False, indent=1) + "\n").encode("utf-8"),
        )
    except OSError as e:
        raise InputError(f"cannot write the letters: {e.strerror or e}", path=str(folder)) from e
    finally:
        for tmp in temps:
            tmp.unlink(missing_ok=True)
    return PreservationResult(
        case_id=case_id,
        letters=tuple(letters),
        index=index_path,
        letter_date=when,
        preserve_until=until,
        evidential=evidential,
    )


def _with_audit(letter: PreservationLetter, audit_id: int) -> PreservationLetter:
    from dataclasses import replace

    return replace(letter, audit_id=audit_id)
