"""Every small file the CLI is handed is read bounded, and only when it is a regular file (issue 10,
review of item 10): a package, ``--tsa-cert``, ``--trusted-keys``, ``ledger verify --key``,
``--passphrase-file`` and ``export --key`` given a device, a FIFO (named pipe) or a huge file end
in ``error: ...`` and exit 2 — never a hang, a ``MemoryError`` (exit 70) or a traceback; and a
``tutela verify`` whose reader closes early exits 141, never 1 (the "tampered" code)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from _evidence_packages import Exported

RunCli = Callable[..., tuple[int, str, str]]

pytestmark = pytest.mark.skipif(os.name != "posix", reason="FIFOs and /dev/null are POSIX")

MIB = 1024**2


@pytest.fixture(autouse=True)
def _no_local_trust(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("TUTELA_DB", raising=False)
    monkeypatch.delenv("TUTELA_KEY_PASSPHRASE", raising=False)


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Path]:
    """A FIFO (0600). Should a reader block on it (the defect), a watchdog opens it for writing
    after 20 s so that the test ends (and fails) instead of hanging the suite."""
    path = tmp_path / "pipe"
    os.mkfifo(path, 0o600)
    done = threading.Event()

    def release() -> None:
        while not done.wait(20):
            with contextlib.suppress(OSError):  # ENXIO: no reader waiting, nothing to release
                os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))

    watchdog = threading.Thread(target=release, daemon=True)
    watchdog.start()
    yield path
    done.set()
    watchdog.join()


def huge(tmp_path: Path) -> Path:
    """A sparse regular file one byte over the 1 MiB limit (PEM-looking, so that it is read)."""
    path = tmp_path / "huge.pem"
    with path.open("wb") as fh:
        fh.write(b"-----BEGIN PRIVATE KEY-----\n")
        fh.truncate(MIB + 1)
    path.chmod(0o600)
    return path


def kind_of(which: str, tmp_path: Path, fifo: Path) -> tuple[Path, str]:
    """(the path, what the error says about it) for a device, a FIFO or a huge file."""
    if which == "device":
        return Path("/dev/null"), "is a character device, not a regular file"
    if which == "fifo":
        return fifo, "is a FIFO (named pipe), not a regular file"
    return huge(tmp_path), f"is larger than the limit of {MIB} bytes"


def assert_user_error(code: int, err: str, *needles: str, started: float) -> None:
    assert time.monotonic() - started < 15, "blocked on the file"
    assert code == 2, err
    assert err.startswith("error:") and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, (needle, err)


KINDS = ["device", "fifo", "huge"]


@pytest.mark.parametrize("which", ["device", "fifo", "folder"])
def test_verify_a_package_that_is_not_a_regular_file(
    which: str, tmp_path: Path, fifo: Path, run_cli: RunCli
) -> None:
    if which == "folder":
        path, says = tmp_path, "is a folder, not a regular file"
    else:
        path, says = kind_of(which, tmp_path, fifo)
    started = time.monotonic()
    code, _, err = run_cli("verify", str(path))
    assert_user_error(code, err, says, str(path), started=started)


@pytest.mark.parametrize("which", KINDS)
def test_verify_tsa_cert(
    which: str, tmp_path: Path, fifo: Path, demo_package: Exported, run_cli: RunCli
) -> None:
    path, says = kind_of(which, tmp_path, fifo)
    started = time.monotonic()
    code, _, err = run_cli("verify", str(demo_package.path), "--tsa-cert", str(path))
    assert_user_error(code, err, "--tsa-cert file " + says, started=started)


@pytest.mark.parametrize("which", KINDS)
def test_verify_trusted_keys_file(
    which: str, tmp_path: Path, fifo: Path, demo_package: Exported, run_cli: RunCli
) -> None:
    path, says = kind_of(which, tmp_path, fifo)
    started = time.monotonic()
    code, _, err = run_cli("verify", str(demo_package.path), "--trusted-keys", str(path))
    assert_user_error(code, err, "trusted keys file " + says, started=started)


@pytest.mark.parametrize("which", KINDS)
def test_ledger_verify_key_file(
    which: str, tmp_path: Path, fifo: Path, demo_package: Exported, run_cli: RunCli
) -> None:
    path, says = kind_of(which, tmp_path, fifo)
    started = time.monotonic()
    code, _, err = run_cli("ledger", "verify", "--db", demo_package.db_url, "--key", str(path))
    assert_user_error(code, err, "--key", says, started=started)


@pytest.mark.parametrize("which", KINDS)
@pytest.mark.parametrize("command", ["ledger verify", "export"])
def test_passphrase_file(
    command: str,
    which: str,
    tmp_path: Path,
    fifo: Path,
    demo_package: Exported,
    run_cli: RunCli,
) -> None:
    path, says = kind_of(which, tmp_path, fifo)
    args = ["--db", demo_package.db_url, "--passphrase-file", str(path)]
    if command == "export":
        args = [str(demo_package.case_id), "--out", str(tmp_path / "out.zip"), "--draft", *args]
    key = Path(demo_package.db_url.removeprefix("sqlite:///")).parent / "signing-key.pem"
    if command == "ledger verify":
        args += ["--key", str(key)]
    started = time.monotonic()
    code, _, err = run_cli(*command.split(), *args)
    assert_user_error(code, err, "passphrase file " + says, started=started)
    assert not (tmp_path / "out.zip").exists()


@pytest.mark.parametrize("which", [k for k in KINDS if k != "device"])
def test_export_signing_key_file(
    which: str, tmp_path: Path, fifo: Path, demo_package: Exported, run_cli: RunCli
) -> None:
    """``Signer.load`` (``export --key``): a 0600 FIFO passes the permission check but must not
    block; a huge file is refused before it is parsed. (A device such as /dev/null is 0666, which
    the key-permission check refuses first; the other readers test devices.)"""
    path, says = kind_of(which, tmp_path, fifo)
    out = tmp_path / "out.zip"
    started = time.monotonic()
    code, _, err = run_cli(
        "export", str(demo_package.case_id), "--out", str(out), "--draft",
        "--db", demo_package.db_url, "--key", str(path),
    )  # fmt: skip
    assert_user_error(code, err, "signing key " + says, started=started)
    assert not out.exists()


# -- tutela verify into a pipe closed by its reader ----------------------------------------------
@pytest.mark.parametrize(
    ("json_flag", "unbuffered"),
    [(False, False), (True, False), (True, True)],
    ids=["rich", "json-buffered", "json-unbuffered"],
)
def test_verify_into_a_closed_pipe_is_not_tampered(
    json_flag: bool, unbuffered: bool, tmp_path: Path, demo_package: Exported
) -> None:
    """``tutela verify good.zip | head -1`` where head has gone: exit 141 (128 + SIGPIPE) —
    never 1, the "tampered" code (before: Rich's broken-pipe handler and Click's ``EPIPE``
    handler both exited 1), nor 120 (a failed flush at interpreter exit). Covers Rich output,
    JSON left in stdout's buffer until exit, and JSON written through at once."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "XDG_DATA_HOME": str(tmp_path / "x")}
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    args = [sys.executable, "-m", "tutela", "verify", str(demo_package.path)]
    args += ["--expect-fingerprint", demo_package.signer.fingerprint()]
    args += ["--json"] if json_flag else []
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before the verifier writes a byte
    try:
        err = proc.stderr.read().decode("utf-8", "replace")
        code = proc.wait(timeout=300)
    finally:
        proc.kill()
        proc.stderr.close()
    assert code == 141, (code, err)
    assert "Traceback" not in err and "Exception ignored" not in err, err
    if not unbuffered:  # the same package into a pipe that stays open: intact, exit 0
        done = subprocess.run(args, capture_output=True, env=env, timeout=300)
        assert done.returncode == 0, done.stderr
