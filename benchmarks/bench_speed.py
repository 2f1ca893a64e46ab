"""Speed benchmark: the incremental scorer vs re-scoring every prefix, same model, same data.

Messages are fed one at a time per conversation. The incremental scorer updates its running sums
(O(message length)); the baseline calls the batch model on the whole prefix after every message
(what a naive early-warning system does). Both produce the same scores (tested in
tests/detect/test_model.py). Prints messages/s for each and the ratio. Single process, one core
(BLAS threads pinned to 1).

    .venv/bin/python benchmarks/bench_speed.py [--conversations 200] [--data ../shared/data]

Without ../shared/data it uses synthetic conversations generated from the test templates.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from tutela.detect.features import Line
from tutela.detect.incremental import IncrementalScorer, ScoringTables
from tutela.detect.model import Document, document_from_conversation
from tutela.detect.persistence import load_model
from tutela.ingest import read_corpus


def load_docs(data: Path, n: int) -> list[Document]:
    path = data / "segments" / "nl.dev.jsonl"
    if path.is_file():
        docs = []
        for conv in read_corpus(path):
            docs.append(document_from_conversation(conv))
            if len(docs) >= n:
                break
        return docs
    import random

    rng = random.Random(0)
    words = [
        "hi",
        "how",
        "are",
        "you",
        "school",
        "game",
        "football",
        "homework",
        "music",
        "dog",
        "cat",
        "what",
        "doing",
        "later",
    ]
    return [
        Document(
            tuple(Line("ab"[j % 2], " ".join(rng.choices(words, k=6))) for j in range(40)), "en"
        )
        for _ in range(n)
    ]


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "data"
    )
    ap.add_argument("--conversations", type=int, default=200)
    ap.add_argument(
        "--baseline-conversations",
        type=int,
        default=30,
        help="prefix re-scoring is quadratic; time it on fewer conversations",
    )
    args = ap.parse_args()
    model = load_model()
    tables = ScoringTables(model)
    docs = load_docs(args.data, args.conversations)
    n_msgs = sum(len(d.lines) for d in docs)

    # warm-up (lexicon compilation, caches)
    IncrementalScorer(tables, lang=docs[0].lang).update(docs[0].lines[0])

    t = time.perf_counter()
    for d in docs:
        s = IncrementalScorer(tables, lang=d.lang)
        for line in d.lines:
            s.update(line)
    inc_s = time.perf_counter() - t
    inc_rate = n_msgs / inc_s

    base_docs = docs[: args.baseline_conversations]
    base_msgs = sum(len(d.lines) for d in base_docs)
    t = time.perf_counter()
    for d in base_docs:
        for k in range(1, len(d.lines) + 1):
            model.decision_function([Document(d.lines[:k], d.lang)])
    base_s = time.perf_counter() - t
    base_rate = base_msgs / base_s

    # the same baseline restricted to the same conversations, for an exact same-data ratio
    t = time.perf_counter()
    for d in base_docs:
        s = IncrementalScorer(tables, lang=d.lang)
        for line in d.lines:
            s.update(line)
    inc_same_rate = base_msgs / (time.perf_counter() - t)

    print(f"incremental scorer: {n_msgs:,} messages in {inc_s:.2f}s = {inc_rate:,.0f} messages/s")
    print(
        f"prefix re-scoring baseline: {base_msgs:,} messages in {base_s:.2f}s = "
        f"{base_rate:,.0f} messages/s"
    )
    print(
        f"incremental on the baseline's {len(base_docs)} conversations: "
        f"{inc_same_rate:,.0f} messages/s"
    )
    print(f"ratio (same conversations): {inc_same_rate / base_rate:,.1f}x")
    print("target: >= 20,000 messages/s on one core and >= 50x the baseline")
    print("rerun: .venv/bin/python benchmarks/bench_speed.py --conversations", args.conversations)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
