"""``tutela run`` end to end over real Prosody (XMPP) and miniircd (IRC) on 127.0.0.1.

A scripted contact client talks to a persona over the network. Proves: the warning arrives after
the solicitation and not before (hard rule 1: the persona never initiates); benign contacts get no
warning; channel traffic that does not address the persona is not stored (hard rule 4); every
inbound message survives ``kill -9`` and the conversation resumes after a restart.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from connector_clients import IrcContact, XmppContact, payload
from servers import miniircd_server, prosody_server
from tutela.ledger.signing import Signer
from tutela.store import open_store, verify_store

pytestmark = [pytest.mark.network, pytest.mark.slow]

TIMEOUT = 30.0


@pytest.fixture(scope="module")
def xmpp(tmp_path_factory):
    with prosody_server(tmp_path_factory.mktemp("xmpp")) as server:
        yield server


@pytest.fixture(scope="module")
def irc(tmp_path_factory):
    with miniircd_server(tmp_path_factory.mktemp("irc")) as server:
        yield server


def _config(tmp_path: Path, xmpp, irc, persona_user: str, irc_nick: str) -> Path:
    now = datetime.now(UTC)
    cfg = {
        "db": f"sqlite:///{tmp_path / 'run.db'}",
        "signing_key": str(tmp_path / "key.pem"),
        "reply_delay_scale": 0.0,
        "operation": {
            "organisation": "Test child-protection NGO",
            "jurisdiction": "NL",
            "legal_basis": "test operation on a loopback server",
            "authorisation_ref": "TEST-0001",
            "officer": "Test Officer",
            "starts_at": (now - timedelta(days=1)).isoformat(),
            "ends_at": (now + timedelta(days=1)).isoformat(),
        },
        "personas": [
            {
                "persona": "gb-ellie",
                "connectors": [
                    {
                        "kind": "xmpp",
                        "jid": xmpp.jid(persona_user),
                        "password": "pw-persona",
                        "host": xmpp.host,
                        "port": xmpp.port,
                        "allow_plaintext": True,
                    },
                    {
                        "kind": "irc",
                        "host": irc.host,
                        "port": irc.port,
                        "nick": irc_nick,
                        "channels": ["#kids"],
                    },
                ],
            }
        ],
    }
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


class Runner:
    """``tutela run`` as a child process."""

    def __init__(self, config: Path) -> None:
        self.config = config
        self.proc: subprocess.Popen[str] | None = None
        self.output = ""

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tutela", "run", "--config", str(self.config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        deadline = time.monotonic() + 60
        seen = []
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            seen.append(line)
            if "personas online" in line:
                return
            if self.proc.poll() is not None:
                break
        raise AssertionError("tutela run did not come online:\n" + "".join(seen))

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.proc.stdout.close()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc and not self.proc.stdout.closed:
            self.output = self.proc.stdout.read()
            self.proc.stdout.close()


def _public_key(tmp_path: Path) -> bytes:
    return Signer.load_or_create(tmp_path / "key.pem").public_key_bytes()


def _run(coro):
    return asyncio.run(asyncio.wait_for(coro, timeout=180))


def _inbound_texts(db_url: str) -> list[str]:
    from sqlalchemy import text as sql

    store = open_store(db_url)
    try:
        with store.session() as s:
            return [
                r[0]
                for r in s.execute(
                    sql("SELECT text FROM messages WHERE direction = 'in' ORDER BY id")
                )
            ]
    finally:
        store.close()


def test_xmpp_grooming_contact_is_warned_after_solicitation(tmp_path, xmpp, irc) -> None:
    xmpp.register("ellie1", "pw-persona")
    xmpp.register("mallory1", "pw-contact")
    cfg = _config(tmp_path, xmpp, irc, "ellie1", "ellie_a")
    runner = Runner(cfg)
    runner.start()
    lines = [
        "hi",
        "how old are you?",
        "you seem very mature for your age",
        "are your parents home?",
        "dont tell anyone we talk",
        "turn on your webcam for me",
    ]

    async def talk() -> list[tuple[str, str]]:
        contact = await XmppContact(
            xmpp.jid("mallory1"), "pw-contact", xmpp.host, xmpp.port
        ).start()
        pairs = []
        try:
            for line in lines:
                contact.say(xmpp.jid("ellie1"), line)
                reply = await contact.next_body(timeout=TIMEOUT)
                pairs.append((line, reply))
                if "virtual" in reply.lower():
                    break
        finally:
            await contact.stop()
        return pairs

    try:
        pairs = _run(talk())
    finally:
        runner.stop()
    replies = [r for _, r in pairs]
    assert "virtual" in replies[-1].lower(), replies
    assert not any("virtual" in r.lower() for r in replies[:-1])
    # the warning follows a soliciting line, never a greeting, and comes after the age was stated
    assert pairs[-1][0] in lines[3:]
    assert any("13" in r for r in replies[:-1])
    store = open_store(f"sqlite:///{tmp_path / 'run.db'}")
    try:
        assert verify_store(store, _public_key(tmp_path)) > 0
    finally:
        store.close()


def test_irc_benign_contact_no_warning_and_room_traffic_not_stored(tmp_path, xmpp, irc) -> None:
    xmpp.register("ellie2", "pw-persona")
    cfg = _config(tmp_path, xmpp, irc, "ellie2", "ellie_b")
    runner = Runner(cfg)
    runner.start()
    benign = ["hiya", "did you do the maths homework", "are you playing minecraft later"]

    async def talk() -> list[str]:
        kid = await IrcContact(irc.host, irc.port, "classmate7").start()
        other = await IrcContact(irc.host, irc.port, "chatter9").start()
        try:
            await kid.join("#kids")
            await other.join("#kids")
            await other.send("PRIVMSG #kids :anyone seen the football scores tonight")
            replies = []
            for line in benign:
                await kid.send(f"PRIVMSG ellie_b :{line}")
                got = await kid.privmsgs_from("ellie_b", 1, timeout=TIMEOUT)
                replies.append(payload(got[0]))
            await kid.send("PRIVMSG #kids :ellie_b what game are you playing")
            got = await kid.privmsgs_from("ellie_b", 1, timeout=TIMEOUT)
            replies.append(payload(got[0]))
            return replies
        finally:
            await kid.stop()
            await other.stop()

    try:
        replies = _run(talk())
    finally:
        runner.stop()
    assert len(replies) == 4
    assert not any("virtual" in r.lower() for r in replies)
    stored = _inbound_texts(f"sqlite:///{tmp_path / 'run.db'}")
    assert stored == [*benign, "ellie_b what game are you playing"]
    assert not any("football scores" in t for t in stored)


def test_kill_9_loses_nothing_and_the_conversation_resumes(tmp_path, xmpp, irc) -> None:
    xmpp.register("ellie3", "pw-persona")
    xmpp.register("mallory3", "pw-contact")
    cfg = _config(tmp_path, xmpp, irc, "ellie3", "ellie_c")
    db = f"sqlite:///{tmp_path / 'run.db'}"
    runner = Runner(cfg)
    runner.start()

    async def first_part() -> None:
        contact = await XmppContact(
            xmpp.jid("mallory3"), "pw-contact", xmpp.host, xmpp.port
        ).start()
        try:
            for line in ["hello", "what are you doing"]:
                contact.say(xmpp.jid("ellie3"), line)
                await contact.next_body(timeout=TIMEOUT)
            contact.say(xmpp.jid("ellie3"), "how was school today")
            deadline = time.monotonic() + TIMEOUT
            while len(_inbound_texts(db)) < 3 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            runner.kill9()  # right after the third line was recorded
        finally:
            await contact.stop()

    _run(first_part())
    assert _inbound_texts(db) == ["hello", "what are you doing", "how was school today"]

    runner.start()

    async def second_part() -> list[str]:
        contact = await XmppContact(
            xmpp.jid("mallory3"), "pw-contact", xmpp.host, xmpp.port
        ).start()
        try:
            contact.say(xmpp.jid("ellie3"), "do you have any pets")
            return [await contact.next_body(timeout=TIMEOUT)]
        finally:
            await contact.stop()

    try:
        replies = _run(second_part())
    finally:
        runner.stop()
    assert replies and replies[0]
    from sqlalchemy import text as sql

    store = open_store(db)
    try:
        assert verify_store(store, _public_key(tmp_path)) > 0
        with store.session() as s:
            rows = s.execute(
                sql(
                    "SELECT conversation_id, contact_line FROM messages WHERE direction = 'in' "
                    "ORDER BY id"
                )
            ).all()
            n_decisions = s.execute(sql("SELECT count(*) FROM decisions")).scalar_one()
    finally:
        store.close()
    assert [r[1] for r in rows] == [1, 2, 3, 4]
    assert len({r[0] for r in rows}) == 1  # the same conversation resumed
    assert n_decisions == 4  # the line recorded before the kill was decided after the restart
