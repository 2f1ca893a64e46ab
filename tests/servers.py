"""Throwaway chat servers on 127.0.0.1 for tests (Prosody, miniircd, Synapse for Matrix).

Reusable by any test module (the end-to-end tests use them too)::

    with prosody_server(tmp_path) as xmpp:
        xmpp.register("alice", "pw")
        ...  # connect to (xmpp.host, xmpp.port), domain xmpp.domain
        xmpp.stop(); xmpp.start()  # same port, same data: simulates a server restart

    with miniircd_server(tmp_path) as irc:
        ...  # connect to (irc.host, irc.port)

    with synapse_server() as matrix:
        user_id = matrix.register("alice", "pw")  # "@alice:localhost"
        ...  # log in at matrix.url

Recipes: ../shared/RECIPES.md (Prosody refuses to run as root, so its directory is owned by the
``prosody`` user and it is started with ``runuser -u prosody``; miniircd drops to ``nobody``).
Synapse lives in its own venv (``.venv-synapse``) and is started by ``.ci/synapse.sh``; ``.ci/run``
starts one for the whole run and exports its URL as ``TUTELA_TEST_MATRIX_URL``.

When a server binary is missing the test is skipped with ``pytest.skip`` unless the environment
variable ``TUTELA_REQUIRE_SERVERS=1`` is set, in which case it fails (CI sets it: a skipped test is
not a passed one). ``.ci/install-services.sh`` installs the Debian packages.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

__all__ = [
    "IrcServer",
    "MatrixServer",
    "XmppServer",
    "free_port",
    "miniircd_server",
    "missing_server",
    "prosody_server",
    "synapse_server",
    "wait_listening",
]

LOOPBACK = "127.0.0.1"
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0


def missing_server(what: str, hint: str = "run .ci/install-services.sh") -> None:
    """Skip the calling test because ``what`` is not installed, or fail it in CI.

    Fails instead of skipping when ``TUTELA_REQUIRE_SERVERS=1`` is set. ``hint`` says how to
    provide it.
    """
    msg = f"{what} is not installed ({hint})"
    if os.environ.get("TUTELA_REQUIRE_SERVERS") == "1":
        pytest.fail(msg + "; TUTELA_REQUIRE_SERVERS=1 requires it", pytrace=False)
    pytest.skip(msg)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def wait_listening(
    port: int, *, host: str = LOOPBACK, timeout: float = START_TIMEOUT_S, proc=None
) -> None:
    """Block until ``host:port`` accepts a TCP connection.

    Raises ``RuntimeError`` after ``timeout`` seconds, or at once if ``proc`` (a ``Popen``) exited.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with status {proc.returncode} before listening")
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"nothing listens on {host}:{port} after {timeout} s")


def _wait_closed(port: int, *, timeout: float = STOP_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((LOOPBACK, port), timeout=0.2):
                pass
        except OSError:
            return
        time.sleep(0.02)


def _terminate(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=STOP_TIMEOUT_S)


def _as_user(user: str, argv: list[str]) -> list[str]:
    """Prefix ``argv`` with ``runuser -u user --`` when running as root."""
    if os.geteuid() == 0:
        return ["runuser", "-u", user, "--", *argv]
    return argv


# --------------------------------------------------------------------------------------------
# XMPP: Prosody


_PROSODY_CONFIG = """\
daemonize = false
pidfile = "{dir}/prosody.pid"
data_path = "{dir}/data"
log = {{ info = "{dir}/prosody.log"; error = "{dir}/prosody.err" }}
interfaces = {{ "127.0.0.1" }}
local_interfaces = {{ "127.0.0.1" }}
c2s_ports = {{ {port} }}
s2s_ports = {{ }}
http_ports = {{ }}
https_ports = {{ }}
component_ports = {{ }}
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_plain"
allow_registration = true
storage = "internal"
modules_enabled = {{ "roster"; "saslauth"; "disco"; "ping"; "register"; "carbons"; "mam" }}
modules_disabled = {{ "s2s" }}
VirtualHost "{domain}"
Component "{muc}" "muc"
    muc_room_locking = false
    muc_room_default_history_length = 20
"""


@dataclass
class XmppServer:
    """A running Prosody on ``host:port`` serving ``domain`` with MUC service ``muc_domain``."""

    directory: Path
    host: str = LOOPBACK
    port: int = 0
    domain: str = "localhost"
    muc_domain: str = "conference.localhost"
    _proc: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def config(self) -> Path:
        return self.directory / "prosody.cfg.lua"

    def jid(self, user: str) -> str:
        """``user@domain``."""
        return f"{user}@{self.domain}"

    def register(self, user: str, password: str) -> str:
        """Create the account ``user@domain`` and return its bare JID."""
        argv = ["prosodyctl", "--config", str(self.config), "register", user, self.domain]
        subprocess.run(
            _as_user("prosody", [*argv, password]),
            check=True,
            capture_output=True,
            timeout=START_TIMEOUT_S,
        )
        return self.jid(user)

    def start(self) -> None:
        """Start (or restart) Prosody on the same port and data; returns once it listens."""
        if self._proc is not None and self._proc.poll() is None:
            return
        log = open(self.directory / "stdout.log", "ab")  # noqa: SIM115 (held by the process)
        self._proc = subprocess.Popen(
            _as_user("prosody", ["prosody", "--config", str(self.config)]),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        try:
            wait_listening(self.port, proc=self._proc)
        except RuntimeError as e:
            self.stop()
            raise RuntimeError(f"prosody did not start: {e}\n{self.log_tail()}") from e

    def stop(self) -> None:
        """Stop Prosody (SIGTERM, then SIGKILL) and wait until the port is closed."""
        _terminate(self._proc)
        self._proc = None
        _wait_closed(self.port)

    def log_tail(self, n: int = 30) -> str:
        """The last ``n`` lines of Prosody's logs, for failure messages."""
        out = []
        for name in ("stdout.log", "prosody.log", "prosody.err"):
            p = self.directory / name
            if p.exists():
                out += p.read_text(errors="replace").splitlines()[-n:]
        return "\n".join(out)


@contextmanager
def prosody_server(
    tmp_path: Path | None = None, *, domain: str = "localhost"
) -> Iterator[XmppServer]:
    """Run a throwaway Prosody on 127.0.0.1 and a free port; stop it and delete its data on exit.

    ``tmp_path`` is accepted for symmetry with :func:`miniircd_server` but not used: the config,
    data and logs live in a fresh ``tutela-prosody-*`` folder in the system temp dir, owned by the
    ``prosody`` user when run as root. Skips/fails via :func:`missing_server` without Prosody.
    """
    if shutil.which("prosody") is None or shutil.which("prosodyctl") is None:
        missing_server("prosody")
    # pytest's tmp_path sits below a 0700 folder the prosody user cannot traverse: use a folder
    # of its own in the system temp dir and remove it afterwards.
    directory = Path(tempfile.mkdtemp(prefix="tutela-prosody-"))
    os.chmod(directory, 0o755)
    (directory / "data").mkdir()
    server = XmppServer(directory=directory, port=free_port(), domain=domain)
    server.muc_domain = f"conference.{domain}"
    server.config.write_text(
        _PROSODY_CONFIG.format(
            dir=directory, port=server.port, domain=domain, muc=server.muc_domain
        )
    )
    if os.geteuid() == 0:
        for p in (directory, directory / "data", server.config):
            shutil.chown(p, "prosody", "prosody")
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# IRC: miniircd


@dataclass
class IrcServer:
    """A running miniircd on ``host:port``."""

    directory: Path
    host: str = LOOPBACK
    port: int = 0
    _proc: subprocess.Popen | None = field(default=None, repr=False)

    def start(self) -> None:
        """Start (or restart) miniircd on the same port; returns once it listens."""
        if self._proc is not None and self._proc.poll() is None:
            return
        argv = [_miniircd_binary(), "--listen", self.host, "--ports", str(self.port)]
        if os.geteuid() == 0:
            argv += ["--setuid", "nobody"]
        log = open(self.directory / "miniircd.log", "ab")  # noqa: SIM115 (held by the process)
        self._proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        wait_listening(self.port, proc=self._proc)

    def stop(self) -> None:
        """Stop miniircd and wait until the port is closed."""
        _terminate(self._proc)
        self._proc = None
        _wait_closed(self.port)


def _miniircd_binary() -> str:
    beside = Path(sys.executable).with_name("miniircd")
    if beside.exists():
        return str(beside)
    found = shutil.which("miniircd")
    if found is None:
        missing_server("miniircd")
    return str(found)


@contextmanager
def miniircd_server(tmp_path: Path) -> Iterator[IrcServer]:
    """Run a throwaway miniircd on 127.0.0.1 and a free port; stop it on exit.

    Skips/fails via :func:`missing_server` without miniircd (``pip install miniircd``).
    """
    _miniircd_binary()
    directory = tmp_path / "miniircd"
    directory.mkdir(parents=True, exist_ok=True)
    server = IrcServer(directory=directory, port=free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


# --------------------------------------------------------------------------------------------
# Matrix: Synapse

_REPO = Path(__file__).resolve().parents[1]
SYNAPSE_SCRIPT = _REPO / ".ci" / "synapse.sh"
SYNAPSE_VENV = _REPO / ".venv-synapse"
SYNAPSE_START_TIMEOUT_S = 120.0  # includes generating the config and signing key (about 3 s)


@dataclass
class MatrixServer:
    """A Synapse homeserver at ``url`` (plain HTTP on 127.0.0.1) for ``server_name``.

    ``directory`` is set when this process started it (and stops it); ``None`` for a server
    given by ``TUTELA_TEST_MATRIX_URL``.
    """

    url: str
    server_name: str = "localhost"
    directory: Path | None = None

    def user_id(self, localpart: str) -> str:
        """``@localpart:server_name``."""
        return f"@{localpart}:{self.server_name}"

    def register(self, localpart: str, password: str) -> str:
        """Create the account through the client registration API and return its user id.

        ``POST /_matrix/client/v3/register`` with ``m.login.dummy`` auth (the server has
        ``enable_registration_without_verification``); raises ``RuntimeError`` on refusal.
        """
        body = {
            "username": localpart,
            "password": password,
            "auth": {"type": "m.login.dummy"},
            "inhibit_login": True,
        }
        request = urllib.request.Request(
            f"{self.url}/_matrix/client/v3/register",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=START_TIMEOUT_S) as resp:
                reply = json.load(resp)
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"registering {localpart} failed: {e.code} {e.read()!r}") from e
        return str(reply["user_id"])


@contextmanager
def synapse_server(tmp_path: Path | None = None) -> Iterator[MatrixServer]:
    """A Synapse for the Matrix tests: the one at ``TUTELA_TEST_MATRIX_URL`` if set, else a
    throwaway one started with ``.ci/synapse.sh`` when ``.venv-synapse`` exists (stopped and
    deleted on exit). Skips/fails via :func:`missing_server` otherwise.

    ``tmp_path`` is accepted for symmetry and not used (the script makes its own temp folder).
    """
    url = os.environ.get("TUTELA_TEST_MATRIX_URL")
    if url:
        yield MatrixServer(url=url.rstrip("/"))
        return
    if not (SYNAPSE_VENV / "bin" / "python").exists():
        missing_server("synapse", "run `bash .ci/synapse.sh start` and set TUTELA_TEST_MATRIX_URL")
    directory = Path(tempfile.mkdtemp(prefix="tutela-synapse-"))
    try:
        started = subprocess.run(
            ["bash", str(SYNAPSE_SCRIPT), "start", str(directory)],
            capture_output=True,
            text=True,
            timeout=SYNAPSE_START_TIMEOUT_S,
        )
        if started.returncode != 0:
            raise RuntimeError(f"synapse did not start:\n{started.stderr[-3000:]}")
        server = MatrixServer(url=started.stdout.strip().splitlines()[-1], directory=directory)
        yield server
    finally:
        subprocess.run(
            ["bash", str(SYNAPSE_SCRIPT), "stop", str(directory)],
            capture_output=True,
            timeout=STOP_TIMEOUT_S * 4,
        )
        shutil.rmtree(directory, ignore_errors=True)
