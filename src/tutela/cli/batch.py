"""``tutela analyze``, ``tutela evaluate`` and ``tutela train``."""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from tutela import __version__
from tutela.cli._app import (
    NARROW,
    app,
    atomic_write,
    check_output_path,
    err_console,
    out_console,
    progress_bar,
)
from tutela.cli._help import complete_from, examples
from tutela.cli._options import DbOption, DetectionConfigOption, ModelOption
from tutela.errors import InputError
from tutela.ingest import (
    FORMATS,
    ReadWarning,
    detect_format,
    find_pan12_truth,
    parse_options,
    read_corpus,
    read_pan12_predators,
)

if TYPE_CHECKING:
    from tutela.detect.config import DetectionConfig
    from tutela.detect.model import GroomingClassifier

# scikit-learn and the model load only inside the commands that need them, so that `tutela --help`,
# `tutela verify` and the other commands start quickly
TASKS = ("segments", "authors", "early")
# the live path over labelled scenario files (tutela.live.scoring); detect cannot import live, so
# this task is the CLI's own and not in tutela.detect.evaluate.TASKS
LIVE_TASK = "live"
ALL_TASKS = (*TASKS, LIVE_TASK)

JsonOpt = typer.Option(False, "--json", help="Print JSON instead of a table.")
FormatOpt = typer.Option(
    None,
    "--format",
    metavar="NAME",
    autocompletion=complete_from(FORMATS),
    help=f"Force the input format (default: detected from the content): {', '.join(FORMATS)}.",
)
ColumnsOpt = typer.Option(
    None,
    "--columns",
    metavar="MAP",
    help="CSV columns as field=Header pairs, e.g. author=From,text=Body (fields: conversation, "
    "author, text, time, date; default: known header names).",
)


class _Warnings:
    """Collects reader warnings and prints each on stderr as it comes."""

    def __init__(self, *, quiet: bool) -> None:
        self.items: list[ReadWarning] = []
        self._quiet = quiet

    def __call__(self, w: ReadWarning) -> None:
        self.items.append(w)
        if len(self.items) <= 20 or not self._quiet:
            err_console.print(f"warning: {w}", markup=False, highlight=False)

    def to_list(self) -> list[dict]:
        return [w.to_dict() for w in self.items]


def _input(path: Path, fmt: str | None, columns: str | None) -> tuple[str, dict[str, str]]:
    """The format name (forced or detected) and the reader options; checked before any work."""
    if fmt is not None and fmt not in FORMATS:
        raise InputError(f"--format: unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    options = parse_options(columns)
    name = fmt or detect_format(path)
    if options and name != "csv":
        raise InputError(f"--columns applies to --format csv only (this file is read as {name})")
    return name, options


def _setup(
    model_path: Path | None, config: Path | None
) -> tuple[DetectionConfig, GroomingClassifier]:
    from tutela.runtime import load_detection

    detection = load_detection(config, model_path)  # --model > the config's model: > shipped
    return detection.config, detection.model


def _emit(payload: dict, *, as_json: bool, out: Path | None, render) -> None:
    text = json.dumps(payload, ensure_ascii=False, indent=2)
    if out is not None:
        atomic_write(out, text + "\n")
        err_console.print(f"wrote {out}")
    if as_json:
        sys.stdout.write(text + "\n")
    elif out is None:
        render(payload)


@app.command(
    epilog=examples(
        "tutela analyze examples/chats.jsonl",
        "tutela analyze chat.txt --format whatsapp --top 5",
        "tutela analyze export.csv --columns author=From,text=Body",
        "tutela analyze examples/chats.jsonl --json --out result.json",
        "tutela analyze chat.txt --operation 1   # flagged authors -> queue",
    )
)
def analyze(
    path: Path = typer.Argument(
        ...,
        help="A chat export or corpus file: WhatsApp, Telegram, Discord, Messenger/Instagram, "
        "IRC log, CSV, PAN12 XML or JSONL (detected from the content; see README).",
    ),
    as_json: bool = JsonOpt,
    out: Path | None = typer.Option(
        None, "--out", metavar="FILE", help="Also write the JSON result here."
    ),
    top: int = typer.Option(20, "--top", min=1, help="Authors shown in the table."),
    model: ModelOption = None,
    config: DetectionConfigOption = None,
    fmt: str | None = FormatOpt,
    columns: str | None = ColumnsOpt,
    db: DbOption = None,
    operation: int | None = typer.Option(
        None,
        "--operation",
        min=1,
        max=2**31 - 1,
        metavar="ID",
        help="Record the flagged authors as cases of this operation in the --db database (the "
        "file's SHA-256 as provenance); see: tutela operations list.",
    ),
) -> None:
    """Score every author and conversation of a chat export or corpus, ranked by risk.

    Each flagged author comes with the lines that carry the evidence and the nearest reviewed
    example lines. With --operation the flagged authors become cases in the review queue of the
    --db database.
    """
    from tutela.detect.analyze import analyze as run_analysis

    if out is not None:
        check_output_path(out)
    name, options = _input(path, fmt, columns)
    recorder = sha = None
    if operation is not None:
        from tutela.cases.imports import check_import, file_sha256
        from tutela.runtime import open_runtime

        # the import's ledger entries are signed by the database's own key (tutela.runtime), as
        # an export's are, and never by a key other than the one the ledger is signed with
        recorder = open_runtime(db).recorder
        sha = file_sha256(path)
        try:
            # before the analysis, not after it
            check_import(recorder, path=path, fmt=name, sha256=sha, operation_id=operation)
        except Exception:
            recorder.store.close()
            raise
    cfg, clf = _setup(model, config)
    warnings = _Warnings(quiet=as_json)
    with progress_bar(f"analysing {path.name} ({name})", enabled=not as_json) as advance:
        result = run_analysis(
            read_corpus(path, fmt=name, warn=warnings, options=options),
            clf,
            line_indicator_weight=cfg.line_indicator_weight,
            progress=advance,
            lines=cfg.lines,
        )
    payload = {"format": name, **result.to_dict(), "warnings": warnings.to_list()}
    if recorder is not None and operation is not None:
        from tutela.cases.imports import import_analysis
        from tutela.cli.cases import _cli_actor

        summary = import_analysis(
            recorder,
            path=path,
            fmt=name,
            result=result,
            conversations=lambda: read_corpus(path, fmt=name, options=options),
            operation_id=operation,
            actor=_cli_actor(),
            sha256=sha,
        )
        recorder.checkpoint()  # sign the import's last entries now, not at the next export
        payload["import"] = summary.to_dict()
        if not as_json:
            err_console.print(
                f"recorded {summary.conversations_recorded} conversation(s) of flagged authors "
                f"({summary.messages} lines) into operation {operation}: cases "
                f"{', '.join(map(str, summary.cases)) or 'none'} (file SHA-256 {sha})",
                markup=False,
                highlight=False,
            )

    def render(p: dict) -> None:
        table = Table(
            title=f"Authors by risk — {path.name} (top {min(top, len(p['authors']))} "
            f"of {len(p['authors'])})"
        )
        # at a narrow terminal (80 columns) stage and conversation count give way to the
        # evidence; ids and exemplar names fold onto the next line rather than being cut
        narrow = out_console.width < NARROW
        cols = ("#", "author", "risk", "flag", "stage", "convs", "top indicators", "why")
        shown = [c for c in cols if not (narrow and c in ("stage", "convs"))]
        for col in shown:
            table.add_column(
                col,
                justify="right" if col in ("#", "risk", "convs") else "left",
                overflow="fold",
                no_wrap=col in ("#", "risk", "flag"),
                min_width=6 if col == "author" else None,
            )

        def add(*cells: str) -> None:
            table.add_row(*(v for c, v in zip(cols, cells, strict=True) if c in shown))

        for i, a in enumerate(p["authors"][:top], start=1):
            who = f"{a['id']} ({a['name']})" if a.get("name") else a["id"]
            if not a["assessed"]:
                add(str(i), who, "-", "not assessed", "-", str(a["conversations"]), "", "")
                continue
            inds = ", ".join(dict.fromkeys(f"{h['category']}@{h['line']}" for h in a["indicators"]))
            strongest = sorted(a.get("evidence", []), key=lambda e: -e["probability"])[:2]
            why = "; ".join(
                f"line {e['line']} "
                f"{'/'.join(e['labels']) or ', '.join(e['indicators'][:1]) or 'indicator'} "
                f"P={e['probability']:.2f}"
                + (f" ~ {e['nearest'][0]['id']}" if e["nearest"] else "")
                for e in strongest
            )
            add(
                str(i),
                who,
                f"{a['risk']:.3f}",
                "RISK" if a["label"] else "",
                a["stage"],
                str(a["conversations"]),
                inds,
                why,
            )
        out_console.print(table)
        flagged = sum(bool(c["label"]) for c in p["conversations"])
        unassessed = sum(not a["assessed"] for a in p["authors"])
        out_console.print(
            f"{len(p['conversations'])} conversations, {flagged} flagged; "
            f"{sum(bool(a['label']) for a in p['authors'])} authors flagged"
            + (
                f"; {unassessed} authors not assessed (the source holds no message text)"
                if unassessed
                else ""
            )
            + ". Use --json for the evidence lines and their nearest reviewed exemplars."
        )

    _emit(payload, as_json=as_json, out=out, render=render)


@app.command(
    epilog=examples(
        "tutela evaluate examples/chats.jsonl",
        "tutela evaluate examples/chats.jsonl --task early --json",
        "tutela evaluate corpus.xml --task authors --truth predators.txt",
        "tutela evaluate scenarios/ --task live",
    )
)
def evaluate(
    path: Path = typer.Argument(
        ...,
        help="Labelled corpus (JSONL with labels, PAN12 XML with its truth files, or any "
        "format analyze reads, with per-author truth via --truth); for --task live a labelled "
        "scenario file or a folder of them.",
    ),
    truth: Path | None = typer.Option(
        None,
        "--truth",
        metavar="FILE",
        help="PAN12 problem-1 / predators file (found beside the XML if omitted).",
    ),
    task: str = typer.Option(
        "segments",
        "--task",
        metavar="TASK",
        autocompletion=complete_from(ALL_TASKS),
        help="One of segments, authors, early, live. segments: each conversation; authors: each "
        "author; early: how soon a warning comes (eSPD latency); live: labelled scenarios "
        "through the whole live path, the first warning per language.",
    ),
    as_json: bool = JsonOpt,
    model: ModelOption = None,
    config: DetectionConfigOption = None,
    fmt: str | None = FormatOpt,
    columns: str | None = ColumnsOpt,
) -> None:
    """Report precision, recall, F1, F0.5 and ROC-AUC on a labelled corpus.

    --task early adds the eSPD latency measures (speed, F-latency, median warning message;
    Vogt et al. 2021). --task live runs labelled scenarios through the live path and reports,
    per language, warnings in time, premature, late and missed, benign conversations warned and
    referrals.
    """
    if task not in ALL_TASKS:
        raise InputError(f"unknown task {task!r}; choose one of {', '.join(ALL_TASKS)}")
    if task == LIVE_TASK:
        given = [
            o
            for o, v in (
                ("--truth", truth),
                ("--model", model),
                ("--config", config),
                ("--format", fmt),
                ("--columns", columns),
            )
            if v
        ]
        if given:
            raise InputError(
                f"{', '.join(given)} does not apply to --task live (the live path runs with the "
                "shipped model and detection config, as `tutela demo` does)"
            )
        _evaluate_live(path, as_json=as_json)
        return
    from tutela.detect.evaluate import evaluate as run_evaluation

    name, options = _input(path, fmt, columns)
    cfg, clf = _setup(model, config)
    predators = None
    if truth is None and name == "pan12":
        truth, _ = find_pan12_truth(path)
    if truth is not None:
        predators = read_pan12_predators(truth)
    warnings = _Warnings(quiet=as_json)
    with progress_bar(f"evaluating {path.name} ({task})", enabled=not as_json) as advance:
        metrics = run_evaluation(
            read_corpus(path, fmt=name, warn=warnings, options=options),
            clf,
            task=task,
            predators=predators,
            rule=cfg.warning_rule,
            lines=cfg.lines,
            source=str(path),
            progress=advance,
        )

    unmatched = metrics.get("truth_ids_unmatched", 0)
    if unmatched:
        sample = ", ".join(metrics["truth_ids_unmatched_sample"][:3])
        err_console.print(
            f"warning: {truth}: {unmatched} id(s) of the truth file match no author of "
            f"{path.name} (e.g. {sample}); they are not counted",
            markup=False,
            highlight=False,
        )
    if warnings.items:
        metrics["warnings"] = warnings.to_list()

    def render(m: dict) -> None:
        table = Table(title=f"{path.name} — task {task}")
        table.add_column("metric", overflow="fold")
        table.add_column("value", justify="right", overflow="fold")
        for k, v in m.items():
            if isinstance(v, list):
                continue
            table.add_row(k, f"{v:.4f}" if isinstance(v, float) else str(v))
        out_console.print(table)

    _emit(metrics, as_json=as_json, out=None, render=render)


def _fmt_ratio(num: int, den: int) -> str:
    return f"{num} / {den}" if den else "-"


def _why(s: dict) -> str:
    """Why a live scenario failed, in a word or two."""
    for flag in ("false_warning", "premature", "late", "missed"):
        if s[flag]:
            return flag.replace("_", " ")
    return "not referred" if s["referral_due"] and not s["referred"] else ""


def _evaluate_live(path: Path, *, as_json: bool) -> None:
    """``tutela evaluate PATH --task live``: the live path over labelled scenarios."""
    from tutela.live.scoring import evaluate_live

    if not as_json:
        err_console.print(f"running the live scenarios in {path} …")
    report = evaluate_live(path)

    def render(p: dict) -> None:
        table = Table(title=f"live path — {path.name} ({p['n']} scenarios)")
        columns = (
            "lang",
            "warned in time",
            "premature",
            "late",
            "missed",
            "benign warned",
            "referred / due",
            "median lines to warning",
        )
        for col in columns:
            table.add_column(
                col,
                justify="left" if col == "lang" else "right",
                no_wrap=" " not in col,
                overflow="fold",
            )
        rows = [*p["languages"].items(), ("all", p["overall"])]
        for lang, m in rows:
            median = m["median_lines_to_warning"]
            table.add_row(
                lang,
                _fmt_ratio(m["warned_in_time"], m["soliciting"]),
                str(m["premature"]),
                str(m["late"]),
                str(m["missed"]),
                _fmt_ratio(m["false_warnings"], m["benign"]),
                _fmt_ratio(m["referred"], m["refer_due"]),
                "-" if median is None else f"{median:g}",
            )
        out_console.print(table)
        failing = [s for s in p["scenarios"] if s["failed"]]
        if not failing:
            out_console.print("every scenario as labelled")
            return
        fails = Table(title=f"failing scenarios ({len(failing)})")
        for col in ("name", "kind", "expect", "first warning line", "by", "why", "rule"):
            fails.add_column(
                col,
                justify="right" if col in ("first warning line", "by") else "left",
                overflow="fold",
            )
        for s in failing:
            fails.add_row(
                s["name"],
                s["kind"] or "",
                s["expect"],
                "-" if s["first_warning_line"] is None else str(s["first_warning_line"]),
                "-" if s["by"] is None else str(s["by"]),
                _why(s),
                s["rule"] or "",
            )
        out_console.print(fails)

    _emit(report, as_json=as_json, out=None, render=render)


@app.command(
    epilog=examples(
        "tutela train examples/chats.jsonl --out model.skops --folds 0",
        "tutela train a.jsonl b.xml --out model.skops --folds 5 --C 30",
        "tutela train a.jsonl --out model.skops --prefix-lengths 5,10,20",
        note="Writes MODEL and MODEL.provenance.json (data files, parameters, commit, "
        "cross-validation figures).",
    )
)
def train(
    paths: list[Path] = typer.Argument(
        ..., help="Labelled corpora (JSONL with labels, PAN12 XML)."
    ),
    out: Path = typer.Option(..., "--out", metavar="FILE", help="Model file to write (.skops)."),
    folds: int = typer.Option(
        5, "--folds", min=0, help="Grouped CV folds before the final fit; 0 = none."
    ),
    c: float = typer.Option(30.0, "--C", help="Inverse regularisation strength."),
    prefix_lengths: str = typer.Option(
        "",
        "--prefix-lengths",
        metavar="K,K,...",
        help="Also train on the first k lines of each document, e.g. 5,10,20 (early detection).",
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Train the classifier, cross-validate it, and save it with its provenance."""
    from tutela.detect.model import GroomingClassifier
    from tutela.detect.persistence import save_model
    from tutela.detect.training import cross_validate, git_commit, load_training_set

    if not math.isfinite(c) or c <= 0:
        raise InputError(f"--C must be a positive finite number, got {c}")
    if folds == 1:
        raise InputError("--folds must be 0 (no cross-validation) or at least 2")
    try:
        prefixes = tuple(int(x) for x in prefix_lengths.split(",") if x.strip())
    except ValueError as e:
        raise InputError(f"--prefix-lengths must be comma-separated integers: {e}") from e
    if any(k < 1 for k in prefixes):
        raise InputError("--prefix-lengths must be positive")
    check_output_path(out)
    started = time.time()
    with progress_bar("reading and preparing", enabled=not as_json) as advance:
        ts = load_training_set(paths, progress=advance)

    def make() -> GroomingClassifier:
        return GroomingClassifier(C=c, prefix_lengths=prefixes)

    cv = None
    smallest = int(min(ts.labels.sum(), len(ts.labels) - ts.labels.sum()))
    if folds > smallest:
        raise InputError(
            f"--folds {folds} needs at least {folds} documents of each class; the smaller class "
            f"has {smallest} (use --folds {max(2, smallest)} or --folds 0)"
            if smallest >= 2
            else f"too few documents of one class ({smallest}) to cross-validate; use --folds 0"
        )
    if folds >= 2:
        err_console.print(f"cross-validating ({folds} grouped folds)…")
        cv = cross_validate(ts, make, folds=folds)
        if not as_json:
            err_console.print_json(data=cv["overall"])
    model = make().fit(ts.docs, ts.labels, groups=ts.groups)
    try:
        save_model(model, out)
    except OSError as e:
        raise InputError(f"--out: cannot write the model: {e.strerror or e}", path=str(out)) from e
    provenance = {
        "tutela_version": __version__,
        "command": "tutela train "
        + " ".join(
            [*(str(p) for p in paths), "--out", str(out), "--folds", str(folds), "--C", str(c)]
            + (["--prefix-lengths", prefix_lengths] if prefixes else [])
        ),
        "commit": git_commit(Path(__file__).parent),
        "data_files": [str(p) for p in paths],
        "documents": len(ts.labels),
        "positives": int(ts.labels.sum()),
        "params": model.get_params(),
        "threshold": model.threshold_,
        "cross_validation": cv,
        "vocabulary": {
            "word": len(model.word_vectorizer_.vocabulary_),
            "char": len(model.char_vectorizer_.vocabulary_),
        },
        "seconds": round(time.time() - started, 1),
    }
    prov_path = out.with_name(out.stem + ".provenance.json")
    atomic_write(prov_path, json.dumps(provenance, indent=2) + "\n")

    def render(p: dict) -> None:
        out_console.print(f"wrote {out} and {prov_path}")
        if p["cross_validation"]:
            table = Table(title=f"grouped {folds}-fold cross-validation (mean ± std)")
            table.add_column("subset", overflow="fold")
            for k in ("precision", "recall", "f1", "f05", "roc_auc"):
                table.add_column(k, justify="right", overflow="fold")
            cv = p["cross_validation"]
            rows = [
                ("all", cv["overall"]),
                *(("lang " + k, v) for k, v in sorted(cv["by_language"].items())),
                *(("file " + k, v) for k, v in sorted(cv["by_source"].items())),
            ]
            for name, m in rows:
                table.add_row(
                    name,
                    *(
                        f"{m[k]['mean']:.3f}±{m[k]['std']:.2f}" if k in m else "-"
                        for k in ("precision", "recall", "f1", "f05", "roc_auc")
                    ),
                )
            out_console.print(table)

    _emit(provenance, as_json=as_json, out=None, render=render)
