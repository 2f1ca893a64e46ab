"""A package is hostile input (issue 10 items 10, 12, 13): ``tutela verify`` judges member count,
names and sizes from the central directory before reading, hashes members in chunks, escapes Rich
markup in paths and names, and refuses deeply nested JSON without a traceback."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import struct
import tracemalloc
import warnings
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from _evidence_packages import Exported, members, rewrite, write_members

from tutela.errors import InputError
from tutela.evidence import verify_package
from tutela.evidence.package import PACKAGE_FORMAT, ReadLimits, read_package
from tutela.ledger import TamperError

RunCli = Callable[..., tuple[int, str, str]]


@pytest.fixture(autouse=True)
def _no_local_trust(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("TUTELA_DB", raising=False)


def fp_args(pkg: Exported) -> tuple[str, str]:
    return ("--expect-fingerprint", pkg.signer.fingerprint())


def patch_central_size(path: Path, name: str, size: int) -> None:
    """Declare ``size`` uncompressed bytes for member ``name`` in the central directory only."""
    raw = bytearray(path.read_bytes())
    at = 0
    while (at := raw.find(b"PK\x01\x02", at)) >= 0:
        name_len = struct.unpack_from("<H", raw, at + 28)[0]
        if raw[at + 46 : at + 46 + name_len] == name.encode():
            struct.pack_into("<L", raw, at + 24, size)
            path.write_bytes(bytes(raw))
            return
        at += 4
    raise AssertionError(f"{name} not in the central directory")


def many_members(path: Path, n: int, *, duplicate: str | None = None) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about a duplicate name
        with zipfile.ZipFile(path, "w") as z:
            for i in range(n):
                z.writestr(f"m{i:05d}", b"")
            if duplicate is not None:
                z.writestr(duplicate, b"")
    return path


# -- item 10: limits, streaming, names -----------------------------------------------------------
def test_huge_declared_member_is_refused_before_reading(
    demo_package: Exported, tmp_path: Path, run_cli: RunCli
) -> None:
    bad = tmp_path / "huge.zip"
    shutil.copy(demo_package.path, bad)
    patch_central_size(bad, "report.pdf", 0xFFFFFFF0)  # ~4 GiB declared, nothing behind it
    assert bad.stat().st_size < 10 * 1024**2
    code, _, err = run_cli("verify", str(bad), *fp_args(demo_package))
    assert code == 2 and err.startswith("error:")
    assert "'report.pdf' declares 4294967280 bytes" in err
    assert f"per-member limit of {512 * 1024**2} bytes" in err and "--max-member-size" in err


def test_member_and_total_limits_are_options(demo_package: Exported, run_cli: RunCli) -> None:
    pkg = str(demo_package.path)
    code, _, err = run_cli("verify", pkg, *fp_args(demo_package), "--max-member-size", "1000")
    assert code == 2 and "per-member limit of 1000 bytes" in err and "member '" in err
    code, _, err = run_cli("verify", pkg, *fp_args(demo_package), "--max-total-size", "1000")
    assert code == 2 and "over the limit of 1000 bytes" in err and "--max-total-size" in err
    code, _, err = run_cli("verify", pkg, *fp_args(demo_package), "--max-members", "3")
    assert code == 2 and "over the limit of 3" in err and "--max-members" in err
    code, _, err = run_cli("verify", pkg, *fp_args(demo_package), "--max-members", "0")
    assert code == 2  # a usage error, not a traceback
    code, _, err = run_cli(
        "verify", pkg, *fp_args(demo_package), "--max-members", "13",
        "--max-total-size", str(2**40), "--max-member-size", str(2**40),
    )  # fmt: skip
    assert code == 0, err


def test_member_count_limit(tmp_path: Path, run_cli: RunCli) -> None:
    crowd = many_members(tmp_path / "crowd.zip", 40_000, duplicate="m00007")
    code, _, err = run_cli("verify", str(crowd))
    assert code == 2 and "declares 40001 members, over the limit of 10000" in err
    # with a higher limit the duplicate is found (one set, not a quadratic scan)
    code, _, err = run_cli("verify", str(crowd), "--max-members", "50000")
    assert code == 1 and "duplicated members" in err and "m00007" in err


def test_member_count_is_checked_when_the_end_record_lies(tmp_path: Path) -> None:
    liar = many_members(tmp_path / "liar.zip", 20)
    raw = bytearray(liar.read_bytes())
    end = raw.rfind(b"PK\x05\x06")
    struct.pack_into("<HH", raw, end + 8, 1, 1)  # claims one member
    liar.write_bytes(bytes(raw))
    with pytest.raises(InputError, match="20 members, over the limit of 5"):
        read_package(liar, limits=ReadLimits(max_members=5))


def test_central_directory_size_is_bounded(tmp_path: Path) -> None:
    wide = tmp_path / "wide.zip"
    with zipfile.ZipFile(wide, "w") as z:
        for c in "abc":
            z.writestr(c * 2000, b"")
    with pytest.raises(InputError, match=r"central directory of .* bytes exceeds"):
        read_package(wide, limits=ReadLimits(max_members=3))


def test_limits_must_be_positive() -> None:
    with pytest.raises(InputError, match="max_members"):
        ReadLimits(max_members=0)


def test_hashed_members_are_streamed_not_held(demo_package: Exported, tmp_path: Path) -> None:
    """A 64 MiB derived member (a few KB compressed) is hashed in chunks: peak memory stays far
    below its size, and the changed member is named."""
    blob = bytes(64 * 1024**2)
    bad = tmp_path / "big.zip"
    data = members(demo_package.path)
    data["report.pdf"] = blob
    with zipfile.ZipFile(bad, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for n, b in data.items():
            z.writestr(n, b)
    del blob, data
    tracemalloc.start()
    try:
        with pytest.raises(TamperError, match=r"SHA-256 of report\.pdf differs"):
            verify_package(bad)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024**2


def zero_deflate(mib: int) -> bytes:
    """A raw deflate stream of ``mib`` MiB of zero bytes, built in milliseconds: one 1 MiB block
    ended by a full flush (no reference to earlier data) repeated, then the final block."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = c.compress(bytes(1024**2)) + c.flush(zlib.Z_FULL_FLUSH)
    return block * mib + c.flush()


def raw_zip(path: Path, members: list[tuple[str, bytes, int, int]]) -> Path:
    """Write a zip of ``(name, raw deflate data, crc32, uncompressed size)`` members by hand."""
    body, directory = bytearray(), bytearray()
    for name, data, crc, size in members:
        n = name.encode()
        offset = len(body)
        body += struct.pack(
            "<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(data), size, len(n), 0
        )
        body += n + data
        directory += struct.pack(
            "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0, crc, len(data), size, len(n),
            0, 0, 0, 0, 0, offset,
        )  # fmt: skip
        directory += n
    end = struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(directory), len(body), 0
    )
    path.write_bytes(bytes(body + directory + end))
    return path


def zero_bomb(path: Path, mib: int, *, wrong: str | None = None) -> Path:
    """A small zip whose three JSON Lines data members are ``mib`` MiB of zero bytes each, with
    a manifest naming their true SHA-256 (but for ``wrong``), as a forger can write it."""
    stream, size = zero_deflate(mib), mib * 1024**2
    crc = zlib.crc32(bytes(size))
    digest = hashlib.sha256(bytes(size)).hexdigest()
    big = ("checkpoints.jsonl", "entries.jsonl", "messages.jsonl")
    small = {
        n: b"x"
        for n in ("operations.json", "public_key.pem", "report.html", "report.pdf", "case.jsonld")
    }
    files = {n: ("0" * 64 if n == wrong else digest) for n in big}
    files.update({n: hashlib.sha256(b).hexdigest() for n, b in small.items()})
    manifest = json.dumps({"format": PACKAGE_FORMAT, "files": files}).encode()

    def deflated(b: bytes) -> tuple[bytes, int, int]:
        c = zlib.compressobj(9, zlib.DEFLATED, -15)
        return c.compress(b) + c.flush(), zlib.crc32(b), len(b)

    rows = [
        (n, *deflated(b)) for n, b in (("manifest.json", manifest), ("manifest.sig", b"0" * 128))
    ]
    rows += [(n, stream, crc, size) for n in big]
    rows += [(n, *deflated(b)) for n, b in small.items()]
    return raw_zip(path, rows)


def peak_of(call: Callable[[], object]) -> tuple[BaseException, int]:
    """(the exception ``call`` raised, peak traced memory in bytes while it ran)."""
    tracemalloc.start()
    try:
        try:
            call()
        except Exception as e:
            raised: BaseException = e
        else:
            raise AssertionError("expected an error")
        return raised, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_oversized_data_members_are_refused_before_reading(tmp_path: Path, run_cli: RunCli) -> None:
    """Three 100 MiB zero-filled data members in a ~300 KB zip, within the per-member and total
    limits: the data members' own 64 MiB cap refuses them from the central directory, before
    anything is decompressed (before: all three were held in memory, then copied: > 400 MiB)."""
    bomb = zero_bomb(tmp_path / "bomb.zip", 100)
    assert bomb.stat().st_size < 2 * 1024**2
    error, peak = peak_of(lambda: verify_package(bomb))
    assert isinstance(error, InputError)
    assert peak < 16 * 1024**2
    assert "'checkpoints.jsonl' declares 104857600 bytes" in str(error)
    assert f"limit of {64 * 1024**2} bytes for a data member" in str(error)
    assert "--max-parsed-member" in str(error)
    code, _, err = run_cli("verify", str(bomb))
    assert code == 2 and err.startswith("error:") and "--max-parsed-member" in err
    code, _, err = run_cli("verify", str(bomb), "--max-parsed-member", str(200 * 1024**2))
    assert code == 1 and "TAMPERED" in err  # past the limits, a forgery is still one


def test_first_hash_mismatch_stops_the_reading(tmp_path: Path) -> None:
    """With the cap raised, each member is compared with the manifest as soon as it is read: the
    first bad one (read first, 100 MiB) is named and the other two are never read; the kept bytes
    are gathered without a second copy (before: all three read, then joined: > 400 MiB)."""
    bomb = zero_bomb(tmp_path / "bomb.zip", 100, wrong="checkpoints.jsonl")
    limits = ReadLimits(max_parsed_member=128 * 1024**2)
    error, peak = peak_of(lambda: verify_package(bomb, limits=limits))
    assert isinstance(error, TamperError)
    assert str(error).startswith("SHA-256 of checkpoints.jsonl differs from the manifest")
    assert "entries.jsonl" not in str(error) and "messages.jsonl" not in str(error)
    assert peak < 150 * 1024**2, peak


def test_data_member_limit_is_an_option(demo_package: Exported, run_cli: RunCli) -> None:
    pkg = str(demo_package.path)
    code, _, err = run_cli("verify", pkg, *fp_args(demo_package), "--max-parsed-member", "100")
    assert code == 2 and "bytes for a data member read into memory" in err and "member '" in err
    code, _, err = run_cli("verify", pkg, *fp_args(demo_package), "--max-parsed-member", "0")
    assert code == 2 and "Traceback" not in err
    with pytest.raises(InputError, match="max_parsed_member"):
        ReadLimits(max_parsed_member=0)


def test_json_lines_split_only_at_line_feeds() -> None:
    """A text holding U+2028, U+0085 or a form feed (left unescaped by canonical JSON) stays one
    record (before: ``str.splitlines`` split it and a genuine package read as tampered)."""
    from tutela.evidence.package import _lines

    rows = [{"text": "a\u2028b"}, {"text": "c\x85d\x0ce\x1cf"}]
    data = b"".join(json.dumps(r, ensure_ascii=False).encode() + b"\n" for r in rows)
    assert _lines(data, "messages.jsonl") == rows
    with pytest.raises(TamperError, match="line 2 is not JSON"):
        _lines(b'{"a": 1}\n\n', "messages.jsonl")


UNSAFE = {
    "/etc/passwd": "absolute path",
    "../evil.txt": "'..' component",
    "reports/../../evil.txt": "'..' component",
    "a\\b.txt": "backslash",
    "..\\evil.txt": "backslash",
    "C:evil.txt": "drive letter",
    "c:/windows/evil.txt": "drive letter",
    "bell\x07.txt": "control character",
}


@pytest.mark.parametrize("name", sorted(UNSAFE))
def test_unsafe_member_names_are_named(
    demo_package: Exported, tmp_path: Path, run_cli: RunCli, name: str
) -> None:
    data = members(demo_package.path)
    data[name] = b"x"
    bad = write_members(tmp_path / "bad.zip", data)
    code, _, err = run_cli("verify", str(bad), *fp_args(demo_package))
    assert code == 1, err
    assert f"unsafe member name {name!r}" in err and UNSAFE[name] in err


def test_symlink_member_is_refused(demo_package: Exported, tmp_path: Path, run_cli: RunCli) -> None:
    data = members(demo_package.path)
    bad = tmp_path / "link.zip"
    with zipfile.ZipFile(bad, "w") as z:
        for n, b in data.items():
            if n == "report.html":
                info = zipfile.ZipInfo(n)
                info.create_system = 3
                info.external_attr = 0o120777 << 16  # S_IFLNK | 0777
                z.writestr(info, b"/etc/passwd")
            else:
                z.writestr(n, b)
    code, _, err = run_cli("verify", str(bad), *fp_args(demo_package))
    assert code == 1 and "unsafe member name 'report.html': symbolic link" in err


# -- item 12: Rich markup in paths and names --------------------------------------------------
@pytest.mark.parametrize(
    "where", ["[x]/p.zip", "[/]pkg.zip", "[bold red]x[/bold red].zip", "a:thumbs_up:.zip"]
)
def test_markup_in_the_path_is_printed_literally(
    demo_package: Exported, tmp_path: Path, run_cli: RunCli, where: str
) -> None:
    path = tmp_path / where
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(demo_package.path, path)
    code, out, err = run_cli("verify", str(path), *fp_args(demo_package))
    assert code == 0, err
    assert f"{path}: intact" in out
    code, out, err = run_cli("verify", str(path))  # untrusted: exit 3, path still literal
    assert code == 3 and str(path) in err
    code, out, _ = run_cli("verify", str(path), "--json", *fp_args(demo_package))
    assert code == 0 and json.loads(out)["package"] == str(path)
    bad = rewrite(path, path.with_name("t" + path.name), {"report.html": b"x"}, mode="stale")
    code, _, err = run_cli("verify", str(bad))
    assert code == 1 and f"TAMPERED {bad}" in err


def test_markup_in_a_member_name_is_printed_literally(
    demo_package: Exported, tmp_path: Path, run_cli: RunCli
) -> None:
    data = members(demo_package.path)
    data["[/]"] = b"x"
    data["[bold]x[/bold]"] = b"y"
    bad = write_members(tmp_path / "bad.zip", data)
    code, _, err = run_cli("verify", str(bad))
    assert code == 1 and "[/]" in err and "[bold]x[/bold]" in err


# -- item 13: deeply nested JSON ---------------------------------------------------------------
DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.mark.parametrize("json_flag", [False, True])
def test_deeply_nested_manifest(
    demo_package: Exported, tmp_path: Path, run_cli: RunCli, json_flag: bool
) -> None:
    shallow_enough_to_parse = json.loads(members(demo_package.path)["manifest.json"])
    shallow_enough_to_parse["extra"] = json.loads(b"[" * 200 + b"]" * 200)
    for i, manifest in enumerate((DEEP, json.dumps(shallow_enough_to_parse).encode())):
        data = members(demo_package.path)
        data["manifest.json"] = manifest
        bad = write_members(tmp_path / f"deep{i}.zip", data)
        args = ["verify", str(bad), *(["--json"] if json_flag else [])]
        code, out, err = run_cli(*args)
        assert code == 2
        assert "Traceback" not in err and "RecursionError" not in err
        if json_flag:
            result = json.loads(out)
            assert result["ok"] is False and "nests" in result["error"]
        else:
            assert err.startswith("error:") and "manifest.json nests" in err


@pytest.mark.parametrize("member", ["entries.jsonl", "messages.jsonl", "operations.json"])
@pytest.mark.parametrize("json_flag", [False, True])
def test_deeply_nested_signed_members(
    demo_package: Exported, tmp_path: Path, run_cli: RunCli, member: str, json_flag: bool
) -> None:
    for i, deep in enumerate((DEEP, b"[" * 300 + b"]" * 300)):
        body = deep if member == "operations.json" else b'{"x": ' + deep + b"}\n"
        bad = rewrite(
            demo_package.path,
            tmp_path / f"deep{i}.zip",
            {member: body},
            mode="resigned",
            signer=demo_package.signer,
        )
        args = ["verify", str(bad), *fp_args(demo_package), *(["--json"] if json_flag else [])]
        code, out, err = run_cli(*args)
        assert code == 1, err
        assert "Traceback" not in err and "RecursionError" not in err
        if json_flag:
            assert json.loads(out)["ok"] is False
        else:
            assert "TAMPERED" in err and "nests" in err


def test_zipfile_errors_are_input_errors(tmp_path: Path) -> None:
    """An unsupported compression method is an ``error: ...``, not a traceback."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("manifest.json", b"{}")
    raw = bytearray(buf.getvalue())
    for sig, off in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
        at = raw.find(sig)
        struct.pack_into("<H", raw, at + off, 99)  # compression method 99 (AES), unsupported
    path = tmp_path / "odd.zip"
    path.write_bytes(bytes(raw))
    with pytest.raises(InputError, match=r"cannot read member .manifest\.json"):
        read_package(path)
