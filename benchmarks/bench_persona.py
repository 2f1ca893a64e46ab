"""Persona benchmark (issue 12): does the reply address what the contact asked?

Runs the persona test set (``tests/persona/data/persona_set.yaml``: synthetic contact lines in en,
nl, de and tl, each with the topic a good reply must address, judged by the set's own rules; see
``benchmarks/persona_set.py``) through two personas in the same run:

* **baseline**: ``src/tutela/persona`` at git revision ``--baseline-rev`` (default: the landed
  tree before the believable-persona change), copied with ``git show`` into a temporary package
  (``benchmarks/_persona_baseline.py``);
* **current**: this working tree's ``tutela.persona``.

Each language's lines are answered in conversations of five consecutive lines, by every shipped
persona whose main language it is, with three seeds. Prints per language and overall, for both:
addressed n/N, the age-mention rate (all replies, and replies to lines that did not ask the age),
verbatim repeats within a conversation, and replies that pass that persona's outgoing guard.
``--misses N`` lists up to N lines the current persona did not address. Run:

    .venv/bin/python benchmarks/bench_persona.py [--baseline-rev REV] [--misses 20] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._persona_baseline import BASELINE_REV, baseline_planner
from benchmarks.persona_set import LANGUAGES, Tally, current_planner, load_set, run_set


def _row(name: str, t: Tally) -> str:
    pct = 100 * t.addressed / t.replies if t.replies else 0.0
    age = 100 * t.age_mentions / t.replies if t.replies else 0.0
    unasked = 100 * t.age_mentions_unasked / t.unasked if t.unasked else 0.0
    return (
        f"  {name:<9} addressed {t.addressed:>4}/{t.replies:<4} ({pct:5.1f} %)  "
        f"age {age:5.1f} % (unasked {unasked:5.1f} %)  repeats {t.repeats:>3}  "
        f"guard {t.guard_passed}/{t.replies}"
    )


def _as_dict(t: Tally) -> dict[str, int]:
    return {k: v for k, v in vars(t).items() if k != "misses"}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--baseline-rev", default=BASELINE_REV)
    ap.add_argument("--misses", type=int, default=0, help="list this many current misses")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    data = load_set()
    results = {
        "baseline": run_set(data, baseline_planner(args.baseline_rev)),
        "current": run_set(data, current_planner),
    }
    if args.json:
        print(json.dumps({k: {lg: _as_dict(t) for lg, t in v.items()} for k, v in results.items()}))
        return 0
    n_lines = {lang: len(data["lines"][lang]) for lang in LANGUAGES}
    print(f"persona set: {n_lines} lines; baseline {args.baseline_rev[:10]} vs working tree")
    print(
        "each line is answered once per persona of its language and seed (replies = lines x"
        " personas x seeds); addressed: the reply meets the line's judging rule; age: replies"
        " stating the age (unasked: of those whose line did not ask it)"
    )
    for lang in (*LANGUAGES, "all"):
        print(lang)
        print(_row("baseline", results["baseline"][lang]))
        print(_row("current", results["current"][lang]))
    if args.misses:
        print(f"current misses (first {args.misses}):")
        for miss in results["current"]["all"].misses[: args.misses]:
            print("  " + miss)
    print(f"rerun: .venv/bin/python benchmarks/bench_persona.py --baseline-rev {args.baseline_rev}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
