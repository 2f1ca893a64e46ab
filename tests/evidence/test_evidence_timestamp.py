"""RFC 3161 timestamps of the head checkpoint, against a local OpenSSL TSA (no network).

The TSA is ``openssl ts -reply`` behind the injectable transport, and behind a loopback HTTP
server for ``tutela export --tsa-url`` (RECIPES.md, "RFC 3161 timestamps without network")."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from _evidence_packages import Exported, build_case, members, rewrite

from tutela.evidence import export_package, verify_package
from tutela.ledger import TamperError
from tutela.ledger.errors import TimestampError
from tutela.ledger.timestamp import request_timestamp, verify_timestamp
from tutela.store import open_store

RunCli = Callable[..., tuple[int, str, str]]

TSA_CNF = """\
[ tsa ]
default_tsa = tsa_config1
[ tsa_config1 ]
dir = .
serial = ./tsaserial
crypto_device = builtin
signer_cert = ./tsa.crt
signer_key = ./tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
[ tsa_ext ]
basicConstraints = critical,CA:false
extendedKeyUsage = critical,timeStamping
keyUsage = critical,digitalSignature
"""


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_ca(d: Path, name: str) -> None:
    _openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", f"{name}.key", "-out", f"{name}.crt", "-days", "2", "-subj", f"/CN={name}",
        "-addext", "basicConstraints=critical,CA:true",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=d,
    )  # fmt: skip


@pytest.fixture(scope="module")
def tsa(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A test CA and a TSA certificate it issued (``extendedKeyUsage=critical,timeStamping``)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    d = tmp_path_factory.mktemp("tsa")
    (d / "tsa.cnf").write_text(TSA_CNF)
    (d / "tsaserial").write_text("01\n")
    make_ca(d, "ca")
    make_ca(d, "other-ca")
    _openssl(
        "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", "tsa.key", "-out", "tsa.csr", "-subj", "/CN=Tutela Test TSA",
        cwd=d,
    )  # fmt: skip
    _openssl(
        "x509", "-req", "-in", "tsa.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "tsa.crt", "-days", "2",
        "-extfile", "tsa.cnf", "-extensions", "tsa_ext",
        cwd=d,
    )  # fmt: skip
    return d


def openssl_transport(tsa_dir: Path) -> Callable[[bytes], bytes]:
    """A transport that answers a DER TimeStampReq with ``openssl ts -reply``."""

    def send(request: bytes) -> bytes:
        with tempfile.TemporaryDirectory() as t:
            q, r = Path(t) / "req.tsq", Path(t) / "resp.tsr"
            q.write_bytes(request)
            _openssl(
                "ts", "-reply", "-config", "tsa.cnf", "-queryfile", str(q), "-out", str(r),
                cwd=tsa_dir,
            )  # fmt: skip
            return r.read_bytes()

    return send


@pytest.fixture(scope="module")
def stamped(tsa: Path, tmp_path_factory: pytest.TempPathFactory) -> Exported:
    folder = tmp_path_factory.mktemp("stamped") / "db"
    folder.mkdir()
    url, case_id, signer = build_case(folder, evidential=True)
    out = folder.parent / "stamped.zip"
    with open_store(url) as store:
        export_package(
            store,
            case_id,
            out,
            signer=signer,
            actor="officer-7",
            timestamper=openssl_transport(tsa),
        )
    return Exported(out, signer, case_id, url)


def test_timestamped_package_verifies(stamped: Exported, tsa: Path, run_cli: RunCli) -> None:
    report = verify_package(stamped.path)
    assert report.timestamp is not None and not report.timestamp_trusted
    assert "timestamp.tsr" in report.files
    report = verify_package(stamped.path, tsa_certificates=[(tsa / "ca.crt").read_bytes()])
    assert report.timestamp_trusted
    fp = stamped.signer.fingerprint()  # exit 0 needs a trusted key
    code, out, err = run_cli(
        "verify", str(stamped.path), "--tsa-cert", str(tsa / "ca.crt"), "--expect-fingerprint", fp
    )
    assert code == 0, err
    assert "chain verified" in out
    html = members(stamped.path)["report.html"].decode()
    assert "CN=Tutela Test TSA" in html  # chain of custody names the TSA


def test_wrong_tsa_root_fails(stamped: Exported, tsa: Path, run_cli: RunCli) -> None:
    code, _, err = run_cli("verify", str(stamped.path), "--tsa-cert", str(tsa / "other-ca.crt"))
    assert code == 1 and "timestamp.tsr" in err


def test_token_over_other_data_fails(stamped: Exported, tsa: Path, tmp_path: Path) -> None:
    other = request_timestamp(b"some other head", openssl_transport(tsa))
    bad = rewrite(
        stamped.path,
        tmp_path / "bad.zip",
        {"timestamp.tsr": other},
        mode="resigned",
        signer=stamped.signer,
    )
    with pytest.raises(TamperError, match="imprint"):
        verify_package(bad)
    with pytest.raises(TamperError, match="imprint"):
        verify_timestamp(other, b"the real head")


def test_removed_or_corrupted_token(stamped: Exported, tmp_path: Path, run_cli: RunCli) -> None:
    bad = rewrite(stamped.path, tmp_path / "bad.zip", {"timestamp.tsr": None}, mode="stale")
    code, _, err = run_cli("verify", str(bad))
    assert code == 1 and "missing" in err and "timestamp.tsr" in err
    bad = rewrite(
        stamped.path,
        tmp_path / "garbage.zip",
        {"timestamp.tsr": b"\x30\x03\x02\x01\x00"},
        mode="resigned",
        signer=stamped.signer,
    )
    code, _, err = run_cli("verify", str(bad))
    assert code == 1 and "timestamp.tsr" in err


def test_tsa_cert_given_but_no_token(evidential_package: Exported, tsa: Path) -> None:
    with pytest.raises(TamperError, match=r"timestamp\.tsr"):
        verify_package(evidential_package.path, tsa_certificates=[(tsa / "ca.crt").read_bytes()])


def test_failing_tsa_raises_timestamp_error() -> None:
    def broken(_request: bytes) -> bytes:
        raise OSError("connection refused")

    with pytest.raises(TimestampError, match="connection refused"):
        request_timestamp(b"x", broken)
    with pytest.raises(TimestampError, match="garbage"):
        request_timestamp(b"x", lambda _r: b"not DER")


@pytest.fixture
def http_tsa(tsa: Path) -> Iterator[str]:
    """``openssl ts -reply`` behind a loopback HTTP server (application/timestamp-query)."""
    send = openssl_transport(tsa)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            ok = self.headers["Content-Type"] == "application/timestamp-query"
            reply = send(body) if ok else b""
            self.send_response(200 if ok else 415)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/tsa"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_cli_export_with_tsa_url(http_tsa: str, tsa: Path, tmp_path: Path, run_cli: RunCli) -> None:
    folder = tmp_path / "db"
    folder.mkdir()
    url, case_id, signer = build_case(folder, evidential=True)
    out = tmp_path / "case.zip"
    key = folder / "signing-key.pem"
    code, stdout, err = run_cli(
        "export", str(case_id), "--out", str(out), "--db", url, "--key", str(key),
        "--tsa-url", http_tsa, "--draft",  # no approved referral (issue 10, item 11)
    )  # fmt: skip
    assert code == 0, err
    assert "RFC 3161 timestamp" in stdout
    code, stdout, err = run_cli(
        "verify", str(out), "--tsa-cert", str(tsa / "ca.crt"), "--json",
        "--expect-fingerprint", signer.fingerprint(),
    )  # fmt: skip
    assert code == 0, err
    assert '"timestamp_trusted": true' in stdout
    code, _, err = run_cli(
        "export", str(case_id), "--out", str(tmp_path / "x.zip"), "--db", url, "--key", str(key),
        "--tsa-url", "http://127.0.0.1:9/none", "--draft",
    )  # fmt: skip
    assert code == 2 and "time-stamping authority" in err
    assert not (tmp_path / "x.zip").exists()
