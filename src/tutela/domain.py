"""Plain value objects shared by every Tutela module.

This module imports nothing else of Tutela (``docs/architecture.md``, layer 0). Times are aware UTC
``datetime`` objects where they are real instants; ``Message.time`` keeps the source's own time text
(PAN12 gives only ``HH:MM``) because a reader must not invent a date.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

__all__ = [
    "MESSAGE_KINDS",
    "Action",
    "Assessment",
    "Attachment",
    "Category",
    "Conversation",
    "Decision",
    "GroomingStage",
    "IndicatorHit",
    "LineEvidence",
    "Message",
]


class Category(StrEnum):
    """Indicator categories, after the ChatCoder coding scheme (Kontostathis et al. 2009/2012),
    O'Connell's grooming stages (2003) and the Sweetie 2.0 reports (Terre des Hommes 2013/2016)."""

    AGE_PROBE = "age_probe"
    PERSONAL_INFO_PROBE = "personal_info_probe"
    FLATTERY = "flattery"
    TRUST_BUILDING = "trust_building"
    RISK_CHECK = "risk_check"
    SECRECY = "secrecy"
    ISOLATION = "isolation"
    PLATFORM_SWITCH = "platform_switch"
    MEDIA_REQUEST = "media_request"  # webcam / image request
    GIFT_OR_MONEY = "gift_or_money"
    MEETING = "meeting"
    SEXUAL_CONTENT = "sexual_content"
    POLICE_CHECK = "police_check"


class GroomingStage(StrEnum):
    """O'Connell (2003), "A typology of child cybersexploitation and online grooming practices".

    Ordered: a later stage implies the conversation went through (or skipped) the earlier ones.
    """

    NONE = "none"
    FRIENDSHIP_FORMING = "friendship_forming"
    RELATIONSHIP_FORMING = "relationship_forming"
    RISK_ASSESSMENT = "risk_assessment"
    EXCLUSIVITY = "exclusivity"
    SEXUAL = "sexual"
    MEETING = "meeting"  # approach / physical meeting (Lorenzo-Dus et al. 2016 "approach")

    @property
    def rank(self) -> int:
        """0 for ``NONE`` up to 6 for ``MEETING``."""
        return list(GroomingStage).index(self)


@dataclass(frozen=True, slots=True)
class Attachment:
    """Metadata of a media item a contact sent. The bytes are never fetched (hard rule 2)."""

    kind: str  # "image" | "video" | "audio" | "file"
    url: str | None = None
    mime: str | None = None
    size: int | None = None  # bytes, as declared by the platform
    declared_hash: str | None = None  # as declared by the platform, e.g. "sha256:..."


@dataclass(frozen=True, slots=True)
class Message:
    """One chat line.

    Attributes
    ----------
    conversation: conversation id.
    author: author id as given by the source (PAN12 hash, platform handle, ``"decoy"``...).
    text: the line's text, as received (never normalised in place).
    line: 1-based position of the message within its conversation.
    time: the source's own time text (``"16:43"``, ISO 8601, ...) or ``None``.
    source: where it came from, ``"path:line"`` for files or ``"xmpp:..."`` for live messages.
    at: an aware UTC instant when the source provides a real one (live messages, exports that
        carry a UTC offset or a Unix time), else ``None``.
    attachments: media metadata only.
    kind: ``"text"`` (words someone wrote), ``"action"`` (an IRC ``/me`` action: ``text`` is the
        action without the nick) or ``"media"`` (a media placeholder of a chat export: no words,
        ``attachments`` holds what is known of the item).
    """

    conversation: str
    author: str
    text: str
    line: int
    time: str | None = None
    source: str | None = None
    at: datetime | None = None
    attachments: tuple[Attachment, ...] = ()
    kind: str = "text"


#: The values of :attr:`Message.kind`.
MESSAGE_KINDS = ("text", "action", "media")


@dataclass(slots=True)
class Conversation:
    """A conversation read from a corpus or held live.

    Attributes
    ----------
    id: conversation id.
    messages: messages in order (``line`` 1..n).
    label: 1 = positive (grooming/solicitation), 0 = negative, ``None`` = unlabelled.
    lang: ISO 639-1 code when the source states it, else ``None`` (detected later).
    author_labels: per-author labels when the source gives them (PJ offender = 1, decoy = 0).
    flattened: True when message boundaries were lost (one string holds the whole segment).
    source: file the conversation was read from.
    content_available: False when the source holds who wrote when but not what (a Discord export
        made without message content): its authors are "not assessed", never "low risk".
    author_names: display names the source gives for author ids that are not names themselves
        (Telegram ``from_id`` -> ``from``, Discord ``author.id`` -> nickname or name); the last
        name seen for an id. Shown beside the id; never used as the identity.
    """

    id: str
    messages: list[Message]
    label: int | None = None
    lang: str | None = None
    author_labels: dict[str, int] = field(default_factory=dict)
    flattened: bool = False
    source: str | None = None
    content_available: bool = True
    author_names: dict[str, str] = field(default_factory=dict)

    @property
    def authors(self) -> list[str]:
        """Distinct authors in order of first appearance."""
        return list(dict.fromkeys(m.author for m in self.messages))


@dataclass(frozen=True, slots=True)
class IndicatorHit:
    """One lexicon indicator matched on one line.

    ``start``/``end`` are character offsets in the *normalised* text of the line.
    """

    indicator: str  # indicator id, e.g. "en.age_probe.how_old"
    category: Category
    weight: float
    line: int
    author: str
    start: int = 0
    end: int = 0


@dataclass(frozen=True, slots=True)
class Assessment:
    """Risk of one subject (an author or a conversation) at one point in time.

    Attributes
    ----------
    subject: author id or conversation id.
    kind: ``"author"`` or ``"conversation"``.
    risk: probability-like score in [0, 1] (PAN12 problem 1).
    label: ``risk >= threshold`` of the model that produced it.
    stage: estimated grooming stage (O'Connell 2003).
    indicators: matched indicators, strongest first.
    lines: lines that carry the risk (PAN12 problem 2), ascending.
    n_messages: messages seen so far.
    warning: True once the early-warning rule has fired (Vogt et al. 2021 k-of-n vote).
    """

    subject: str
    kind: str
    risk: float
    label: bool
    stage: GroomingStage
    indicators: tuple[IndicatorHit, ...] = ()
    lines: tuple[int, ...] = ()
    n_messages: int = 0
    warning: bool = False


@dataclass(frozen=True, slots=True)
class LineEvidence:
    """The line detector's reading of one contact line, as the policy sees it.

    Attributes
    ----------
    line: 1-based contact line number.
    probability: calibrated P(the line is soliciting) in [0, 1] (``tutela.detect.lines``).
    categories: indicator categories the detector reads in the line (its label first), empty when
        ``probability < 0.5``.
    context: the benign context of the nearest reviewed exemplar when that exemplar is benign
        (``"benign_school"``...), else ``None``; ``context_similarity`` its cosine similarity.
    nearest: ids of the nearest reviewed exemplars (the explanation), most similar first.
    threat: the detector's main reading of the line is a threat (sextortion, coercion).
    """

    line: int
    probability: float
    categories: tuple[Category, ...] = ()
    context: str | None = None
    context_similarity: float = 0.0
    nearest: tuple[str, ...] = ()
    threat: bool = False


class Action(StrEnum):
    """Policy outcomes, weakest first (``docs/architecture.md``, "Policy ladder")."""

    CONTINUE = "continue"
    DETER = "deter"
    ESCALATE = "escalate"
    REFER = "refer"  # a referral *proposal*; only a human approves a referral

    @property
    def rank(self) -> int:
        return list(Action).index(self)


WARNING_ACTIONS: tuple[str, ...] = tuple(a.value for a in Action if a is not Action.CONTINUE)
"""Actions whose decision sends the contact a deterrence warning when it names a variant."""


def is_warning(action: str, variant: str | None) -> bool:
    """True for a decision that sent a deterrence warning: an action in :data:`WARNING_ACTIONS`
    with a deterrence ``variant`` recorded. The one definition of "a warning" (store counts,
    research statistics, the dashboard and the policy's prior-warning count all use it)."""
    return variant is not None and action in WARNING_ACTIONS


@dataclass(frozen=True, slots=True)
class Decision:
    """What the policy decided after one inbound message, and why.

    Attributes
    ----------
    action: the decided action.
    after_line: 1-based number of the contact line the decision followed.
    risk: the risk the decision was based on, in [0, 1].
    indicators: ids of the indicators that moved it.
    rule: id of the rule that fired (e.g. ``"ladder.first_solicitation"``), ``"none"`` otherwise.
    reason: one sentence for the audit log.
    variant: the deterrence-message variant sent, if any.
    """

    action: Action
    after_line: int
    risk: float
    indicators: tuple[str, ...] = ()
    rule: str = "none"
    reason: str = ""
    variant: str | None = None


class OriginKind(StrEnum):
    """What produced an outgoing line, as the prefix of its stored ``origin`` text."""

    BANK = "bank"  # a reply planned from the reviewed response bank; detail: the bank key
    DETERRENCE = "deterrence"  # a deterrence warning; detail: the message variant
    OPERATOR = "human"  # an analyst's takeover text from the dashboard; detail: the operator
    DEVICE = "human:device"  # a line a human typed on another device of the account; detail: it


@dataclass(frozen=True, slots=True)
class MessageOrigin:
    """The ``origin`` of an outgoing message: its :class:`OriginKind` and a detail.

    ``str(origin)`` is the stored text, ``"KIND:DETAIL"``: ``"bank:en.greeting.3"``,
    ``"deterrence:v2"``, ``"human:alice"``, ``"human:device:phone"``; the message column and the
    ledger's ``outbound`` payload hold exactly this text (see ``docs/architecture.md``, live
    path). :meth:`parse` reads it back, so ``str(MessageOrigin.parse(s)) == s`` for every text
    it accepts. An operator whose name starts with ``"device:"`` reads back as a device line
    (the longer prefix wins), as it always has.
    """

    kind: OriginKind
    detail: str

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.detail}"

    @classmethod
    def bank(cls, key: str) -> MessageOrigin:
        """A bank reply with response-bank key ``key``."""
        return cls(OriginKind.BANK, key)

    @classmethod
    def deterrence(cls, variant: str) -> MessageOrigin:
        """A deterrence warning of message variant ``variant``."""
        return cls(OriginKind.DETERRENCE, variant)

    @classmethod
    def operator(cls, operator: str) -> MessageOrigin:
        """A takeover text an analyst (user name ``operator``) queued from the dashboard."""
        return cls(OriginKind.OPERATOR, operator)

    @classmethod
    def device(cls, device: str) -> MessageOrigin:
        """A line a human typed on another device (``device``: its name) of the account."""
        return cls(OriginKind.DEVICE, device)

    @classmethod
    def parse(cls, text: str) -> MessageOrigin:
        """The origin stored as ``text``; ``ValueError`` for a text no kind's ``"KIND:"``
        prefix starts (the detail may be empty)."""
        # the longer prefix first: "human:device:" before "human:"
        for kind in sorted(OriginKind, key=lambda k: -len(k.value)):
            prefix = f"{kind.value}:"
            if isinstance(text, str) and text.startswith(prefix):
                return cls(kind, text[len(prefix) :])
        raise ValueError(f"not a message origin: {text!r}")

    @classmethod
    def read(cls, text: str | None) -> MessageOrigin | None:
        """Like :meth:`parse`, but ``None`` for ``None`` (an inbound line) or an unknown text."""
        if text is None:
            return None
        try:
            return cls.parse(text)
        except ValueError:
            return None


__all__ += ["MessageOrigin", "OriginKind"]
