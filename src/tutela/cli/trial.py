"""``tutela trial``: register, show and end the deterrence trial.

``register`` fixes the analysis plan before the first allocation: it reads the plan file (a
regular file of at most 1 MiB, UTF-8), computes its SHA-256 (the same as ``sha256sum PLAN.md``),
with ``--tsa-url`` has an RFC 3161 time-stamping authority stamp that hash (the request's message
imprint *is* the plan's SHA-256; ``tutela.ledger.timestamp``), and only then writes the
``trials`` row and the ``trial_registered`` ledger entry in one transaction
(``tutela.store.queries.trials.register_trial``). Allocation itself is the live engine's
(``tutela.policy.trial``, ``tutela.live.actions``): once per contact identity, stratified by
the conversation's language, written to the ledger before the warning is sent, and only in
evidential operations.

``show`` prints the plan's hash, the TSA's time, the design and the allocation counts per stratum
and arm (never contact ids). ``end`` stops allocation (audited).
"""

from __future__ import annotations

import getpass
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from tutela.cli._app import app, out_console
from tutela.cli._help import examples
from tutela.cli._options import DbOption
from tutela.errors import InputError

__all__ = ["trial_app"]

trial_app = typer.Typer(
    help="The deterrence trial: register its plan, show it, end it.",
    epilog=examples("tutela trial show", "tutela trial end --reason 'planned end'"),
)
app.add_typer(trial_app, name="trial")

MAX_PLAN = 1024**2
"""Largest analysis plan read (1 MiB of text)."""


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name (containers)
        return "cli"


def _arms(text: str) -> tuple[str, ...]:
    from tutela.persona.deterrence import DETERRENCE_VARIANTS

    arms = tuple(a.strip() for a in text.split(",") if a.strip())
    unknown = [a for a in arms if a not in DETERRENCE_VARIANTS]
    if unknown:
        raise InputError(
            f"--arms: no deterrence text for {unknown} (have {', '.join(DETERRENCE_VARIANTS)})"
        )
    return arms


@trial_app.command(
    "register",
    epilog=examples(
        "tutela trial register --name pilot-2026 --plan PLAN.md --seed 918273645 \\",
        "  --tsa-url https://freetsa.org/tsr",
        "tutela trial register --name test --plan PLAN.md --seed 7 --unstamped",
    ),
)
def register(
    name: str = typer.Option(..., "--name", help="The trial's name (unique)."),
    plan: Path = typer.Option(..., "--plan", help="The analysis plan (UTF-8 text, e.g. PLAN.md)."),
    arms: str = typer.Option(
        "combined,legal_trace,legal,help",
        "--arms",
        help="Deterrence variants compared, comma-separated (the first: the default variant).",
    ),
    seed: int = typer.Option(
        ..., "--seed", min=0, max=2**31 - 1, help="Allocation seed (keep it; a large random one)."
    ),
    block_size: int | None = typer.Option(
        None, "--block-size", min=1, help="Permuted block size (default: 2 x the number of arms)."
    ),
    tsa_url: str | None = typer.Option(
        None, "--tsa-url", help="RFC 3161 time-stamping authority URL (stamps the plan's hash)."
    ),
    unstamped: bool = typer.Option(
        False,
        "--unstamped",
        help="Register without an RFC 3161 stamp (the ledger and every report then say the "
        "plan's time rests on the ledger alone).",
    ),
    db: DbOption = None,
) -> None:
    """Register a trial: the plan's SHA-256 (time-stamped with --tsa-url) before any allocation.

    The plan's hash must be RFC 3161-stamped before the first allocation: ``--tsa-url`` is
    required unless ``--unstamped`` says otherwise explicitly. Refused while another trial is
    active, for a name in use, and for a plan registered before (a plan is registered once).
    Prints the trial id and the plan's SHA-256.
    """
    from tutela.files import read_small_file
    from tutela.ledger import sha256_hex
    from tutela.policy.trial import TrialDesign, check_design
    from tutela.runtime import LEDGER_KEY, open_runtime
    from tutela.store.queries.trials import register_trial

    if not tsa_url and not unstamped:
        raise InputError(
            "the plan's hash must be time-stamped before any allocation: give --tsa-url URL "
            "(an RFC 3161 authority), or --unstamped to register without a stamp"
        )
    if tsa_url and unstamped:
        raise InputError("--tsa-url and --unstamped exclude each other")
    chosen = _arms(arms)
    check_design(chosen, seed, block_size)
    size = TrialDesign(1, chosen, seed, block_size).block_size
    data = read_small_file(plan, what="--plan file", limit=MAX_PLAN)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(f"--plan is not UTF-8 text: {e}", path=str(plan)) from e
    plan_sha = sha256_hex(data)
    token: bytes | None = None
    stamped_at: datetime | None = None
    if tsa_url:  # before anything is written: a failed stamp registers nothing
        from tutela.ledger.timestamp import http_transport, request_timestamp, timestamp_summary

        token = request_timestamp(data, http_transport(tsa_url))
        summary = timestamp_summary(token)
        if summary["imprint"] != plan_sha:  # pragma: no cover - request_timestamp checks it
            raise InputError("the time-stamp does not cover the plan's SHA-256")
        stamped_at = datetime.fromisoformat(summary["gen_time"])
    runtime = open_runtime(db, signer=LEDGER_KEY)
    try:
        record = register_trial(
            runtime.recorder,
            name=name,
            plan_text=text,
            arms=chosen,
            seed=seed,
            block_size=size,
            timestamp_token=token,
            timestamped_at=stamped_at,
            actor=_actor(),
        )
    finally:
        runtime.close()
    out_console.print(f"registered trial {record.id} {escape(record.name)!r}")
    out_console.print(f"plan sha256: {record.plan_sha256}")
    out_console.print(f"arms: {', '.join(record.arms)}; block size {record.block_size}")
    if stamped_at is not None:
        out_console.print(
            f"RFC 3161 time-stamp: {stamped_at.isoformat()} ({escape(tsa_url or '')})"
        )
    else:
        out_console.print(
            "not time-stamped (--unstamped: the plan's time rests on the ledger alone)"
        )
    out_console.print(f"ledger entry: {record.ledger_seq}")


def _pick(store: Any, name: str | None) -> Any:
    from tutela.store.errors import NotFoundError
    from tutela.store.queries.trials import active_trial, get_trial, list_trials

    if name is not None:
        return get_trial(store, name)
    found = active_trial(store) or next(iter(reversed(list_trials(store))), None)
    if found is None:
        raise NotFoundError("no trial is registered (tutela trial register)")
    return found


@trial_app.command("show", epilog=examples("tutela trial show", "tutela trial show --json"))
def show(
    name: str | None = typer.Option(
        None, "--name", help="The trial (default: the active one, else the latest)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    db: DbOption = None,
) -> None:
    """The trial's plan hash, TSA time, design and allocation counts per stratum and arm."""
    from tutela.runtime import open_runtime
    from tutela.store.queries.trials import allocation_counts

    runtime = open_runtime(db, signer=None)
    try:
        t = _pick(runtime.store, name)
        counts = allocation_counts(runtime.store, t.id)
    finally:
        runtime.close()
    doc = {
        "id": t.id,
        "name": t.name,
        "active": t.active,
        "plan_sha256": t.plan_sha256,
        "timestamped_at": None if t.timestamped_at is None else t.timestamped_at.isoformat(),
        "arms": list(t.arms),
        "block_size": t.block_size,
        "registered_by": t.registered_by,
        "registered_at": t.registered_at.isoformat(),
        "ledger_seq": t.ledger_seq,
        "allocations": [
            {"stratum": st, "arm": arm, "n": n} for (st, arm), n in sorted(counts.items())
        ],
    }
    if as_json:
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        return
    state = "active" if t.active else "ended"
    out_console.print(f"trial {t.id} {escape(t.name)!r} ({state})")
    out_console.print(f"plan sha256: {t.plan_sha256}")
    stamp = doc["timestamped_at"] or "not time-stamped"
    out_console.print(f"RFC 3161 time-stamp: {stamp}")
    out_console.print(f"arms: {', '.join(t.arms)}; block size {t.block_size}")
    out_console.print(f"registered {doc['registered_at']} by {escape(t.registered_by)}")
    strata = sorted({st for st, _ in counts})
    table = Table(title="allocations per stratum (language) and arm")
    table.add_column("stratum")
    for arm in t.arms:
        table.add_column(arm, justify="right")
    table.add_column("total", justify="right")
    for st in strata:
        row = [counts.get((st, arm), 0) for arm in t.arms]
        table.add_row(escape(st), *(str(n) for n in row), str(sum(row)))
    if not strata:
        out_console.print("no allocations yet")
    else:
        out_console.print(table)


@trial_app.command("end", epilog=examples("tutela trial end --reason 'planned end'"))
def end(
    name: str | None = typer.Option(None, "--name", help="The trial (default: the active one)."),
    reason: str = typer.Option("", "--reason", help="Why (its SHA-256 is audited)."),
    db: DbOption = None,
) -> None:
    """End the trial: no more allocations (warnings go back to ``deterrence.assignment``)."""
    from tutela.runtime import LEDGER_KEY, open_runtime
    from tutela.store.queries.trials import end_trial

    runtime = open_runtime(db, signer=LEDGER_KEY)
    try:
        t = _pick(runtime.store, name)
        ended = end_trial(runtime.recorder, t.id, actor=_actor(), reason=reason)
    finally:
        runtime.close()
    out_console.print(f"ended trial {ended.id} {escape(ended.name)!r}")
