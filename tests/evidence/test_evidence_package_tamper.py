"""Tamper tests over whole evidence packages, through ``tutela verify``: every kind of change gives
exit status 1 and a message naming the member or ledger entry (bad golden files, after sigstore
and pymerkle's tests/test_defense.py); a consistent forgery by another key exits 3 (untrusted)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from _evidence_packages import Exported, members, rewrite, write_members

from tutela.evidence import verify_package
from tutela.ledger import Signer, TamperError, canonical_json, sha256_hex

RunCli = Callable[..., tuple[int, str, str]]
MEMBERS = (
    "entries.jsonl",
    "checkpoints.jsonl",
    "messages.jsonl",
    "operations.json",
    "public_key.pem",
    "report.html",
    "report.pdf",
    "case.jsonld",
)


@pytest.fixture(autouse=True)
def _no_local_trust(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No default signing key or trusted-keys file of the machine running the tests."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg-data")))
    monkeypatch.delenv("TUTELA_DB", raising=False)


def flip(data: bytes, at: int | None = None) -> bytes:
    i = len(data) // 2 if at is None else at
    return data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1 :]


def test_intact_package_exits_zero(demo_package: Exported, run_cli: RunCli) -> None:
    fp = demo_package.signer.fingerprint()
    code, out, err = run_cli("verify", str(demo_package.path), "--expect-fingerprint", fp)
    assert code == 0, err
    assert "intact" in out and fp in out


@pytest.mark.parametrize("mode", ["stale", "fixed"])
@pytest.mark.parametrize("member", MEMBERS)
def test_changed_byte_in_any_member(
    demo_package: Exported, tmp_path: Path, run_cli: RunCli, member: str, mode: str
) -> None:
    original = members(demo_package.path)[member]
    bad = rewrite(demo_package.path, tmp_path / "bad.zip", {member: flip(original)}, mode=mode)
    code, _, err = run_cli("verify", str(bad))
    assert code == 1
    # stale manifest: the member's hash; fixed-up manifest: its signature (or, for a changed
    # key, the key no longer matching the manifest's fingerprint)
    if mode == "stale":
        assert f"SHA-256 of {member} differs" in err
    elif member == "public_key.pem":
        assert "public_key.pem" in err or "key_fingerprint" in err
    else:
        assert "manifest.sig" in err
    assert "expected" in err and "found" in err


def test_changed_manifest_byte(demo_package: Exported, tmp_path: Path, run_cli: RunCli) -> None:
    data = members(demo_package.path)
    manifest = json.loads(data["manifest.json"])
    manifest["exported_by"] = "someone-else"
    data["manifest.json"] = canonical_json(manifest)
    code, _, err = run_cli("verify", str(write_members(tmp_path / "bad.zip", data)))
    assert code == 1 and "manifest.sig" in err


def _entries(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True)


def _remove(lines: list[bytes]) -> list[bytes]:
    return lines[:3] + lines[4:]


def _reorder(lines: list[bytes]) -> list[bytes]:
    return [*lines[:3], lines[4], lines[3], *lines[5:]]


def _insert(lines: list[bytes]) -> list[bytes]:
    return [*lines[:4], lines[3], *lines[4:]]


def _drop_last(lines: list[bytes]) -> list[bytes]:
    return lines[:-1]


def _edit_decision(lines: list[bytes]) -> list[bytes]:
    out = []
    for line in lines:
        row = json.loads(line)
        if row["kind"] == "decision" and row["payload"]["action"] != "continue":
            row["payload"]["action"] = "continue"
            line = canonical_json(row) + b"\n"
        out.append(line)
    return out


ENTRY_EDITS = {
    "removed": (_remove, "sequence broken"),
    "reordered": (_reorder, "sequence broken"),
    "inserted": (_insert, "sequence broken"),
    "last removed": (_drop_last, "entries.jsonl range"),
    "decision edited": (_edit_decision, "payload_sha256"),
}


@pytest.mark.parametrize("edit", sorted(ENTRY_EDITS))
def test_entry_changes_even_with_a_resigned_manifest(
    demo_package: Exported, tmp_path: Path, run_cli: RunCli, edit: str
) -> None:
    """Even a manifest re-signed with the ledger key cannot hide a change to the chain."""
    fn, finding = ENTRY_EDITS[edit]
    new = b"".join(fn(_entries(members(demo_package.path)["entries.jsonl"])))
    for mode in ("stale", "resigned"):
        bad = rewrite(
            demo_package.path,
            tmp_path / f"{mode}.zip",
            {"entries.jsonl": new},
            mode=mode,
            signer=demo_package.signer,
        )
        code, _, err = run_cli("verify", str(bad))
        assert code == 1
        assert ("entries.jsonl" if mode == "stale" else finding) in err


def _message_rows(data: bytes) -> list[dict]:
    return [json.loads(x) for x in data.splitlines()]


def _jsonl(rows: list[dict]) -> bytes:
    return b"".join(canonical_json(r) + b"\n" for r in rows)


def test_message_text_author_time_and_omission(demo_package: Exported, tmp_path: Path) -> None:
    rows = _message_rows(members(demo_package.path)["messages.jsonl"])
    edits = {
        "text_sha256": lambda r: r.__setitem__("text", r["text"] + "!"),
        "author_sha256": lambda r: r.__setitem__("author", "someone-else"),
        "at": lambda r: r.__setitem__("at", "2020-01-01T00:00:00.000000Z"),
        "wire_sha256": lambda r: r.__setitem__("wire", "AAAA"),
    }
    for finding, edit in edits.items():
        changed = [dict(r) for r in rows]
        edit(changed[0])
        bad = rewrite(
            demo_package.path,
            tmp_path / "bad.zip",
            {"messages.jsonl": _jsonl(changed)},
            mode="resigned",
            signer=demo_package.signer,
        )
        with pytest.raises(TamperError, match=finding):
            verify_package(bad)
    bad = rewrite(
        demo_package.path,
        tmp_path / "bad.zip",
        {"messages.jsonl": _jsonl(rows[1:])},
        mode="resigned",
        signer=demo_package.signer,
    )
    with pytest.raises(TamperError, match="lacks recorded messages"):
        verify_package(bad)


def test_operation_record_changed(demo_package: Exported, tmp_path: Path) -> None:
    ops = json.loads(members(demo_package.path)["operations.json"])
    ops[0]["evidential"] = True  # pass a demonstration off as evidence
    bad = rewrite(
        demo_package.path,
        tmp_path / "bad.zip",
        {"operations.json": canonical_json(ops)},
        mode="resigned",
        signer=demo_package.signer,
    )
    with pytest.raises(TamperError, match="operation 1 evidential"):
        verify_package(bad)


def resign_with(src: Path, dst: Path, other: Signer) -> Path:
    """Replace the key and re-sign every checkpoint and the manifest with ``other``."""
    data = members(src)
    cps = [json.loads(x) for x in data["checkpoints.jsonl"].splitlines()]
    new_cps = []
    for cp in cps:
        signed = other.sign_checkpoint(cp["seq"], cp["entry_hash"], datetime.now(UTC))
        new_cps.append({**signed.to_dict(), "at": cp["at"]})
    data["checkpoints.jsonl"] = _jsonl(new_cps)
    data["public_key.pem"] = other.public_key_pem().encode()
    manifest = json.loads(data["manifest.json"])
    manifest["key_fingerprint"] = other.fingerprint()
    for name in ("checkpoints.jsonl", "public_key.pem"):
        manifest["files"][name] = sha256_hex(data[name])
    if "data_digest" in manifest:  # a consistent forger recomputes it too (layout.data_digest)
        from tutela.evidence.layout import DATA_MEMBERS, OPTIONAL_MEMBERS, data_digest

        listed = (*DATA_MEMBERS, *OPTIONAL_MEMBERS)
        manifest["data_digest"] = data_digest(
            {n: h for n, h in manifest["files"].items() if n in listed}
        )
    data["manifest.json"] = canonical_json(manifest)
    data["manifest.sig"] = other.sign_manifest(data["manifest.json"]).encode()
    return write_members(dst, data)


def test_swapped_key_is_untrusted(demo_package: Exported, tmp_path: Path, run_cli: RunCli) -> None:
    other = Signer.generate()
    forged = resign_with(demo_package.path, tmp_path / "forged.zip", other)
    # a consistent forgery by another key is intact on its own terms, but not trusted: exit 3
    code, out, err = run_cli("verify", str(forged))
    assert code == 3 and other.fingerprint() in out
    assert f"intact, but signed by an untrusted key {other.fingerprint()}" in err
    # ... and fails against the published fingerprint
    fp = demo_package.signer.fingerprint()
    code, _, err = run_cli("verify", str(forged), "--expect-fingerprint", fp)
    assert code == 1
    assert "expected signing key" in err and fp in err and other.fingerprint() in err


def test_swapped_key_without_resigning(
    demo_package: Exported, tmp_path: Path, run_cli: RunCli
) -> None:
    other = Signer.generate()
    pem = other.public_key_pem().encode()
    for mode in ("stale", "fixed"):
        bad = rewrite(demo_package.path, tmp_path / "bad.zip", {"public_key.pem": pem}, mode=mode)
        code, _, err = run_cli("verify", str(bad))
        assert code == 1
        assert ("public_key.pem" if mode == "stale" else "key_fingerprint") in err


@pytest.mark.parametrize("member", [*MEMBERS, "manifest.sig"])
def test_removed_member(
    demo_package: Exported, tmp_path: Path, run_cli: RunCli, member: str
) -> None:
    bad = rewrite(demo_package.path, tmp_path / "bad.zip", {member: None}, mode="stale")
    code, _, err = run_cli("verify", str(bad))
    assert code == 1 and "missing" in err and member in err


def test_removed_member_and_manifest_entry(
    demo_package: Exported, tmp_path: Path, run_cli: RunCli
) -> None:
    bad = rewrite(
        demo_package.path,
        tmp_path / "bad.zip",
        {"report.pdf": None},
        mode="resigned",
        signer=demo_package.signer,
    )
    code, _, err = run_cli("verify", str(bad))
    assert code == 1 and "member list" in err


@pytest.mark.parametrize("name", ["notes.txt", "timestamp.tsr", "[/]notes.txt"])
def test_added_member(demo_package: Exported, tmp_path: Path, run_cli: RunCli, name: str) -> None:
    data = members(demo_package.path)
    data[name] = b"extra"
    code, _, err = run_cli("verify", str(write_members(tmp_path / "bad.zip", data)))
    assert code == 1 and "unexpected member" in err and name in err


def test_duplicated_member(demo_package: Exported, tmp_path: Path, run_cli: RunCli) -> None:
    import warnings
    import zipfile

    bad = tmp_path / "bad.zip"
    data = members(demo_package.path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name
        with zipfile.ZipFile(bad, "w") as z:
            for n, b in data.items():
                z.writestr(n, b)
            z.writestr("report.html", b"<p>a second report</p>")
    code, _, err = run_cli("verify", str(bad))
    assert code == 1 and "duplicated" in err and "report.html" in err


def test_unreadable_files_exit_two(tmp_path: Path, run_cli: RunCli) -> None:
    import zipfile

    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip at all")
    code, _, err = run_cli("verify", str(junk))
    assert code == 2 and "error:" in err and "zip" in err
    other = write_members(tmp_path / "other.zip", {"readme.txt": b"hello"})
    code, _, err = run_cli("verify", str(other))
    assert code == 2 and "manifest.json" in err
    wrong = write_members(tmp_path / "wrong.zip", {"manifest.json": b'{"format": "x"}'})
    code, _, err = run_cli("verify", str(wrong))
    assert code == 2 and "tutela-evidence-package-v1" in err
    code, _, err = run_cli("verify", str(tmp_path / "absent.zip"))
    assert code == 2
    assert zipfile.is_zipfile(other)


def test_json_output(demo_package: Exported, tmp_path: Path, run_cli: RunCli) -> None:
    fp = demo_package.signer.fingerprint()
    code, out, _ = run_cli("verify", str(demo_package.path), "--json", "--expect-fingerprint", fp)
    data = json.loads(out)
    assert code == 0 and data["ok"] is True and data["case_id"] == demo_package.case_id
    assert data["intact"] is True and data["trusted"] is True
    assert data["evidential"] is False and data["fingerprint_checked"] is True
    # the same package without a trusted key: intact, but not ok
    code, out, _ = run_cli("verify", str(demo_package.path), "--json")
    data = json.loads(out)
    assert code == 3 and data["ok"] is False and data["intact"] is True
    assert data["trusted"] is False and data["key_fingerprint"] == fp
    bad = rewrite(
        demo_package.path,
        tmp_path / "bad.zip",
        {"entries.jsonl": b"".join(_remove(_entries(members(demo_package.path)["entries.jsonl"])))},
        mode="resigned",
        signer=demo_package.signer,
    )
    code, out, _ = run_cli("verify", str(bad), "--json")
    data = json.loads(out)
    assert code == 1 and data["ok"] is False and data["intact"] is False
    assert data["problem"]["ledger_seq"] == 5 and data["problem"]["expected"] == 4


def test_draft_package_is_not_evidential_and_its_flag_is_bound(
    tmp_path: Path, run_cli: RunCli
) -> None:
    """A draft of an evidential case verifies as NON-EVIDENTIAL; dropping the manifest's draft
    flag (re-signed) disagrees with the signed export entry."""
    from _evidence_packages import build_case

    from tutela.evidence import export_package
    from tutela.store import open_store

    folder = tmp_path / "db"
    folder.mkdir()
    url, case_id, signer = build_case(folder, evidential=True)
    out = tmp_path / "draft.zip"
    with open_store(url) as store:
        export_package(store, case_id, out, signer=signer, actor="officer-7", draft=True)
    report = verify_package(out, expected_fingerprint=signer.fingerprint())
    assert report.evidential is False
    code, _, err = run_cli("verify", str(out), "--expect-fingerprint", signer.fingerprint())
    assert code == 0 and "NON-EVIDENTIAL" in err
    manifest = json.loads(members(out)["manifest.json"])
    manifest.pop("draft")
    manifest.pop("status", None)
    raw = canonical_json(manifest)
    bad = rewrite(
        out,
        tmp_path / "undrafted.zip",
        {"manifest.json": raw, "manifest.sig": (signer.sign_manifest(raw) + "\n").encode()},
        mode="stale",
    )
    code, _, err = run_cli("verify", str(bad), "--expect-fingerprint", signer.fingerprint())
    assert code == 1 and "draft flag disagrees" in err
