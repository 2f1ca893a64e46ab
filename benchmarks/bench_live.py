"""Live-path benchmark: many concurrent conversations on the in-memory connector.

N synthetic contacts (default 1,000) talk to one persona at the same time, round-robin, each
sending M lines (default 8) of synthetic small talk, with a few soliciting contacts among them.
Every inbound message goes the whole way: durable record (SQLite WAL, synchronous=FULL, hash-
chained ledger), identity linking, incremental scoring, policy decision (recorded), guarded reply
(recorded). The typing delay is simulated, so the latency measured is the engine's own work per
inbound message. Prints p50/p95/p99 latency, throughput and peak RSS; the baseline in the same run
is the same pipeline with the store on an in-memory SQLite database, to show the cost of durability.

    .venv/bin/python benchmarks/bench_live.py [--conversations 1000] [--lines 8]

Targets (issue 3): p99 < 20 ms per inbound message, < 500 MB RSS, 1,000 concurrent conversations.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import statistics
import tempfile
import time
from pathlib import Path

from tutela.cli._app import configure_logging
from tutela.connectors import InMemoryConnector, MemoryHub
from tutela.live.clock import SimulatedClock
from tutela.live.engine import PersonaEngine
from tutela.runtime import build_live, select_persona

SMALL_TALK = [
    "hi",
    "how are you",
    "what are you doing",
    "do you like games",
    "what music do you like",
    "how was school",
    "i like football",
    "cool",
    "lol",
    "what is your favourite game",
]
SOLICITING = ["how old are you", "are your parents home", "dont tell anyone", "turn on your webcam"]


async def run(url: str, n_conv: int, n_lines: int) -> list[float]:
    clock = SimulatedClock()
    # built as every entry point builds (tutela.runtime); unsigned, as the benchmark always ran:
    # the figures measure the pipeline, not the checkpoint signatures
    system = build_live(url, signer=None, clock=clock.now)
    op = system.recorder.ensure_demo_operation()
    persona = select_persona("gb-ellie")
    hub = MemoryHub(now=clock.now)
    conn = InMemoryConnector(hub, account=persona.id, now=clock.now)
    engine = system.engine(
        PersonaEngine, connector=conn, persona=persona, operation_id=op.id, clock=clock
    )
    rng = random.Random(0)
    contacts = [hub.client(f"contact-{i}") for i in range(n_conv)]
    soliciting = {i for i in range(n_conv) if i % 20 == 0}
    latencies: list[float] = []
    await conn.start()
    for line in range(n_lines):
        for i, c in enumerate(contacts):
            pool = SOLICITING if i in soliciting and line >= 2 else SMALL_TALK
            await c.say(persona.id, rng.choice(pool))
            msg = await conn.next_message(timeout=5)
            t = time.perf_counter()
            await engine.handle(msg)
            latencies.append(time.perf_counter() - t)
            while c.pending():
                await c.next_reply(timeout=1)
    await conn.stop()
    system.close()
    return latencies


def report(name: str, lat: list[float]) -> tuple[float, float]:
    q = statistics.quantiles(lat, n=100)
    p50, p95, p99 = q[49] * 1e3, q[94] * 1e3, q[98] * 1e3
    print(
        f"{name:28s} {len(lat):>7,} msgs  p50 {p50:6.2f} ms  p95 {p95:6.2f} ms  p99 {p99:6.2f} ms"
        f"  {len(lat) / sum(lat):8,.0f} msgs/s"
    )
    return p99, len(lat) / sum(lat)


def main() -> int:
    configure_logging(verbose=False)  # engine logs at info level would measure the console
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--conversations", type=int, default=1000)
    ap.add_argument("--lines", type=int, default=8)
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="tutela-bench-"))
    durable = asyncio.run(run(f"sqlite:///{folder / 'bench.db'}", args.conversations, args.lines))
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    baseline = asyncio.run(run("sqlite://", args.conversations, args.lines))
    print(f"{args.conversations:,} concurrent conversations x {args.lines} inbound lines")
    p99, rate = report("durable (SQLite file, WAL)", durable)
    p99_b, rate_b = report("baseline (in-memory SQLite)", baseline)
    print(f"durability cost: p99 x{p99 / p99_b:.2f}, throughput x{rate / rate_b:.2f}")
    print(f"peak RSS (whole process, both runs): {rss_mb:,.0f} MB")
    print("targets: p99 < 20 ms, RSS < 500 MB")
    print(
        f"rerun: .venv/bin/python benchmarks/bench_live.py --conversations {args.conversations} "
        f"--lines {args.lines}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
