"""Reader benchmark: every chat-export reader on the same synthetic chat, against the generic
JSONL reader (the baseline: the format the first version read) in the same run.

One synthetic two-person chat of ``--messages`` short innocent lines is written in each format
(WhatsApp Android, Telegram Desktop JSON, DiscordChatExporter JSON, Messenger JSON with its
Latin-1 mis-encoding, an irssi log, CSV, generic JSONL) to a temporary folder; each file is read
with ``tutela.ingest.read_corpus`` in a fresh process (so peak memory is the reader's own) and
the figures printed: seconds, messages/s, peak RSS (MB), and the ratio to the baseline.

    .venv/bin/python benchmarks/bench_readers.py [--messages 200000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

WORDS = ("hi", "how was school", "ok", "lol", "see you", "what game", "nice", "bye for now")
START = datetime(2024, 3, 1, 18, 0, tzinfo=UTC)


def _lines(n: int):
    for i in range(n):
        who = ("Ann", "Bob")[i % 2]
        yield i, who, f"{WORDS[i % len(WORDS)]} {i}", START + timedelta(seconds=20 * i)


def write_all(folder: Path, n: int) -> dict[str, Path]:
    files: dict[str, Path] = {}
    p = files["generic"] = folder / "chat.jsonl"
    with p.open("w") as f:
        for _, who, text, at in _lines(n):
            row = {"conversation": "c1", "author": who, "time": at.isoformat(), "text": text}
            f.write(json.dumps(row) + "\n")
    p = files["whatsapp"] = folder / "chat.txt"
    with p.open("w") as f:
        for _, who, text, at in _lines(n):
            f.write(f"{at:%d/%m/%Y, %H:%M} - {who}: {text}\n")
    msgs = [
        {
            "id": i,
            "type": "message",
            "date": f"{at:%Y-%m-%dT%H:%M:%S}",
            "date_unixtime": str(int(at.timestamp())),
            "from": who,
            "from_id": f"user{1 + i % 2}",
            "text": text,
        }
        for i, who, text, at in _lines(n)
    ]
    tg = {"name": "Bob", "type": "personal_chat", "id": 1, "messages": msgs}
    files["telegram"] = folder / "result.json"
    files["telegram"].write_text(json.dumps(tg, indent=1))
    dc = {
        "guild": {"id": "1", "name": "Direct Messages"},
        "channel": {"id": "9", "type": "DirectTextChat", "name": "bob"},
        "messages": [
            {
                "id": str(i),
                "type": "Default",
                "timestamp": at.isoformat(),
                "content": text,
                "author": {"id": str(40 + i % 2), "name": who},
                "attachments": [],
            }
            for i, who, text, at in _lines(n)
        ],
    }
    files["discord"] = folder / "discord.json"
    files["discord"].write_text(json.dumps(dc, indent=1))
    fb = {
        "participants": [{"name": "Ann"}, {"name": "Bob"}],
        "messages": [
            {
                "sender_name": who,
                "timestamp_ms": int(at.timestamp() * 1000),
                "content": (text + " café").encode("utf-8").decode("latin-1"),
            }
            for _, who, text, at in reversed(list(_lines(n)))
        ],
        "title": "Bob",
        "thread_path": "inbox/bob_1",
    }
    files["messenger"] = folder / "message_1.json"
    files["messenger"].write_text(json.dumps(fb, indent=1))
    p = files["irc"] = folder / "irssi.log"
    with p.open("w") as f:
        f.write(f"--- Log opened {START:%a %b %d %H:%M:%S %Y}\n")
        for _, who, text, at in _lines(n):
            f.write(f"{at:%H:%M} < {who.lower()}> {text}\n")
    p = files["csv"] = folder / "chat.csv"
    with p.open("w") as f:
        f.write("chat,author,text,time\n")
        for _, who, text, at in _lines(n):
            f.write(f"c1,{who},{text},{at.isoformat()}\n")
    return files


# peak RSS from /proc (VmHWM is per address space, reset by exec; ru_maxrss is not)
_CHILD = """
import sys, time
from tutela.ingest import read_corpus
t = time.perf_counter()
n = sum(len(c.messages) for c in read_corpus(sys.argv[1], fmt=sys.argv[2]))
s = time.perf_counter() - t
hwm = next(ln for ln in open("/proc/self/status") if ln.startswith("VmHWM:"))
print(n, s, int(hwm.split()[1]) / 1024)
"""


def measure(path: Path, fmt: str) -> tuple[int, float, float]:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path), fmt], capture_output=True, text=True, check=True
    ).stdout.split()
    return int(out[0]), float(out[1]), float(out[2])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=200_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="tutela-bench-readers-") as tmp:
        files = write_all(Path(tmp), args.messages)
        base_n, base_s, base_mb = measure(files["generic"], "generic")
        print(
            f"{args.messages:,} messages per file; baseline generic JSONL: {base_s:.2f} s, "
            f"{base_n / base_s:,.0f} msg/s, peak RSS {base_mb:.0f} MB"
        )
        print(
            f"{'format':10} {'MB on disk':>10} {'s':>7} {'msg/s':>10} {'RSS MB':>8} "
            f"{'time ×':>7} {'RSS ×':>6}"
        )
        for fmt, path in files.items():
            n, s, mb = measure(path, fmt)
            assert n == args.messages, (fmt, n)
            size = path.stat().st_size / 1e6
            print(
                f"{fmt:10} {size:10.1f} {s:7.2f} {n / s:10,.0f} {mb:8.0f} "
                f"{s / base_s:7.2f} {mb / base_mb:6.2f}"
            )


if __name__ == "__main__":
    main()
