"""Validate a package's ``case.jsonld`` against the CAC SHACL shapes and against CASE/UCO.

Two checks, each returning the violations found (an empty list: the graph conforms):

- ``cac_violations``: pySHACL with the vendored Project VIC CAC shapes (undercover, grooming,
  core; ``tutela/evidence/ontology/cac/``, README there) as the shapes graph, and the CAC
  ontologies plus the CASE/UCO ontology that ``case-utils`` ships (its newest CASE release) as
  the ontology graph (class hierarchy only). No inference, as ``case_validate`` and the CAC
  repository's own ``testing/shacl_validation.py`` run it.
- ``case_violations``: ``case_utils.case_validate.validate`` (what the ``case_validate``
  command runs), against the newest bundled CASE release; nonexistent CASE/UCO concepts are
  reported too.

Not run: the CAC semantic spine's starter shapes (``cacontology-core-spine-shapes.ttl``): its
``EventShape`` asks every event for an ``xsd:string`` label while the undercover module's
``SuspectCommunicationActionShape`` asks the same nodes for an ``rdf:langString`` one, so no
``AgeAcknowledgment`` or ``VideoCallRequestAction`` can satisfy both (upstream 3.0.0).

Needs ``pyshacl`` and ``case-utils`` (the ``test`` extra); ``tutela verify`` does not run it.
Measured on the demo package (2 shared cores): ``cac_violations`` ~2 s once the ontologies are
loaded, 10-20 s for the first call of a process (parsing CASE/UCO); ``case_violations`` 40-55 s.
"""

from __future__ import annotations

import functools
import json
import tempfile
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from rdflib import BNode, Graph, Literal, Namespace
from rdflib.namespace import OWL, RDF, RDFS, XSD

__all__ = [
    "CAC_ONTOLOGY_FILES",
    "CAC_SHAPES_FILES",
    "Violation",
    "cac_violations",
    "case_violations",
]

#: Vendored CAC ontology modules (class hierarchy for the shapes' targets and ``sh:class``).
CAC_ONTOLOGY_FILES = (
    "cacontology-core-spine.ttl",
    "cacontology-core.ttl",
    "cacontology-undercover.ttl",
    "cacontology-grooming.ttl",
)
#: Vendored CAC shapes that are run.
CAC_SHAPES_FILES = (
    "cacontology-core-shapes.ttl",
    "cacontology-undercover-shapes.ttl",
    "cacontology-grooming-shapes.ttl",
)
SH = Namespace("http://www.w3.org/ns/shacl#")


@dataclass(frozen=True, slots=True)
class Violation:
    """One SHACL result (or one nonexistent CASE/UCO concept, ``shape`` ``"concept"``).

    ``focus``: the node's IRI; ``path``: the property (``None`` for a node-level result);
    ``severity``: ``Violation``/``Warning``/``Info``; ``message``: the shape's message."""

    focus: str
    path: str | None
    shape: str
    severity: str
    message: str
    value: str | None = None


def _cac_file(name: str) -> str:
    return (resources.files("tutela.evidence") / "ontology" / "cac" / name).read_text("utf-8")


@functools.cache
def _cac_shapes() -> Graph:
    """The CAC shapes, with each file's ``@prefix`` lines declared for its SPARQL constraints.

    Some upstream ``sh:sparql`` constraints use prefixes they do not declare (``sh:prefixes``);
    pySHACL runs them against the mixed data graph, which does not keep the files' bindings.
    Each file's own prefixes are therefore declared on its ``owl:Ontology`` node (``sh:declare``)
    and linked from those constraints: the SHACL way of saying what the file already means; no
    constraint is changed."""
    g = Graph()
    for name in CAC_SHAPES_FILES:
        part = Graph().parse(data=_cac_file(name), format="turtle")
        ontology = next(part.subjects(RDF.type, OWL.Ontology))
        for prefix, namespace in part.namespaces():
            declare = BNode()
            part.add((ontology, SH.declare, declare))
            part.add((declare, SH.prefix, Literal(prefix)))
            part.add((declare, SH.namespace, Literal(str(namespace), datatype=XSD.anyURI)))
        for constraint in set(part.objects(None, SH.sparql)):
            if part.value(constraint, SH.prefixes) is None:
                part.add((constraint, SH.prefixes, ontology))
        g += part
        for prefix, namespace in part.namespaces():
            g.bind(prefix, namespace, override=False)
    return g


@functools.cache
def _ontology() -> Graph:
    """The class hierarchy (``rdfs:subClassOf``, ``owl:Class``) of the CAC modules and of the
    newest CASE/UCO release bundled with case-utils: all the shapes need from the ontologies
    (targets and ``sh:class`` follow subclasses). pySHACL copies this graph into the data
    graph on every run, so the rest (labels, property definitions, UCO's shapes) is left out."""
    from case_utils.ontology import version_info

    full = Graph()
    for name in CAC_ONTOLOGY_FILES:
        full.parse(data=_cac_file(name), format="turtle")
    case = resources.files("case_utils.ontology") / f"case-{version_info.CURRENT_CASE_VERSION}.ttl"
    full.parse(data=case.read_text("utf-8"), format="turtle")
    g = Graph()
    for triple in full.triples((None, RDFS.subClassOf, None)):
        g.add(triple)
    for triple in full.triples((None, RDF.type, OWL.Class)):
        g.add(triple)
    return g


def _graph(document: bytes | str | Mapping[str, Any] | Graph) -> Graph:
    if isinstance(document, Graph):
        return document
    text = document if isinstance(document, str | bytes) else json.dumps(document)
    with warnings.catch_warnings():  # rdflib's own JSON-LD parser (7.x) uses its old graph class
        warnings.filterwarnings("ignore", "ConjunctiveGraph is deprecated", DeprecationWarning)
        return Graph().parse(data=text, format="json-ld")


def _results(report: Graph) -> list[Violation]:
    out = []
    for r in report.subjects(RDF.type, SH.ValidationResult):
        path = report.value(r, SH.resultPath)
        value = report.value(r, SH.value)
        severity = str(report.value(r, SH.resultSeverity)).rsplit("#", 1)[-1]
        out.append(
            Violation(
                focus=str(report.value(r, SH.focusNode)),
                path=None if path is None else str(path),
                shape=str(report.value(r, SH.sourceShape)),
                severity=severity,
                message=str(report.value(r, SH.resultMessage) or ""),
                value=None if value is None else str(value),
            )
        )
    return sorted(out, key=lambda v: (v.focus, v.path or "", v.message))


def cac_violations(document: bytes | str | Mapping[str, Any] | Graph) -> list[Violation]:
    """The CAC SHACL results for ``document`` (``case.jsonld`` bytes/text, its parsed JSON, or
    an rdflib ``Graph``): violations, warnings and infos, sorted by focus node and path.

    Raises ``ModuleNotFoundError`` without pyshacl or case-utils."""
    import pyshacl

    _, report, _ = pyshacl.validate(
        _graph(document),
        shacl_graph=_cac_shapes(),
        ont_graph=_ontology(),
        inference="none",
        abort_on_first=False,
        allow_infos=False,
        allow_warnings=False,
    )
    assert isinstance(report, Graph)
    return _results(report)


def case_violations(document: bytes | str | Mapping[str, Any]) -> list[Violation]:
    """``case_validate``'s results for ``document`` (as ``cac_violations``), plus one
    ``Violation`` per CASE/UCO concept the ontology does not define (a typo).

    Raises ``ModuleNotFoundError`` without case-utils."""
    from case_utils.case_validate import validate

    text = document if isinstance(document, str | bytes) else json.dumps(document)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "case.jsonld"
        path.write_bytes(text.encode() if isinstance(text, str) else text)
        with warnings.catch_warnings():  # what they warn of is returned below
            warnings.simplefilter("ignore")
            result = validate(str(path), inference="none", abort_on_first=False)
    report = result.graph
    out = _results(report) if isinstance(report, Graph) else []
    out += [
        Violation(
            focus=str(c),
            path=None,
            shape="concept",
            severity="Violation",
            message="not a concept of the CASE/UCO ontology",
        )
        for c in sorted(result.undefined_concepts)
    ]
    return out
