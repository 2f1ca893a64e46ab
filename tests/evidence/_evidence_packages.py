"""Helpers for evidence-package tests: a case built with the Recorder, copying databases,
reading and rewriting package members."""

from __future__ import annotations

import json
import shutil
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tutela.ledger import Signer, canonical_json, sha256_hex
from tutela.store import Recorder, open_store

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Exported:
    """An exported package, the key that signed it and where its database lives."""

    path: Path
    signer: Signer
    case_id: int
    db_url: str


def build_case(folder: Path, *, evidential: bool) -> tuple[str, int, Signer]:
    """A case recorded directly through the Recorder: the suspect's conversation (a purged
    first line, a deterrence decision) with a bystander's conversation after it, and one review
    entry for each of their cases."""
    url = f"sqlite:///{folder / 'tutela.db'}"
    signer = Signer.load_or_create(folder / "signing-key.pem")
    store = open_store(url)
    rec = Recorder(store, signer=signer, checkpoint_every=5, clock=lambda: T0)
    op = rec.create_operation(
        organisation="Example Child Protection Unit",
        jurisdiction="NL",
        legal_basis="Art. 126j Sv (synthetic test record)",
        authorisation_ref="AUTH-2025-001",
        officer="officer-7",
        starts_at=T0,
        ends_at=T0 + timedelta(days=30),
        evidential=evidential,
    )

    def converse(contact: str, lines: list[str]) -> tuple[int, list[int]]:
        cid = rec.get_or_create_contact("local", contact)
        conv = rec.open_conversation(
            operation_id=op.id,
            persona_id="p-test",
            platform="local",
            account="p-test",
            contact_id=cid,
            lang="en",
            started_at=T0,
        ).id
        ids = []
        for n, text in enumerate(lines, start=1):
            at = T0 + timedelta(minutes=n)
            m = rec.record_inbound(
                conversation_id=conv,
                author=contact,
                text=text,
                wire=json.dumps({"body": text}).encode(),
                received_at=at,
                contact_line=n,
            )
            ids.append(m.id)
            rec.record_decision(
                conversation_id=conv,
                message_id=m.id,
                after_line=n,
                action="deter" if "secret" in text else "continue",
                risk=0.9 if "secret" in text else 0.1,
                indicators=["en.secrecy.dont_tell"] if "secret" in text else [],
                rule="ladder.first_solicitation" if "secret" in text else "none",
                reason="synthetic test decision",
                variant="legal_trace" if "secret" in text else None,
            )
            rec.record_outbound(
                conversation_id=conv,
                text="ok",
                origin="bank:test",
                sent_at=at + timedelta(seconds=5),
            )
        return cid, ids

    suspect, ids = converse("suspect-1", ["hello", "how old are you", "keep it a secret"])
    bystander, _ = converse("bystander", ["hi", "bye"])
    rec.purge_messages(ids[:1], actor="retention", reason="expired")
    case = rec.get_or_create_case(suspect)
    other = rec.get_or_create_case(bystander)
    for c, actor in ((case, "supervisor-s"), (other, "reviewer-of-another-case")):
        rec.append_entry(
            "review",
            None,
            {
                "case_id": c.id,
                "action": "assign",
                "actor": actor,
                "actor_role": "supervisor",
                "status_from": "open",
                "status_to": "in_review",
                "note_sha256": "0" * 64,
            },
        )
    rec.checkpoint()
    store.close()
    return url, case.id, signer


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def write_members(path: Path, data: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for n, b in data.items():
            z.writestr(n, b)
    return path


def rewrite(
    src: Path,
    dst: Path,
    edits: dict[str, bytes | None],
    *,
    mode: str,
    signer: Signer | None = None,
) -> Path:
    """Copy package ``src`` to ``dst`` with members replaced (``None`` removes one).

    ``mode``: ``"stale"`` leaves the manifest alone; ``"fixed"`` updates its hashes (signature
    now stale); ``"resigned"`` also re-signs it with ``signer`` (a forger holding a key)."""
    data = members(src)
    for name, new in edits.items():
        if new is None:
            data.pop(name, None)
        else:
            data[name] = new
    if mode in ("fixed", "resigned"):
        manifest = json.loads(data["manifest.json"])
        for name, new in edits.items():
            if new is None:
                manifest["files"].pop(name, None)
            else:
                manifest["files"][name] = sha256_hex(new)
        if "data_digest" in manifest:  # over the data members' hashes (layout.data_digest)
            from tutela.evidence.layout import DATA_MEMBERS, OPTIONAL_MEMBERS, data_digest

            listed = (*DATA_MEMBERS, *OPTIONAL_MEMBERS)
            manifest["data_digest"] = data_digest(
                {n: h for n, h in manifest["files"].items() if n in listed}
            )
        data["manifest.json"] = canonical_json(manifest)
        if mode == "resigned":
            assert signer is not None
            data["manifest.sig"] = (signer.sign_manifest(data["manifest.json"]) + "\n").encode()
    return write_members(dst, data)


def copy_db(src: Path, dst_parent: Path) -> Path:
    """A copy of a demo database folder (keeps the ``tutela-demo-`` name and the key)."""
    dst = dst_parent / src.name
    shutil.copytree(src, dst)
    return dst
