"""Identity-linking benchmark: the synthetic multi-platform suite through the live path.

Generates the seeded suite of ``benchmarks/identity_suite.py`` (people who reappear under other
handles on other platforms and personas, volunteering phone numbers, payment references, handles
or e-mail addresses in en, nl, de and tl, with hard negatives), runs every line through the
persona engines (durable store, the store's own linker), then prints pairwise link precision,
recall and F0.5 per kind and overall (pairs of conversations: same true person <-> same resolved
contact after merges), and the share of merges whose audit row cites both evidence lines.

    .venv/bin/python benchmarks/bench_identity.py [--contacts 300] [--seed 0] [--show-errors]

Targets (issue 13, item 7): precision >= 0.99, recall >= 0.8, 100 % of links citing their
evidence line.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from identity_run import run_suite, score
from identity_suite import KINDS, generate
from tutela.cli._app import configure_logging


def main() -> int:
    configure_logging(verbose=False)
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--contacts", type=int, default=300, help="synthetic people (default 300)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--show-errors", action="store_true", help="list false and missed links")
    args = ap.parse_args()
    suite = generate(args.contacts, args.seed)
    t = time.perf_counter()
    outcome = run_suite(suite)
    elapsed = time.perf_counter() - t
    result = score(suite, outcome)
    n_lines = sum(len(c.lines) for c in suite.conversations)
    contacts = {c for _, c in outcome.resolved.values()}
    print(
        f"seed {args.seed}: {args.contacts} people, {len(suite.conversations)} conversations, "
        f"{n_lines} contact lines, {len(contacts)} resolved contacts, {elapsed:.1f} s"
    )
    print(
        f"{'kind':8s} {'true pairs':>10s} {'linked':>7s} {'false':>6s} {'precision':>9s} "
        f"{'recall':>7s} {'F0.5':>6s}"
    )
    for kind in (*KINDS, "other"):
        f = result["kinds"][kind]
        print(
            f"{kind:8s} {f.tp + f.fn:10d} {f.tp:7d} {f.fp:6d} {f.precision:9.3f} "
            f"{f.recall:7.3f} {f.f05:6.3f}"
        )
    f = result["all"]
    print(
        f"{'all':8s} {f.tp + f.fn:10d} {f.tp:7d} {f.fp:6d} {f.precision:9.3f} "
        f"{f.recall:7.3f} {f.f05:6.3f}"
    )
    print(
        f"merges {result['merges']}: citing both evidence lines {result['cited']:.1%} "
        f"(repeating line {result['cited_repeat']:.1%}, first line {result['cited_first']:.1%})"
    )
    if args.show_errors:
        for a, b, label in result["false_pairs"]:
            print(f"FALSE LINK persons {a} and {b} ({label})")
            for c in suite.conversations:
                if c.person in (a, b):
                    print(f"   {c.person} {c.persona} {c.platform}: {' | '.join(c.lines)}")
        truth = [c.person for c in suite.conversations]
        seen = set()
        for i, ci in enumerate(suite.conversations):
            for j in range(i + 1, len(truth)):
                if truth[j] == ci.person and outcome.resolved[i][1] != outcome.resolved[j][1]:
                    if ci.person in seen:
                        continue
                    seen.add(ci.person)
                    print(f"MISSED person {ci.person} ({suite.link_kind.get(ci.person)})")
                    for c in suite.conversations:
                        if c.person == ci.person:
                            print(f"   {c.persona} {c.platform}: {' | '.join(c.lines)}")
    print("targets: precision >= 0.99, recall >= 0.8, 100 % of merges citing their evidence")
    print(
        f"rerun: .venv/bin/python benchmarks/bench_identity.py --contacts {args.contacts} "
        f"--seed {args.seed}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
