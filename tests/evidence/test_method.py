"""METHOD.md (ISO/IEC 27037 steps, ISO/IEC 27041 validation record) and CERTIFICATE.md."""

from __future__ import annotations

import json
import zipfile

import pytest
from _evidence_packages import Exported

from tutela import __version__
from tutela.errors import ConfigError
from tutela.evidence.export import certificate_path
from tutela.evidence.layout import data_digest
from tutela.evidence.method import load_validation_record, source_commit
from tutela.evidence.package import verified_contents
from tutela.ledger import sha256_hex


def _member(pkg: Exported, name: str) -> str:
    with zipfile.ZipFile(pkg.path) as z:
        return z.read(name).decode("utf-8")


def test_method_maps_the_four_steps_and_quotes_the_record(evidential_package: Exported) -> None:
    method = _member(evidential_package, "METHOD.md")
    for step in ("**Identification.**", "**Collection.**", "**Acquisition.**", "**Preservation.**"):
        assert step in method
    assert "`messages.jsonl`" in method and "`redactions.jsonl`" in method
    assert "AUTH-2025-001" in method  # the operation the conversations were collected under
    record = load_validation_record()
    assert f"tutela {__version__}; source commit `{source_commit()[0]}`" in method
    assert f"made {record['date']} from commit `{record['commit']}`" in method
    for d in record["detector"]:
        assert f"`{d['command']}`" in method and f"{d['precision']:.3f}" in method
    assert record["tests"]["command"] in method
    assert "INTERIM — conversation open at export" in method  # the fixture's conversation


def test_stale_record_is_visible(evidential_package: Exported) -> None:
    from tutela.evidence.method import render_method

    contents = verified_contents(evidential_package.path)
    record = load_validation_record()
    text = render_method(
        contents, members=["messages.jsonl"], digest="d" * 64, annex_name="a.annex.zip",
        annex_manifest_sha256="e" * 64, withheld=0, record=record, commit=("f" * 40, "git"),
    )  # fmt: skip
    assert "not the commit this tool ran from" in text
    same = render_method(
        contents, members=[], digest="d" * 64, annex_name="a", annex_manifest_sha256="e" * 64,
        withheld=0, record=record, commit=(record["commit"], "git checkout"),
    )  # fmt: skip
    assert "not the commit this tool ran from" not in same


def test_record_shape_is_checked() -> None:
    with pytest.raises(ConfigError, match="not JSON"):
        load_validation_record("{")
    with pytest.raises(ConfigError, match="lacks 'detector'"):
        load_validation_record(
            json.dumps(
                {
                    "format": "tutela-validation-record-v1",
                    "date": "d",
                    "commit": "c",
                    "tool_version": "v",
                    "tests": {},
                }
            )
        )
    committed = load_validation_record()
    assert committed["format"] == "tutela-validation-record-v1"
    assert all(0.0 <= d["precision"] <= 1.0 for d in committed["detector"])


def test_certificate_template_and_filled_copy(evidential_package: Exported) -> None:
    inside = _member(evidential_package, "CERTIFICATE.md")
    contents = verified_contents(evidential_package.path)
    digest = data_digest(contents.data_hashes)
    beside = certificate_path(evidential_package.path).read_text(encoding="utf-8")
    with zipfile.ZipFile(evidential_package.path) as z:
        manifest_sha = sha256_hex(z.read("manifest.json"))
    for text in (inside, beside):
        assert "(full name)" in text and "(role or rank)" in text and "(jurisdiction)" in text
        assert "Signature: ____" in text and "Date: ____" in text
        assert contents.key_fingerprint in text and digest in text
    assert manifest_sha in beside and manifest_sha not in inside
