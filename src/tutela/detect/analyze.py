"""Batch analysis: score every conversation and every author of a corpus, with explanations.

Per author (PAN12 problem 1): the risk is the maximum over the author's conversations of the
classifier's risk on that author's lines (an author is as risky as his riskiest conversation); the
lines that carry it (PAN12 problem 2) are the author's lines whose standalone risk reaches the model
threshold or that match an indicator of weight ``>= line_indicator_weight``; the estimated grooming
stage and the top indicators with their line references come from the lexicons.

With the line detector (default, detection config ``lines``), every line is also scored by
:mod:`tutela.detect.lines` and the *evidence lines* are those that carry by the corroboration rule
of :mod:`tutela.detect.corroboration` (the live policy's rule): then a conversation or author is
flagged only when it has an evidence line (``require_evidence``; no flag on n-gram surface alone),
its risk is the larger of the classifier's risk and its strongest evidence line's calibrated
probability, and the PAN12 problem-2 lines are its evidence lines. Each evidence line comes with
its probability, soliciting labels and nearest reviewed exemplars (the explanation). A segment
without message boundaries or speaker names (the VTPAN segments) has no speaker's lines to hold
as evidence: its flag stays the classifier's.

Conversations are processed in chunks so memory stays bounded by the chunk, not the corpus.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from itertools import islice

from tutela.detect.config import LineEvidenceConfig
from tutela.detect.corroboration import carries
from tutela.detect.exemplars import SOLICITING
from tutela.detect.language import detect_language
from tutela.detect.lexicon import SUPPORTED_LANGUAGES, load_lexicons, mentions_minor_age
from tutela.detect.lines import LineDetector, LineScore, default_line_detector
from tutela.detect.model import (
    Document,
    GroomingClassifier,
    PreparedDocument,
    document_from_conversation,
    prepare,
)
from tutela.detect.stage import estimate_stage
from tutela.domain import Category, Conversation, GroomingStage, IndicatorHit

__all__ = [
    "AnalysisResult",
    "AuthorResult",
    "ConversationResult",
    "EvidenceLine",
    "analyze",
    "ensure_language",
    "evidence_lines",
]

_MAX_INDICATORS = 10
_BARE_AGE = re.compile(r"[0-9]{1,2}", re.ASCII)


@dataclass(frozen=True, slots=True)
class EvidenceLine:
    """One line that carries evidence, with its explanation."""

    conversation: str
    line: int
    author: str
    text: str
    score: LineScore
    indicators: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        s = self.score
        return {
            "conversation": self.conversation,
            "line": self.line,
            "author": self.author,
            "text": self.text,
            "probability": round(s.probability, 4),
            "labels": list(s.labels),
            "indicators": list(self.indicators),
            "nearest": [
                {"id": n.id, "label": n.label, "text": n.text, "similarity": round(n.similarity, 3)}
                for n in s.nearest[:3]
            ],
        }


@dataclass(frozen=True, slots=True)
class _Read:
    """One message as the evidence rule sees it (computed once per conversation)."""

    line: EvidenceLine  # the line, as it would be reported
    detector: bool  # the detector carries it (after a minor's age, when required)
    indicator: bool  # it has an indicator of weight >= min_weight (for classifier corroboration)


def _reads(
    conv: Conversation,
    scores: list[LineScore],
    hits: list[list[IndicatorHit]],
    cfg: LineEvidenceConfig,
) -> list[_Read]:
    qualifying = {c for c in SOLICITING.values() if c is not None}
    over: set[str] = set()
    minors: set[str] = set()  # authors who stated a minor's age so far
    probe_by: str | None = None  # author of the previous line when it asked for the age
    out: list[_Read] = []
    for m, score, line_hits in zip(conv.messages, scores, hits, strict=True):
        lex = [h for h in line_hits if h.category in qualifying and h.weight >= cfg.min_weight]
        bare = _BARE_AGE.fullmatch(m.text.strip().rstrip("!.?").strip())
        if mentions_minor_age(m.text) is not None or (
            probe_by not in (None, m.author) and bare is not None and 8 <= int(bare.group()) <= 17
        ):
            minors.add(m.author)
        probe_by = m.author if _asks_age(m.text, line_hits) else None
        to_minor = not cfg.require_minor_age or bool(minors - {m.author})
        by_detector = to_minor and carries(
            score.probability,
            lexicon=bool(lex),
            earlier_over=m.author in over,
            threshold=cfg.threshold,
            confident=cfg.confident,
            sustained=cfg.sustained,
        )
        ids = tuple(dict.fromkeys(h.indicator for h in (lex or line_hits)))
        out.append(
            _Read(
                EvidenceLine(conv.id, m.line, m.author, m.text, score, ids),
                by_detector,
                any(h.weight >= cfg.min_weight for h in line_hits),
            )
        )
        if score.probability >= cfg.threshold and score.labels:
            over.add(m.author)
    return out


def evidence_lines(
    conv: Conversation,
    scores: list[LineScore],
    hits: list[list[IndicatorHit]],
    cfg: LineEvidenceConfig,
    *,
    classifier: Callable[[str], bool] = lambda author: False,
    reads: list[_Read] | None = None,
) -> list[EvidenceLine]:
    """The lines of ``conv`` that carry evidence, per author (``sustained`` counts an author's own
    earlier lines only). ``scores`` and ``hits`` are per message, in order; ``classifier(author)``
    tells whether the conversation classifier's risk for that author reached its threshold
    (``reads``: the per-line pass, when the caller already made it for another ``classifier``).

    As in the live path, where the persona states its age first, a line read by the detector
    counts only once another participant stated a minor's age (``require_minor_age``; a bare
    number 8-17 answering an age question counts): an adult-to-adult chat is not a solicitation
    of a child. A lexicon hit corroborated by the classifier counts without it (the classifier
    learned predator conversations as a whole): a line with any indicator of weight >=
    ``min_weight`` (an age probe, a secrecy request...) while the classifier's risk for its author
    is over the threshold is evidence too, the indicator being what the line shows."""
    if reads is None:
        reads = _reads(conv, scores, hits, cfg)
    return [r.line for r in reads if r.detector or (r.indicator and classifier(r.line.author))]


@dataclass(slots=True)
class AuthorResult:
    """One author's aggregated result across the corpus."""

    id: str
    risk: float = 0.0
    label: bool = False
    stage: GroomingStage = GroomingStage.NONE
    conversations: int = 0
    indicators: list[tuple[str, IndicatorHit]] = field(default_factory=list)  # (conv, hit)
    lines: list[tuple[str, int]] = field(default_factory=list)  # (conversation, line)
    evidence: list[EvidenceLine] = field(default_factory=list)
    model_risk: float = 0.0
    assessed: bool = True
    name: str | None = None  # the display name the source gives for this id, if any

    def to_dict(self) -> dict:
        """JSON-ready; an author seen only where the source held no words (``assessed`` false)
        has ``risk``, ``model_risk`` and ``label`` null: not assessed, never "low risk"."""
        return {
            "model_risk": round(self.model_risk, 6) if self.assessed else None,
            "evidence": [e.to_dict() for e in self.evidence],
            "id": self.id,
            "name": self.name,
            "assessed": self.assessed,
            "risk": round(self.risk, 6) if self.assessed else None,
            "label": int(self.label) if self.assessed else None,
            "stage": self.stage.value,
            "conversations": self.conversations,
            "indicators": [
                {
                    "id": h.indicator,
                    "category": h.category.value,
                    "weight": h.weight,
                    "conversation": conv,
                    "line": h.line,
                }
                for conv, h in self.indicators
            ],
            "lines": [{"conversation": c, "line": n} for c, n in self.lines],
        }


@dataclass(slots=True)
class ConversationResult:
    """One conversation's result."""

    id: str
    risk: float
    label: bool
    lang: str | None
    stage: GroomingStage
    n_messages: int
    truth: int | None = None
    evidence: list[EvidenceLine] = field(default_factory=list)
    model_risk: float = 0.0
    assessed: bool = True

    def to_dict(self) -> dict:
        """JSON-ready; ``risk``/``label`` null when the source held no words (not assessed)."""
        return {
            "model_risk": round(self.model_risk, 6) if self.assessed else None,
            "evidence": [e.to_dict() for e in self.evidence],
            "id": self.id,
            "assessed": self.assessed,
            "risk": round(self.risk, 6) if self.assessed else None,
            "label": int(self.label) if self.assessed else None,
            "lang": self.lang,
            "stage": self.stage.value,
            "n_messages": self.n_messages,
        }


@dataclass(slots=True)
class AnalysisResult:
    """Authors ranked by risk (highest first) and conversations in corpus order."""

    authors: list[AuthorResult]
    conversations: list[ConversationResult]

    def to_dict(self) -> dict:
        return {
            "authors": [a.to_dict() for a in self.authors],
            "conversations": [c.to_dict() for c in self.conversations],
        }


def ensure_language(conversation: Conversation, *, sample: int = 30) -> Conversation:
    """Set ``conversation.lang`` from its first ``sample`` messages when the source gave none."""
    if conversation.lang is None:
        code, _ = detect_language(m.text for m in conversation.messages[:sample])
        conversation.lang = None if code == "und" else code
    return conversation


def _chunks(it: Iterable[Conversation], n: int) -> Iterator[list[Conversation]]:
    it = iter(it)
    while chunk := list(islice(it, n)):
        yield chunk


def _lines_carrying_risk(
    model: GroomingClassifier,
    prep: PreparedDocument,
    doc: Document,
    line_numbers: list[int],
    line_indicator_weight: float,
) -> list[int]:
    scores = model.line_scores(prep)
    out = []
    for i, (score, hits) in enumerate(zip(scores, prep.hits, strict=True)):
        if score >= model.threshold_ or any(h.weight >= line_indicator_weight for h in hits):
            out.append(line_numbers[i])
    return out


def analyze(
    conversations: Iterable[Conversation],
    model: GroomingClassifier,
    *,
    chunk_size: int = 256,
    line_indicator_weight: float = 0.6,
    progress: Callable[[int], None] | None = None,
    lines: LineEvidenceConfig | None = None,
    detector: LineDetector | None = None,
) -> AnalysisResult:
    """Score a corpus.

    Parameters
    ----------
    conversations: any iterable (a streaming reader is consumed lazily, chunk by chunk).
    model: a fitted :class:`GroomingClassifier`.
    chunk_size: conversations scored per batch.
    line_indicator_weight: an indicator at least this heavy marks its line as carrying risk.
    progress: called with the number of messages processed in each chunk.
    lines: evidence-line settings (default: the detection config's defaults); ``enabled=False``
        gives the first version's classifier-only analysis.
    detector: the line detector (default: the shipped cascade with ``lines.gate``).
    """
    lines = lines or LineEvidenceConfig()
    if lines.enabled and detector is None:
        detector = default_line_detector(gate=lines.gate)
    if not lines.enabled:
        detector = None
    authors: dict[str, AuthorResult] = {}
    conv_results: list[ConversationResult] = []
    for whole in _chunks(conversations, chunk_size):
        chunk = [c for c in whole if c.content_available]
        for conv in whole:
            if not conv.content_available:
                _not_assessed(conv, authors, conv_results)
        conv_docs: list[PreparedDocument] = []
        author_keys: list[tuple[Conversation, str]] = []
        author_docs: list[Document] = []
        for conv in chunk:
            ensure_language(conv)
            conv_docs.append(prepare(document_from_conversation(conv)))
            for a in conv.authors:
                author_keys.append((conv, a))
                author_docs.append(document_from_conversation(conv, author=a))
        conv_risk: Iterable[float] = model.predict_proba(conv_docs)[:, 1] if conv_docs else []
        author_preps = [prepare(d) for d in author_docs]
        a_risk: Iterable[float] = model.predict_proba(author_preps)[:, 1] if author_preps else []
        threshold = model.threshold_
        over = frozenset(
            (c.id, a) for (c, a), r in zip(author_keys, a_risk, strict=True) if r >= threshold
        )
        author_evidence: dict[str, list[EvidenceLine]] = {}
        for conv, prep, risk in zip(chunk, conv_docs, conv_risk, strict=True):
            hits = [h for line_hits in prep.hits for h in line_hits]
            evidence: list[EvidenceLine] = []
            readable = detector if _readable(conv, detector) else None
            if readable is not None:
                line_hits = list(prep.hits)
                scores = readable.score([m.text for m in conv.messages])
                reads = _reads(conv, scores, line_hits, lines)
                conv_over = bool(risk >= threshold)
                evidence = evidence_lines(
                    conv, scores, line_hits, lines, classifier=_always(conv_over), reads=reads
                )
                mine = evidence_lines(
                    conv,
                    scores,
                    line_hits,
                    lines,
                    classifier=_authors_over(conv.id, over),
                    reads=reads,
                )
                evidence, author_evidence[conv.id] = _explained(readable, evidence, mine)
            flagged, shown = _flag(float(risk), evidence, threshold, lines, readable)
            conv_results.append(
                ConversationResult(
                    id=conv.id,
                    risk=shown,
                    label=flagged,
                    lang=conv.lang,
                    stage=estimate_stage(hits),
                    n_messages=len(conv.messages),
                    truth=conv.label,
                    evidence=evidence,
                    model_risk=float(risk),
                )
            )
        for (conv, a), doc, prep, risk in zip(
            author_keys, author_docs, author_preps, a_risk, strict=True
        ):
            res = authors.setdefault(a, AuthorResult(id=a))
            res.name = conv.author_names.get(a, res.name)
            res.assessed = True
            res.conversations += 1
            hits = [h for line_hits in prep.hits for h in line_hits]
            # hits carry the author's own line index; map back to conversation lines
            line_numbers = [m.line for m in conv.messages if m.author == a]
            mapped = [(conv.id, _relined(h, line_numbers[h.line - 1])) for h in hits]
            stage = estimate_stage(h for _, h in mapped)
            if stage.rank > res.stage.rank:
                res.stage = stage
            res.indicators = sorted(
                res.indicators + mapped, key=lambda ch: (-ch[1].weight, ch[0], ch[1].line)
            )[:_MAX_INDICATORS]
            det = detector if conv.id in author_evidence else None
            mine = [e for e in author_evidence.get(conv.id, []) if e.author == a]
            flagged, shown = _flag(float(risk), mine, threshold, lines, det)
            res.model_risk = max(res.model_risk, float(risk))
            if shown > res.risk:
                res.risk = shown
            if flagged:
                res.label = True
                if det is not None:
                    res.lines.extend((conv.id, e.line) for e in mine)
                    res.evidence.extend(mine)
                else:
                    res.lines.extend(
                        (conv.id, n)
                        for n in _lines_carrying_risk(
                            model, prep, doc, line_numbers, line_indicator_weight
                        )
                    )
        if progress is not None:
            progress(sum(len(c.messages) for c in whole))
    ranked = sorted(authors.values(), key=lambda r: (not r.assessed, -r.risk, r.id))
    return AnalysisResult(ranked, conv_results)


def _not_assessed(
    conv: Conversation, authors: dict[str, AuthorResult], results: list[ConversationResult]
) -> None:
    """Record a conversation whose source holds no words (``content_available`` false): it and
    its authors are listed as not assessed, and nothing is scored."""
    results.append(
        ConversationResult(
            id=conv.id,
            risk=0.0,
            label=False,
            lang=conv.lang,
            stage=GroomingStage.NONE,
            n_messages=len(conv.messages),
            truth=conv.label,
            assessed=False,
        )
    )
    for a in conv.authors:
        res = authors.get(a)
        if res is None:
            res = authors[a] = AuthorResult(id=a, assessed=False)
        res.name = conv.author_names.get(a, res.name)
        res.conversations += 1


def _explained(
    detector: LineDetector, *groups: list[EvidenceLine]
) -> tuple[list[EvidenceLine], ...]:
    """Give every evidence line its nearest exemplars (the cascade embeds only lines past its gate;
    an evidence line is always explained)."""
    bare = {(e.conversation, e.line): e for g in groups for e in g if not e.score.nearest}
    if bare and detector.index is not None:
        keys = list(bare)
        found = detector.index.score([bare[k].text for k in keys])
        fixed = {
            k: replace(bare[k], score=replace(bare[k].score, nearest=tuple(near)))
            for k, (_, near) in zip(keys, found, strict=True)
        }
        groups = tuple([fixed.get((e.conversation, e.line), e) for e in g] for g in groups)
    return groups


def _asks_age(text: str, hits: list[IndicatorHit]) -> bool:
    """An age question in the conversation's language or any other shipped one (chats switch)."""
    if any(h.category is Category.AGE_PROBE for h in hits):
        return True
    every = load_lexicons(SUPPORTED_LANGUAGES)
    return any(h.category is Category.AGE_PROBE for h in every.hits(text, line=1, author=""))


def _readable(conv: Conversation, detector: LineDetector | None) -> bool:
    """Evidence lines need message boundaries and speaker names (a line is someone's line)."""
    return (
        detector is not None
        and not conv.flattened
        and bool(conv.messages)
        and any(m.author for m in conv.messages)
    )


def _always(flagged: bool) -> Callable[[str], bool]:
    """An ``evidence_lines`` classifier giving ``flagged`` for every author."""
    return lambda author: flagged


def _authors_over(cid: str, over: frozenset[tuple[str, str]]) -> Callable[[str], bool]:
    """An ``evidence_lines`` classifier: is ``(cid, author)`` among the ``over`` pairs."""
    return lambda author: (cid, author) in over


def _flag(
    model_risk: float,
    evidence: list[EvidenceLine],
    threshold: float,
    lines: LineEvidenceConfig,
    detector: LineDetector | None,
) -> tuple[bool, float]:
    """``(flagged, risk shown)`` for one conversation or author (module docstring)."""
    if detector is None:
        return model_risk >= threshold, model_risk
    if evidence:
        return True, max(model_risk, max(e.score.probability for e in evidence))
    return (not lines.require_evidence and model_risk >= threshold), model_risk


def _relined(hit: IndicatorHit, line: int) -> IndicatorHit:
    return IndicatorHit(
        indicator=hit.indicator,
        category=hit.category,
        weight=hit.weight,
        line=line,
        author=hit.author,
        start=hit.start,
        end=hit.end,
    )
