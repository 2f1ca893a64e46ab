"""Hard-negative benign children's chats: how many does batch analysis flag?

``benchmarks/data/hard_negatives.jsonl`` holds 48 short synthetic benign conversations (12 per
language, en/nl/de/tl) written for this benchmark, never used in training: friends paying back
money, a sleepover, a parent at pick-up, an aunt asking for a photo of a science-fair project, a
teacher asking for cameras on, classmates joking about sex education, a birthday secret, a coach's
carpool, a gaming voice call, a nurse's reminder, a babysitter, a cousin's visit.

Compares, in the same run, ``tutela analyze`` as shipped (evidence lines required) with the
classifier alone (``lines.enabled: false``, the first version's rule). Target: at most 1 in 40
flagged. Run:

    .venv/bin/python benchmarks/bench_hard_negatives.py [--file FILE]
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

from tutela.detect.analyze import analyze
from tutela.detect.config import LineEvidenceConfig
from tutela.detect.persistence import load_model
from tutela.ingest import read_corpus

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = ROOT / "benchmarks" / "data" / "hard_negatives.jsonl"
    ap.add_argument("--file", type=Path, default=default)
    args = ap.parse_args()
    model = load_model(None)
    convs = list(read_corpus(args.file))
    langs = {c.id: c.lang for c in convs}
    runs = {
        "classifier only (first version)": LineEvidenceConfig(enabled=False),
        "evidence lines (shipped)": LineEvidenceConfig(),
    }
    print(f"{len(convs)} benign conversations in {args.file.name}")
    for name, cfg in runs.items():
        result = analyze(list(read_corpus(args.file)), model, lines=cfg)
        per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for c in result.conversations:
            per[langs[c.id] or "?"][0] += int(c.label)
            per[langs[c.id] or "?"][1] += 1
        flagged = [c for c in result.conversations if c.label]
        total = sum(v[0] for v in per.values())
        print(f"\n{name}: {total}/{len(result.conversations)} flagged "
              f"(target <= {len(result.conversations) / 40:.1f})")
        for lang in sorted(per):
            print(f"  {lang}: {per[lang][0]}/{per[lang][1]}")
        for c in flagged:
            why = "; ".join(f"line {e.line} p={e.score.probability:.2f} {'/'.join(e.score.labels)}"
                            for e in c.evidence[:2]) or f"classifier {c.model_risk:.2f}"
            print(f"    {c.id}: risk {c.risk:.2f} ({why})")
        authors = [a for a in result.authors if a.label]
        print(f"  authors flagged: {len(authors)}/{len(result.authors)}")
        for a in authors:
            why = "; ".join(f"line {e.line} p={e.score.probability:.2f} {'/'.join(e.score.labels)}"
                            for e in a.evidence[:2]) or f"classifier {a.model_risk:.2f}"
            print(f"    {a.id}: risk {a.risk:.2f} ({why})")
    print("\nrerun: .venv/bin/python benchmarks/bench_hard_negatives.py")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
