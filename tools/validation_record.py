"""Regenerate the ISO/IEC 27041 validation record ``src/tutela/evidence/validation.json``.

Every evidence package's ``METHOD.md`` quotes this record (``tutela.evidence.method``): the
test-suite result and the detector's measured error rates, each with the command that produced it.

    python tools/validation_record.py --junit report.xml            # a CI run's JUnit file
    python tools/validation_record.py                               # runs the whole suite (~16 min)
    python tools/validation_record.py --junit report.xml \
        --evaluate examples/chats.jsonl::segments --evaluate HELD-OUT.jsonl::segments

Detector figures: each ``--evaluate PATH::TASK`` (default: ``examples/chats.jsonl`` as
``segments`` and ``authors``) is measured by the project's own ``tutela evaluate PATH --task TASK
--json``; this script reads no corpus itself. The shipped model's training-time cross-validation
is copied from its provenance file (``src/tutela/detect/models/default.provenance.json``).
``--dry-run`` prints the record instead of writing it. Exit status: 0 written, 1 a command
failed, 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import defusedxml.ElementTree as ET

ROOT = Path(__file__).resolve().parents[1]
RECORD = ROOT / "src" / "tutela" / "evidence" / "validation.json"
PROVENANCE = ROOT / "src" / "tutela" / "detect" / "models" / "default.provenance.json"
DEFAULT_EVALUATE = ("examples/chats.jsonl::segments", "examples/chats.jsonl::authors")
TEST_COMMAND = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]


def junit_counts(path: Path) -> dict[str, int]:
    """``{passed, failed, skipped, errors}`` summed over the ``<testsuite>`` elements of a JUnit
    XML file (pytest ``--junitxml``)."""
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    total = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for s in suites:
        for key in total:
            total[key] += int(s.get(key, 0))
    return {
        "passed": total["tests"] - total["failures"] - total["errors"] - total["skipped"],
        "failed": total["failures"],
        "skipped": total["skipped"],
        "errors": total["errors"],
    }


def run_tests(junit: Path) -> None:
    """The whole suite with ``--junitxml`` (its exit status is recorded through the counts)."""
    subprocess.run([*TEST_COMMAND, f"--junitxml={junit}"], cwd=ROOT, check=False)


def evaluate(spec: str) -> dict[str, object]:
    """One detector entry measured by ``tutela evaluate PATH --task TASK --json``."""
    path, _, task = spec.partition("::")
    task = task or "segments"
    args = ["evaluate", path, "--task", task, "--json"]
    done = subprocess.run(
        [sys.executable, "-m", "tutela", *args], cwd=ROOT, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"tutela {' '.join(args)} failed: {done.stderr.strip()[-500:]}")
    m = json.loads(done.stdout)
    return {
        "name": f"{path}, {task}",
        "corpus": path,
        "task": task,
        "command": "tutela " + " ".join(args),
        "n": m.get("n"),
        "precision": m.get("precision"),
        "recall": m.get("recall"),
        "f05": m.get("f05"),
        "measured": datetime.now(UTC).date().isoformat(),
        "source": "tools/validation_record.py",
        "note": "",
    }


def cross_validation() -> dict[str, object] | None:
    """The shipped model's training-time cross-validation, from its provenance file."""
    if not PROVENANCE.is_file():
        return None
    prov = json.loads(PROVENANCE.read_text(encoding="utf-8"))
    overall = prov.get("cross_validation", {}).get("overall", {})
    when = subprocess.run(
        ["git", "log", "-1", "--format=%cs", "--", str(PROVENANCE)],
        cwd=ROOT, capture_output=True, text=True, check=False,
    ).stdout.strip()  # fmt: skip
    return {
        "name": "shipped classifier, "
        f"{prov.get('cross_validation', {}).get('folds')}-fold cross-validation at training "
        "(held-out folds, mean)",
        "corpus": ", ".join(prov.get("data_files", [])),
        "task": "segments",
        "command": prov.get("command"),
        "n": prov.get("documents"),
        "precision": overall.get("precision", {}).get("mean"),
        "recall": overall.get("recall", {}).get("mean"),
        "f05": overall.get("f05", {}).get("mean"),
        "measured": when or None,
        "source": f"src/tutela/detect/models/default.provenance.json (commit {prov.get('commit')})",
        "note": "training-time cross-validation, not a `tutela evaluate` run",
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--junit", type=Path, help="JUnit XML of a test run (default: run the suite)")
    ap.add_argument(
        "--evaluate", action="append", metavar="PATH::TASK", help="repeatable; default: examples"
    )
    ap.add_argument("--out", type=Path, default=RECORD)
    ap.add_argument("--dry-run", action="store_true", help="print the record, write nothing")
    args = ap.parse_args(argv)
    from tutela import __version__

    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.strip() or "unknown"  # fmt: skip
    junit = args.junit
    if junit is None:
        junit = ROOT / ".validation-junit.xml"
        run_tests(junit)
    try:
        counts = junit_counts(junit)
        detector = [d for d in [cross_validation()] if d]
        detector += [evaluate(s) for s in args.evaluate or DEFAULT_EVALUATE]
    except (OSError, ET.ParseError, RuntimeError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    today = datetime.now(UTC).date().isoformat()
    record = {
        "format": "tutela-validation-record-v1",
        "date": today,
        "commit": commit,
        "tool_version": __version__,
        "tests": {
            "command": ".venv/bin/python -m pytest --junitxml=FILE",
            **counts,
            "date": today,
            "source": f"JUnit file {junit.name}",
        },
        "detector": detector,
        "notes": [
            "F0.5 weighs precision twice as much as recall (a false accusation costs more "
            "than a missed contact).",
            "The record is made by tools/validation_record.py; METHOD.md shows its date and "
            "commit, so a record older than the exporting tool is visible.",
        ],
    }
    text = json.dumps(record, ensure_ascii=False, indent=1) + "\n"
    if args.dry_run:
        sys.stdout.write(text)
    else:
        args.out.write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
