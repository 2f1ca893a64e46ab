"""The CAC ontology terms in ``case.jsonld``: the exported graph conforms to the vendored Project
VIC CAC SHACL shapes (pySHACL) and to CASE/UCO (``case_validate``); a broken graph is reported."""

from __future__ import annotations

import copy
import json
import time
import zipfile
from importlib import resources
from typing import Any

import pytest
from _evidence_packages import Exported

from tutela.evidence.caseuco_cac import stated_age
from tutela.evidence.contents import ConversationView, TranscriptLine
from tutela.evidence.ontology_check import (
    CAC_ONTOLOGY_FILES,
    CAC_SHAPES_FILES,
    cac_violations,
    case_violations,
)

UC = "cacontology-undercover:"
GR = "cacontology-grooming:"


def _doc(pkg: Exported) -> dict[str, Any]:
    with zipfile.ZipFile(pkg.path) as z:
        return dict(json.loads(z.read("case.jsonld")))


def _types(node: dict[str, Any]) -> list[str]:
    t = node["@type"]
    return list(t) if isinstance(t, list) else [t]


def _of(doc: dict[str, Any], cls: str) -> list[dict[str, Any]]:
    return [n for n in doc["@graph"] if cls in _types(n)]


def test_demo_package_conforms_to_the_cac_shapes(
    demo_package: Exported, evidential_package: Exported
) -> None:
    """0 results (violations, warnings or infos) for both packages; prints the time taken."""
    for pkg in (demo_package, evidential_package):
        started = time.perf_counter()
        found = cac_violations(_doc(pkg))
        print(f"cac_violations({pkg.path.name}): {time.perf_counter() - started:.1f} s")
        assert found == [], "\n".join(map(str, found))


def test_demo_graph_uses_the_undercover_and_grooming_terms(demo_package: Exported) -> None:
    doc = _doc(demo_package)
    (operation,) = _of(doc, UC + "MinorPersonaOperation")
    assert "case-investigation:InvestigativeAction" in _types(operation)
    assert operation[UC + "operationType"] == "online_investigation"
    assert UC + "judicialAuthorization" not in operation  # a demonstration is not authorised
    (persona,) = _of(doc, UC + "ChildPersona")
    assert operation[UC + "usesIdentity"] == [{"@id": persona["@id"]}]
    (age,) = persona[UC + "portraysAge"]  # stated in the transcript ("im 13")
    assert 12 <= int(age["@value"]) <= 14
    (ack,) = _of(doc, UC + "AgeAcknowledgment")
    assert ack[UC + "ageStatedToSuspect"]["@value"] == age["@value"]
    assert ack[UC + "occurredDuringOperation"] == {"@id": operation["@id"]}
    assert "flattery.mature" in ack["rdfs:comment"]["@value"]  # "mature for your age"
    (video,) = _of(doc, UC + "VideoCallRequestAction")  # "do you have a webcam?"
    solicitation = {n["@id"]: n for n in _of(doc, UC + "CriminalSolicitation")}
    assert video["rdfs:seeAlso"]["@id"] in solicitation
    (secrecy,) = _of(doc, GR + "SecrecyRequest")  # "dont tell anyone"
    assert "uco-observable:Message" in _types(secrecy)
    assert _of(doc, GR + "TrustBuildingBehavior")
    assert not _of(doc, "cacontology-grooming:ChildVictim")  # a decoy: no victim


def test_evidential_graph_states_no_age_it_was_not_told(evidential_package: Exported) -> None:
    """The Recorder-built case's persona only says "ok": no age, so no age acknowledgment; its
    authorisation record is the operation's judicial authorisation."""
    doc = _doc(evidential_package)
    (persona,) = _of(doc, UC + "ChildPersona")
    assert UC + "portraysAge" not in persona
    assert not _of(doc, UC + "AgeAcknowledgment")
    (operation,) = _of(doc, UC + "MinorPersonaOperation")
    record = next(
        n for n in doc["@graph"] if n["@id"] == operation[UC + "judicialAuthorization"]["@id"]
    )
    assert record["uco-core:name"] == "AUTH-2025-001"
    assert "Art. 126j Sv" in record["uco-core:description"]
    # the operation ended (2025-03-31) before the package was exported (now)
    assert operation[UC + "operationStatus"] == "completed"
    (secrecy,) = _of(doc, GR + "SecrecyRequest")
    assert secrecy["rdfs:comment"].endswith("en.secrecy.dont_tell")


def _broken(doc: dict[str, Any], cls: str, edit: Any) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    edit(_of(out, cls)[0])
    return out


@pytest.mark.parametrize(
    ("cls", "edit", "path", "message"),
    [
        (
            UC + "ChildPersona",
            lambda n: n.pop(UC + "identityType"),
            "identityType",
            "must specify identity type",
        ),
        (
            UC + "AgeAcknowledgment",
            lambda n: n.update(
                {UC + "ageStatedToSuspect": {"@type": "xsd:integer", "@value": "13"}}
            ),
            "ageStatedToSuspect",
            "between 1 and 17",
        ),
        (
            UC + "AgeAcknowledgment",
            lambda n: n.update(
                {UC + "ageStatedToSuspect": {"@type": "xsd:nonNegativeInteger", "@value": "19"}}
            ),
            "ageStatedToSuspect",
            "between 1 and 17",
        ),
        (
            UC + "MinorPersonaOperation",
            lambda n: n.update({UC + "riskLevel": "none"}),
            "riskLevel",
            "risk level from the allowed list",
        ),
        (  # a SPARQL constraint (its prefixes are undeclared upstream): start before end
            UC + "MinorPersonaOperation",
            lambda n: n.update(
                {"uco-core:endTime": {"@type": "xsd:dateTime", "@value": "2000-01-01T00:00:00Z"}}
            ),
            None,
            "Start time must be before end time",
        ),
    ],
)
def test_a_broken_graph_is_reported(
    demo_package: Exported, cls: str, edit: Any, path: str | None, message: str
) -> None:
    doc = _doc(demo_package)
    node_id = _of(doc, cls)[0]["@id"].removeprefix("kb:")
    found = cac_violations(_broken(doc, cls, edit))
    assert found, "the broken graph was accepted"
    hit = [v for v in found if v.focus.endswith(node_id) and message in v.message]
    assert hit, "\n".join(map(str, found))
    assert all(v.severity == "Violation" for v in hit)
    if path is not None:
        assert hit[0].path is not None and hit[0].path.endswith(path)


def test_case_validate_accepts_the_cac_typed_graph(demo_package: Exported) -> None:
    """``case_validate`` (its newest bundled CASE release) on the demo package's graph, CAC
    types included: no violation and no misspelled CASE/UCO concept (one package: ~40 s)."""
    started = time.perf_counter()
    found = case_violations(_doc(demo_package))
    print(f"case_violations(demo): {time.perf_counter() - started:.1f} s")
    assert found == [], "\n".join(map(str, found))


def _line(seq: int, direction: str, text: str | None, **kw: Any) -> TranscriptLine:
    return TranscriptLine(
        message_seq=seq,
        direction=direction,
        contact_line=seq if direction == "in" else None,
        author="c" if direction == "in" else "p",
        text=text,
        at=f"2025-03-01T12:0{seq}:00.000000Z",
        ledger_seq=seq,
        **kw,
    )


def _view(*lines: TranscriptLine) -> ConversationView:
    return ConversationView(id=1, opened={}, opened_seq=0, ended=None, lines=lines)


def test_stated_age_reads_the_persona_lines_only() -> None:
    probe = ("en.age_probe.how_old",)
    assert stated_age(_view(_line(1, "in", "im 40"), _line(2, "out", "im 13"))) == (2, 13)
    # a bare number counts only as the answer to an age probe
    asked = _line(1, "in", "how old r u", new_indicators=probe)
    assert stated_age(_view(asked, _line(2, "out", "13"))) == (2, 13)
    assert stated_age(_view(_line(1, "in", "pick a number"), _line(2, "out", "13"))) is None
    # deterrence texts and purged lines are not the persona's statement
    warned = _line(2, "out", "I'm 13 and this is a warning", origin="deterrence:legal")
    assert stated_age(_view(asked, warned, _line(3, "out", None))) is None
    assert stated_age(_view(asked, _line(2, "out", "im 30"))) is None  # not a minor's age


def test_the_vendored_ontology_ships_with_its_licence_and_source() -> None:
    folder = resources.files("tutela.evidence") / "ontology" / "cac"
    names = {p.name for p in folder.iterdir()}
    assert {*CAC_ONTOLOGY_FILES, *CAC_SHAPES_FILES, "LICENSE", "README.md"} <= names
    readme = (folder / "README.md").read_text("utf-8")
    assert "Project-VIC-International/CAC-Ontology" in readme
    assert "a923bebb28571b91e19c4c4acc788c7870b28e45" in readme
    assert "Apache License" in (folder / "LICENSE").read_text("utf-8")
