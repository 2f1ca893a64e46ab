"""``tutela users ...``, ``tutela cases ...`` and ``tutela operations ...``: thin shells over
``tutela.cases`` (every rule lives there)."""

from __future__ import annotations

import getpass
import json
import sys
from datetime import UTC, datetime
from typing import Any

import typer
from rich.table import Table

from tutela.cli._app import NARROW, app, out_console
from tutela.cli._help import choice_metavar, complete_from, examples
from tutela.cli._options import DbOption
from tutela.errors import InputError

__all__ = ["cases_app", "operations_app", "users_app"]

users_app = typer.Typer(
    help="User accounts of the dashboard (argon2id passwords, TOTP).",
    epilog=examples(
        "tutela users add ana --role analyst --password-stdin < password.txt",
        "tutela users list",
        "tutela users grant ana 1",
    ),
)
cases_app = typer.Typer(
    help="Review queue, retention and legal holds of cases.",
    epilog=examples("tutela cases queue", "tutela cases hold 7 --reason 'court order 12'"),
)
operations_app = typer.Typer(
    help="Operations: the legal authority personas run under.",
    epilog=examples("tutela operations list"),
)
app.add_typer(users_app, name="users")
app.add_typer(cases_app, name="cases")
app.add_typer(operations_app, name="operations")

MAX_RETENTION_DAYS = 36_500
"""Largest ``cases retention --days`` (100 years): a cut-off further back is before year 1."""
ROLES = ("analyst", "supervisor", "admin")
"""The dashboard roles (``tutela.accounts.users.Role``), for ``--role``'s help and completion."""
STATUSES = (
    "open",
    "watching",
    "referral_proposed",
    "referred",
    "dismissed",
    "purged",
    "merged",
)
"""The case statuses (``tutela.cases.transitions.CaseStatus``), for ``--status``."""
MAX_LIST_LIMIT = 1_000_000
"""Largest ``--limit`` of a listing (SQL integers are 64-bit; a bigger limit lists nothing more)."""


def _cli_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name (containers)
        return "cli"


def _recorder(db: str | None, *, sign: bool = True) -> Any:
    """The recorder of ``db`` (``None``: ``TUTELA_DB`` or the user data dir), built by
    :func:`tutela.runtime.open_runtime`: it signs checkpoints only with the key the ledger is
    signed with, when that key is at hand (``tutela.runtime.LEDGER_KEY``: never created, never
    prompted for, never another key); ``sign=False`` for the listings and dry runs, which write
    nothing (no key is looked at)."""
    from tutela.runtime import LEDGER_KEY, open_runtime

    return open_runtime(db, signer=LEDGER_KEY if sign else None).recorder


def _instant(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        at = datetime.fromisoformat(text)
    except ValueError as e:
        raise InputError(f"{option}: not an ISO 8601 time: {text!r}") from e
    if at.tzinfo is None or at.utcoffset() is None:
        raise InputError(f"{option}: give a UTC offset, e.g. {text}Z or {text}+01:00")
    try:  # stored in UTC: 9999-12-31T23:59-01:00 is past year 9999 there
        at.astimezone(UTC)
    except OverflowError as e:
        raise InputError(f"{option}: {text!r} is out of range in UTC") from e
    return at


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


# -- users ------------------------------------------------------------------------------------
_ROLE = typer.Option(
    ...,
    "--role",
    metavar=choice_metavar(ROLES, "ROLE"),
    autocompletion=complete_from(ROLES),
    help="analyst, supervisor or admin. An analyst reviews cases; a supervisor also approves "
    "referrals and exports; an admin manages accounts and reads no case content.",
)


@users_app.command(
    "add",
    epilog=examples(
        "tutela users add ana --role analyst --password-stdin < password.txt",
        "tutela users add sam --role supervisor   # asks for the password",
    ),
)
def users_add(
    name: str = typer.Argument(..., help="Login name (a-z, 0-9, . _ - @)."),
    role: str = _ROLE,
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from the first line of stdin."
    ),
    db: DbOption = None,
) -> None:
    """Add a user. The password never comes from the command line: stdin or a hidden prompt."""
    from tutela.accounts.users import UserStore

    if password_stdin:
        try:
            password = sys.stdin.readline().rstrip("\r\n")
        except UnicodeDecodeError as e:
            raise InputError(
                "the password on stdin is not valid text in the locale's encoding"
            ) from e
    elif sys.stdin.isatty():
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    else:
        raise InputError("give the password on stdin with --password-stdin")
    rec = _recorder(db)
    try:
        user = UserStore(rec.store, recorder=rec).add(name, role, password, actor=_cli_actor())
    finally:
        rec.store.close()
    out_console.print(f"added {user.role.value} {user.name} (id {user.id})")


@users_app.command("list", epilog=examples("tutela users list", "tutela users list --json"))
def users_list(
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    db: DbOption = None,
) -> None:
    """List users."""
    from tutela.accounts.users import UserStore

    rec = _recorder(db, sign=False)
    try:
        users = UserStore(rec.store, recorder=rec).list()
    finally:
        rec.store.close()
    rows = [
        {"id": u.id, "name": u.name, "role": u.role.value, "active": u.active, "totp": u.has_totp}
        for u in users
    ]
    if as_json:
        sys.stdout.write(json.dumps({"users": rows}, indent=2) + "\n")
        return
    table = Table(title="users")
    for col in ("id", "name", "role", "active", "totp"):
        table.add_column(col)
    for r in rows:
        table.add_row(*(str(r[c]) for c in ("id", "name", "role", "active", "totp")))
    out_console.print(table)


@users_app.command("totp", epilog=examples("tutela users totp ana | qrencode -t ansiutf8"))
def users_totp(
    name: str = typer.Argument(..., help="Login name."),
    db: DbOption = None,
) -> None:
    """Give a user a new TOTP secret and print its otpauth:// URI (for an authenticator app)."""
    from tutela.accounts.users import UserStore, totp_uri

    rec = _recorder(db)
    try:
        secret = UserStore(rec.store, recorder=rec).set_totp(name, actor=_cli_actor())
    finally:
        rec.store.close()
    sys.stdout.write(totp_uri(name, secret) + "\n")


@users_app.command("deactivate", epilog=examples("tutela users deactivate ana"))
def users_deactivate(
    name: str = typer.Argument(..., help="Login name."),
    db: DbOption = None,
) -> None:
    """Disable a user's logins and case actions and end their open dashboard sessions (the
    account stays for the audit trail)."""
    from tutela.accounts.users import UserStore

    rec = _recorder(db)
    try:
        UserStore(rec.store, recorder=rec).deactivate(name, actor=_cli_actor())
    finally:
        rec.store.close()
    out_console.print(f"deactivated {name}")


@users_app.command("role", epilog=examples("tutela users role ana --role supervisor"))
def users_role(
    name: str = typer.Argument(..., help="Login name."),
    role: str = _ROLE,
    db: DbOption = None,
) -> None:
    """Give a user another role; their open dashboard sessions end."""
    from tutela.accounts.users import UserStore

    rec = _recorder(db)
    try:
        user = UserStore(rec.store, recorder=rec).set_role(name, role, actor=_cli_actor())
    finally:
        rec.store.close()
    out_console.print(f"{user.name} is now {user.role.value}; their sessions were ended")


@users_app.command("revoke", epilog=examples("tutela users revoke ana"))
def users_revoke(
    name: str = typer.Argument(..., help="Login name."),
    db: DbOption = None,
) -> None:
    """End every open dashboard session of a user (e.g. a lost laptop); the account stays."""
    from tutela.accounts.users import UserStore

    rec = _recorder(db)
    try:
        UserStore(rec.store, recorder=rec).revoke_sessions(name, actor=_cli_actor())
    finally:
        rec.store.close()
    out_console.print(f"ended the sessions of {name}")


def _change_grant(name: str, operation_id: int, db: str | None, *, grant: bool) -> None:
    from tutela.accounts.access import grant_operation, granted_operations, revoke_operation
    from tutela.accounts.users import UserStore

    rec = _recorder(db)
    try:
        user = UserStore(rec.store, recorder=rec).get(name)
        if user is None:
            raise InputError(f"user {name!r} does not exist")
        change = grant_operation if grant else revoke_operation
        changed = change(rec, user.id, operation_id, actor=_cli_actor())
        now = sorted(granted_operations(rec.store, user.id))
    finally:
        rec.store.close()
    verb = (
        ("granted" if changed else "already had")
        if grant
        else ("withdrew" if changed else "had no grant for")
    )
    scope = ", ".join(map(str, now)) if now else "every operation (no grants)"
    out_console.print(f"{verb} operation {operation_id} for {name}; {name} now sees: {scope}")


_OP_ID = typer.Argument(
    ..., min=1, max=2**31 - 1, metavar="OPERATION_ID", help="Operation id (tutela operations list)."
)


@users_app.command("grant", epilog=examples("tutela users grant ana 1"))
def users_grant(
    name: str = typer.Argument(..., help="Login name."),
    operation_id: int = _OP_ID,
    db: DbOption = None,
) -> None:
    """Let a user see the cases of one operation. A user with grants sees only the cases of
    granted operations; a user without any sees all (audited)."""
    _change_grant(name, operation_id, db, grant=True)


@users_app.command("ungrant", epilog=examples("tutela users ungrant ana 1"))
def users_ungrant(
    name: str = typer.Argument(..., help="Login name."),
    operation_id: int = _OP_ID,
    db: DbOption = None,
) -> None:
    """Withdraw a user's grant of one operation; withdrawing the last grant makes the user
    unrestricted again (audited)."""
    _change_grant(name, operation_id, db, grant=False)


# -- cases ------------------------------------------------------------------------------------
_STATUS = typer.Option(
    None,
    "--status",
    metavar="STATUS",
    autocompletion=complete_from(STATUSES),
    help=f"Statuses to list, repeatable: {', '.join(STATUSES)} (default: open, watching, "
    "referral_proposed).",
)


@cases_app.command(
    "queue",
    epilog=examples(
        "tutela cases queue",
        "tutela cases queue --status referred --status dismissed --limit 50",
        "tutela cases queue --json",
    ),
)
def cases_queue(
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    status: list[str] | None = _STATUS,
    limit: int = typer.Option(
        200, "--limit", min=1, max=MAX_LIST_LIMIT, help="At most this many cases."
    ),
    db: DbOption = None,
) -> None:
    """The review queue, most severe first: the strongest action taken (refer > escalate > deter >
    watch), then returns after a warning, then risk (the dashboard's order)."""
    from tutela.cases.workflow import REVIEW_STATUSES, CaseWorkflow

    rec = _recorder(db, sign=False)
    try:
        queue = CaseWorkflow(rec).review_queue(statuses=status or REVIEW_STATUSES, limit=limit)
    finally:
        rec.store.close()
    rows: list[dict[str, Any]] = [
        {
            "case_id": c.case_id,
            "contact_id": c.contact_id,
            "status": c.status,
            "risk": round(c.risk, 6),
            "last_activity": _iso(c.last_activity),
            "conversations": c.n_conversations,
            "platforms": list(c.platforms),
            "personas": list(c.personas),
            "warnings": c.warnings,
            "last_action": c.last_action,
            "last_event": c.last_event,
            "strongest_action": c.strongest_action,
            "strongest_at": _iso(c.strongest_at),
            "returns": c.returns,
            "returned": c.returned,
            "identities": c.identities,
            "pending_referral": c.pending_referral,
        }
        for c in queue
    ]
    if as_json:
        sys.stdout.write(json.dumps({"cases": rows}, indent=2) + "\n")
        return
    table = Table(title="review queue")
    cols = ("case_id", "status", "strongest_action", "returns", "risk", "warnings", "platforms")
    heads = {"case_id": "case", "strongest_action": "strongest", "returns": "ret"}
    for col in cols:
        table.add_column(
            heads.get(col, col),
            overflow="fold",
            justify="right" if col in ("case_id", "risk", "returns", "warnings") else "left",
        )

    def _cell(r: dict[str, Any], col: str) -> str:
        value = r[col]
        if col == "risk":
            return f"{value:.0%}"
        if col == "strongest_action":
            return value or "-"
        return ", ".join(value) if isinstance(value, list) else str(value)

    for r in rows:
        table.add_row(*(_cell(r, c) for c in cols))
    out_console.print(table)


@cases_app.command(
    "retention",
    epilog=examples("tutela cases retention --dry-run", "tutela cases retention --days 90"),
)
def cases_retention(
    days: int = typer.Option(
        90,
        "--days",
        min=0,
        max=MAX_RETENTION_DAYS,
        help="Purge texts of cases dismissed more than this many days ago (at most 100 years).",
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only list the cases that would go."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    db: DbOption = None,
) -> None:
    """Apply the retention rule: delete the message texts of long-dismissed cases.

    A retention_purge tombstone stays in the ledger, which keeps verifying.
    """
    from tutela.cases.workflow import CaseWorkflow

    rec = _recorder(db, sign=not dry_run)
    try:
        ids = CaseWorkflow(rec).purge_expired(retention_days=days, dry_run=dry_run)
    finally:
        rec.store.close()
    if as_json:
        sys.stdout.write(json.dumps({"dry_run": dry_run, "days": days, "cases": ids}) + "\n")
        return
    verb = "would purge" if dry_run else "purged"
    out_console.print(f"{verb} {len(ids)} case(s): {', '.join(map(str, ids)) or '-'}")


_CASE_ID = typer.Argument(
    ..., min=1, max=2**31 - 1, metavar="CASE_ID", help="Case id (tutela cases queue)."
)
_REASON_HELP = "Why (required; kept with the hold, its SHA-256 in the audit log)."


@cases_app.command(
    "hold", epilog=examples("tutela cases hold 7 --reason 'preservation order 2026-114'")
)
def cases_hold(
    case_id: int = _CASE_ID,
    reason: str = typer.Option(..., "--reason", help=_REASON_HELP),
    db: DbOption = None,
) -> None:
    """Put a case under a legal hold: its texts are never purged and the persona sends no
    automatic reply in its conversations until the hold is released (audited)."""
    from tutela.cases.hold import set_legal_hold

    rec = _recorder(db)
    try:
        hold = set_legal_hold(rec, case_id, reason, actor_name=_cli_actor())
    finally:
        rec.store.close()
    out_console.print(f"case {case_id} is under legal hold {hold.id} (set by {hold.set_by})")


@cases_app.command("release", epilog=examples("tutela cases release 7 --reason 'order lifted'"))
def cases_release(
    case_id: int = _CASE_ID,
    reason: str = typer.Option(..., "--reason", help=_REASON_HELP),
    db: DbOption = None,
) -> None:
    """Release a case's legal hold: retention and persona replies apply again (audited)."""
    from tutela.cases.hold import release_legal_hold

    rec = _recorder(db)
    try:
        hold = release_legal_hold(rec, case_id, reason, actor_name=_cli_actor())
    finally:
        rec.store.close()
    out_console.print(f"released legal hold {hold.id} of case {case_id}")


# -- operations -------------------------------------------------------------------------------
def _op_dict(op: Any) -> dict[str, Any]:
    return {
        "id": op.id,
        "organisation": op.organisation,
        "jurisdiction": op.jurisdiction,
        "legal_basis": op.legal_basis,
        "authorisation_ref": op.authorisation_ref,
        "officer": op.officer,
        "starts_at": _iso(op.starts_at),
        "ends_at": _iso(op.ends_at),
        "evidential": op.evidential,
    }


@operations_app.command(
    "add",
    epilog=examples(
        "tutela operations add --organisation 'Example NGO' --jurisdiction NL \\",
        "  --legal-basis 'Approved undercover operation' --authorisation-ref OM-1 \\",
        "  --officer 'J. Jansen' --start 2026-11-01T00:00Z --end 2027-05-01T00:00Z",
    ),
)
def operations_add(
    organisation: str = typer.Option(..., "--organisation", help="Who runs the operation."),
    jurisdiction: str = typer.Option(..., "--jurisdiction", help="e.g. NL, PH."),
    legal_basis: str = typer.Option(..., "--legal-basis", help="The law or order relied on."),
    authorisation_ref: str = typer.Option(..., "--authorisation-ref", help="Order/file number."),
    officer: str = typer.Option(..., "--officer", help="Responsible officer."),
    start: str = typer.Option(
        ..., "--start", metavar="TIME", help="ISO 8601 with a UTC offset, e.g. 2026-11-01T00:00Z."
    ),
    end: str | None = typer.Option(
        None, "--end", metavar="TIME", help="ISO 8601 with a UTC offset (open-ended if none)."
    ),
    non_evidential: bool = typer.Option(
        False, "--non-evidential", help="Training/test operation: its records are not evidence."
    ),
    db: DbOption = None,
) -> None:
    """Record an operation: the legal authority personas and imports work under (a ledger
    entry)."""
    from tutela.cases.operations import add_operation

    starts = _instant(start, "--start")
    assert starts is not None
    rec = _recorder(db)
    try:
        op = add_operation(
            rec,
            organisation=organisation,
            jurisdiction=jurisdiction,
            legal_basis=legal_basis,
            authorisation_ref=authorisation_ref,
            officer=officer,
            starts_at=starts,
            ends_at=_instant(end, "--end"),
            evidential=not non_evidential,
        )
    finally:
        rec.store.close()
    out_console.print(f"operation {op.id} ({op.authorisation_ref}) recorded")


@operations_app.command(
    "list", epilog=examples("tutela operations list", "tutela operations list --json")
)
def operations_list(
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    db: DbOption = None,
) -> None:
    """List operations and whether each is active now."""
    from tutela.cases.operations import is_active, list_operations

    rec = _recorder(db, sign=False)
    try:
        ops = list_operations(rec)
    finally:
        rec.store.close()
    now = datetime.now(UTC)
    rows = [{**_op_dict(op), "active": is_active(op, now)} for op in ops]
    if as_json:
        sys.stdout.write(json.dumps({"operations": rows}, indent=2) + "\n")
        return
    table = Table(title="operations")
    cols: tuple[str, ...] = ("id", "authorisation_ref", "organisation", "jurisdiction",
                             "officer", "starts_at", "ends_at", "evidential", "active")  # fmt: skip
    if out_console.width < NARROW:  # 80 columns: the officer and jurisdiction are in --json
        cols = tuple(c for c in cols if c not in ("jurisdiction", "officer"))
    heads = {"authorisation_ref": "reference", "starts_at": "starts", "ends_at": "ends"}
    for col in cols:
        table.add_column(heads.get(col, col), overflow="fold")

    def cell(r: dict[str, Any], c: str) -> str:
        if c in ("starts_at", "ends_at"):  # minutes are enough on screen; --json has the rest
            return "-" if r[c] is None else r[c][:16].replace("T", " ")
        return str(r[c])

    for r in rows:
        table.add_row(*(cell(r, c) for c in cols))
    out_console.print(table)
