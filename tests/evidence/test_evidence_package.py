"""Evidence packages: an exported case verifies; any change to any member is detected."""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tutela.errors import InputError
from tutela.evidence import export_package, verify_package
from tutela.ledger import EntryKind, Signer, TamperError, canonical_json, sha256_hex
from tutela.store import Recorder, open_store

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def exported(tmp_path: Path) -> tuple[Path, Signer, int]:
    signer = Signer.generate()
    store = open_store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    rec = Recorder(store, signer=signer, checkpoint_every=4)
    op = rec.ensure_demo_operation()

    def converse(contact: str) -> tuple[int, list[int]]:
        cid = rec.get_or_create_contact("local", contact)
        conv = rec.open_conversation(
            operation_id=op.id,
            persona_id="p",
            platform="local",
            account="a",
            contact_id=cid,
            lang="en",
            started_at=T0,
        ).id
        ids = []
        for line in (1, 2, 3):
            m = rec.record_inbound(
                conversation_id=conv,
                author=contact,
                text=f"{contact} line {line}",
                wire=f"<m>{line}</m>".encode(),
                received_at=T0 + timedelta(seconds=line),
                contact_line=line,
            )
            ids.append(m.id)
            rec.record_outbound(conversation_id=conv, text="ok", origin="bank:x", sent_at=T0)
        return cid, ids

    case_contact, case_ids = converse("suspect")
    converse("bystander")  # another case's traffic interleaved in the ledger
    rec.record_decision(
        conversation_id=1,
        message_id=case_ids[1],
        after_line=2,
        action="deter",
        risk=0.8,
        indicators=["en.x"],
        rule="ladder.first",
        reason="test",
        variant="v1",
    )
    rec.purge_messages(case_ids[:1], actor="retention", reason="expired")
    case = rec.get_or_create_case(case_contact)
    out = tmp_path / "case.zip"
    report = export_package(store, case.id, out, signer=signer)
    assert report.messages == 6 and report.purged_messages == 1
    store.close()
    return out, signer, case.id


def test_exported_package_verifies(exported: tuple[Path, Signer, int]) -> None:
    path, signer, case_id = exported
    report = verify_package(path, expected_fingerprint=signer.fingerprint())
    assert report.case_id == case_id
    assert report.key_fingerprint == signer.fingerprint()
    assert report.purged_messages == 1
    assert report.case_entries < report.entries  # other conversations are redacted
    with zipfile.ZipFile(path) as z:
        lines = z.read("entries.jsonl").decode().splitlines()
        assert "bystander" not in z.read("messages.jsonl").decode()
    last = json.loads(lines[-1])
    assert last["kind"] == EntryKind.EXPORT.value


def test_wrong_expected_key_is_tamper(exported: tuple[Path, Signer, int]) -> None:
    path, _, _ = exported
    with pytest.raises(TamperError):
        verify_package(path, expected_fingerprint=Signer.generate().fingerprint())


def rewrite(src: Path, dst: Path, name: str, new: bytes, *, fix_manifest: bool) -> None:
    with zipfile.ZipFile(src) as z:
        members = {n: z.read(n) for n in z.namelist()}
    members[name] = new
    if fix_manifest:
        manifest = json.loads(members["manifest.json"])
        manifest["files"][name] = sha256_hex(new)
        members["manifest.json"] = canonical_json(manifest)
    with zipfile.ZipFile(dst, "w") as z:
        for n, data in members.items():
            z.writestr(n, data)


def edit_message_text(data: bytes) -> bytes:
    rows = [json.loads(x) for x in data.decode().splitlines()]
    target = next(r for r in rows if r["text"] == "suspect line 2")
    target["text"] = "suspect line 2!"
    return b"".join(canonical_json(r) + b"\n" for r in rows)


def drop_entry(data: bytes) -> bytes:
    lines = data.decode().splitlines(keepends=True)
    return "".join(lines[:2] + lines[3:]).encode()


def edit_decision_risk(data: bytes) -> bytes:
    rows = [json.loads(x) for x in data.decode().splitlines()]
    for r in rows:
        if r["kind"] == "decision":
            r["payload"]["risk"] = "0.100000"
    return b"".join(canonical_json(r) + b"\n" for r in rows)


def unpurge(data: bytes) -> bytes:
    rows = [json.loads(x) for x in data.decode().splitlines()]
    for r in rows:
        if r["purged"]:
            r["purged"] = False
            r["text"] = "invented"
    return b"".join(canonical_json(r) + b"\n" for r in rows)


EDITS = {
    "message text": ("messages.jsonl", edit_message_text),
    "entry removed": ("entries.jsonl", drop_entry),
    "decision risk": ("entries.jsonl", edit_decision_risk),
    "purged text reinvented": ("messages.jsonl", unpurge),
    "report": ("report.html", lambda b: b + b"x"),
}


@pytest.mark.parametrize("fix_manifest", [False, True], ids=["manifest-stale", "manifest-fixed"])
@pytest.mark.parametrize("name", sorted(EDITS))
def test_edits_are_detected(
    exported: tuple[Path, Signer, int], tmp_path: Path, name: str, fix_manifest: bool
) -> None:
    src, _, _ = exported
    member, edit = EDITS[name]
    with zipfile.ZipFile(src) as z:
        original = z.read(member)
    dst = tmp_path / "edited.zip"
    rewrite(src, dst, member, edit(original), fix_manifest=fix_manifest)
    # a fixed-up manifest no longer matches its signature (the report included)
    with pytest.raises(TamperError, match="manifest.sig" if fix_manifest else member):
        verify_package(dst)


def test_manifest_claiming_fewer_conversations_is_detected(
    exported: tuple[Path, Signer, int], tmp_path: Path
) -> None:
    src, signer, _ = exported
    with zipfile.ZipFile(src) as z:
        members = {n: z.read(n) for n in z.namelist()}
    manifest = json.loads(members["manifest.json"])
    manifest["conversations"] = []
    members["manifest.json"] = canonical_json(manifest)
    members["manifest.sig"] = signer.sign_manifest(members["manifest.json"]).encode()
    dst = tmp_path / "edited.zip"
    with zipfile.ZipFile(dst, "w") as z:
        for n, data in members.items():
            z.writestr(n, data)
    with pytest.raises(TamperError, match="export entry"):
        verify_package(dst)


def test_not_a_package_is_input_error(tmp_path: Path) -> None:
    bad = tmp_path / "x.zip"
    bad.write_bytes(b"not a zip")
    with pytest.raises(InputError):
        verify_package(bad)
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("manifest.json", b'{"format":"other"}')
    with pytest.raises(InputError):
        verify_package(bad)
