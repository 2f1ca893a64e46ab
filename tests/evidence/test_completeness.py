"""Completeness of a package's conversations (``tutela.evidence.completeness``, ``tutela verify``).

Each change is tried three ways: the line edited and nothing else (the member's hash gives it
away), re-chained by someone without the key (hashes recomputed, manifest fixed: its signature,
or with the manifest signed, the old checkpoints, give it away) and forged by a holder of the
ledger key (chain, checkpoints and manifest all re-signed): then only the conversation's own
numbering shows what was done, which is what completeness checks.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from _evidence_packages import Exported, members, write_members

from tutela.evidence import verify_package
from tutela.ledger import LedgerEntry, Signer, TamperError, canonical_json, sha256_hex

DATA_MEMBERS = (
    "entries.jsonl",
    "checkpoints.jsonl",
    "messages.jsonl",
    "operations.json",
    "public_key.pem",
    "timestamp.tsr",
)
RunCli = Callable[..., tuple[int, str, str]]
Rows = list[dict[str, Any]]


@pytest.fixture(autouse=True)
def _no_local_trust(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No default signing key or trusted-keys file of the machine running the tests."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg-data")))
    monkeypatch.delenv("TUTELA_DB", raising=False)


def _rows(data: bytes) -> Rows:
    return [json.loads(x) for x in data.splitlines()]


def _jsonl(rows: Rows) -> bytes:
    return b"".join(canonical_json(r) + b"\n" for r in rows)


def forge(
    src: Path,
    dst: Path,
    edit_entries: Callable[[Rows], Rows],
    edit_messages: Callable[[Rows], Rows] = lambda rows: rows,
    *,
    mode: str,
    signer: Signer | None = None,
) -> Path:
    """Copy package ``src`` to ``dst`` with its ledger lines edited by ``edit_entries`` (a list of
    entry objects; each keeps its original ``seq`` until renumbered here) and its message rows by
    ``edit_messages`` (after their ``ledger_seq`` follows the renumbering).

    ``mode``: ``"stale"`` writes the edited lines as they are (manifest untouched);
    ``"rechained"`` renumbers the entries, recomputes every payload and entry hash and the
    manifest's member hashes, without any key (old checkpoints, old manifest signature);
    ``"manifest-signed"`` also signs the manifest (the checkpoints stay); ``"forged"`` re-signs
    the checkpoints and the manifest with ``signer`` (a holder of the ledger key)."""
    data = members(src)
    original = _rows(data["entries.jsonl"])
    edited = edit_entries([dict(e) for e in original])
    if mode == "stale":
        data["entries.jsonl"] = _jsonl(edited)
        return write_members(dst, data)
    first = original[0]["seq"]
    moved: dict[int, int] = {}
    prev = original[0]["prev_hash"]
    chained = []
    for new_seq, row in enumerate(edited, start=first):
        moved.setdefault(row["seq"], new_seq)
        payload = row["payload"]
        entry = LedgerEntry(
            seq=new_seq,
            prev_hash=prev,
            at=row["at"],
            kind=row["kind"],
            conversation=row["conversation"],
            payload=payload,
            payload_sha256=(
                row["payload_sha256"] if payload is None else sha256_hex(canonical_json(payload))
            ),
            entry_hash="0" * 64,
        )
        fixed = {**entry.to_dict(), "entry_hash": entry.computed_entry_hash()}
        chained.append(fixed)
        prev = fixed["entry_hash"]
    hashes = {e["seq"]: e["entry_hash"] for e in chained}
    messages = [
        {**m, "ledger_seq": moved.get(m["ledger_seq"], m["ledger_seq"])}
        for m in _rows(data["messages.jsonl"])
    ]
    data["entries.jsonl"] = _jsonl(chained)
    data["messages.jsonl"] = _jsonl(edit_messages(messages))
    ops = json.loads(data["operations.json"])
    data["operations.json"] = canonical_json(
        [{**o, "ledger_seq": moved.get(o["ledger_seq"], o["ledger_seq"])} for o in ops]
    )
    if mode == "forged":
        assert signer is not None
        cps = []
        for cp in _rows(data["checkpoints.jsonl"]):
            if cp["seq"] in moved:
                seq = moved[cp["seq"]]
                signed = signer.sign_checkpoint(seq, hashes[seq], datetime.now(UTC))
                cps.append({**signed.to_dict(), "at": cp["at"]})
        data["checkpoints.jsonl"] = _jsonl(cps)
    manifest = json.loads(data["manifest.json"])
    manifest["first_seq"], manifest["last_seq"] = chained[0]["seq"], chained[-1]["seq"]
    for name in ("entries.jsonl", "messages.jsonl", "operations.json", "checkpoints.jsonl"):
        manifest["files"][name] = sha256_hex(data[name])
    if "data_digest" in manifest:  # over the data members' hashes (tutela.evidence.layout)
        listed = {n: h for n, h in manifest["files"].items() if n in DATA_MEMBERS}
        manifest["data_digest"] = sha256_hex(canonical_json(listed))
    data["manifest.json"] = canonical_json(manifest)
    if mode in ("manifest-signed", "forged"):
        assert signer is not None
        data["manifest.sig"] = (signer.sign_manifest(data["manifest.json"]) + "\n").encode()
    return write_members(dst, data)


def _message_entry(rows: Rows, message_seq: int, conversation: int = 1) -> dict[str, Any]:
    return next(
        e
        for e in rows
        if e["conversation"] == conversation
        and e["kind"] in ("inbound", "outbound")
        and e["payload"]["message_seq"] == message_seq
    )


def _without(rows: Rows, victim: dict[str, Any]) -> Rows:
    return [e for e in rows if e["seq"] != victim["seq"]]


def _delete_message(message_seq: int) -> tuple[Callable[[Rows], Rows], Callable[[Rows], Rows]]:
    """Remove a message's ledger entry and its messages.jsonl row."""
    gone: list[int] = []

    def entries(rows: Rows) -> Rows:
        victim = _message_entry(rows, message_seq)
        gone.append(victim["seq"])
        return _without(rows, victim)

    def messages(rows: Rows) -> Rows:
        return [m for m in rows if m["message_seq"] != message_seq]

    return entries, messages


def _swap_messages(rows: Rows) -> Rows:
    """Swap the ledger lines of messages 12 (outbound) and 13 (inbound)."""
    a, b = _message_entry(rows, 12), _message_entry(rows, 13)
    i, j = rows.index(a), rows.index(b)
    rows[i], rows[j] = b, a
    return rows


def _duplicate_message(rows: Rows) -> Rows:
    """Insert a second copy of message 13's ledger line right after it."""
    victim = _message_entry(rows, 13)
    i = rows.index(victim)
    return [*rows[: i + 1], {**victim, "seq": -1}, *rows[i + 1 :]]


def _duplicate_row(rows: Rows) -> Rows:
    """The messages.jsonl row bound to the inserted copy (the entry after message 13's)."""
    row = next(m for m in rows if m["message_seq"] == 13)
    i = rows.index(row)
    return [*rows[: i + 1], {**row, "ledger_seq": row["ledger_seq"] + 1}, *rows[i + 1 :]]


def _decision_to(message_seq: int) -> Callable[[Rows], Rows]:
    def edit(rows: Rows) -> Rows:
        for e in rows:
            if e["kind"] == "decision" and e["payload"]["action"] == "deter":
                e["payload"] = {**e["payload"], "message_seq": message_seq}
        return rows

    return edit


def _outbound_by_someone_else(rows: Rows) -> Rows:
    e = _message_entry(rows, 14)
    e["payload"] = {**e["payload"], "author_sha256": sha256_hex(b"another-account")}
    return rows


def _row_by_someone_else(rows: Rows) -> Rows:
    return [{**m, "author": "another-account"} if m["message_seq"] == 14 else m for m in rows]


def _drop_event(event: str) -> Callable[[Rows], Rows]:
    def edit(rows: Rows) -> Rows:
        return [e for e in rows if (e["payload"] or {}).get("event") != event]

    return edit


DELETE_IN = _delete_message(11)  # inbound: the contact's line
DELETE_OUT = _delete_message(12)  # outbound: the persona's reply
FORGERIES: dict[str, tuple[Callable[[Rows], Rows], Callable[[Rows], Rows], str]] = {
    "inbound deleted": (*DELETE_IN, "message_seq 11 missing"),
    "outbound deleted": (*DELETE_OUT, "message_seq 12 missing"),
    "reordered": (_swap_messages, lambda rows: rows, "message_seq 13 recorded before message 12"),
    "inserted": (
        _duplicate_message,
        _duplicate_row,
        "message_seq 13 recorded twice",
    ),
    "decision re-pointed": (
        _decision_to(99),
        lambda rows: rows,
        "decision refers to message_seq 99",
    ),
    "outbound re-attributed": (
        _outbound_by_someone_else,
        _row_by_someone_else,
        "outbound message 14 not attributed to the conversation's persona",
    ),
}


def test_intact_demo_package_is_complete(demo_package: Exported, run_cli: RunCli) -> None:
    report = verify_package(demo_package.path)
    assert report.completeness is not None and report.completeness.all_final
    (conv,) = report.completeness.conversations
    assert conv.status == "complete" and conv.ended_seq is not None
    assert conv.messages == report.messages == conv.inbound + conv.outbound
    assert conv.inbound > 0 and conv.outbound > 0  # both parties
    assert conv.opened_seq == conv.first_entry < conv.ended_seq <= conv.last_entry
    assert conv.decisions == conv.inbound  # one decision after every contact line
    assert conv.up_to_entry == report.last_seq
    fp = demo_package.signer.fingerprint()
    code, out, err = run_cli("verify", str(demo_package.path), "--expect-fingerprint", fp)
    assert code == 0, err
    assert (
        f"complete: conversation {conv.conversation}: messages 1..{conv.messages} "
        f"({conv.inbound} inbound, {conv.outbound} outbound), {conv.entries} ledger entries "
        f"({conv.first_entry}..{conv.last_entry}) all present, no gap; ended at entry "
        f"{conv.ended_seq}"
    ) in out
    code, out, _ = run_cli("verify", str(demo_package.path), "--json", "--expect-fingerprint", fp)
    data = json.loads(out)
    assert code == 0 and data["completeness"]["all_final"] is True
    assert data["completeness"]["conversations"][0]["status"] == "complete"
    assert data["completeness"]["conversations"][0]["messages"] == conv.messages


def test_open_conversation_is_complete_up_to_the_export_only(
    evidential_package: Exported, run_cli: RunCli
) -> None:
    report = verify_package(evidential_package.path)
    assert report.completeness is not None and not report.completeness.all_final
    (conv,) = report.completeness.conversations
    assert conv.status == "open" and conv.ended_seq is None
    assert (conv.inbound, conv.outbound, conv.purged, conv.messages) == (3, 3, 1, 6)
    assert conv.up_to_entry == report.last_seq
    fp = evidential_package.signer.fingerprint()
    code, out, err = run_cli("verify", str(evidential_package.path), "--expect-fingerprint", fp)
    assert code == 0, err
    line = next(x for x in out.splitlines() if x.startswith("open at export"))
    assert line.startswith(
        f"open at export: conversation {conv.conversation}: complete up to entry "
        f"{report.last_seq}: messages 1..6 (3 inbound, 3 outbound)"
    )
    assert "1 purged under retention" in line and line.endswith("not final")
    assert "complete: conversation" not in out


def test_export_report_carries_completeness(tmp_path: Path) -> None:
    """``export_package`` returns the same statement ``verify`` derives."""
    from _evidence_packages import build_case

    from tutela.evidence import export_package
    from tutela.store import open_store

    url, case_id, signer = build_case(tmp_path, evidential=True)
    out = tmp_path / "case.zip"
    with open_store(url) as store:
        exported = export_package(store, case_id, out, signer=signer)
    verified = verify_package(out)
    assert exported.completeness is not None and exported.completeness.conversations
    assert exported.completeness == verified.completeness


@pytest.mark.parametrize("name", sorted(FORGERIES))
def test_forgeries_are_caught(
    demo_package: Exported, tmp_path: Path, run_cli: RunCli, name: str
) -> None:
    entries, messages, finding = FORGERIES[name]
    src, key = demo_package.path, demo_package.signer
    fp = key.fingerprint()
    caught_by = {
        "stale": "SHA-256 of entries.jsonl differs",  # the manifest's member hash
        "rechained": "manifest.sig",  # the manifest's signature
        "manifest-signed": "checkpoint",  # the signed checkpoints over the old chain
        "forged": f"completeness: conversation 1: {finding}",
    }
    for mode, expected in caught_by.items():
        bad = forge(src, tmp_path / f"{mode}.zip", entries, messages, mode=mode, signer=key)
        with pytest.raises(TamperError) as err:
            verify_package(bad, expected_fingerprint=fp)
        assert expected in str(err.value), (mode, str(err.value))
    code, out, err_text = run_cli("verify", str(bad), "--expect-fingerprint", fp)
    assert code == 1 and "TAMPERED" in err_text and finding in err_text
    code, out, _ = run_cli("verify", str(bad), "--json", "--expect-fingerprint", fp)
    problem = json.loads(out)["problem"]
    assert code == 1 and problem["what"].startswith("completeness: conversation 1")
    assert problem["ledger_seq"] is not None


def test_without_completeness_the_forgeries_would_pass(
    demo_package: Exported, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The forged packages pass every other check: completeness is what catches them."""
    from tutela.evidence import checks
    from tutela.evidence.completeness import Completeness

    monkeypatch.setattr(
        checks, "check_completeness", lambda *a: Completeness(True, 0, conversations=())
    )
    key = demo_package.signer
    for name, (entries, messages, _) in sorted(FORGERIES.items()):
        bad = forge(
            demo_package.path, tmp_path / "forged.zip", entries, messages, mode="forged", signer=key
        )
        assert verify_package(bad, expected_fingerprint=key.fingerprint()).messages > 0, name


def test_forger_helper_is_faithful(demo_package: Exported, tmp_path: Path) -> None:
    """Re-chaining and re-signing without an edit gives a package that verifies complete."""
    key = demo_package.signer
    same = forge(demo_package.path, tmp_path / "same.zip", lambda r: r, mode="forged", signer=key)
    report = verify_package(same, expected_fingerprint=key.fingerprint())
    assert report.completeness == verify_package(demo_package.path).completeness


def test_deleted_opening_is_caught(demo_package: Exported, tmp_path: Path) -> None:
    key = demo_package.signer
    bad = forge(
        demo_package.path,
        tmp_path / "bad.zip",
        _drop_event("conversation_opened"),
        mode="forged",
        signer=key,
    )
    with pytest.raises(TamperError, match="conversation 1 has no conversation_opened entry"):
        verify_package(bad)


def test_deleted_end_only_weakens_the_claim(demo_package: Exported, tmp_path: Path) -> None:
    """A key holder who drops the ``conversation_ended`` entry gets "open at export", never a
    longer "complete" conversation."""
    key = demo_package.signer
    bad = forge(
        demo_package.path,
        tmp_path / "bad.zip",
        _drop_event("conversation_ended"),
        mode="forged",
        signer=key,
    )
    report = verify_package(bad)
    assert report.completeness is not None
    (conv,) = report.completeness.conversations
    assert conv.status == "open" and conv.statement.startswith("open at export")


def test_message_line_edits_are_caught(demo_package: Exported, tmp_path: Path) -> None:
    """messages.jsonl alone (entries untouched, manifest re-signed): a deleted, repeated or
    reordered row disagrees with the ledger."""
    key = demo_package.signer
    rows = _rows(members(demo_package.path)["messages.jsonl"])
    edits = {
        "lacks recorded messages": rows[:3] + rows[4:],
        "not the case message its ledger entry records": [*rows[:4], rows[3], *rows[4:]],
        "messages.jsonl order": [rows[1], rows[0], *rows[2:]],
    }
    for finding, changed in edits.items():
        bad = forge(
            demo_package.path,
            tmp_path / "bad.zip",
            lambda r: r,
            lambda _, changed=changed: changed,
            mode="forged",
            signer=key,
        )
        with pytest.raises(TamperError, match=finding):
            verify_package(bad)


def test_completeness_rules_directly() -> None:
    """The module on hand-made entries: a skipped contact line is reported, not refused; an
    entry before the opening and a repeated contact line are refused."""
    from tutela.evidence.completeness import check_completeness

    t = "2025-03-01T12:00:00.000000Z"
    persona = sha256_hex(b"p-test")
    entries: list[LedgerEntry] = []

    def add(kind: str, payload: dict[str, Any], conversation: int | None = 1) -> None:
        prev = entries[-1].entry_hash if entries else "0" * 64
        entries.append(
            LedgerEntry.create(
                seq=len(entries) + 1, prev_hash=prev, at=t, kind=kind,
                conversation=conversation, payload=payload,
            )
        )  # fmt: skip

    def inbound(n: int, line: int) -> dict[str, Any]:
        return {"message_seq": n, "contact_line": line, "author_sha256": "a" * 64}

    add("operation", {"event": "conversation_opened", "persona_id": "p-test"})
    add("inbound", inbound(1, 1))
    add("outbound", {"message_seq": 2, "author_sha256": persona})
    add("inbound", inbound(3, 3))  # contact line 2 was never committed
    add("export", {"case_id": 1}, conversation=None)
    rows = [
        {"conversation": 1, "message_seq": n, "ledger_seq": s} for n, s in ((1, 2), (2, 3), (3, 4))
    ]
    result = check_completeness(entries, rows, [1])
    (conv,) = result.conversations
    assert conv.contact_line_gaps == (2,) and "contact-line numbers skipped: 2" in conv.statement
    assert (conv.messages, conv.entries, conv.up_to_entry) == (3, 4, 5)
    with pytest.raises(TamperError, match="rows are not its message entries"):
        check_completeness(entries, rows[:2], [1])
    early = [
        LedgerEntry.create(
            seq=1, prev_hash="0" * 64, at=t, kind="decision", conversation=1,
            payload={"message_seq": 1},
        ),
        *entries,
    ]  # fmt: skip
    with pytest.raises(TamperError, match="precedes its conversation_opened"):
        check_completeness(early, rows, [1])
    entries[3] = LedgerEntry.create(
        seq=4, prev_hash=entries[2].entry_hash, at=t, kind="inbound", conversation=1,
        payload=inbound(3, 1),
    )  # fmt: skip
    with pytest.raises(TamperError, match="contact_line does not increase"):
        check_completeness(entries, rows, [1])
