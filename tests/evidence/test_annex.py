"""The restricted annex beside a package: signed, bound by hash, optional to verify; the
redaction log lists what the disclosable bundle withholds."""

from __future__ import annotations

import json
import shutil
import stat
import zipfile
from pathlib import Path

import pytest
from _evidence_packages import Exported

from tutela.evidence.annex import annex_path, verify_annex
from tutela.evidence.package import verify_package
from tutela.ledger import TamperError, sha256_hex


def _read(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def _write(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def test_annex_is_written_private_and_bound_to_the_manifest(demo_package: Exported) -> None:
    annex = annex_path(demo_package.path)
    assert annex.name == "demo-case.annex.zip"
    assert stat.S_IMODE(annex.stat().st_mode) == 0o600
    members = _read(annex)
    assert {"annex.json", "annex.sig", "policy.json", "detection.json"} <= set(members)
    assert "persona/gb-ellie.json" in members and "deterrence/en.yaml" in members
    pkg = _read(demo_package.path)
    manifest = json.loads(pkg["manifest.json"])
    assert manifest["annex"] == {
        "name": annex.name,
        "manifest_sha256": sha256_hex(members["annex.json"]),
    }
    assert manifest["files"]["redactions.jsonl"] == sha256_hex(pkg["redactions.jsonl"])
    # the tradecraft is not in the disclosable bundle
    assert not any(n.startswith(("persona/", "deterrence/")) for n in pkg)
    assert b"reply_delay_s" not in pkg["report.html"] and b"reply_delay_s" not in pkg["METHOD.md"]
    result = verify_annex(annex, demo_package.path)
    assert result["members"] == len(members) - 2 and result["case_id"] == demo_package.case_id


def test_redaction_log_names_each_withheld_item(demo_package: Exported) -> None:
    pkg = _read(demo_package.path)
    annex = _read(annex_path(demo_package.path))
    rows = [json.loads(line) for line in pkg["redactions.jsonl"].splitlines()]
    by_item = {r["item"]: r for r in rows}
    for name in set(annex) - {"annex.json", "annex.sig"}:
        row = by_item[f"annex:{name}"]
        assert row["sha256"] == sha256_hex(annex[name]) and row["where"] == "annex"
        assert row["reason"].startswith("tradecraft")
    redacted = [
        json.loads(line)
        for line in pkg["entries.jsonl"].splitlines()
        if json.loads(line)["payload"] is None
    ]
    assert redacted, "the demo ledger holds entries of no case (audit rows)"
    for e in redacted:
        assert by_item[f"ledger:{e['seq']}"]["sha256"] == e["payload_sha256"]


def test_package_verifies_without_its_annex(demo_package: Exported, tmp_path: Path) -> None:
    alone = shutil.copy(demo_package.path, tmp_path / "alone.zip")
    verify_package(alone, expected_fingerprint=demo_package.signer.fingerprint())


@pytest.mark.parametrize("change", ["member", "manifest", "foreign", "redaction"])
def test_a_changed_annex_is_caught(demo_package: Exported, tmp_path: Path, change: str) -> None:
    members = _read(annex_path(demo_package.path))
    if change == "member":
        members["policy.json"] = members["policy.json"].replace(b"0.", b"1.", 1)
        what = "annex member policy.json"
    elif change == "manifest":  # re-listed hash: the package manifest names the old one
        m = json.loads(members["annex.json"])
        members["policy.json"] = b"{}\n"
        m["files"]["policy.json"] = sha256_hex(b"{}\n")
        members["annex.json"] = json.dumps(m).encode()
        what = "differs from the package manifest"
    elif change == "foreign":  # an extra member the annex manifest does not list
        members["extra.txt"] = b"x"
        what = "annex member list"
    else:
        members.pop("annex.sig")
        what = "annex lacks"
    bad = _write(tmp_path / "bad.annex.zip", members)
    with pytest.raises(TamperError, match=what):
        verify_annex(bad, demo_package.path)


def test_cli_verify_checks_the_annex(run_cli, demo_package: Exported, tmp_path: Path) -> None:
    annex = annex_path(demo_package.path)
    fp = demo_package.signer.fingerprint()
    code, _, err = run_cli("verify", str(demo_package.path), "--expect-fingerprint", fp,
                           "--annex", str(annex))  # fmt: skip
    assert code == 0 and "annex" in err and "intact, bound to the package" in err
    members = _read(annex)
    members["detection.json"] += b" "
    bad = _write(tmp_path / "bad.annex.zip", members)
    code, _, err = run_cli("verify", str(demo_package.path), "--expect-fingerprint", fp,
                           "--annex", str(bad))  # fmt: skip
    assert code == 1 and "TAMPERED" in err and "detection.json" in err
