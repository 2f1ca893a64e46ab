"""Project VIC CAC ontology terms in ``case.jsonld``: the undercover and grooming modules.

Source: the CAC Ontology 3.0.0 (Project VIC International, Apache-2.0), vendored under
``tutela/evidence/ontology/cac/`` (README there: repository, commit, licence). The graph is checked
against its SHACL shapes by ``tutela.evidence.ontology_check.cac_violations`` (0 violations).

What Tutela records, and the CAC term it is given (everything comes from the verified package
contents, so ``case.jsonld`` stays a function of the data members):

=============================== ==========================================================
operation (``operations.json``)  ``cacontology-undercover:MinorPersonaOperation`` (and
                                 ``case-investigation:InvestigativeAction``): operationType
                                 ``online_investigation``; operationStatus ``completed`` once
                                 its end is before the export, else ``active``; riskLevel
                                 ``low`` (fixed: text only, the persona never agrees to meet
                                 and sends no media, so no officer is exposed); usesIdentity
                                 the personas; ``judicialAuthorization`` the authorisation
                                 record (reference, legal basis; evidential operations only)
persona (``conversation_opened``) ``cacontology-undercover:ChildPersona`` (and
                                 ``uco-identity:Identity``): identityType ``digital_only``,
                                 identityComplexity/backstoryDepth ``basic`` (a fixed, small
                                 fact set), documentationLevel ``none`` (no documents or
                                 media ever); ``portraysAge``: the age the persona stated in
                                 the transcript (below); no backstory (restricted tradecraft)
persona account                  ``cacontology-undercover:PlatformAccount`` (platformUsername)
conversation                     ``cacontology-undercover:UndercoverCommunication``
contact line, ``secrecy``        the message is a ``cacontology-grooming:SecrecyRequest``
contact line, ``media_request``, the message is a ``cacontology-undercover:CriminalSolicitation``
``meeting``, ``sexual_content``,
``gift_or_money``
``media_request`` cam/webcam     a ``cacontology-undercover:VideoCallRequestAction``
``meeting``                      a ``cacontology-undercover:SuspectCommunicationAction``
                                 (in-person meeting request)
age stated, then acknowledged    a ``cacontology-undercover:AgeAcknowledgment``
                                 (``ageStatedToSuspect``, ``acknowledgedCount``)
``flattery``, ``trust_building`` a ``cacontology-grooming:TrustBuildingBehavior``
``isolation``                    a ``cacontology-grooming:IsolationBehavior``
=============================== ==========================================================

A line's indicators are the ones that first appear in the decision taken after it
(``TranscriptLine.new_indicators``: decisions list every indicator seen so far in the
conversation), so a second line with an indicator already seen is not typed again. The types are
indicator labels from Tutela's lexicon, not legal findings; each node's comment names the
indicator ids. The stated age is ``tutela.detect.lexicon.mentions_minor_age`` on the persona's
lines (``"im 13"``), or a bare 8-17 answering a line with an age probe; the contact acknowledges
it on a later line carrying an age-referring indicator (``AGE_ACKNOWLEDGING``). No victim is
modelled: the persona is a decoy.

Datatypes follow the shapes: suspect actions carry an ``@en`` label (the undercover shapes ask
for ``rdf:langString``), grooming behaviours a plain ``xsd:string`` label and comment, times
``xsd:dateTimeStamp`` (gUFO) and ``xsd:dateTime`` (UCO).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from tutela.detect.lexicon import mentions_minor_age
from tutela.detect.normalize import normalize
from tutela.evidence.contents import ConversationView, PackageContents, TranscriptLine

__all__ = ["AGE_ACKNOWLEDGING", "CAC_CONTEXT", "SOLICITATION_CATEGORIES", "cac_nodes", "stated_age"]

CAC_CONTEXT: dict[str, str] = {
    "cacontology-grooming": "https://cacontology.projectvic.org/grooming#",
    "cacontology-undercover": "https://cacontology.projectvic.org/undercover#",
    "gufo": "http://purl.org/nemo/gufo#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
}
UC = "cacontology-undercover:"
GR = "cacontology-grooming:"

#: Indicator categories whose line is a ``CriminalSolicitation``: the requests towards abuse
#: among the soliciting categories of ``tutela.detect.exemplars.SOLICITING`` (secrecy,
#: isolation and platform switches are typed otherwise or not at all).
SOLICITATION_CATEGORIES = frozenset({"media_request", "meeting", "sexual_content", "gift_or_money"})
#: ``(category, name)`` of lexicon indicators by which a contact refers to the age he was told
#: ("mature for your age", "are you under 18"): ``tutela/detect/lexicons/en.yaml``.
AGE_ACKNOWLEDGING = frozenset({("flattery", "mature"), ("age_probe", "underage")})
_VIDEO_CALL_NAMES = frozenset({"cam", "webcam"})
_BARE_AGE = re.compile(r"[0-9]{1,2}")
#: Grooming behaviours: category -> (class, groomingStage, behaviorType), the shapes' lists.
_BEHAVIOURS: dict[str, tuple[str, str, str]] = {
    "flattery": ("TrustBuildingBehavior", "trust_building", "attention_giving"),
    "trust_building": ("TrustBuildingBehavior", "trust_building", "attention_giving"),
    "isolation": ("IsolationBehavior", "isolation", "isolation_tactics"),
}

Node = dict[str, Any]
NodeId = Callable[[str, object], str]


def _ref(node: Mapping[str, Any]) -> dict[str, str]:
    return {"@id": str(node["@id"])}


def _en(text: str) -> dict[str, str]:
    return {"@value": text, "@language": "en"}


def _stamp(value: str) -> dict[str, str]:
    return {"@type": "xsd:dateTimeStamp", "@value": value}


def _nonneg(value: int) -> dict[str, str]:
    return {"@type": "xsd:nonNegativeInteger", "@value": str(value)}


def _add_type(node: Node, cls: str) -> None:
    """Add ``cls`` to ``node["@type"]`` (a string becomes a list; kept in insertion order)."""
    types = node["@type"] if isinstance(node["@type"], list) else [node["@type"]]
    if cls not in types:
        types.append(cls)
    node["@type"] = types


def _split(indicator: str) -> tuple[str, str]:
    parts = indicator.split(".")
    return (parts[1], parts[2]) if len(parts) >= 3 else ("", "")


def stated_age(v: ConversationView) -> tuple[int, int] | None:
    """``(message_seq, age)`` of the first persona line stating a minor's age, else ``None``.

    A line states it when ``mentions_minor_age`` finds one (``"im 13"``) or when it is a bare
    number 8-17 answering a contact line whose new indicators include an age probe. Deterrence
    texts and purged lines are skipped."""
    previous: TranscriptLine | None = None
    for ln in v.lines:
        if ln.direction == "out" and ln.text is not None and not str(ln.origin).startswith("deter"):
            text = normalize(ln.text)
            age = mentions_minor_age(text)
            bare = _BARE_AGE.fullmatch(text.strip().rstrip("!.?").strip())
            asked = previous is not None and any(
                _split(i)[0] == "age_probe" for i in previous.new_indicators
            )
            if age is None and bare is not None and asked and 8 <= int(bare.group()) <= 17:
                age = int(bare.group())
            if age is not None:
                return ln.message_seq, age
        if ln.direction == "in":
            previous = ln
    return None


def cac_nodes(
    c: PackageContents,
    *,
    nid: NodeId,
    threads: Mapping[int, Node],
    messages: Mapping[tuple[int, int], Node],
    persona_accounts: Mapping[int, Node],
    contact_account: Callable[[int, str], Node],
    officers: Mapping[int, Node],
) -> list[Node]:
    """The CAC nodes of package ``c``; also adds CAC types and labels to the CASE/UCO nodes.

    ``threads``/``persona_accounts``: the thread and persona account node per conversation id;
    ``messages``: the message node per ``(conversation, message_seq)``; ``contact_account``:
    the account node of ``(conversation, author)``; ``officers``: the officer identity node per
    operation id. ``nid(kind, key)`` makes a node id (UUID-5, reproducible)."""
    views = c.conversation_views()
    out: list[Node] = []
    ages = {v.id: stated_age(v) for v in views}

    personas: dict[str, Node] = {}
    for v in views:
        pid = str(v.opened.get("persona_id", "unknown"))
        if pid not in personas:
            personas[pid] = {
                "@id": nid("cac-persona", pid),
                "@type": ["uco-identity:Identity", UC + "ChildPersona"],
                "rdfs:label": f"Decoy child persona {pid}",
                "uco-core:name": pid,
                "uco-core:description": (
                    "A decoy persona run by Tutela for a child-protection operation: not a real "
                    "child, so there is no victim."
                ),
                UC + "identityType": "digital_only",
                UC + "identityComplexity": "basic",
                UC + "backstoryDepth": "basic",
                UC + "documentationLevel": "none",
            }
        stated = ages[v.id]
        if stated is not None:
            told = personas[pid].setdefault(UC + "portraysAge", [])
            value = {"@type": "xsd:integer", "@value": str(stated[1])}
            if value not in told:
                told.append(value)
        account = persona_accounts[v.id]
        _add_type(account, UC + "PlatformAccount")
        account[UC + "platformUsername"] = str(v.opened.get("account", ""))
        thread = threads[v.id]
        _add_type(thread, UC + "UndercoverCommunication")
        thread["rdfs:label"] = f"Conversation {v.id}"
    out.extend(personas.values())

    operations: dict[int, Node] = {}
    export_at = c.export_entry.at
    for o in c.operations:
        oid = int(o["id"])
        used = sorted(
            {
                str(v.opened.get("persona_id", "unknown"))
                for v in views
                if v.opened.get("operation_id") == oid
            }
        )
        ends = o.get("ends_at")
        node: Node = {
            "@id": nid("cac-operation", oid),
            "@type": ["case-investigation:InvestigativeAction", UC + "MinorPersonaOperation"],
            "rdfs:label": f"Tutela decoy-persona operation {oid} ({o['organisation']})",
            "rdfs:comment": (
                "Online operation with decoy child personas; authorisation "
                f"{o['authorisation_ref']}, jurisdiction {o['jurisdiction']}. "
                + (
                    "Evidential operation."
                    if o["evidential"]
                    else "NON-EVIDENTIAL demonstration: not evidence, no judicial authorisation."
                )
            ),
            "uco-core:name": f"Operation {oid}",
            UC + "operationType": "online_investigation",
            UC + "operationStatus": "completed" if ends and str(ends) <= export_at else "active",
            UC + "riskLevel": "low",
            UC + "usesIdentity": [_ref(personas[p]) for p in used],
            GR + "performedBy": _ref(officers[oid]),
            "uco-core:startTime": {"@type": "xsd:dateTime", "@value": str(o["starts_at"])},
        }
        if ends:
            node["uco-core:endTime"] = {"@type": "xsd:dateTime", "@value": str(ends)}
        if o["evidential"]:
            record: Node = {
                "@id": nid("cac-authorisation-record", oid),
                "@type": "uco-observable:ObservableObject",
                "uco-core:name": str(o["authorisation_ref"]),
                "uco-core:description": (
                    f"Authorisation record {o['authorisation_ref']} of operation {oid}: legal "
                    f"basis {str(o['legal_basis']).rstrip('.')}; issued for {o['organisation']} "
                    f"({o['jurisdiction']}), officer {o['officer']}. As recorded in the ledger."
                ),
            }
            out.append(record)
            node[UC + "judicialAuthorization"] = _ref(record)
        operations[oid] = node
    out.extend(operations.values())

    for v in views:
        operation = operations.get(int(v.opened.get("operation_id", -1)))
        out.extend(
            _line_nodes(v, nid, operation, threads[v.id], messages, contact_account, ages[v.id])
        )
    return out


def _line_nodes(
    v: ConversationView,
    nid: NodeId,
    operation: Node | None,
    thread: Node,
    messages: Mapping[tuple[int, int], Node],
    contact_account: Callable[[int, str], Node],
    stated: tuple[int, int] | None,
) -> list[Node]:
    out: list[Node] = []
    acknowledging: list[TranscriptLine] = []

    def action(cls: str, ln: TranscriptLine, label: str, ids: list[str]) -> Node:
        node: Node = {
            "@id": nid("cac-action", (v.id, ln.message_seq, cls)),
            "@type": UC + cls,
            "rdfs:label": _en(f"{label} (conversation {v.id}, contact line {ln.contact_line})"),
            "rdfs:comment": _en(
                "Indicators (Tutela lexicon, not a legal finding): " + ", ".join(ids)
            ),
            UC + "triggeredBy": _ref(thread),
            GR + "performedBy": _ref(contact_account(v.id, ln.author)),
            "gufo:hasBeginPointInXSDDateTimeStamp": _stamp(ln.at),
            "rdfs:seeAlso": _ref(messages[(v.id, ln.message_seq)]),
        }
        if operation is not None:
            node[UC + "occurredDuringOperation"] = _ref(operation)
        out.append(node)
        return node

    for ln in v.lines:
        if ln.direction != "in" or not ln.new_indicators:
            continue
        ids = list(ln.new_indicators)
        split = [_split(i) for i in ids]
        categories = {cat for cat, _ in split}
        message = messages[(v.id, ln.message_seq)]
        message["rdfs:label"] = f"Contact line {ln.contact_line} of conversation {v.id}"
        message["rdfs:comment"] = "Indicators (Tutela lexicon): " + ", ".join(ids)
        if "secrecy" in categories:
            _add_type(message, GR + "SecrecyRequest")
        if categories & SOLICITATION_CATEGORIES:
            _add_type(message, UC + "CriminalSolicitation")
        if any(cat == "media_request" and name in _VIDEO_CALL_NAMES for cat, name in split):
            action("VideoCallRequestAction", ln, "Video call / webcam request", ids)
        if "meeting" in categories:
            action("SuspectCommunicationAction", ln, "In-person meeting request", ids)
        for cls, stage, kind in sorted({_BEHAVIOURS[k] for k in categories if k in _BEHAVIOURS}):
            out.append(
                {
                    "@id": nid("cac-behaviour", (v.id, ln.message_seq, cls)),
                    "@type": GR + cls,
                    "rdfs:label": f"{stage.replace('_', ' ')} (conversation {v.id}, "
                    f"contact line {ln.contact_line})",
                    "rdfs:comment": "Indicators (Tutela lexicon, not a legal finding): "
                    + ", ".join(ids),
                    GR + "groomingStage": stage,
                    GR + "behaviorType": kind,
                    GR + "performedBy": _ref(contact_account(v.id, ln.author)),
                    "gufo:hasBeginPointInXSDDateTimeStamp": _stamp(ln.at),
                    "rdfs:seeAlso": _ref(message),
                }
            )
        if stated is not None and ln.message_seq > stated[0] and set(split) & AGE_ACKNOWLEDGING:
            acknowledging.append(ln)
    if stated is not None and acknowledging:
        first = acknowledging[0]
        ack = action(
            "AgeAcknowledgment",
            first,
            f"Age {stated[1]} stated to the contact, acknowledged",
            [i for ln in acknowledging for i in ln.new_indicators],
        )
        ack[UC + "ageStatedToSuspect"] = _nonneg(stated[1])
        ack[UC + "acknowledgedCount"] = _nonneg(len(acknowledging))
    return out
