"""Peak memory of streaming a PAN12 XML corpus with ``tutela.ingest.read_corpus``.

Run on demand (not a test)::

    python benchmarks/bench_memory_pan12.py                    # 2,000,000 messages
    python benchmarks/bench_memory_pan12.py --messages 200000

Writes two synthetic PAN12-format files into a temporary folder (N messages, and a baseline of
N/10), streams each in a fresh subprocess counting messages, and prints each run's peak resident
set size (``resource.getrusage(RUSAGE_SELF).ru_maxrss``, KiB on Linux), the ratio of the two peaks
and the throughput. A flat-memory reader has a ratio near 1. Target: under 300 MB peak RSS at
2,000,000 messages (the official PAN12 test corpus has about 2M messages). Exit status 2 when the
target is missed.

The texts are synthetic filler sentences; nothing is read from ``../shared/data``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_MB = 300
_FILLER = (
    "hello how was your day the weather is fine we went to the park after school "
    "homework maths test tomorrow music band practice football match saturday morning "
    "reading a book about space the bus was late again dinner is ready see you later"
)
_WORDS = _FILLER.split(" ")


def generate(path: Path, n_messages: int, *, per_conversation: int = 60, seed: int = 0) -> None:
    """Write a PAN12-format XML file with ``n_messages`` synthetic messages."""
    rng = random.Random(seed)
    written = 0
    conv = 0
    with path.open("w", encoding="utf-8") as f:
        f.write("<conversations>\n")
        while written < n_messages:
            conv += 1
            f.write(f'  <conversation id="{conv:032x}">\n')
            authors = (f"{rng.getrandbits(128):032x}", f"{rng.getrandbits(128):032x}")
            count = min(per_conversation, n_messages - written)
            lines = []
            for line in range(1, count + 1):
                text = " ".join(rng.choices(_WORDS, k=rng.randint(2, 12)))
                lines.append(
                    f'    <message line="{line}">\n'
                    f"      <author>{authors[line % 2]}</author>\n"
                    f"      <time>{(line // 60) % 24:02d}:{line % 60:02d}</time>\n"
                    f"      <text>{text} &amp; more</text>\n"
                    "    </message>\n"
                )
            f.write("".join(lines))
            f.write("  </conversation>\n")
            written += count
        f.write("</conversations>\n")


def _child(path: str) -> None:
    """Stream ``path`` and print one JSON line: messages, conversations, seconds, peak RSS."""
    import resource

    from tutela.ingest import read_corpus

    start = time.perf_counter()
    n_messages = n_conversations = 0
    for conversation in read_corpus(path):
        n_conversations += 1
        n_messages += len(conversation.messages)
    seconds = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(
        json.dumps(
            {
                "messages": n_messages,
                "conversations": n_conversations,
                "seconds": seconds,
                "peak_rss_mb": peak_kib / 1024,
            }
        )
    )


def _measure(path: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2_000_000, help="messages in the big file")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child)
        return 0
    n = args.messages
    if n < 10:
        parser.error("--messages must be at least 10")

    with tempfile.TemporaryDirectory(prefix="tutela-bench-") as tmp:
        results = {}
        for label, count in (("baseline", n // 10), ("full", n)):
            path = Path(tmp) / f"pan12-synthetic-{count}.xml"
            t0 = time.perf_counter()
            generate(path, count)
            gen_s = time.perf_counter() - t0
            r = _measure(path)
            if r["messages"] != count:
                print(f"error: read {r['messages']} messages, wrote {count}", file=sys.stderr)
                return 1
            r["file_mb"] = path.stat().st_size / 1e6
            r["generate_s"] = gen_s
            results[label] = r
            path.unlink()
            print(
                f"{label:8s} {count:>10,} messages  {r['conversations']:>8,} conversations  "
                f"file {r['file_mb']:8.1f} MB  peak RSS {r['peak_rss_mb']:7.1f} MB  "
                f"{count / r['seconds']:>9,.0f} messages/s  ({r['seconds']:.1f} s)"
            )
    ratio = results["full"]["peak_rss_mb"] / results["baseline"]["peak_rss_mb"]
    peak = results["full"]["peak_rss_mb"]
    verdict = "OK" if peak < TARGET_MB else "OVER TARGET"
    print(f"peak RSS ratio full/baseline: {ratio:.2f} (flat memory = about 1)")
    print(f"target: < {TARGET_MB} MB at {n:,} messages: {peak:.1f} MB {verdict}")
    print(f"python: {sys.version.split()[0]}  cpu cores: {os.cpu_count()}")
    rerun = shlex.join(["python", "benchmarks/bench_memory_pan12.py", "--messages", str(n)])
    print(f"rerun: {rerun}")
    return 0 if peak < TARGET_MB else 2


if __name__ == "__main__":
    sys.exit(main())
