"""The restricted annex of an evidence package and the redaction log of its disclosable bundle.

A package is the **disclosable bundle**: what the defence and the court may see. What would teach
an offender to recognise a decoy (tradecraft) is withheld from it and written beside it as the
**restricted annex** ``<name>.annex.zip`` (``0600``), for the prosecutor or the court to inspect
under restriction::

    annex.json      canonical JSON {format: "tutela-evidence-annex-v1", case_id, package (file
                    name), created_at, key_fingerprint, sources: {member: where it came from},
                    files: {member: sha256 hex}}
    annex.sig       Ed25519 signature (128 hex) of annex.json by the package's key
    persona/<id>.json        each persona profile of the case's conversations
    policy.json              policy parameters (``tutela.policy.params``)
    detection.json           detection configuration and the model's id (SHA-256, provenance)
    deterrence/<lang>.yaml   the deterrence variant texts of the case's languages
    response_bank.json       the response banks' versions and SHA-256, by language

The package holds the **redaction log** ``redactions.jsonl``: one canonical JSON object a line,
``{item, what, reason, where, sha256}`` for each withheld item: the annex members (``where``:
``"annex"``, ``sha256`` of the member) and the payloads of ledger entries of other cases
(``where``: ``"withheld"``, ``sha256``: the entry's ``payload_sha256``). The package manifest names
the annex's manifest by its SHA-256 (``annex.manifest_sha256``), so :func:`verify_annex` checks
an annex against a package offline; a package verifies without its annex.

Source of the configuration: the export writes what this installation loads by default (the
shipped personas, the packaged policy and detection defaults, the shipped model): the ledger does
not record a run's ``--config`` (``annex.json`` ``sources`` says so).
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Mapping
from importlib.resources import files
from pathlib import Path
from typing import Any

from tutela.errors import ConfigError, InputError
from tutela.evidence.archive import ReadLimits, parse_json, parse_lines, read_members, same_text
from tutela.evidence.contents import PackageContents
from tutela.evidence.layout import REDACTIONS
from tutela.files import open_regular
from tutela.ledger.canonical import canonical_json
from tutela.ledger.entry import sha256_hex
from tutela.ledger.errors import TamperError
from tutela.ledger.signing import Signer, fingerprint, load_public_key, verify_manifest_signature
from tutela.private import private_file

__all__ = [
    "ANNEX_FORMAT",
    "ANNEX_MANIFEST",
    "ANNEX_SIGNATURE",
    "annex_members",
    "annex_path",
    "redaction_log",
    "verify_annex",
    "write_annex",
]

ANNEX_FORMAT = "tutela-evidence-annex-v1"
ANNEX_MANIFEST = "annex.json"
ANNEX_SIGNATURE = "annex.sig"
_MAX_MEMBERS = 1_000
_RESTRICTED = "tradecraft: restricted annex (decoy configuration; disclosed only under restriction)"


def annex_path(package: str | Path) -> Path:
    """``<name>.annex.zip`` beside ``package`` (``case-1.zip`` -> ``case-1.annex.zip``)."""
    p = Path(package)
    stem = p.name[: -len(".zip")] if p.name.lower().endswith(".zip") else p.name
    return p.with_name(f"{stem}.annex.zip")


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8") + b"\n"


def annex_members(c: PackageContents) -> tuple[dict[str, bytes], dict[str, str]]:
    """``({member: bytes}, {member: source})`` of the restricted annex of ``c`` (layout: module
    docstring). A persona id that is no shipped profile (a run with a profile file) is recorded
    in ``sources`` as not available instead of a member."""
    from tutela.detect.config import load_detection_config
    from tutela.detect.persistence import default_model_path
    from tutela.persona import load_bank, load_persona
    from tutela.policy.params import load_policy

    views = c.conversation_views()
    out: dict[str, bytes] = {}
    sources: dict[str, str] = {}
    for pid in sorted({str(v.opened.get("persona_id")) for v in views}):
        try:
            profile = load_persona(pid)
        except ConfigError:
            sources[f"persona/{pid}.json"] = "not available: no shipped persona of this id"
            continue
        out[f"persona/{pid}.json"] = _json(profile.model_dump(mode="json"))
        sources[f"persona/{pid}.json"] = f"shipped persona profile {pid}"
    out["policy.json"] = _json(load_policy().model_dump(mode="json"))
    sources["policy.json"] = "packaged policy defaults (tutela/policy/default.yaml)"
    model = default_model_path()
    provenance = model.with_name(model.stem + ".provenance.json")
    prov: dict[str, Any] = {}
    if provenance.is_file():
        raw = json.loads(provenance.read_text(encoding="utf-8"))
        prov = {k: raw.get(k) for k in ("tutela_version", "commit", "command", "threshold")}
    out["detection.json"] = _json(
        {
            "config": load_detection_config().model_dump(mode="json"),
            "model": {"file": model.name, "sha256": _file_sha256(model), "provenance": prov},
        }
    )
    sources["detection.json"] = "packaged detection defaults and the shipped model"
    langs = sorted({str(v.opened.get("lang")) for v in views})
    banks: dict[str, Any] = {}
    for lang in langs:
        det = files("tutela.persona").joinpath("deterrence", f"{lang}.yaml")
        if det.is_file():
            out[f"deterrence/{lang}.yaml"] = det.read_bytes()
            sources[f"deterrence/{lang}.yaml"] = f"shipped deterrence texts ({lang})"
        try:
            bank = load_bank(lang)
        except ConfigError:
            continue
        raw_bank = files("tutela.persona").joinpath("banks", f"{lang}.yaml").read_bytes()
        banks[lang] = {
            "version": bank.version,
            "reviewed_by": bank.reviewed_by,
            "sha256": sha256_hex(raw_bank),
        }
    out["response_bank.json"] = _json(banks)
    sources["response_bank.json"] = "shipped response banks (version, SHA-256 of the file)"
    return out, sources


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1024**2):
            h.update(chunk)
    return h.hexdigest()


def redaction_log(c: PackageContents, annex: Mapping[str, bytes]) -> bytes:
    """``redactions.jsonl`` (module docstring): the annex members, then the ledger entries of
    the excerpt whose payload was withheld (entries of other cases), in ledger order."""
    rows: list[dict[str, Any]] = [
        {
            "item": f"annex:{name}",
            "what": _what(name),
            "reason": _RESTRICTED,
            "where": "annex",
            "sha256": sha256_hex(data),
        }
        for name, data in sorted(annex.items())
    ]
    rows += [
        {
            "item": f"ledger:{e.seq}",
            "what": f"payload of ledger entry {e.seq} ({e.kind.value})",
            "reason": "not an entry of this case: payload not disclosed (its hashes keep the chain "
            "verifiable)",
            "where": "withheld",
            "sha256": e.payload_sha256,
        }
        for e in c.entries
        if e.payload is None
    ]
    return b"".join(canonical_json(r) + b"\n" for r in rows)


def _what(name: str) -> str:
    if name.startswith("persona/"):
        return f"persona profile {name[len('persona/') : -len('.json')]}"
    if name.startswith("deterrence/"):
        return f"deterrence variant texts ({name[len('deterrence/') : -len('.yaml')]})"
    return {
        "policy.json": "policy parameters",
        "detection.json": "detection configuration and model id",
        "response_bank.json": "response-bank versions",
    }.get(name, name)


def write_annex(
    out: Path,
    *,
    c: PackageContents,
    package_name: str,
    members: Mapping[str, bytes],
    sources: Mapping[str, str],
    signer: Signer,
) -> bytes:
    """Write the annex zip to ``out`` (``0600``; the caller renames it into place) and return
    the bytes of its manifest (whose SHA-256 the package manifest names)."""
    manifest = canonical_json(
        {
            "format": ANNEX_FORMAT,
            "case_id": c.case_id,
            "package": package_name,
            "created_at": c.created_at,
            "key_fingerprint": signer.fingerprint(),
            "sources": dict(sources),
            "files": {name: sha256_hex(data) for name, data in members.items()},
        }
    )
    out.unlink(missing_ok=True)
    private_file(out)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr(ANNEX_MANIFEST, manifest)
        z.writestr(ANNEX_SIGNATURE, signer.sign_manifest(manifest) + "\n")
        for name, data in members.items():
            z.writestr(name, data)
    return manifest


def verify_annex(
    annex: str | Path, package: str | Path, *, limits: ReadLimits | None = None
) -> dict[str, Any]:
    """Check the restricted annex ``annex`` against the package ``package``, offline.

    The package's member hashes and manifest signature are checked (``read_members``; run
    ``verify_package`` for the rest), then: the package manifest names an annex; the SHA-256 of
    ``annex.json`` equals its ``annex.manifest_sha256``; ``annex.sig`` verifies with the
    package's key; the annex's case and key agree with the package; its members are exactly
    those ``annex.json`` lists, each with its SHA-256; and each ``"annex"`` line of the package's
    redaction log names an annex member of that hash. Returns ``{case_id, members,
    manifest_sha256}``. Raises ``TamperError`` (what, expected, found) or ``InputError`` (not a
    readable zip, over ``limits``: at most 1,000 members, each at most ``max_member_size``).
    """
    limits = limits or ReadLimits()
    pkg, raw_pkg, pkg_sig, data = read_members(
        package, limits, keep=frozenset({"public_key.pem", REDACTIONS})
    )
    try:
        key = load_public_key(data["public_key.pem"])
    except (InputError, KeyError) as e:
        raise TamperError("public_key.pem", expected="Ed25519 PEM", actual=str(e)) from e
    if not verify_manifest_signature(raw_pkg, pkg_sig, key):
        raise TamperError(
            "manifest.sig: signature of manifest.json does not verify with public_key.pem",
            expected=f"valid Ed25519 signature by {fingerprint(key)}",
            actual=pkg_sig[:32] + "...",
        )
    named = pkg.get("annex")
    if not isinstance(named, dict) or not isinstance(named.get("manifest_sha256"), str):
        raise TamperError("the package manifest names no annex", expected="annex", actual=named)
    members = _read_annex(annex, limits)
    raw = members.pop(ANNEX_MANIFEST, None)
    sig = members.pop(ANNEX_SIGNATURE, None)
    if raw is None or sig is None:
        raise TamperError(
            f"annex lacks {ANNEX_MANIFEST} or {ANNEX_SIGNATURE}",
            expected=[ANNEX_MANIFEST, ANNEX_SIGNATURE],
            actual=sorted(members),
        )
    found = sha256_hex(raw)
    if not same_text(found, named["manifest_sha256"]):
        raise TamperError(
            f"this annex is not the one the package names: the SHA-256 of its {ANNEX_MANIFEST} "
            "differs from the package manifest's (the annex of another export, or altered; the "
            "package itself is checked separately)",
            expected=named["manifest_sha256"],
            actual=found,
        )
    if not verify_manifest_signature(raw, sig.decode("ascii", "replace").strip(), key):
        raise TamperError(
            f"{ANNEX_SIGNATURE}: signature of {ANNEX_MANIFEST} does not verify with the "
            "package's key",
            expected=f"valid Ed25519 signature by {fingerprint(key)}",
            actual=None,
        )
    manifest = parse_json(raw, ANNEX_MANIFEST)
    declared = manifest.get("files") if isinstance(manifest, dict) else None
    if (
        not isinstance(manifest, dict)
        or manifest.get("format") != ANNEX_FORMAT
        or manifest.get("case_id") != pkg.get("case_id")
        or manifest.get("key_fingerprint") != pkg.get("key_fingerprint")
        or not isinstance(declared, dict)
    ):
        raise TamperError(
            f"{ANNEX_MANIFEST} is not this package's annex",
            expected={"case_id": pkg.get("case_id"), "key_fingerprint": pkg.get("key_fingerprint")},
            actual=None
            if not isinstance(manifest, dict)
            else {k: manifest.get(k) for k in ("format", "case_id", "key_fingerprint")},
        )
    if set(declared) != set(members):
        raise TamperError("annex member list", expected=sorted(declared), actual=sorted(members))
    for name in sorted(declared):
        digest = sha256_hex(members[name])
        if not same_text(digest, str(declared[name])):
            raise TamperError(
                f"SHA-256 of annex member {name} differs from {ANNEX_MANIFEST}",
                expected={name: declared[name]},
                actual={name: digest},
            )
    for i, row in enumerate(parse_lines(data.get(REDACTIONS, b""), REDACTIONS), start=1):
        if row.get("where") != "annex":
            continue
        name = str(row.get("item", ""))[len("annex:") :]
        if name not in declared or not same_text(str(row.get("sha256")), str(declared[name])):
            raise TamperError(
                f"{REDACTIONS} line {i}: no annex member {name!r} of that SHA-256",
                expected=row.get("sha256"),
                actual=declared.get(name),
            )
    return {"case_id": manifest["case_id"], "members": len(declared), "manifest_sha256": found}


def _read_annex(path: str | Path, limits: ReadLimits) -> dict[str, bytes]:
    """Every member of the annex zip, after checking the count, names and declared sizes."""
    with open_regular(path, what="annex") as fh:
        try:
            z = zipfile.ZipFile(fh)
        except (OSError, zipfile.BadZipFile, ValueError) as e:
            raise InputError(f"not a readable zip file: {e}", path=str(path)) from e
        with z:
            infos = z.infolist()
            if len(infos) > _MAX_MEMBERS:
                raise InputError(f"annex has {len(infos)} members (at most {_MAX_MEMBERS})")
            names = [i.filename for i in infos]
            if len(set(names)) != len(names):
                raise TamperError("duplicated annex members", expected="each once", actual=names)
            if sum(i.file_size for i in infos) > limits.max_total_size:
                raise InputError("annex members exceed max_total_size", path=str(path))
            out: dict[str, bytes] = {}
            for info in infos:
                if info.file_size > limits.max_member_size:
                    raise InputError(f"annex member {info.filename!r} exceeds max_member_size")
                buf = io.BytesIO()
                try:
                    with z.open(info) as member:
                        while chunk := member.read(1024**2):
                            buf.write(chunk)
                            if buf.tell() > limits.max_member_size:
                                raise InputError(
                                    f"annex member {info.filename!r} exceeds max_member_size"
                                )
                except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
                    if isinstance(e, InputError):
                        raise
                    raise InputError(f"cannot read annex member {info.filename!r}: {e}") from e
                out[info.filename] = buf.getvalue()
    return out
