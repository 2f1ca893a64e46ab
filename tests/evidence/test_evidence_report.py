"""The derived members of a package: HTML and PDF reports, CASE/UCO JSON-LD (``case_validate``)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from _evidence_packages import Exported

from tutela.evidence.caseuco import case_jsonld
from tutela.evidence.package import read_package, verified_contents


def _member(pkg: Exported, name: str) -> bytes:
    with zipfile.ZipFile(pkg.path) as z:
        return z.read(name)


def test_html_report_of_a_demo_is_marked_non_evidential(demo_package: Exported) -> None:
    html = _member(demo_package, "report.html").decode()
    assert 'class="banner"' in html and "NOT EVIDENCE" in html
    assert "tutela-demo" in html  # the operation's authorisation reference
    assert demo_package.signer.fingerprint() in html
    assert "analyst-a" in html  # who exported
    assert "<script" not in html.lower()


def test_html_report_content(evidential_package: Exported) -> None:
    html = _member(evidential_package, "report.html").decode()
    assert 'class="banner"' not in html and "NOT EVIDENCE" not in html
    for text in (
        "Example Child Protection Unit",
        "AUTH-2025-001",
        "Art. 126j Sv (synthetic test record)",
        "officer-7",
        "how old are you",
        "keep it a secret",
        "[text deleted under the retention rules]",
        "ladder.first_solicitation",
        "legal_trace",
        "0.900000",  # the risk as recorded in the ledger
        "en.secrecy.dont_tell",
        "2025-03-01T12:03:00.000000Z",  # the contact line's timestamp
    ):
        assert text in html, text
    assert "supervisor-s" in html and "open → in_review" in html  # the case's review
    # another case's conversation and review are not disclosed
    assert "bystander" not in html and "reviewer-of-another-case" not in html
    # the text is escaped, not interpreted
    assert re.search(r"<td>keep it a secret</td>", html)


def test_pdf_report(demo_package: Exported, evidential_package: Exported) -> None:
    for pkg in (demo_package, evidential_package):
        pdf = _member(pkg, "report.pdf")
        assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
        assert len(pdf) > 2000


def _case_validate() -> str:
    pytest.importorskip("case_utils", reason="case-utils (test dependency) is not installed")
    exe = Path(sys.executable).with_name("case_validate")
    found = str(exe) if exe.is_file() else shutil.which("case_validate")
    assert found, "case-utils is installed but its case_validate script is not found"
    return found


def test_case_validate_accepts_the_jsonld(
    demo_package: Exported, evidential_package: Exported, tmp_path: Path
) -> None:
    """``case_validate`` (case-utils, offline, its newest bundled CASE release) accepts both
    packages' JSON-LD; one run validates both (it loads the ontology once)."""
    exe = _case_validate()
    paths = []
    for n, pkg in enumerate((demo_package, evidential_package)):
        path = tmp_path / f"case-{n}.jsonld"
        path.write_bytes(_member(pkg, "case.jsonld"))
        paths.append(str(path))
    r = subprocess.run([exe, *paths], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert "Conforms: True" in r.stdout


def test_jsonld_content(evidential_package: Exported) -> None:
    doc = json.loads(_member(evidential_package, "case.jsonld"))
    nodes = doc["@graph"]
    uuid_tail = re.compile(r"-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

    def ids(node: object) -> list[str]:
        if isinstance(node, dict):
            return [v for k, v in node.items() if k == "@id"] + [
                i for v in node.values() for i in ids(v)
            ]
        if isinstance(node, list):
            return [i for v in node for i in ids(v)]
        return []

    assert all(uuid_tail.search(i) for i in ids(nodes))
    types = {
        t for n in nodes for t in (n["@type"] if isinstance(n["@type"], list) else [n["@type"]])
    }
    assert {
        "case-investigation:Investigation",
        "case-investigation:Authorization",
        "case-investigation:ProvenanceRecord",
        "case-investigation:InvestigativeAction",
        "uco-observable:MessageThread",
        "uco-observable:Message",
    } <= types
    auth = next(n for n in nodes if n["@type"] == "case-investigation:Authorization")
    assert auth["case-investigation:authorizationIdentifier"] == ["AUTH-2025-001"]
    texts = [
        f["uco-observable:messageText"]
        for n in nodes
        if "uco-observable:Message"
        in (n["@type"] if isinstance(n["@type"], list) else [n["@type"]])
        for f in n["uco-core:hasFacet"]
        if "uco-observable:messageText" in f
    ]
    assert "keep it a secret" in texts and "hello" not in texts  # "hello" was purged
    hashes = [json.dumps(n) for n in nodes if "SHA256" in json.dumps(n)]
    assert hashes and all("sha256:" not in h for h in hashes)


def test_jsonld_is_reproducible_from_the_verified_contents(evidential_package: Exported) -> None:
    """The JSON-LD is a function of the package's data members (same ids on re-rendering)."""
    contents = verified_contents(evidential_package.path)
    data = read_package(evidential_package.path)[3]
    again = json.dumps(case_jsonld(contents), ensure_ascii=False, indent=1, sort_keys=True)
    assert again.encode() == data["case.jsonld"]
