"""Typed payloads of ledger entries: one ``TypedDict`` per entry kind (and per ``operation`` event).

These describe exactly the keys the store writes today (``tutela.store``: ``Recorder`` and its
query modules); they are plain ``dict`` objects at runtime, so typing a construction site changes
no byte, hash or key order of what is written (``docs/architecture.md``, "Evidence"). mypy then
checks every key a writer sets and every key a reader asks for. Keys marked *optional* are written
only in the case named; an entry written before that key existed simply lacks it.

Instants are ledger text (``format_instant``: UTC ISO 8601, microseconds, ``Z``). A *digest* is a
lowercase hex SHA-256 of the UTF-8 text (``sha256_hex``); the text itself stays in its row.

=================== ======================================================================
kind                payload keys (``?``: optional)
=================== ======================================================================
``inbound``         ``message_seq`` (int, 1-based in the conversation), ``contact_line`` (int,
                    1-based contact line), ``author_sha256``, ``text_sha256`` (digests),
                    ``wire_sha256`` (digest of the raw bytes received), ``received_at``
                    (instant), ``platform_msg_id`` (str or null), ``attachments`` (list of
                    ``AttachmentPayload``: metadata only), ``sent_at?`` (instant the platform
                    claims), ``sent_by?`` (who made that claim), ``answer?`` (always ``false``:
                    never answered automatically)
``outbound``        ``message_seq``, ``author_sha256`` (digest of the persona id),
                    ``text_sha256``, ``origin`` (what produced it: ``bank:...``,
                    ``deterrence:...``, ``human:...``), ``sent_at`` (instant), ``wire_sha256?``
                    and ``platform_msg_id?`` (a line sent from another device: a sent carbon)
``decision``        ``message_seq`` (the inbound message's), ``after_line`` (int),
                    ``action`` (``tutela.domain.Action`` value), ``risk`` (str, 6 decimals,
                    ``format_risk``), ``indicators`` (list of str), ``rule``, ``reason``,
                    ``variant`` (str or null)
``review``          ``case_id``, ``action`` (case-event action), ``actor`` (name),
                    ``actor_id`` (user id or null for the system), ``actor_role``,
                    ``status_from``, ``status_to``, ``note_sha256`` (digest of the note), and
                    per action: ``referral_id?``, ``decision_id?``, ``proposed_by?``,
                    ``message_id?``, ``conversation?``, ``message_seq?``, ``shown_on?``
                    (reveal), ``retention_days?``, ``messages?`` (count), ``tombstone_seq?``
                    (purge)
``export``          ``case_id``, ``conversations``, ``operations`` (lists of ids), ``actor``,
                    ``draft?`` (always ``true``)
``retention_purge`` ``actor``, ``reason``, ``messages`` (list of ``PurgedMessage``:
                    ``conversation``, ``message_seq``)
``operation``       dispatched on ``event`` (``OPERATION_EVENTS``): ``operation_created``,
                    ``conversation_opened``, ``conversation_ended``, ``key_rotated``,
                    ``trial_registered``, ``trial_allocated`` (below)
``audit``           ``actor``, ``action``, ``target`` (``"case:<id>"``, ``"user:<id>"``...),
                    ``details`` (a JSON object whose keys depend on ``action``)
=================== ======================================================================

``operation`` events:

- ``operation_created``: ``operation_id``, ``organisation``, ``jurisdiction``, ``legal_basis``,
  ``authorisation_ref``, ``officer``, ``starts_at`` (instant), ``ends_at`` (instant or null),
  ``evidential`` (bool).
- ``conversation_opened`` (entry's ``conversation``: the new one): ``operation_id``,
  ``persona_id``, ``platform``, ``account``, ``contact_id``, ``room`` (str or null), ``lang``,
  ``started_at`` (instant), ``provenance?`` (an imported file's name, SHA-256 and format).
- ``conversation_ended``: ``ended_at`` (instant), ``reason``.
- ``trial_registered``: ``trial_id``, ``name``, ``plan_sha256`` (digest of the analysis plan's
  UTF-8 text), ``arms`` (list of variant names), ``block_size`` (int), ``seed_sha256`` (digest of
  the decimal seed: the allocation sequence is fixed, not disclosed), ``timestamp_sha256``
  (digest of the RFC 3161 reply over the plan's hash, or null), ``actor``.
- ``trial_allocated`` (entry's ``conversation``: where the first warning is about to be sent):
  ``trial_id``, ``plan_sha256``, ``contact_id``, ``stratum`` (the language), ``arm``,
  ``block_index`` (int, 0-based permuted block within the stratum).
- ``key_rotated``: ``old_fingerprint``, ``new_fingerprint`` (64 hex, ``fingerprint``),
  ``old_public_key``, ``new_public_key`` (raw Ed25519 keys, hex), ``handover_signature`` (the old
  key's signature over the new key, ``Signer.sign_handover``), ``actor``, ``reason``.

Readers: an entry read back (``LedgerEntry.payload``) is a read-only ``Mapping``; after checking
``kind`` (and ``event``) a reader casts it once to the type here. Verifiers keep using ``.get`` on
such a view: a tampered package may lack a key, which must be reported, not raised as
``KeyError``. ``Recorder.append_entry`` (a generic ``review``/``export``/``operation`` append)
stays untyped.
"""

from collections.abc import Mapping
from typing import Any, Literal, NotRequired, TypeAlias, TypedDict

from tutela.ledger.entry import EntryKind

__all__ = [
    "OPERATION_EVENTS",
    "PAYLOAD_TYPES",
    "AttachmentPayload",
    "AuditPayload",
    "ConversationEndedPayload",
    "ConversationOpenedPayload",
    "DecisionPayload",
    "ExportPayload",
    "InboundPayload",
    "KeyRotatedPayload",
    "OperationCreatedPayload",
    "OperationEventPayload",
    "OperationPayload",
    "OutboundPayload",
    "PurgedMessage",
    "RetentionPurgePayload",
    "ReviewPayload",
    "TrialAllocatedPayload",
    "TrialRegisteredPayload",
    "payload_type",
]


class AttachmentPayload(TypedDict):
    """Metadata of one attachment (``tutela.domain.Attachment`` as a dict, in field order)."""

    kind: str
    url: str | None
    mime: str | None
    size: int | None  # bytes, as declared by the platform
    declared_hash: str | None  # as declared by the platform, e.g. "sha256:..."


class InboundPayload(TypedDict):
    """``inbound``: a message received by a persona (``Recorder.record_inbound``)."""

    message_seq: int
    contact_line: int
    author_sha256: str
    text_sha256: str
    wire_sha256: str
    received_at: str
    platform_msg_id: str | None
    attachments: list[AttachmentPayload]
    sent_at: NotRequired[str]
    sent_by: NotRequired[str]
    answer: NotRequired[Literal[False]]


class OutboundPayload(TypedDict):
    """``outbound``: a message a persona or a human sent (``Recorder.record_outbound``)."""

    message_seq: int
    author_sha256: str
    text_sha256: str
    origin: str
    sent_at: str
    wire_sha256: NotRequired[str]
    platform_msg_id: NotRequired[str]


class DecisionPayload(TypedDict):
    """``decision``: a policy decision after an inbound message (``Recorder.record_decision``)."""

    message_seq: int
    after_line: int
    action: str
    risk: str  # format_risk: 6 decimals
    indicators: list[str]
    rule: str
    reason: str
    variant: str | None


class ReviewPayload(TypedDict):
    """``review``: a case decision (``tutela.cases.transitions.record_transition``).

    The optional keys are the per-action details: ``referral_id`` (propose/approve/reject,
    auto-proposal), ``decision_id`` (auto-proposal from a policy decision), ``proposed_by``
    (approve/reject), ``message_id``/``conversation``/``message_seq``/``shown_on`` (reveal),
    ``retention_days``/``messages``/``tombstone_seq`` (purge: ``messages`` is a count).
    """

    case_id: int
    action: str
    actor: str
    actor_id: int | None
    actor_role: str
    status_from: str
    status_to: str
    note_sha256: str
    referral_id: NotRequired[int]
    decision_id: NotRequired[int]
    proposed_by: NotRequired[int | None]
    message_id: NotRequired[int]
    conversation: NotRequired[int]
    message_seq: NotRequired[int]
    shown_on: NotRequired[str]
    retention_days: NotRequired[int]
    messages: NotRequired[int]
    tombstone_seq: NotRequired[int | None]


class ExportPayload(TypedDict):
    """``export``: an evidence package was produced (``store.queries.evidence.record_export``)."""

    case_id: int
    conversations: list[int]
    operations: list[int]
    actor: str
    draft: NotRequired[Literal[True]]


class PurgedMessage(TypedDict):
    """One message named by a retention tombstone."""

    conversation: int
    message_seq: int


class RetentionPurgePayload(TypedDict):
    """``retention_purge``: texts deleted under the retention rules (``purge_messages``)."""

    actor: str
    reason: str
    messages: list[PurgedMessage]


class AuditPayload(TypedDict):
    """``audit``: the mirror of one ``audit_log`` row (``details`` depends on ``action``)."""

    actor: str
    action: str
    target: str
    details: dict[str, Any]


class OperationEventPayload(TypedDict):
    """The key every ``operation`` payload has; the full type depends on it (``payload_type``)."""

    event: str


class OperationCreatedPayload(TypedDict):
    """``operation`` / ``operation_created`` (``Recorder.create_operation``)."""

    event: Literal["operation_created"]
    operation_id: int
    organisation: str
    jurisdiction: str
    legal_basis: str
    authorisation_ref: str
    officer: str
    starts_at: str
    ends_at: str | None
    evidential: bool


class ConversationOpenedPayload(TypedDict):
    """``operation`` / ``conversation_opened`` (``Recorder.open_conversation``)."""

    event: Literal["conversation_opened"]
    operation_id: int
    persona_id: str
    platform: str
    account: str
    contact_id: int
    room: str | None
    lang: str
    started_at: str
    provenance: NotRequired[dict[str, Any]]


class ConversationEndedPayload(TypedDict):
    """``operation`` / ``conversation_ended`` (``Recorder.end_conversation``)."""

    event: Literal["conversation_ended"]
    ended_at: str
    reason: str


class KeyRotatedPayload(TypedDict):
    """``operation`` / ``key_rotated`` (``Recorder.rotate_key``)."""

    event: Literal["key_rotated"]
    old_fingerprint: str
    new_fingerprint: str
    old_public_key: str
    new_public_key: str
    handover_signature: str
    actor: str
    reason: str


class TrialRegisteredPayload(TypedDict):
    """``operation`` / ``trial_registered``: a deterrence trial's plan fixed before allocation."""

    event: Literal["trial_registered"]
    trial_id: int
    name: str
    plan_sha256: str
    arms: list[str]
    block_size: int
    seed_sha256: str
    timestamp_sha256: str | None
    actor: str


class TrialAllocatedPayload(TypedDict):
    """``operation`` / ``trial_allocated``: a contact's arm, written before the warning is sent."""

    event: Literal["trial_allocated"]
    trial_id: int
    plan_sha256: str
    contact_id: int
    stratum: str
    arm: str
    block_index: int


OperationPayload: TypeAlias = (
    OperationCreatedPayload
    | ConversationOpenedPayload
    | ConversationEndedPayload
    | KeyRotatedPayload
    | TrialRegisteredPayload
    | TrialAllocatedPayload
)
"""Any ``operation`` payload; narrow it on ``event``."""

OPERATION_EVENTS: dict[str, type] = {
    "operation_created": OperationCreatedPayload,
    "conversation_opened": ConversationOpenedPayload,
    "conversation_ended": ConversationEndedPayload,
    "key_rotated": KeyRotatedPayload,
    "trial_registered": TrialRegisteredPayload,
    "trial_allocated": TrialAllocatedPayload,
}
"""``operation`` event -> its payload type."""

PAYLOAD_TYPES: dict[EntryKind, type] = {
    EntryKind.INBOUND: InboundPayload,
    EntryKind.OUTBOUND: OutboundPayload,
    EntryKind.DECISION: DecisionPayload,
    EntryKind.REVIEW: ReviewPayload,
    EntryKind.EXPORT: ExportPayload,
    EntryKind.RETENTION_PURGE: RetentionPurgePayload,
    EntryKind.OPERATION: OperationEventPayload,
    EntryKind.AUDIT: AuditPayload,
}
"""Entry kind -> its payload type (``operation``: only the ``event`` key; see ``payload_type``)."""


def payload_type(kind: EntryKind | str, payload: Mapping[str, Any]) -> type:
    """The ``TypedDict`` of a payload of ``kind``: ``PAYLOAD_TYPES[kind]``, and for ``operation``
    the type of its ``event`` (``OPERATION_EVENTS``). Raises ``KeyError`` for an unknown event,
    ``ValueError`` for an unknown kind."""
    k = EntryKind(kind)
    if k is EntryKind.OPERATION:
        return OPERATION_EVENTS[str(payload.get("event"))]
    return PAYLOAD_TYPES[k]
