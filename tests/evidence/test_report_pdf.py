"""report.pdf is report.html rendered by WeasyPrint: footer on every page (case id, data digest,
page N of M), whole timestamps, a real creation date, INTERIM while a conversation is open."""

from __future__ import annotations

import io
import json
import zipfile

from _evidence_packages import Exported
from pypdf import PdfReader

from tutela.evidence.layout import data_digest
from tutela.evidence.package import verified_contents
from tutela.evidence.report import INTERIM, render_html, render_pdf


def _zip(pkg: Exported) -> dict[str, bytes]:
    with zipfile.ZipFile(pkg.path) as z:
        return {n: z.read(n) for n in z.namelist()}


def _pages(pdf: bytes) -> tuple[PdfReader, list[str]]:
    reader = PdfReader(io.BytesIO(pdf))
    # WeasyPrint writes some strings as UTF-16 that pypdf returns with NULs; spacing varies
    return reader, ["".join(p.extract_text().replace("\x00", "").split()) for p in reader.pages]


def test_every_page_has_the_footer_with_case_digest_and_page_count(
    evidential_package: Exported,
) -> None:
    members = _zip(evidential_package)
    manifest = json.loads(members["manifest.json"])
    contents = verified_contents(evidential_package.path)
    digest = data_digest(contents.data_hashes)
    assert manifest["data_digest"] == digest  # the footer's digest is the manifest's field
    _, pages = _pages(members["report.pdf"])
    n = len(pages)
    assert n >= 2
    for i, text in enumerate(pages, start=1):
        assert f"case{contents.case_id}" in text
        assert f"datadigest(SHA-256){digest}" in text, i
        assert f"page{i}of{n}" in text, i


def test_pdf_metadata_carry_the_package_creation_date(evidential_package: Exported) -> None:
    members = _zip(evidential_package)
    manifest = json.loads(members["manifest.json"])
    reader, _ = _pages(members["report.pdf"])
    created = manifest["created_at"]  # e.g. 2026-12-01T20:08:38.642941Z
    expected = "D:" + created[:19].replace("-", "").replace(":", "").replace("T", "") + "Z"
    assert reader.metadata["/CreationDate"] == expected
    assert not reader.metadata["/CreationDate"].startswith("D:2000")
    assert reader.metadata["/Title"] == f"Tutela evidence report — case {manifest['case_id']}"
    assert reader.metadata["/Creator"] == manifest["tool"]


def test_open_conversation_is_interim_in_html_and_pdf(evidential_package: Exported) -> None:
    members = _zip(evidential_package)  # the fixture's conversation has no recorded end
    html = members["report.html"].decode()
    assert INTERIM in html and 'id="interim"' in html
    _, pages = _pages(members["report.pdf"])
    assert "".join(INTERIM.split()) in pages[0]
    assert all(p.count("INTERIM·Tutelaevidencereport") == 1 for p in pages)  # and each footer


def test_ended_demo_conversation_is_not_interim(demo_package: Exported) -> None:
    members = _zip(demo_package)
    html = members["report.html"].decode()
    assert INTERIM not in html and 'id="interim"' not in html
    # the demo's simulated clock ends in the past: "exported" never precedes the end
    entries = [json.loads(line) for line in members["entries.jsonl"].splitlines()]
    ended = [e for e in entries if (e["payload"] or {}).get("event") == "conversation_ended"]
    assert ended and all(e["at"] < entries[-1]["at"] for e in ended)
    assert 'id="clock"' not in html
    _, pages = _pages(members["report.pdf"])
    assert not any("INTERIM" in p for p in pages)


def test_timestamps_do_not_wrap_and_the_pdf_is_the_html(evidential_package: Exported) -> None:
    contents = verified_contents(evidential_package.path)
    html = render_html(contents)
    assert ".ts, td.time { white-space: nowrap; }" in html
    assert '<span class="ts">2025-03-01T12:03:00.000000Z</span>' in html
    _, pages = _pages(render_pdf(contents, html))
    assert "received2025-03-01T12:03:00.000000Z" in "".join(pages)  # whole, on one line
    reader = PdfReader(io.BytesIO(render_pdf(contents, html)))
    whole = "\n".join(p.extract_text().replace("\x00", "") for p in reader.pages)
    assert any("2025-03-01T12:03:00.000000Z" in line for line in whole.splitlines())


def test_pdf_is_deterministic_for_equal_contents(evidential_package: Exported) -> None:
    contents = verified_contents(evidential_package.path)
    assert render_pdf(contents) == render_pdf(contents) == _zip(evidential_package)["report.pdf"]


def test_a_manifest_with_a_wrong_data_digest_is_refused(
    evidential_package: Exported, tmp_path
) -> None:
    """Even re-signed by the package's key, a data digest that is not over the listed data
    members' hashes is refused (it is what every PDF footer shows)."""
    import pytest
    from _evidence_packages import members, write_members

    from tutela.evidence.package import verify_package
    from tutela.ledger import TamperError, canonical_json

    data = members(evidential_package.path)
    manifest = json.loads(data["manifest.json"])
    manifest["data_digest"] = "0" * 64
    data["manifest.json"] = canonical_json(manifest)
    sig = evidential_package.signer.sign_manifest(data["manifest.json"])
    data["manifest.sig"] = (sig + "\n").encode()
    bad = write_members(tmp_path / "bad.zip", data)
    with pytest.raises(TamperError, match="data_digest"):
        verify_package(bad)


def test_the_pdf_renderer_fetches_nothing(evidential_package: Exported) -> None:
    """A URL in the report (only reachable if a contact's text escaped autoescaping) is never
    fetched: no request leaves the machine, no local file is read or embedded."""
    import http.server
    import threading

    from tutela.evidence.report import render_pdf

    hits: list[str] = []

    class Count(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Count)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        hostile = (
            f'<html><head><link rel="stylesheet" href="{url}/css"><style>@import "{url}/imp";'
            f'</style></head><body><img src="{url}/img"><p style="background:url({url}/bg)">x</p>'
            '<a rel="attachment" href="file:///etc/hostname">a</a></body></html>'
        )
        pdf = render_pdf(verified_contents(evidential_package.path), hostile)
    finally:
        server.shutdown()
        server.server_close()
    assert pdf.startswith(b"%PDF") and hits == []
    assert b"/EmbeddedFile" not in pdf
