"""``tutela trial register|show|end``: the plan's hash (RFC 3161-stamped by a local OpenSSL TSA)
is registered with its ledger entry before any allocation; the refusals; counts without ids."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from _cli_harness import invoke
from tutela.ledger import EntryKind
from tutela.ledger.timestamp import verify_timestamp
from tutela.store import Recorder, iter_ledger, open_store
from tutela.store.queries.trials import allocate, get_trial

PLAN = "# Analysis plan\n\nPrimary outcome: re-contact of any persona within 90 days.\n"

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
digests = sha256
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


@pytest.fixture(scope="module")
def tsa_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A test CA and a TSA certificate it issued (as tests/evidence/test_evidence_timestamp)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    d = tmp_path_factory.mktemp("tsa")
    (d / "tsa.cnf").write_text(TSA_CNF)
    (d / "tsaserial").write_text("01\n")
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")
    _openssl(
        "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
        "-subj", "/CN=ca", "-addext", "basicConstraints=critical,CA:true",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d,
    )  # fmt: skip
    _openssl(
        "req", *ec, "-keyout", "tsa.key", "-out", "tsa.csr", "-subj", "/CN=Tutela Test TSA", cwd=d
    )
    _openssl(
        "x509", "-req", "-in", "tsa.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "tsa.crt", "-days", "2",
        "-extfile", "tsa.cnf", "-extensions", "tsa_ext", cwd=d,
    )  # fmt: skip
    return d


@pytest.fixture(scope="module")
def tsa_url(tsa_dir: Path) -> Iterator[str]:
    """``openssl ts -reply`` behind a loopback HTTP server."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with tempfile.TemporaryDirectory() as t:
                q, r = Path(t) / "req.tsq", Path(t) / "resp.tsr"
                q.write_bytes(body)
                _openssl(
                    "ts", "-reply", "-config", "tsa.cnf", "-queryfile", str(q), "-out", str(r),
                    cwd=tsa_dir,
                )  # fmt: skip
                reply = r.read_bytes()
            self.send_response(200)
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


def _register(db: str, plan: Path, name: str = "t1", *extra: str):
    return invoke(
        ["trial", "register", "--name", name, "--plan", str(plan), "--seed", "987654", "--db", db,
         *extra]
    )  # fmt: skip


def _events(db: str) -> list[dict]:
    with open_store(db) as store:
        return [dict(e.payload or {}) for e in iter_ledger(store) if e.kind is EntryKind.OPERATION]


def test_register_stamps_the_plan_hash_and_writes_the_ledger(
    tmp_path: Path, tsa_url: str, tsa_dir: Path
) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    plan = tmp_path / "PLAN.md"
    plan.write_text(PLAN, encoding="utf-8")
    digest = hashlib.sha256(plan.read_bytes()).hexdigest()
    r = _register(db, plan, "t1", "--tsa-url", tsa_url)
    assert r.code == 0, r.text
    assert f"plan sha256: {digest}" in r.out and "RFC 3161 time-stamp: " in r.out
    (reg,) = [p for p in _events(db) if p.get("event") == "trial_registered"]
    assert reg["plan_sha256"] == digest and reg["name"] == "t1"
    assert list(reg["arms"]) == ["combined", "legal_trace", "legal", "help"]
    assert reg["block_size"] == 8
    assert reg["seed_sha256"] == hashlib.sha256(b"987654").hexdigest()
    with open_store(db) as store:
        trial = get_trial(store, "t1")
    assert trial.timestamp_token is not None and trial.timestamped_at is not None
    assert reg["timestamp_sha256"] == hashlib.sha256(trial.timestamp_token).hexdigest()
    # the token covers exactly the plan's bytes and verifies against the TSA's root
    summary = verify_timestamp(
        trial.timestamp_token, plan.read_bytes(), certificates=[(tsa_dir / "ca.crt").read_bytes()]
    )
    assert summary["imprint"] == digest

    shown = invoke(["trial", "show", "--db", db, "--json"])
    assert shown.code == 0, shown.text
    doc = json.loads(shown.out)
    assert doc["plan_sha256"] == digest and doc["active"] and doc["allocations"] == []
    assert doc["timestamped_at"] is not None


def test_refusals_counts_and_end(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli2.db'}"
    plan = tmp_path / "PLAN.md"
    plan.write_text(PLAN, encoding="utf-8")
    unstamped = _register(db, plan, "t1")  # neither --tsa-url nor --unstamped
    assert unstamped.code == 2 and "--tsa-url" in unstamped.err and "--unstamped" in unstamped.err
    assert _events(db) == []  # nothing registered
    assert _register(db, plan, "t1", "--unstamped").code == 0
    again = _register(db, plan, "t2", "--unstamped")
    assert again.code == 2 and "is active" in again.err
    bad = invoke(["trial", "register", "--name", "x", "--plan", str(plan), "--seed", "1",
                  "--arms", "combined,scare", "--unstamped", "--db", db])  # fmt: skip
    assert bad.code == 2 and "scare" in bad.err
    odd = invoke(["trial", "register", "--name", "x", "--plan", str(plan), "--seed", "1",
                  "--block-size", "5", "--unstamped", "--db", db])  # fmt: skip
    assert odd.code == 2 and "block size" in odd.err

    # two allocations through the store (the live engine's call), in two strata
    with open_store(db) as store:
        rec = Recorder(store)
        op = rec.create_operation(
            organisation="Unit", jurisdiction="NL", legal_basis="test", authorisation_ref="A-1",
            officer="o", starts_at=datetime(2020, 1, 1, tzinfo=UTC),
        )  # fmt: skip
        trial = get_trial(store, "t1")
        for who, lang in [("c-en", "en"), ("c-nl", "nl")]:
            cid = rec.get_or_create_contact("memory", who, seen_at=datetime.now(UTC))
            conv = rec.open_conversation(
                operation_id=op.id, persona_id="p", platform="memory", account="p",
                contact_id=cid, lang=lang, started_at=datetime.now(UTC),
            )  # fmt: skip
            got = allocate(
                rec, trial_id=trial.id, contact_id=cid, conversation_id=conv.id, stratum=lang,
                choose=lambda t, n: ("legal", 0),
            )  # fmt: skip
            assert got.created and got.arm == "legal"
            again_alloc = allocate(
                rec, trial_id=trial.id, contact_id=cid, conversation_id=conv.id, stratum=lang,
                choose=lambda t, n: ("help", 0),
            )  # fmt: skip
            assert not again_alloc.created and again_alloc.arm == "legal"  # idempotent
    shown = invoke(["trial", "show", "--db", db])
    assert shown.code == 0, shown.text
    assert "en" in shown.out and "nl" in shown.out and "c-en" not in shown.out
    doc = json.loads(invoke(["trial", "show", "--db", db, "--json"]).out)
    assert doc["allocations"] == [
        {"stratum": "en", "arm": "legal", "n": 1},
        {"stratum": "nl", "arm": "legal", "n": 1},
    ]
    ended = invoke(["trial", "end", "--db", db, "--reason", "stopped"])
    assert ended.code == 0, ended.text
    assert invoke(["trial", "end", "--db", db]).code == 2  # nothing active: the latest has ended
    # a plan is registered once: the same plan with a new seed (a re-draw after seeing data)
    # is refused; a new trial needs a new plan
    redraw = invoke(["trial", "register", "--name", "t4", "--plan", str(plan), "--seed", "5",
                     "--unstamped", "--db", db])  # fmt: skip
    assert redraw.code == 2 and "registered already" in redraw.err
    other = tmp_path / "PLAN2.md"
    other.write_text(PLAN + "Second trial: a new plan.\n", encoding="utf-8")
    assert _register(db, other, "t3", "--unstamped").code == 0
    assert [p.get("event") for p in _events(db)].count("trial_allocated") == 2
