"""One understanding step per inbound line, shared by the live policy and batch analysis.

:meth:`LineReader.read` turns one chat line into a :class:`LineReading`: the verbatim text (kept
as received; the record never stores anything else), its matching skeleton
(:func:`~tutela.detect.normalize.normalize`: NFKC, combining marks and format characters dropped,
Unicode confusables, leetspeak and spacing undone), who said it (``contact``, ``persona`` or
``operator``), whether it was addressed to the persona, the indicator hits of the conversation's
language lexicons, and, for contact lines, the line detector's
:class:`~tutela.detect.lines.LineScore`
(calibrated probability, soliciting label, nearest benign context, nearest exemplars). When the
detector fails on a line (a broken encoder or cache), the failure is logged and the line is read
without a score: the policy then decides on lexicon hits and the scorer alone, and the message is
still decided and answered.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from tutela.detect.features import lexicon_for
from tutela.detect.lines import LineDetector, LineScore
from tutela.detect.normalize import normalize
from tutela.domain import Category, IndicatorHit, LineEvidence

__all__ = ["SPEAKERS", "LineReader", "LineReading"]

log = structlog.get_logger("tutela.detect")

SPEAKERS = ("contact", "persona", "operator")


@dataclass(frozen=True, slots=True)
class LineReading:
    """What Tutela understood of one line (see module docstring).

    ``score`` is ``None`` for persona and operator lines and when no detector is configured.
    """

    line: int
    speaker: str
    addressed: bool
    text: str
    skeleton: str
    lang: str | None
    hits: tuple[IndicatorHit, ...] = ()
    score: LineScore | None = None

    @property
    def categories(self) -> frozenset[Category]:
        """Indicator categories of the lexicon hits (the detector's label is kept apart)."""
        return frozenset(h.category for h in self.hits)

    def evidence(self) -> LineEvidence | None:
        """The policy's view of the detector's score (``None`` without a score)."""
        s = self.score
        if s is None:
            return None
        return LineEvidence(
            line=self.line,
            probability=s.probability,
            categories=s.categories,
            context=s.context,
            context_similarity=s.context_similarity,
            nearest=tuple(n.id for n in s.nearest),
            threat=s.label == "threat",
        )


class LineReader:
    """Reads lines of one conversation language with one (shared, read-only) line detector.

    Parameters
    ----------
    detector: the line detector, or ``None`` for lexicon hits only.
    lang: the conversation language (``None``: English lexicons).
    """

    def __init__(self, detector: LineDetector | None, *, lang: str | None = None) -> None:
        self.detector = detector
        self.lang = lang
        self._lexicon = lexicon_for(lang)

    def read(
        self,
        text: str,
        *,
        line: int,
        author: str = "",
        speaker: str = "contact",
        addressed: bool = True,
    ) -> LineReading:
        """Understand one line. ``ValueError`` for an unknown ``speaker``."""
        if speaker not in SPEAKERS:
            raise ValueError(f"unknown speaker {speaker!r}; one of {SPEAKERS}")
        skeleton = normalize(text)
        hits = tuple(self._lexicon.hits(skeleton, line=line, author=author, normalised=True))
        score = None
        if speaker == "contact" and self.detector is not None and skeleton:
            try:
                score = self.detector.score_line(text)
            except Exception:  # a broken encoder or cache must not stop the decision
                log.exception("line_detector.failed", line=line)
        return LineReading(line, speaker, addressed, text, skeleton, self.lang, hits, score)
