"""CASE/UCO JSON-LD (``case.jsonld``) for an evidence package.

Vocabulary: CASE 1.x / UCO 1.x (validated offline with ``case_validate`` from ``case-utils``, which
checks against its newest bundled CASE release, 1.5.0 at the time of writing). Shapes used:

- ``case-investigation:Investigation`` (the case) with ``relevantAuthorization`` →
  ``case-investigation:Authorization`` per operation (authorisation reference, legal basis,
  jurisdiction, officer, period; non-evidential operations tagged ``non-evidential``);
- ``case-investigation:InvestigativeAction`` for the export (performer, instrument = Tutela,
  object = the threads, result = a ``case-investigation:ProvenanceRecord``);
- ``uco-observable:MessageThread`` per conversation (``MessageThreadFacet`` with participants and a
  ``uco-types:Thread`` of ``uco-types:ThreadItem``\\ s) and ``uco-observable:Message`` per message
  (``MessageFacet``: text, sent time, from, to; ``ContentDataFacet``: SHA-256 of the text, the
  value in the ledger);
- ``uco-observable:File`` per data member of the package with its SHA-256;
- the Project VIC CAC ontology's undercover and grooming terms (``MinorPersonaOperation``,
  ``ChildPersona``, ``CriminalSolicitation``, ``SecrecyRequest``, ``VideoCallRequestAction``,
  ``AgeAcknowledgment``...): ``tutela.evidence.caseuco_cac``, checked against the CAC SHACL
  shapes by ``tutela.evidence.ontology_check``.

Hash methods are plain strings (``"SHA256"``, UCO 1.4+); every node id is ``kb:<kind>-<UUID>``
with a UUID-5 derived from the export entry's hash, so re-rendering a package gives the same ids.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, cast

from tutela.evidence.caseuco_cac import CAC_CONTEXT, cac_nodes
from tutela.evidence.contents import PackageContents
from tutela.ledger.payloads import InboundPayload, OutboundPayload

__all__ = ["CONTEXT", "case_jsonld"]

CONTEXT: dict[str, str] = {
    "case-investigation": "https://ontology.caseontology.org/case/investigation/",
    "co": "http://purl.org/co/",
    "kb": "urn:tutela:kb:",
    "uco-action": "https://ontology.unifiedcyberontology.org/uco/action/",
    "uco-core": "https://ontology.unifiedcyberontology.org/uco/core/",
    "uco-identity": "https://ontology.unifiedcyberontology.org/uco/identity/",
    "uco-observable": "https://ontology.unifiedcyberontology.org/uco/observable/",
    "uco-tool": "https://ontology.unifiedcyberontology.org/uco/tool/",
    "uco-types": "https://ontology.unifiedcyberontology.org/uco/types/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    **CAC_CONTEXT,
}
_NS = uuid.UUID("6f1d3a52-27c4-5b8e-9d0a-4c1e7f2b9a30")


def _dt(value: str) -> dict[str, str]:
    return {"@type": "xsd:dateTime", "@value": value}


def _hash(node_id: str, hexdigest: str) -> dict[str, Any]:
    return {
        "@id": node_id,
        "@type": "uco-types:Hash",
        "uco-types:hashMethod": "SHA256",
        "uco-types:hashValue": {"@type": "xsd:hexBinary", "@value": hexdigest},
    }


def _ref(node: Mapping[str, Any]) -> dict[str, str]:
    return {"@id": str(node["@id"])}


def case_jsonld(c: PackageContents) -> dict[str, Any]:
    """The JSON-LD document (``{"@context", "@graph"}``) describing package contents ``c``."""
    seed = c.export_entry.entry_hash

    def nid(kind: str, key: object = "") -> str:
        return f"kb:{kind}-{uuid.uuid5(_NS, f'{seed}/{kind}/{key}')}"

    graph: list[dict[str, Any]] = []

    def add(node: dict[str, Any]) -> dict[str, Any]:
        graph.append(node)
        return node

    tool = add(
        {
            "@id": nid("tool"),
            "@type": "uco-tool:Tool",
            "uco-core:name": c.tool,
            "uco-core:description": "Tutela: decoy personas, ledger and evidence packages.",
        }
    )
    exporter = add(
        {
            "@id": nid("identity", c.exported_by),
            "@type": "uco-identity:Identity",
            "uco-core:name": c.exported_by,
        }
    )
    authorizations = []
    officers: dict[int, dict[str, Any]] = {}
    for o in c.operations:
        flag = "evidential" if o["evidential"] else "non-evidential"
        node: dict[str, Any] = {
            "@id": nid("authorization", o["id"]),
            "@type": "case-investigation:Authorization",
            "uco-core:name": f"Operation {o['id']} ({o['organisation']})",
            "uco-core:description": (
                f"Organisation: {o['organisation']}. Jurisdiction: {o['jurisdiction']}. Legal "
                f"basis: {str(o['legal_basis']).rstrip('.')}. Officer: {o['officer']}. "
                + (
                    "Evidential operation."
                    if o["evidential"]
                    else "NON-EVIDENTIAL operation (demonstration): not evidence."
                )
            ),
            "uco-core:tag": [flag],
            "case-investigation:authorizationType": "online undercover operation (decoy persona)",
            "case-investigation:authorizationIdentifier": [str(o["authorisation_ref"])],
            "uco-core:startTime": _dt(str(o["starts_at"])),
        }
        if o.get("ends_at"):
            node["uco-core:endTime"] = _dt(str(o["ends_at"]))
        authorizations.append(add(node))
        add(
            {
                "@id": nid("organization", o["id"]),
                "@type": "uco-identity:Organization",
                "uco-core:name": str(o["organisation"]),
            }
        )
        officers[int(o["id"])] = add(
            {
                "@id": nid("officer", o["id"]),
                "@type": "uco-identity:Identity",
                "uco-core:name": str(o["officer"]),
            }
        )

    accounts: dict[tuple[str, str, str], dict[str, Any]] = {}

    def account(platform: str, ident: str, role: str) -> dict[str, Any]:
        key = (platform, ident, role)
        if key not in accounts:
            accounts[key] = add(
                {
                    "@id": nid("account", key),
                    "@type": "uco-observable:ApplicationAccount",
                    "uco-core:description": f"{role} account on platform {platform}",
                    "uco-core:hasFacet": [
                        {
                            "@id": nid("account-facet", key),
                            "@type": "uco-observable:AccountFacet",
                            "uco-observable:accountIdentifier": ident,
                        }
                    ],
                }
            )
        return accounts[key]

    by_seq = {e.seq: e for e in c.entries}
    threads = []
    all_messages = []
    thread_of: dict[int, dict[str, Any]] = {}
    message_of: dict[tuple[int, int], dict[str, Any]] = {}
    persona_of: dict[int, dict[str, Any]] = {}
    platform_of: dict[int, str] = {}
    for v in c.conversation_views():
        platform = platform_of[v.id] = str(v.opened.get("platform", "unknown"))
        persona = persona_of[v.id] = account(
            platform, str(v.opened.get("account", "")), "decoy persona"
        )
        contact_ids = {ln.author for ln in v.lines if ln.direction == "in"}
        contacts = [account(platform, a, "contact") for a in sorted(contact_ids)]
        items = []
        for ln in v.lines:
            sender = persona if ln.direction == "out" else account(platform, ln.author, "contact")
            receivers = contacts if ln.direction == "out" else [persona]
            facet: dict[str, Any] = {
                "@id": nid("message-facet", (v.id, ln.message_seq)),
                "@type": "uco-observable:MessageFacet",
                "uco-observable:messageID": f"{v.id}:{ln.message_seq}",
                "uco-observable:sentTime": _dt(ln.at),
                "uco-observable:from": _ref(sender),
                "uco-observable:to": [_ref(r) for r in receivers],
            }
            facets: list[dict[str, Any]] = [facet]
            if ln.text is not None:
                facet["uco-observable:messageText"] = ln.text
                entry = by_seq.get(ln.ledger_seq)
                entry_payload = cast(
                    "InboundPayload | OutboundPayload | None",  # the entry of a message line
                    None if entry is None else entry.payload,
                )
                if entry_payload is not None:
                    facets.append(
                        {
                            "@id": nid("content-facet", (v.id, ln.message_seq)),
                            "@type": "uco-observable:ContentDataFacet",
                            "uco-observable:hash": [
                                _hash(
                                    nid("hash", (v.id, ln.message_seq)),
                                    str(entry_payload["text_sha256"]),
                                )
                            ],
                        }
                    )
            msg = add(
                {
                    "@id": nid("message", (v.id, ln.message_seq)),
                    "@type": "uco-observable:Message",
                    "uco-core:description": (
                        f"ledger entry {ln.ledger_seq}"
                        + ("; text deleted under retention" if ln.text is None else "")
                    ),
                    "uco-core:hasFacet": facets,
                }
            )
            all_messages.append(msg)
            message_of[(v.id, ln.message_seq)] = msg
            items.append(
                {
                    "@id": nid("thread-item", (v.id, ln.message_seq)),
                    "@type": "uco-types:ThreadItem",
                    "co:itemContent": _ref(msg),
                }
            )
        thread = add(
            {
                "@id": nid("thread", v.id),
                "@type": "uco-observable:MessageThread",
                "uco-core:name": f"Conversation {v.id}",
                "uco-core:description": (
                    f"Persona {v.opened.get('persona_id')} on {platform}, operation "
                    f"{v.opened.get('operation_id')}, started {v.opened.get('started_at')}"
                ),
                "uco-core:hasFacet": [
                    {
                        "@id": nid("thread-facet", v.id),
                        "@type": "uco-observable:MessageThreadFacet",
                        "uco-observable:participant": [_ref(persona), *map(_ref, contacts)],
                        "uco-observable:messageThread": {
                            "@id": nid("thread-list", v.id),
                            "@type": "uco-types:Thread",
                            "co:item": items,
                            "co:size": {
                                "@type": "xsd:nonNegativeInteger",
                                "@value": str(len(items)),
                            },
                        },
                    }
                ],
            }
        )
        threads.append(thread)
        thread_of[v.id] = thread

    files = [
        add(
            {
                "@id": nid("file", name),
                "@type": "uco-observable:File",
                "uco-core:hasFacet": [
                    {
                        "@id": nid("file-facet", name),
                        "@type": "uco-observable:FileFacet",
                        "uco-observable:fileName": name,
                    },
                    {
                        "@id": nid("file-content", name),
                        "@type": "uco-observable:ContentDataFacet",
                        "uco-observable:hash": [_hash(nid("file-hash", name), digest)],
                    },
                ],
            }
        )
        for name, digest in sorted(c.data_hashes.items())
    ]
    cac = cac_nodes(
        c,
        nid=nid,
        threads=thread_of,
        messages=message_of,
        persona_accounts=persona_of,
        contact_account=lambda conv, author: account(platform_of[conv], author, "contact"),
        officers=officers,
    )
    graph.extend(cac)
    operations = [n for n in cac if "cacontology-undercover:MinorPersonaOperation" in n["@type"]]
    export = c.export_entry
    provenance = add(
        {
            "@id": nid("provenance"),
            "@type": "case-investigation:ProvenanceRecord",
            "case-investigation:exhibitNumber": f"tutela-case-{c.case_id}-entry-{export.seq}",
            "uco-core:description": (
                f"Evidence package of case {c.case_id}: ledger entries {c.entries[0].seq}-"
                f"{export.seq}, signing key SHA-256 fingerprint {c.key_fingerprint}"
                + ("" if c.evidential else "; NON-EVIDENTIAL (demonstration operation)")
            ),
            "uco-core:object": [_ref(n) for n in (*threads, *all_messages, *files)],
        }
    )
    action = add(
        {
            "@id": nid("export-action"),
            "@type": "case-investigation:InvestigativeAction",
            "uco-core:name": "evidence export",
            "uco-core:description": f"Exported from the Tutela ledger (entry {export.seq}).",
            "uco-action:startTime": _dt(export.at),
            "uco-action:performer": _ref(exporter),
            "uco-action:instrument": [_ref(tool)],
            "uco-action:object": [_ref(t) for t in threads],
            "uco-action:result": [_ref(provenance)],
        }
    )
    add(
        {
            "@id": nid("investigation"),
            "@type": "case-investigation:Investigation",
            "uco-core:name": f"Tutela case {c.case_id}",
            "case-investigation:focus": ["online grooming / solicitation of a minor"],
            "case-investigation:relevantAuthorization": [_ref(a) for a in authorizations],
            "uco-core:tag": ["evidential" if c.evidential else "non-evidential"],
            "uco-core:object": [
                _ref(provenance),
                _ref(action),
                *map(_ref, threads),
                *map(_ref, operations),
            ],
        }
    )
    return {"@context": dict(CONTEXT), "@graph": graph}
