"""``tutela demo`` and ``tutela run`` (both build through :mod:`tutela.runtime`)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import typer
from rich.table import Table

from tutela.cli._app import app, out_console
from tutela.cli._help import examples
from tutela.cli._options import DbOption, DemoDbOption, DetectionConfigOption, ModelOption

_SHADOW_HELP = (
    "A candidate policy YAML evaluated beside the active one after every inbound message; what "
    "it would have done is recorded (dashboard: Shadow policy), never acted on."
)


@app.command(
    epilog=examples(
        "tutela demo --list",
        "tutela demo --scenario grooming_en",
        "tutela demo --scenario benign_peer_en --json",
        "tutela demo --scenario return_en --db sqlite:///demo.db",
    )
)
def demo(
    scenario: str | None = typer.Option(
        None,
        "--scenario",
        help="Scenario JSON file, or the name of a shipped one (see --list).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a transcript."),
    db: DemoDbOption = None,
    realtime: bool = typer.Option(False, "--realtime", help="Really wait for typing delays."),
    list_: bool = typer.Option(False, "--list", help="List the shipped scenarios and exit."),
    config: DetectionConfigOption = None,
    model: ModelOption = None,
    shadow_policy: Path | None = typer.Option(None, "--shadow-policy", help=_SHADOW_HELP),
) -> None:
    """Run a persona against a scripted contact over the in-memory connector (whole live path)."""
    from tutela.live.demo import load_scenario, run_demo, shipped_scenarios

    if list_:
        for name in sorted(shipped_scenarios()):
            out_console.print(name)
        return
    result = run_demo(
        load_scenario(scenario),
        db_url=db,
        realtime=realtime,
        config=config,
        model=model,
        shadow_policy=shadow_policy,
    )
    if as_json:
        sys.stdout.write(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
        return
    table = Table(title=f"demo — persona {result['persona']}", show_lines=False)
    table.add_column("at")
    table.add_column("from")
    table.add_column("text", overflow="fold")
    table.add_column("decision")
    by_line = {d["after_line"]: d for d in result["decisions"]}
    line = 0
    for t in result["transcript"]:
        note = ""
        if t["from"] == "contact":
            line += 1
            d = by_line.get(line)
            if d:
                note = f"{d['action']} (risk {d['risk']:.2f})"
        table.add_row(t["at"][11:19], t["from"], t["text"], note)
    out_console.print(table)
    out_console.print(
        f"final action: [bold]{result['final_action']}[/bold]; case: {result['case_id']}; "
        f"db: {result['db']}"
    )


@app.command(
    epilog=examples(
        "tutela run --config examples/run.yaml",
        "tutela run --config run.yaml --shadow-policy candidate.yaml",
        note="Secrets (password, access_token, db, signing_key_passphrase) may be given as "
        "KEY_env: VARIABLE or KEY_file: PATH instead of plain text, which logs a warning; "
        "see examples/run.yaml.",
    )
)
def run(
    config: Path = typer.Option(
        ..., "--config", metavar="FILE", help="Run configuration YAML (see examples/run.yaml)."
    ),
    db: DbOption = None,
    shadow_policy: Path | None = typer.Option(None, "--shadow-policy", help=_SHADOW_HELP),
) -> None:
    """Run the configured personas on their platforms until stopped (SIGINT/SIGTERM)."""
    from tutela.live.runner import load_run_config, run_personas

    cfg = load_run_config(config)
    # --db (or TUTELA_DB) wins over the config
    asyncio.run(run_personas(cfg, db_url=db, shadow_policy=shadow_policy))
