"""When a line counts as evidence: one very confident detector reading, or two independent signals.

The one rule behind both the live policy (``tutela.policy.ladder``, parameters in the
policy's ``line_evidence`` section) and batch analysis (``tutela.detect.analyze``, parameters in
the detection config's ``lines`` section), so the dashboard's queue and a transcript analysis agree
on what a line proves. A line *carries* when its calibrated detector probability ``p``
(``tutela.detect.lines``)

* is ``>= confident``, or
* is ``>= threshold`` and either the line also has a qualifying lexicon hit (a category indicator
  of sufficient weight, ``tutela.detect.lexicon``) or, with ``sustained``, an earlier line of the
  same speaker was also read as soliciting (two separate utterances), or
* has a qualifying lexicon hit while the conversation classifier's risk of the speaker (or the
  conversation) reaches its decision threshold (``classifier``): the indicator is the line's
  evidence, the classifier the second signal. The live policy's ``solicitation.risk_threshold``
  path is the same rule.

Without a line that carries, nothing is flagged or warned on n-gram surface alone.
"""

from __future__ import annotations

__all__ = ["carries"]


def carries(
    p: float,
    *,
    lexicon: bool,
    earlier_over: bool,
    threshold: float,
    confident: float,
    sustained: bool = True,
    classifier: bool = False,
) -> bool:
    """Whether one line carries evidence (module docstring). ``p`` in [0, 1]."""
    if p >= confident or (lexicon and classifier):
        return True
    return p >= threshold and (lexicon or (sustained and earlier_over))
