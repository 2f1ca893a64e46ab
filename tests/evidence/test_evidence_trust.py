"""Trust, not only integrity (issue 10 item 5): ``tutela verify`` exits 0 only for an intact package
signed by a trusted key; an intact package signed by an unknown key exits 3."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from _evidence_packages import Exported, members, rewrite
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from test_evidence_package_tamper import resign_with

from tutela.errors import InputError
from tutela.ledger import Signer, canonical_json, key_path_for_db
from tutela.ledger.trust import parse_trusted_keys, read_trusted_keys, trusted_keys

RunCli = Callable[..., tuple[int, str, str]]


@pytest.fixture(autouse=True)
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``<XDG_DATA_HOME>/tutela``: the default key folder, empty unless a test fills it."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("TUTELA_DB", raising=False)
    return tmp_path / "xdg" / "tutela"


def changed_and_resigned(src: Path, dst: Path, other: Signer) -> Path:
    """A forgery: the exporter's name changed, key swapped, checkpoints and manifest re-signed."""
    forged = resign_with(src, dst.with_name("step.zip"), other)
    manifest = json.loads(members(forged)["manifest.json"])
    manifest["exported_by"] = "forger"
    raw = canonical_json(manifest)
    return rewrite(
        forged,
        dst,
        {"manifest.json": raw, "manifest.sig": (other.sign_manifest(raw) + "\n").encode()},
        mode="stale",
    )


def test_changed_and_resigned_with_another_key_exits_three(
    demo_package: Exported, tmp_path: Path, run_cli: RunCli
) -> None:
    other = Signer.generate()
    forged = changed_and_resigned(demo_package.path, tmp_path / "forged.zip", other)
    code, out, err = run_cli("verify", str(forged))
    assert code == 3, err
    assert f"intact, but signed by an untrusted key {other.fingerprint()}" in err
    assert "UNTRUSTED" in out
    code, out, _ = run_cli("verify", str(forged), "--json")
    data = json.loads(out)
    assert code == 3
    assert data["ok"] is False and data["intact"] is True and data["trusted"] is False
    assert data["key_fingerprint"] == other.fingerprint()
    assert other.fingerprint() in data["problem"]["what"]
    # the genuine key trusted (by the demo database it belongs to) does not help the forgery
    code, _, _ = run_cli("verify", str(forged), "--db", demo_package.db_url)
    assert code == 3


def test_tampered_and_untrusted_is_tampered(
    demo_package: Exported, tmp_path: Path, run_cli: RunCli
) -> None:
    other = Signer.generate()
    forged = resign_with(demo_package.path, tmp_path / "forged.zip", other)
    bad = rewrite(forged, tmp_path / "bad.zip", {"report.html": b"<p>changed</p>"}, mode="stale")
    code, _, err = run_cli("verify", str(bad))
    assert code == 1 and "TAMPERED" in err


def test_local_store_keys_are_trusted(
    demo_package: Exported, data_home: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = key_path_for_db(demo_package.db_url)
    assert key is not None and key.is_file()
    code, _, _ = run_cli("verify", str(demo_package.path))
    assert code == 3
    # the key beside a --db database (a `tutela demo` folder), also through TUTELA_DB
    code, out, err = run_cli("verify", str(demo_package.path), "--db", demo_package.db_url)
    assert code == 0, err
    assert f"trusted: local signing key {key}" in out
    monkeypatch.setenv("TUTELA_DB", demo_package.db_url)
    code, _, err = run_cli("verify", str(demo_package.path))
    assert code == 0, err
    monkeypatch.delenv("TUTELA_DB")
    # the default signing key of this user
    data_home.mkdir(parents=True)
    shutil.copy(key, data_home / "ledger-signing-key.pem")
    code, out, err = run_cli("verify", str(demo_package.path), "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["ok"] is True and data["trusted"] is True
    assert "ledger-signing-key.pem" in data["trusted_by"]


def test_retired_and_passphrase_protected_local_keys(
    demo_package: Exported,
    tmp_path: Path,
    data_home: Path,
    run_cli: RunCli,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Packages exported before a key rotation stay trusted (the retired key beside the key);
    an encrypted local key is trusted when its passphrase is available."""
    monkeypatch.delenv("TUTELA_KEY_PASSPHRASE", raising=False)
    retired = Signer.create(data_home / "ledger-signing-key.pem.retired-0123456789abcdef")
    old = resign_with(demo_package.path, tmp_path / "old.zip", retired)
    code, out, err = run_cli("verify", str(old), "--json")
    assert code == 0, err
    assert "retired-0123456789abcdef" in json.loads(out)["trusted_by"]
    current = Signer.create(data_home / "ledger-signing-key.pem", passphrase="correct horse")
    new = resign_with(demo_package.path, tmp_path / "new.zip", current)
    code, _, err = run_cli("verify", str(new))
    assert code == 3 and "not used for trust" in err and "passphrase" in err
    monkeypatch.setenv("TUTELA_KEY_PASSPHRASE", "correct horse")
    code, _, err = run_cli("verify", str(new))
    assert code == 0, err


def test_unreadable_local_key_is_a_warning_not_trust(
    demo_package: Exported, data_home: Path, run_cli: RunCli
) -> None:
    data_home.mkdir(parents=True)
    (data_home / "ledger-signing-key.pem").write_text("not a key\n")
    code, _, err = run_cli("verify", str(demo_package.path))
    assert code == 3 and "not used for trust" in err
    assert not (data_home / "trusted-keys.txt").exists()


def test_trusted_keys_file(
    demo_package: Exported, tmp_path: Path, data_home: Path, run_cli: RunCli
) -> None:
    fp = demo_package.signer.fingerprint()
    by_fp = tmp_path / "by-fingerprint.txt"
    by_fp.write_text(f"# published by the exporting unit\n\n{fp.upper()}  CPU ledger key # 2025\n")
    code, out, err = run_cli("verify", str(demo_package.path), "--trusted-keys", str(by_fp))
    assert code == 0, err
    assert f"trusted-keys file {by_fp}:3" in out
    by_pem = tmp_path / "by-pem.txt"
    pem = members(demo_package.path)["public_key.pem"].decode()
    by_pem.write_text(f"{'0' * 64}  some other key\n{pem}")
    code, _, err = run_cli("verify", str(demo_package.path), "--trusted-keys", str(by_pem))
    assert code == 0, err
    # the default file beside the default key is read when present
    code, _, _ = run_cli("verify", str(demo_package.path))
    assert code == 3
    data_home.mkdir(parents=True)
    shutil.copy(by_fp, data_home / "trusted-keys.txt")
    code, _, err = run_cli("verify", str(demo_package.path))
    assert code == 0, err
    # an explicit file replaces the default one
    other = tmp_path / "other.txt"
    other.write_text(f"{Signer.generate().fingerprint()}\n")
    code, _, _ = run_cli("verify", str(demo_package.path), "--trusted-keys", str(other))
    assert code == 3


def test_expect_fingerprint_is_the_only_trusted_key(
    demo_package: Exported, tmp_path: Path, run_cli: RunCli
) -> None:
    fp = demo_package.signer.fingerprint()
    code, out, err = run_cli("verify", str(demo_package.path), "--expect-fingerprint", fp.upper())
    assert code == 0, err
    assert f"{fp} (matches --expect-fingerprint)" in out
    listed = tmp_path / "keys.txt"
    listed.write_text(f"{fp}\n")
    other = Signer.generate().fingerprint()
    code, _, err = run_cli(
        "verify", str(demo_package.path), "--trusted-keys", str(listed),
        "--expect-fingerprint", other,
    )  # fmt: skip
    assert code == 1 and "expected signing key" in err


def test_bad_trusted_keys_files_exit_two(
    demo_package: Exported, tmp_path: Path, run_cli: RunCli
) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("# ok\nnot-a-fingerprint\n")
    code, _, err = run_cli("verify", str(demo_package.path), "--trusted-keys", str(bad))
    assert code == 2 and err.startswith("error:") and f"{bad}:2" in err
    code, out, _ = run_cli("verify", str(demo_package.path), "--trusted-keys", str(bad), "--json")
    assert code == 2 and json.loads(out)["ok"] is False and "bad.txt:2" in json.loads(out)["error"]
    code, _, err = run_cli(
        "verify", str(demo_package.path), "--trusted-keys", str(tmp_path / "absent.txt")
    )
    assert code == 2 and "cannot read trusted keys" in err
    code, _, err = run_cli("verify", str(demo_package.path), "--expect-fingerprint", "abc")
    assert code == 2 and "64 hex digits" in err


def test_parse_trusted_keys_format() -> None:
    a, b = Signer.generate(), Signer.generate()
    text = f"""# comment
{a.fingerprint()}
   {a.fingerprint()}   duplicate, first line wins
{b.public_key_pem()}
"""
    keys = parse_trusted_keys(text, path="k.txt")
    assert keys == {
        a.fingerprint(): "trusted-keys file k.txt:2",
        b.fingerprint(): "trusted-keys file k.txt:4",
    }
    with pytest.raises(InputError, match=r"k\.txt:1: PEM block without"):
        parse_trusted_keys("-----BEGIN PUBLIC KEY-----\nMCow\n", path="k.txt")
    ec_pem = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    with pytest.raises(InputError, match=r"k\.txt:2: .*not Ed25519"):
        parse_trusted_keys(f"# an EC key\n{ec_pem}", path="k.txt")
    with pytest.raises(InputError, match=r"k\.txt:1: expected a 64-hex"):
        parse_trusted_keys(a.fingerprint()[:63], path="k.txt")


def test_read_trusted_keys_refuses_binary_and_huge(tmp_path: Path) -> None:
    binary = tmp_path / "b.txt"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(InputError, match="not UTF-8"):
        read_trusted_keys(binary)
    huge = tmp_path / "h.txt"
    huge.write_bytes(b"#" * (1024**2 + 1))
    with pytest.raises(InputError, match="larger than"):
        read_trusted_keys(huge)


def test_trust_never_creates_a_key(data_home: Path) -> None:
    keys = trusted_keys()
    assert dict(keys.keys) == {} and keys.warnings == ()
    assert not (data_home / "ledger-signing-key.pem").exists()
