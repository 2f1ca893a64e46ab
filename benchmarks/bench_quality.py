"""Quality benchmark: grouped 5-fold cross-validation on ../shared/data, Tutela vs a baseline.

For each fold (segments and their translations share a group, so they never straddle folds):

* segment classification per language (en, nl, de): Tutela's classifier vs a plain baseline
  (word 1–2-gram TF-IDF + logistic regression on the raw text), both trained on the same folds;
* early detection (eSPD, Vogt et al. 2021) on the nl/de message-list segments of the test fold:
  Tutela's incremental scorer with the configured warning rule vs the baseline re-scoring every
  prefix and warning at the first prefix with p >= 0.5;
* robustness: F1 on the test fold after obfuscating the test text (combining marks, fullwidth and
  mathematical letters, ZWJ/word joiner, soft hyphens, leetspeak, spaced-out letters,
  repeated letters, homoglyphs, zero-width characters), for both systems.

Figures are printed as mean ± std over folds. Run:

    .venv/bin/python benchmarks/bench_quality.py [--folds 5] [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold

from tutela.detect.config import load_detection_config
from tutela.detect.features import Line
from tutela.detect.incremental import IncrementalScorer, ScoringTables, WarningRule
from tutela.detect.model import Document, GroomingClassifier, document_from_conversation, prepare
from tutela.detect.training import group_key
from tutela.ingest import read_corpus
from tutela.metrics import binary_metrics, early_metrics

HOMOGLYPHS = {"a": "а", "e": "е", "o": "о", "c": "с", "p": "р", "x": "х", "i": "і"}
LEET = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"}


def obfuscate(text: str, rng: random.Random) -> str:
    """Apply one random obfuscation to about a third of the words."""
    out = []
    for w in text.split(" "):
        if len(w) < 3 or rng.random() > 0.33:
            out.append(w)
            continue
        kind = rng.randrange(10)
        if kind == 5:  # combining low line / acute on each letter (Mn)
            mark = rng.choice(["\u0332", "\u0301", "\u0336"])
            w = "".join(ch + mark for ch in w)
        elif kind == 6:  # fullwidth letters
            w = "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in w)
        elif kind == 7:  # mathematical bold letters
            w = "".join(
                chr(0x1D41A + ord(ch) - 97) if "a" <= ch <= "z" else ch for ch in w
            )
        elif kind == 8:  # ZWJ or word joiner between letters (Cf)
            w = rng.choice(["\u200d", "\u2060"]).join(w)
        elif kind == 9:  # soft hyphens
            w = "\u00ad".join(w)
        elif kind == 0:
            w = "".join(LEET.get(ch, ch) for ch in w)
        elif kind == 1:
            w = " ".join(w)
        elif kind == 2:
            i = rng.randrange(len(w))
            w = w[: i + 1] + w[i] * 3 + w[i + 1 :]
        elif kind == 3:
            w = "".join(HOMOGLYPHS.get(ch, ch) for ch in w)
        else:
            w = "\u200b".join(w)
        out.append(w)
    return " ".join(out)


def obfuscate_doc(doc: Document, rng: random.Random) -> Document:
    return Document(
        tuple(Line(ln.author, obfuscate(ln.text, rng), ln.time) for ln in doc.lines), doc.lang
    )


def raw_text(doc: Document) -> str:
    return "\n".join(ln.text for ln in doc.lines)


class Baseline:
    """Word 1–2-gram TF-IDF + logistic regression on raw text (no normalisation, no lexicons)."""

    def fit(self, docs: list[Document], y: np.ndarray) -> Baseline:
        self.vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
        self.lr = LogisticRegression(
            C=10.0, class_weight="balanced", max_iter=5000, solver="liblinear"
        )
        self.lr.fit(self.vec.fit_transform([raw_text(d) for d in docs]), y)
        return self

    def proba(self, texts: list[str]) -> np.ndarray:
        return self.lr.predict_proba(self.vec.transform(texts))[:, 1]


def fmt(values: list[float]) -> str:
    if not values:
        return "-"
    sd = statistics.pstdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.3f}±{sd:.3f}"


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "data"
    )
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--k", type=int, default=None, help="warning rule k (default: config)")
    ap.add_argument("--n", type=int, default=None, help="warning rule n (default: config)")
    ap.add_argument(
        "--prefix-lengths",
        default="",
        help="comma-separated prefix lengths for early-detection training, e.g. 5,10,20",
    )
    args = ap.parse_args()
    seg = args.data / "segments"
    if not seg.is_dir():
        print(f"no data at {seg}", file=sys.stderr)
        return 1
    rule = load_detection_config().warning_rule
    if args.k is not None or args.n is not None:
        rule = WarningRule(threshold=rule.threshold, k=args.k or rule.k, n=args.n or rule.n)
    prefix_lengths = tuple(int(x) for x in args.prefix_lengths.split(",") if x.strip())
    t0 = time.time()
    convs = []
    for lang in ("en", "nl", "de"):
        convs.extend(read_corpus(seg / f"{lang}.dev.jsonl"))
    docs = [document_from_conversation(c) for c in convs]
    prepared = [prepare(d) for d in docs]
    y = np.array([c.label for c in convs])
    groups = np.array([group_key(c) for c in convs])
    langs = [c.lang for c in convs]
    print(f"read and prepared {len(docs)} segments in {time.time() - t0:.1f}s")

    cv = StratifiedGroupKFold(n_splits=args.folds, shuffle=True, random_state=args.seed)
    res: dict[str, dict[str, list[float]]] = {}

    def add(key: str, metric: str, value: float | None) -> None:
        if value is not None:
            res.setdefault(key, {}).setdefault(metric, []).append(value)

    for fold, (tr, te) in enumerate(cv.split(np.zeros(len(y)), y, groups), start=1):
        t_fold = time.time()
        model = GroomingClassifier(prefix_lengths=prefix_lengths).fit(
            [prepared[i] for i in tr], y[tr], groups=groups[tr]
        )
        base = Baseline().fit([docs[i] for i in tr], y[tr])
        rng = random.Random(args.seed + fold)
        obf = {i: obfuscate_doc(docs[i], rng) for i in te}
        tables = ScoringTables(model)
        for lang in ("en", "nl", "de"):
            idx = [i for i in te if langs[i] == lang]
            yt = y[idx].tolist()
            s_t = model.predict_proba([prepared[i] for i in idx])[:, 1]
            s_b = base.proba([raw_text(docs[i]) for i in idx])
            s_to = model.predict_proba([obf[i] for i in idx])[:, 1]
            s_bo = base.proba([raw_text(obf[i]) for i in idx])
            for name, s in (
                ("tutela", s_t),
                ("baseline", s_b),
                ("tutela/obfuscated", s_to),
                ("baseline/obfuscated", s_bo),
            ):
                m = binary_metrics(yt, [int(v >= 0.5) for v in s], s.tolist())
                for k in ("precision", "recall", "f1", "f05", "roc_auc"):
                    add(f"segments {lang} {name}", k, m[k])
            if lang == "en":
                continue
            # early detection on message-list segments
            warn_t: list[int | None] = []
            warn_b: list[int | None] = []
            for i in idx:
                scorer = IncrementalScorer(tables, lang=lang, rule=rule)
                for line in docs[i].lines:
                    scorer.update(line)
                    if scorer.warned_at is not None:
                        break
                warn_t.append(scorer.warned_at)
                prefixes = [
                    "\n".join(ln.text for ln in docs[i].lines[:k])
                    for k in range(1, len(docs[i].lines) + 1)
                ]
                p = base.proba(prefixes)
                hit = np.nonzero(p >= 0.5)[0]
                warn_b.append(int(hit[0]) + 1 if len(hit) else None)
            for name, w in (("tutela", warn_t), ("baseline", warn_b)):
                m = early_metrics(yt, w)
                for k in (
                    "precision",
                    "recall",
                    "f1",
                    "speed",
                    "f_latency",
                    "median_warning_message",
                ):
                    add(f"early {lang} {name}", k, m[k])
        print(f"fold {fold}/{args.folds} done in {time.time() - t_fold:.1f}s", flush=True)

    print()
    cols = ("precision", "recall", "f1", "f05", "roc_auc")
    print(f"{f'segments (grouped {args.folds}-fold CV)':34s}" + "".join(f"{c:>14s}" for c in cols))
    for key in sorted(k for k in res if k.startswith("segments")):
        print(f"{key[9:]:34s}" + "".join(f"{fmt(res[key].get(c, [])):>14s}" for c in cols))
    cols = ("precision", "recall", "f1", "speed", "f_latency", "median_warning_message")
    print()
    print(f"{'early (eSPD)':24s}" + "".join(f"{c[:14]:>15s}" for c in cols))
    for key in sorted(k for k in res if k.startswith("early")):
        print(f"{key[6:]:24s}" + "".join(f"{fmt(res[key].get(c, [])):>15s}" for c in cols))
    print()
    for lang in ("en", "nl", "de"):
        t = statistics.mean(res[f"segments {lang} tutela"]["f1"])
        b = statistics.mean(res[f"segments {lang} baseline"]["f1"])
        to = statistics.mean(res[f"segments {lang} tutela/obfuscated"]["f1"])
        bo = statistics.mean(res[f"segments {lang} baseline/obfuscated"]["f1"])
        print(
            f"{lang}: F1 tutela {t:.3f} vs baseline {b:.3f} (ratio {t / b:.3f}); "
            f"obfuscation drop tutela {t - to:+.3f}, baseline {b - bo:+.3f}"
        )
    print(
        f"\nwarning rule: {rule.model_dump()}; prefix lengths {prefix_lengths}; "
        f"total {time.time() - t0:.0f}s"
    )
    print("rerun: .venv/bin/python benchmarks/bench_quality.py --folds", args.folds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
