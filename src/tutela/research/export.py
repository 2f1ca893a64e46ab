"""``export_research``: a folder of de-identified CSV tables, statistics, plots and a README.

The folder is written atomically: everything goes into a temporary folder next to ``out_dir``
(same file system, mode 0700) that is renamed to ``out_dir`` at the end, so a reader never sees a
half-written export and a failure leaves nothing behind. An existing non-empty ``out_dir`` is
replaced only with ``overwrite=True`` (the old folder is removed after the rename).

Message texts are exported only when ``include_text`` is True **and** ``actor`` is an
authenticated :class:`~tutela.accounts.users.User` (``UserStore.authenticate``) that the store still
holds as an *active* account with a role in :data:`TEXT_ROLES` (supervisor) and without
per-operation restrictions (:mod:`tutela.accounts.access`: the export spans every operation). A role
is never taken from the caller's word. Anything else raises :class:`PermissionDenied` before
anything is read or written (OWASP ASVS V8.1 / Authorization Cheat Sheet: deny by default, check
on the server side).

Every export is audited (OWASP Logging Cheat Sheet: data exports): an ``audit_log`` row and its
``audit`` ledger entry, action ``research_export``, target ``research:<key id>``, details
``{"include_text", "rows", "operations", "deterrence_operations", "key_id", "out_dir"}``, written
after the files and before the folder is renamed into place, so no export appears without its
audit record.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tutela.errors import InputError, PermissionDenied
from tutela.research import stats
from tutela.research.pseudonym import key_id, pseudonym
from tutela.research.tables import research_tables
from tutela.store import Recorder, Store

if TYPE_CHECKING:
    from tutela.accounts.users import User

__all__ = ["AUDIT_ACTION", "TEXT_ROLES", "ExportReport", "export_research"]

TEXT_ROLES = frozenset({"supervisor"})
"""Roles that may export message texts (an admin manages accounts and reads no case content)."""
AUDIT_ACTION = "research_export"


@dataclass(frozen=True, slots=True)
class ExportReport:
    """What ``export_research`` wrote.

    ``out_dir``: the export folder; ``files``: the file names in it, sorted; ``rows``: data rows
    per table CSV (header excluded); ``include_text``: whether message texts are in
    ``messages.csv``; ``key_id``: public name of the pseudonym key (same ``key_id`` = same
    pseudonyms); ``summary``: the statistics (:func:`tutela.research.stats.summary`).
    """

    out_dir: Path
    files: tuple[str, ...]
    rows: Mapping[str, int]
    include_text: bool
    key_id: str
    summary: Mapping[str, Any] = field(default_factory=dict)


def _csv_bytes(rows: Sequence[Sequence[Any]]) -> bytes:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


def _stat_tables(summary: Mapping[str, Any]) -> dict[str, list[list[Any]]]:
    return {
        "stats_contacts_per_day.csv": [
            ["day", "platform", "contacts"],
            *([r["day"], r["platform"], r["n"]] for r in summary["contacts_per_day"]),
        ],
        "stats_time_to_first_solicitation.csv": [
            ["conversation", "contact_lines", "minutes"],
            *(
                [r["conversation"], r["messages"], f"{r['minutes']:.2f}"]
                for r in summary["time_to_first_solicitation"]
            ),
        ],
        "stats_indicator_frequencies.csv": [
            ["indicator", "conversations"],
            *([k, v] for k, v in summary["indicator_frequencies"].items()),
        ],
        "stats_warnings.csv": [
            ["day", "variant", "warnings"],
            *([r["day"], r["variant"], r["n"]] for r in summary["warnings"]),
        ],
        "stats_returns_after_warning.csv": [
            ["variant", "warned", "returned", "rate", "low", "high"],
            *(
                [
                    v,
                    r["warned"],
                    r["returned"],
                    *(f"{r[k]:.4f}" for k in ("rate", "low", "high")),
                ]
                for v, r in summary["returns_after_warning"].items()
            ),
        ],
    }


_README = """\
Tutela research export
======================

Created on {day} (UTC day). Pseudonym key id: {key_id}. Message texts included: {texts}.

De-identification
-----------------
* Pseudonyms: every conversation and contact is named by a keyed pseudonym,
  HMAC-SHA256(secret key, "tutela-research-pseudonym-v1" + NUL + table kind + NUL + database id),
  first 16 hex digits. The key is a per-deployment secret that is NOT part of this export; without
  it pseudonyms cannot be linked back to database records. Exports made with the same key id share
  pseudonyms (so they can be compared); another key gives unrelated pseudonyms. Conversation and
  contact pseudonyms use different table kinds, so they never coincide.
* Time: only UTC calendar days (YYYY-MM-DD); no time of day anywhere. Durations to the first
  solicitation are given in minutes.
* Left out: database ids, platform identities (ids, handles, e-mail addresses, phone numbers,
  payment references), persona accounts, message authors, platform message ids, raw wire data,
  attachment URLs and hashes (only a count of declared attachments), the free-text reasons of
  decisions, and message texts{text_note}.
* Merged contacts (one person, several identities) appear once, as the surviving contact.
* Rows are sorted by pseudonym, so their order does not reveal when they were recorded.
* Counts can be small: a very rare combination of day, platform and persona may still single
  out a person to someone who knows the operation. Share with that in mind.

Files
-----
conversations.csv  one row per conversation: conversation, contact, persona (decoy profile id),
                   platform, lang, start_day, messages_in, messages_out, final_action (strongest
                   decision: continue, deter, escalate, refer; none without decisions).
messages.csv       one row per stored message (only messages addressed to or sent by a persona):
                   conversation, seq (position over both directions), direction (in = contact,
                   out = persona), day, contact_line (1-based number of the contact's line),
                   attachments (declared media count), indicators (ids listed by the decision
                   taken after the line, ';'-separated){text_col}.
decisions.csv      one row per policy decision: conversation, after_line, action, risk (3
                   decimals), rule, variant (deterrence message variant, if one was sent), day.
contacts.csv       one row per contact: contact, conversations, platforms, personas (distinct
                   counts), warnings (decisions that sent a deterrence warning).
stats_contacts_per_day.csv
                   day, platform, contacts: distinct contacts who wrote to a persona that day.
stats_time_to_first_solicitation.csv
                   conversation, contact_lines, minutes: the first decision that warned
                   (deter/escalate/refer) or listed an indicator of a solicitation category
                   (sexual_content, media_request, meeting, gift_or_money); contact lines up to and
                   including it, minutes from the conversation's start.
stats_indicator_frequencies.csv
                   indicator, conversations: conversations whose decisions list the indicator.
stats_warnings.csv day, variant, warnings.
stats_returns_after_warning.csv
                   variant, warned, returned, rate, low, high: per (contact, variant) at the
                   contact's first warning of that variant; returned = another conversation with
                   the same contact was opened after the warning (ledger recording order); low and
                   high: Wilson score 95 % interval of the rate. Only evidential operations count
                   (never the demo or training operations){ops_note}. After Prichard et al.
                   (2021), who compared deterrence messages by what warned users did next. Not a
                   randomised comparison: see `tutela research trial-report`.
summary.json       all statistics above in one JSON object.
plot_contacts_per_day.png, plot_time_to_first_solicitation.png (histograms of contact lines and
minutes), plot_indicator_frequencies.png, plot_warnings_per_variant.png,
plot_returns_after_warning.png: the same statistics drawn.
README.txt         this file.
"""


def _write(folder: Path, name: str, data: bytes) -> None:
    with open(folder / name, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _check_target(out: Path, overwrite: bool) -> None:
    if out.exists() or out.is_symlink():
        if not out.is_dir() or out.is_symlink():
            raise InputError("export target exists and is not a folder", path=str(out))
        if any(out.iterdir()) and not overwrite:
            raise InputError(
                "export folder exists and is not empty (use overwrite to replace it)",
                path=str(out),
            )


def _text_permission(store: Store, actor: object) -> None:
    """Refuse a text export unless ``actor`` is, in the store now, an active unrestricted
    supervisor (module docstring). Raises ``PermissionDenied``."""
    from tutela.accounts.access import granted_operations
    from tutela.accounts.users import User, UserStore

    if not isinstance(actor, User):
        raise PermissionDenied(
            "exporting message texts needs an authenticated supervisor (log in with a user "
            "account); a role given by the caller is not trusted"
        )
    current = UserStore(store).get_by_id(actor.id)
    if current is None or current.name != actor.name or not current.active:
        raise PermissionDenied(f"user {actor.name!r} is not an active account")
    if current.role.value not in TEXT_ROLES:
        raise PermissionDenied(
            f"exporting message texts needs the role {' or '.join(sorted(TEXT_ROLES))}; "
            f"{current.name!r} is {current.role.value}"
        )
    if granted_operations(store, current.id):
        raise PermissionDenied(
            f"user {current.name!r} may only read some operations; a text export covers every "
            "operation (ask a supervisor without per-operation restrictions)"
        )


def _actor_name(actor: object) -> str:
    from tutela.accounts.users import User

    if isinstance(actor, User):
        return actor.name
    if isinstance(actor, str) and actor.strip():
        return actor.strip()
    return "unknown"


def export_research(
    store: Store,
    out_dir: str | os.PathLike[str],
    *,
    key: bytes,
    include_text: bool = False,
    actor: User | str | None = None,
    overwrite: bool = False,
    recorder: Recorder | None = None,
    operations: Sequence[int] | None = None,
) -> ExportReport:
    """Write the de-identified research export of ``store`` into folder ``out_dir``; audited.

    ``key``: pseudonym key (:func:`tutela.research.pseudonym.load_or_create_key`, at least 16
    bytes). ``include_text``: add message texts; ``actor`` must then be an authenticated
    :class:`~tutela.accounts.users.User` that is an active, unrestricted supervisor (module
    docstring). ``actor`` otherwise names who exports in the audit record (a ``User`` or a
    string such as ``"cli:alice"``). ``overwrite``: replace an existing non-empty ``out_dir``.
    ``recorder``: writes the audit record (default ``Recorder(store)``). ``operations``: the
    operation ids the deterrence outcome (``stats_returns_after_warning.csv``) is limited to
    (it never includes demo or non-evidential operations); the audit details record them as
    ``deterrence_operations`` (``"evidential"`` without a filter).

    Raises
    ------
    PermissionDenied: texts asked for without such an actor (nothing is read or written).
    InputError: a bad key, ``out_dir`` exists (non-empty, or not a folder) without ``overwrite``,
        or the folder cannot be written.
    StoreError: the database cannot be read, or the audit record cannot be written (the export
        is then not put in place).
    """
    if include_text:
        _text_permission(store, actor)
    pseudonym(key, "check", 0)  # InputError for a bad key, before any work
    from tutela.research import plots  # matplotlib: imported only when exporting

    out = Path(out_dir)
    _check_target(out, overwrite)

    contacts = stats.contacts_per_day(store)
    solicitations = stats.time_to_first_solicitation(store, key=key)
    warned = stats.warnings(store)
    returns = stats.returns_after_warning(store, operations=operations)
    summary = stats.assemble_summary(
        store,
        contacts=contacts,
        solicitations=solicitations,
        indicators=stats.indicator_frequencies(store),
        warned=warned,
        returns=returns,
    )
    tables = research_tables(store, key, include_text=include_text)
    kid = key_id(key)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp"))
    except OSError as e:
        raise InputError(
            f"cannot create the export folder: {e.strerror or e}", path=str(out)
        ) from e
    try:
        for name, table in tables.items():
            _write(tmp, f"{name}.csv", _csv_bytes(table))
        for name, stat_rows in _stat_tables(summary).items():
            _write(tmp, name, _csv_bytes(stat_rows))
        _write(tmp, "summary.json", (json.dumps(summary, indent=2) + "\n").encode("utf-8"))
        plots.plot_contacts_per_day(contacts, tmp / "plot_contacts_per_day.png")
        plots.plot_time_to_first_solicitation(
            solicitations, tmp / "plot_time_to_first_solicitation.png"
        )
        plots.plot_indicator_frequencies(
            summary["indicator_frequencies"], tmp / "plot_indicator_frequencies.png"
        )
        plots.plot_warnings_per_variant(warned, tmp / "plot_warnings_per_variant.png")
        plots.plot_returns_after_warning(returns, tmp / "plot_returns_after_warning.png")
        readme = _README.format(
            day=datetime.now(UTC).date().isoformat(),
            key_id=kid,
            texts="yes" if include_text else "no",
            text_note=" (this export includes them: handle it as personal data)"
            if include_text
            else "",
            text_col=", text (as received; empty after a retention purge)" if include_text else "",
            ops_note=""
            if operations is None
            else f"; this export: operations {', '.join(map(str, sorted(operations)))}",
        )
        _write(tmp, "README.txt", readme.encode("utf-8"))
        files = tuple(sorted(p.name for p in tmp.iterdir()))
        rows = {name: len(table) - 1 for name, table in tables.items()}
        (recorder or Recorder(store)).record_audit(
            _actor_name(actor),
            AUDIT_ACTION,
            f"research:{kid}",
            {
                "include_text": include_text,
                "rows": rows,
                "operations": "all",
                "deterrence_operations": "evidential"
                if operations is None
                else sorted(int(o) for o in operations),
                "key_id": kid,
                "out_dir": str(out.absolute()),
            },
        )
        _move_into_place(tmp, out, overwrite)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise InputError(f"cannot write the export: {e.strerror or e}", path=str(out)) from e
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return ExportReport(
        out_dir=out,
        files=files,
        rows=rows,
        include_text=include_text,
        key_id=kid,
        summary=summary,
    )


def _move_into_place(tmp: Path, out: Path, overwrite: bool) -> None:
    """Rename ``tmp`` to ``out``; an existing ``out`` is first renamed aside (then removed)."""
    old: Path | None = None
    if out.exists():
        if any(out.iterdir()):
            if not overwrite:  # appeared while we were writing
                raise FileExistsError(f"{out} appeared while exporting")
            old = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".old"))
            os.replace(out, old / "export")
        else:
            out.rmdir()
    os.replace(tmp, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
