"""What the policy sees after one contact line: :class:`PolicyContext`."""

from __future__ import annotations

from dataclasses import dataclass

from tutela.domain import Action, Assessment, Category, LineEvidence
from tutela.errors import InputError

__all__ = ["PolicyContext"]


@dataclass(frozen=True, slots=True)
class PolicyContext:
    """The state one policy decision is made on (built by the engine after each contact line).

    Attributes
    ----------
    assessment: the current incremental assessment of the contact's lines in this conversation
        (all hits so far in ``indicators``; ``lines`` = lines with a hit; ``warning`` = the k-of-n
        early-warning flag).
    line: 1-based number of the contact line the decision follows (>= 1).
    age_disclosed: the persona has stated its age in this conversation.
    prior_warnings: deterrence decisions (decisions with a ``variant``) this contact received in
        EARLIER conversations, across linked identities, personas and platforms (>= 0).
    warned_in_conversation: a warning was already sent in this conversation.
    threat: the dialogue's intent recognizer flagged a threat on this line.
    categories_seen: every indicator category seen so far in this conversation (the policy also adds
        the categories of ``assessment.indicators``).
    strongest_action: the strongest action already decided in this conversation (default
        ``CONTINUE``); keeps a referral proposal or a high-risk review from being repeated on every
        later line. Optional for callers; the default is always safe.
    evidence: the line detector's reading of every contact line so far, this line last (empty
        when no line detector runs; the policy then uses lexicon hits and the scorer only).

    Raises
    ------
    InputError
        ``line < 1`` or ``prior_warnings < 0``.
    """

    assessment: Assessment
    line: int
    age_disclosed: bool = False
    prior_warnings: int = 0
    warned_in_conversation: bool = False
    threat: bool = False
    categories_seen: frozenset[Category] = frozenset()
    strongest_action: Action = Action.CONTINUE
    evidence: tuple[LineEvidence, ...] = ()

    def __post_init__(self) -> None:
        if self.line < 1:
            raise InputError(f"PolicyContext.line must be >= 1, got {self.line}")
        if self.prior_warnings < 0:
            raise InputError(
                f"PolicyContext.prior_warnings must be >= 0, got {self.prior_warnings}"
            )
