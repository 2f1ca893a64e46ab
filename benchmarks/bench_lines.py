"""Line-level solicitation detector: linear vs embedding vs cascade, same folds, same run.

Two evaluations per tier (``tutela.detect.lines``), figures per language:

1. **Exemplar folds**: stratified k-fold over the shipped exemplar lines (en/nl/de/tl). In each fold
   the linear tier trains on the training-fold exemplars plus the weak corpus labels, the exemplar
   index holds only the training-fold exemplars; the held-out exemplars are scored.
2. **Live lines** (held out, never trained or tuned on): contact lines of the scenario files in
   ``../shared/data/live``: the first soliciting line (``not_before``) of every soliciting scenario
   is a positive, the lines before it and every line of a benign scenario are negatives. Tiers are
   trained on all exemplars + weak labels.

Metrics: ROC-AUC, precision/recall/F1 at P >= 0.5, Brier score and expected calibration error (10
bins); speed of each tier in lines/s on one core. A plain lexicon baseline (a soliciting-category
hit with weight >= 0.5) is reported beside them.

    .venv/bin/python benchmarks/bench_lines.py [--folds 5] [--data ../shared/data] [--save]

``--save`` trains the linear tier on everything and writes the shipped model
``src/tutela/detect/models/lines.skops`` with its provenance.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedKFold

from tutela.detect.exemplars import SOLICITING, load_exemplars
from tutela.detect.features import lexicon_for
from tutela.detect.lines import (
    ExemplarIndex,
    LinearLineModel,
    LineDetector,
    training_label,
    weak_line_labels,
)
from tutela.ingest import read_corpus
from tutela.metrics import binary_metrics

ROOT = Path(__file__).resolve().parents[1]
SOL_CATS = {c for c in SOLICITING.values() if c is not None}


def ece(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    edges = np.linspace(0, 1, bins + 1)
    total = 0.0
    for lo, hi in itertools.pairwise(edges):
        m = (p >= lo) & (p < hi if hi < 1 else p <= hi)
        if m.any():
            total += m.mean() * abs(p[m].mean() - y[m].mean())
    return float(total)


def metrics(y: list[int], p: list[float]) -> dict:
    ya, pa = np.asarray(y), np.asarray(p, dtype=float)
    m = binary_metrics(list(ya), [int(x >= 0.5) for x in pa], list(pa))
    return {
        "n": len(ya),
        "pos": int(ya.sum()),
        "roc_auc": m["roc_auc"],
        "precision": m["precision"],
        "recall": m["recall"],
        "f1": m["f1"],
        "brier": float(np.mean((pa - ya) ** 2)),
        "ece": ece(ya, pa),
    }


def lexicon_baseline(text: str, lang: str) -> float:
    hits = lexicon_for(lang).hits(text, line=1, author="c")
    return float(any(h.category in SOL_CATS and h.weight >= 0.5 for h in hits))


def weak_corpus(data: Path) -> tuple[list[str], list[str]]:
    convs = []
    pj = data / "pj" / "dev.jsonl"
    if pj.exists():
        for c in read_corpus(pj):
            c.lang = c.lang or "en"
            convs.append(c)
    for lang in ("nl", "de"):
        f = data / "segments" / f"{lang}.dev.jsonl"
        if f.exists():
            for c in read_corpus(f):
                if c.label == 0:
                    c.lang = lang
                    convs.append(c)
    texts, labels = weak_line_labels(convs)
    # keep the weak set from drowning the exemplars: all positives, at most 8x as many negatives
    pos = [i for i, lab in enumerate(labels) if lab != "none"]
    neg = [i for i, lab in enumerate(labels) if lab == "none"][: 8 * max(1, len(pos))]
    keep = sorted(pos + neg)
    return [texts[i] for i in keep], [labels[i] for i in keep]


def live_lines(data: Path) -> list[tuple[str, str, int]]:
    out = []
    for f in sorted((data / "live").glob("*.json")):
        d = json.loads(f.read_text("utf-8"))
        lines, nb = d["lines"], d.get("not_before")
        for i, text in enumerate(lines, 1):
            if d["expect"] == "none" or i < nb:
                out.append((text, d["lang"], 0))
            elif i == nb:
                out.append((text, d["lang"], 1))
    return out


#: The same request written in each language (synthetic lines written for this benchmark).
SAME_REQUEST = {
    "camera": {"en": "can you turn your camera on for me",
               "nl": "kun je je camera aanzetten voor mij",
               "de": "kannst du deine kamera für mich anmachen",
               "tl": "pwede mo bang buksan camera mo para sakin"},
    "photo": {"en": "send me a photo of yourself", "nl": "stuur me een foto van jezelf",
              "de": "schick mir ein foto von dir", "tl": "send mo sakin picture mo"},
    "meeting": {"en": "lets meet this weekend, just the two of us",
                "nl": "laten we dit weekend afspreken, alleen wij twee",
                "de": "lass uns am wochenende treffen, nur wir zwei",
                "tl": "kita tayo this weekend, tayong dalawa lang"},
    "money": {"en": "i can send you money if you want", "nl": "ik kan je geld sturen als je wilt",
              "de": "ich kann dir geld schicken wenn du willst",
              "tl": "padalhan kita ng pera kung gusto mo"},
    "secrecy": {"en": "dont tell your parents about us", "nl": "vertel je ouders niks over ons",
                "de": "erzähl deinen eltern nichts von uns",
                "tl": "wag mo sabihin sa parents mo tungkol satin"},
}  # fmt: skip


def score_all(
    tiers: dict[str, LineDetector], texts: list[str]
) -> tuple[dict[str, list[float]], dict[str, float]]:
    scores, speed = {}, {}
    for name, det in tiers.items():
        t0 = time.perf_counter()
        scores[name] = [s.probability for s in det.score(texts)]
        speed[name] = len(texts) / max(time.perf_counter() - t0, 1e-9)
    return scores, speed


def build(train_ex, weak, gate: float) -> dict[str, LineDetector]:
    texts = [e.text for e in train_ex] + weak[0]
    labels = [e.label for e in train_ex] + weak[1]
    linear = LinearLineModel().fit(texts, labels)
    index = ExemplarIndex(exemplars=list(train_ex))
    return {
        "linear": LineDetector(linear, index, tier="linear"),
        "embedding": LineDetector(linear, index, tier="embedding"),
        "cascade": LineDetector(linear, index, tier="cascade", gate=gate),
    }


def table(title: str, rows: dict[str, dict[str, dict]]) -> None:
    print(f"\n{title}")
    print(f"{'lang':5} {'tier':10} {'n':>5} {'pos':>4} {'AUC':>6} {'P':>6} {'R':>6} {'F1':>6} "
          f"{'Brier':>6} {'ECE':>6}")
    for lang in sorted(rows):
        for tier, m in rows[lang].items():
            auc = "  n/a" if m["roc_auc"] is None else f"{m['roc_auc']:.3f}"
            print(f"{lang:5} {tier:10} {m['n']:5d} {m['pos']:4d} {auc:>6} {m['precision']:6.3f} "
                  f"{m['recall']:6.3f} {m['f1']:6.3f} {m['brier']:6.3f} {m['ece']:6.3f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--gate", type=float, default=0.1)
    ap.add_argument("--save", action="store_true")
    args = ap.parse_args()
    exemplars = load_exemplars()
    weak = weak_corpus(args.data)
    print(f"exemplars: {len(exemplars)}; weak corpus lines: {len(weak[0])} "
          f"({sum(lab != 'none' for lab in weak[1])} weak positives)")

    # 1. exemplar folds
    y_all = np.asarray([int(e.soliciting) for e in exemplars])
    strata = [f"{e.lang}:{int(e.soliciting)}" for e in exemplars]
    per: dict[str, dict[str, tuple[list, list]]] = defaultdict(
        lambda: defaultdict(lambda: ([], []))
    )
    skf = StratifiedKFold(args.folds, shuffle=True, random_state=0)
    for k, (tr, te) in enumerate(skf.split(exemplars, strata), 1):
        tiers = build([exemplars[i] for i in tr], weak, args.gate)
        test = [exemplars[i] for i in te]
        scores, _ = score_all(tiers, [e.text for e in test])
        scores["lexicon"] = [lexicon_baseline(e.text, e.lang) for e in test]
        for tier, ps in scores.items():
            for e, p in zip(test, ps, strict=True):
                for key in (e.lang, "all"):
                    per[key][tier][0].append(int(e.soliciting))
                    per[key][tier][1].append(p)
        print(f"fold {k}/{args.folds} done", file=sys.stderr)
    table(
        f"1. exemplar folds ({args.folds}-fold, {int(y_all.sum())} soliciting / {len(y_all)})",
        {lang: {t: metrics(*v) for t, v in d.items()} for lang, d in per.items()},
    )

    # 2. live lines, held out
    tiers = build(exemplars, weak, args.gate)
    live = live_lines(args.data)
    if live:
        texts = [t for t, _, _ in live]
        scores, speed = score_all(tiers, texts)
        scores["lexicon"] = [lexicon_baseline(t, lang) for t, lang, _ in live]
        rows: dict[str, dict[str, dict]] = defaultdict(dict)
        for tier, ps in scores.items():
            for lang in [*sorted({lang for _, lang, _ in live}), "all"]:
                idx = [i for i, (_, lg, _) in enumerate(live) if lang in ("all", lg)]
                rows[lang][tier] = metrics([live[i][2] for i in idx], [ps[i] for i in idx])
        table("2. live scenario lines (held out: first soliciting line vs non-soliciting lines)",
              rows)
        print("\nspeed, lines/s on one core (live lines, exemplar vectors cached): "
              + ", ".join(f"{k} {v:,.0f}" for k, v in speed.items()))

    # 3. the same request in four languages: risk ratio max/min (target <= 1.5)
    print("\n3. the same request in en/nl/de/tl (cascade, every line embedded as live): P and "
          "max/min ratio")
    live_det = LineDetector(tiers["cascade"].linear, tiers["cascade"].index, gate=0.0)
    for concept, texts in SAME_REQUEST.items():
        ps = {lang: live_det.score_line(t).probability for lang, t in texts.items()}
        ratio = max(ps.values()) / max(min(ps.values()), 1e-9)
        print(f"  {concept:8} " + "  ".join(f"{k} {v:.3f}" for k, v in ps.items())
              + f"  ratio {ratio:.2f}")

    if args.save:
        from tutela.detect.lines import save_line_model

        texts = [e.text for e in exemplars] + weak[0]
        labels = [e.label for e in exemplars] + weak[1]
        model = LinearLineModel().fit(texts, labels)
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                                cwd=ROOT).stdout.strip()
        out = save_line_model(model, provenance={
            "command": "benchmarks/bench_lines.py --save",
            "commit": commit,
            "data": ["tutela/detect/exemplars/*.yaml", "../shared/data/pj/dev.jsonl (weak labels)",
                     "../shared/data/segments/{nl,de}.dev.jsonl negative segments (weak labels)"],
            "lines": len(texts),
            "soliciting": sum(training_label(x) != "none" for x in labels),
            "cv": "see the printed tables of the same run (README of benchmarks/)",
        })
        print(f"\nwrote {os.path.relpath(out, ROOT)}")
    print("\nrerun: .venv/bin/python benchmarks/bench_lines.py "
          f"--folds {args.folds} --gate {args.gate}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
