"""Live-path quality benchmark: labelled scenarios through the whole live path, now vs a baseline.

Every labelled scenario file in a folder (default ``../shared/data/live``; the scenario format:
lines of a contact writing to a decoy persona, plus ``expect`` / ``not_before`` / ``by`` / ``kind``)
runs through ``tutela.live.demo.run_demo`` (durable record, incremental scoring, policy ladder,
guarded reply, deterrence), each in a fresh temporary SQLite database, twice:

* **current**: this working tree;
* **baseline**: the landed project at a git revision (default ``d03e109``), checked out with
  ``git worktree add --detach`` into a temporary folder and run in a subprocess of the same Python
  with ``PYTHONPATH=<worktree>/src``. The subprocess only calls that revision's ``load_scenario``
  and ``run_demo`` per file and writes the decisions as JSON; both runs are scored here by the
  current tree's ``tutela.live.scoring`` (the scenario format's scoring rule: first warning,
  i.e. deter, escalate or refer, after line ``not_before`` and by line ``by``; benign contacts
  warned; ``refer`` scenarios proposed for referral).

Prints, per language, baseline vs current: recall by ``by`` (warned in time / soliciting),
premature warnings, false warnings on benign contacts, referral recall, median lines from the
first soliciting line to the warning; then the scenarios whose outcome changed. Run:

    .venv/bin/python benchmarks/bench_live_quality.py [--dir ../shared/data/live]
        [--baseline-rev d03e109] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tutela.cli._app import configure_logging
from tutela.errors import TutelaError
from tutela.live.scoring import evaluate_live, live_report, load_live_scenarios

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DIR = ROOT.parent / "shared" / "data" / "live"
DEFAULT_REV = "d03e109"

# Runs inside the baseline worktree: only that revision's load_scenario and run_demo are used.
CHILD = r"""
import json, logging, sys, tempfile
from pathlib import Path
import structlog
structlog.configure(
    wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
    logger_factory=structlog.PrintLoggerFactory(sys.stderr),
)
import tutela
from tutela.live.demo import load_scenario, run_demo
out, paths = sys.argv[1], sys.argv[2:]
results = []
for p in paths:
    with tempfile.TemporaryDirectory(prefix="tutela-demo-", ignore_cleanup_errors=True) as folder:
        r = run_demo(load_scenario(p), db_url=f"sqlite:///{Path(folder) / 'tutela.db'}")
    results.append({"decisions": r["decisions"], "final_action": r["final_action"]})
Path(out).write_text(json.dumps({"tutela": tutela.__file__, "results": results}))
"""


def git(*args: str) -> str:
    r = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"git {' '.join(args)} failed: {r.stderr.strip()}")
    return r.stdout.strip()


def run_baseline(rev: str, paths: list[Path]) -> tuple[str, list[dict], float]:
    """(full commit, run_demo results per path, seconds) of revision ``rev``."""
    commit = git("rev-parse", "--verify", f"{rev}^{{commit}}")
    tmp = Path(tempfile.mkdtemp(prefix="tutela-bench-baseline-"))
    tree = tmp / "tree"
    git("worktree", "add", "--detach", str(tree), commit)
    try:
        out = tmp / "results.json"
        env = {**os.environ, "PYTHONPATH": str(tree / "src")}
        started = time.perf_counter()
        r = subprocess.run(
            [sys.executable, "-c", CHILD, str(out), *(str(p.resolve()) for p in paths)],
            cwd=tree,
            env=env,
            capture_output=True,
            text=True,
        )
        seconds = time.perf_counter() - started
        if r.returncode != 0:
            raise SystemExit(f"baseline run failed:\n{r.stderr[-4000:]}")
        data = json.loads(out.read_text())
        if not Path(data["tutela"]).resolve().is_relative_to(tree.resolve()):
            raise SystemExit(f"baseline imported tutela from {data['tutela']}, not from {tree}")
        return commit, data["results"], seconds
    finally:
        git("worktree", "remove", "--force", str(tree))
        shutil.rmtree(tmp, ignore_errors=True)


def _ratio(m: dict, num: str, den: str, ratio: str) -> str:
    if m[ratio] is None:
        return "-"
    return f"{m[ratio]:.3f} ({m[num]}/{m[den]})"


def _median(m: dict) -> str:
    return "-" if m["median_lines_to_warning"] is None else f"{m['median_lines_to_warning']:g}"


COLUMNS = (  # (header, cell, cell width)
    ("recall_by", lambda m: _ratio(m, "warned_in_time", "soliciting", "recall_by"), 13),
    ("premature", lambda m: str(m["premature"]), 4),
    ("false warnings", lambda m: f"{m['false_warnings']}/{m['benign']}" if m["benign"] else "-", 6),
    ("refer recall", lambda m: _ratio(m, "referred", "refer_due", "refer_recall"), 11),
    ("median lines", _median, 5),
)


def print_table(baseline: dict, current: dict) -> None:
    langs = sorted(set(baseline["languages"]) | set(current["languages"]))
    head1 = f"{'':5s}" + "".join(f" | {name:^{2 * w + 3}s}" for name, _, w in COLUMNS)
    head2 = f"{'lang':5s}" + "".join(f" | {'base':>{w}s} → {'now':>{w}s}" for _, _, w in COLUMNS)
    print(head1)
    print(head2)
    print("-" * len(head2))
    for lang in [*langs, "all"]:
        b = baseline["overall"] if lang == "all" else baseline["languages"].get(lang)
        c = current["overall"] if lang == "all" else current["languages"].get(lang)
        cells = []
        for _, fmt, w in COLUMNS:
            bs = fmt(b) if b else "-"
            cs = fmt(c) if c else "-"
            cells.append(f" | {bs:>{w}s} {'→' if bs == cs else '⇒'} {cs:>{w}s}")
        print(f"{lang:5s}" + "".join(cells))


def _outcome(s: dict) -> str:
    if s["expect"] == "none":
        return "FALSE WARNING" if s["false_warning"] else "ok"
    for flag in ("premature", "late", "missed"):
        if s[flag]:
            return flag
    if s["referral_due"] and not s["referred"]:
        return "in time, not referred"
    return "ok"


def changed(baseline: dict, current: dict) -> list[dict]:
    out = []
    for b, c in zip(baseline["scenarios"], current["scenarios"], strict=True):
        if (_outcome(b), b["first_warning_line"]) != (_outcome(c), c["first_warning_line"]):
            out.append(
                {
                    "name": c["name"],
                    "kind": c["kind"],
                    "expect": c["expect"],
                    "not_before": c["not_before"],
                    "by": c["by"],
                    "baseline": {
                        "first_warning_line": b["first_warning_line"],
                        "outcome": _outcome(b),
                    },
                    "current": {
                        "first_warning_line": c["first_warning_line"],
                        "outcome": _outcome(c),
                    },
                }
            )
    return out


def main() -> int:
    configure_logging(verbose=False)
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--dir", type=Path, default=None, help="folder of labelled scenarios (../shared/data/live)"
    )
    ap.add_argument("--baseline-rev", default=DEFAULT_REV, help="git revision of the baseline")
    ap.add_argument("--json", action="store_true", help="print JSON instead of tables")
    args = ap.parse_args()
    folder = args.dir or DEFAULT_DIR
    shown = str(args.dir) if args.dir else "../shared/data/live"
    try:
        labelled = load_live_scenarios(folder)
    except TutelaError as e:
        raise SystemExit(f"error: {e}") from e
    paths = [s.path for s in labelled]
    commit, base_results, base_s = run_baseline(args.baseline_rev, paths)
    baseline = live_report(labelled, base_results)
    started = time.perf_counter()
    current = evaluate_live(paths)
    cur_s = time.perf_counter() - started
    diff = changed(baseline, current)
    rerun = (
        f".venv/bin/python benchmarks/bench_live_quality.py --dir {shown} "
        f"--baseline-rev {args.baseline_rev}"
    )
    if args.json:
        payload = {
            "dir": str(folder),
            "baseline_rev": args.baseline_rev,
            "baseline_commit": commit,
            "baseline": baseline,
            "current": current,
            "changed": diff,
            "seconds": {"baseline": round(base_s, 1), "current": round(cur_s, 1)},
            "rerun": rerun + " --json",
        }
        print(json.dumps(payload, ensure_ascii=False, indent=2))
        return 0
    print(
        f"{len(labelled)} live scenarios in {shown}: baseline {args.baseline_rev} "
        f"({commit[:12]}, {base_s:.0f} s) vs current working tree ({cur_s:.0f} s)"
    )
    print("(⇒ marks a changed figure; counts in brackets)")
    print_table(baseline, current)
    if diff:
        print(f"\n{len(diff)} scenarios changed outcome (baseline → current):")
        for d in diff:
            b, c = d["baseline"], d["current"]
            window = "" if d["not_before"] is None else f" [{d['not_before']}..{d['by']}]"
            was = f"{b['outcome']} @{b['first_warning_line']}"
            now = f"{c['outcome']} @{c['first_warning_line']}"
            print(
                f"  {d['name']:8s} {d['kind'] or '':17s} {d['expect']:6s}{window:8s} {was} → {now}"
            )
    else:
        print("\nno scenario changed outcome")
    print(f"rerun: {rerun}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
