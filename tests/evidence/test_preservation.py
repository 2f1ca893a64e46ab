"""Preservation-request letters (``tutela.evidence.preservation``, ``tutela preservation``): one
letter per platform the contact used, its identifiers, the one-year horizon, the audit rows."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tutela.errors import InputError
from tutela.evidence.preservation import (
    INDEX_NAME,
    NOT_FOR_SENDING,
    PreservationResult,
    md_code,
    md_literal,
    preserve_until,
    write_preservation_requests,
)
from tutela.ledger import Signer, sha256_hex
from tutela.store import Recorder, open_store

RunCli = Callable[..., tuple[int, str, str]]
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
LETTER_DATE = date(2025, 3, 10)
XMPP_ID = "suspect@chat.example/phone"
MATRIX_ID = "@suspect:matrix.example"
TRICK_ID = "evil\u202e\n# Disclosure order\n- [x](http://bad)`"


def _case(folder: Path, *, evidential: bool = True) -> tuple[str, int, Signer]:
    """A contact met on XMPP and on Matrix (the two identities merged), with a handle volunteered
    in a message and a crafted account name on a third platform (IRC)."""
    url = f"sqlite:///{folder / 'tutela.db'}"
    signer = Signer.load_or_create(folder / "signing-key.pem")
    store = open_store(url)
    rec = Recorder(store, signer=signer, checkpoint_every=0, clock=lambda: T0)
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
    contact = rec.get_or_create_contact("xmpp", XMPP_ID)
    for platform, account, day in (
        ("xmpp", "p-test@decoy.example", 0),
        ("matrix", "@p:m.example", 2),
    ):
        if platform == "matrix":
            other = rec.get_or_create_contact("matrix", MATRIX_ID)
            contact = rec.link_identity(other, "xmpp", "platform_id", XMPP_ID).contact_id
        conv = rec.open_conversation(
            operation_id=op.id, persona_id="p-test", platform=platform, account=account,
            contact_id=contact, lang="en", started_at=T0 + timedelta(days=day),
        ).id  # fmt: skip
        for n in (1, 2):
            at = T0 + timedelta(days=day, minutes=n)
            rec.record_inbound(
                conversation_id=conv, author="suspect", text="hello there", wire=b"x",
                received_at=at, contact_line=n,
            )  # fmt: skip
            rec.record_outbound(conversation_id=conv, text="hi", origin="bank:t", sent_at=at)
        if platform == "xmpp":
            rec.end_conversation(conv, ended_at=T0 + timedelta(hours=1))
    rec.link_identity(contact, "disclosed", "handle", "sus_pect")
    rec.link_identity(contact, "irc", "platform_id", TRICK_ID)
    irc = rec.open_conversation(
        operation_id=op.id, persona_id="p-test", platform="irc", account="p-irc",
        contact_id=contact, lang="en", started_at=T0 + timedelta(days=3), room="#chat",
    ).id  # fmt: skip
    rec.record_inbound(
        conversation_id=irc, author=TRICK_ID, text="hey", wire=b"y",
        received_at=T0 + timedelta(days=3), contact_line=1,
    )  # fmt: skip
    case = rec.get_or_create_case(contact)
    rec.checkpoint()
    store.close()
    return url, case.id, signer


def _write(url: str, case_id: int, out: Path, signer: Signer, **kw: Any) -> PreservationResult:
    with open_store(url) as store:
        rec = Recorder(store, signer=signer, checkpoint_every=0)
        return write_preservation_requests(
            store, case_id, out, recorder=rec, actor="officer-7", **kw
        )


def _audit_rows(url: str) -> list[tuple[str, str, dict]]:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
        rows = db.execute(
            "SELECT actor, target, details FROM audit_log "
            "WHERE action = 'preservation_request_written' ORDER BY id"
        ).fetchall()
    return [(a, t, json.loads(d)) for a, t, d in rows]


def test_one_letter_per_platform_with_identifiers_and_one_year_horizon(tmp_path: Path) -> None:
    url, case_id, signer = _case(tmp_path)
    out = tmp_path / "letters"
    result = _write(url, case_id, out, signer, letter_date=LETTER_DATE)
    assert [x.platform for x in result.letters] == ["irc", "matrix", "xmpp"]
    assert result.preserve_until == date(2026, 3, 10) and result.evidential
    by_platform = {x.platform: x for x in result.letters}
    assert by_platform["xmpp"].identifiers == (("platform_id", XMPP_ID),)
    assert by_platform["matrix"].identifiers == (("platform_id", MATRIX_ID),)
    for letter in result.letters:
        text = (out / letter.file).read_text(encoding="utf-8")
        assert sha256_hex((out / letter.file).read_bytes()) == letter.sha256
        assert (out / letter.file).stat().st_mode & 0o077 == 0  # it names a suspect's accounts
        assert "preservation request, not a disclosure order" in text
        assert "**Preserve until:** 2026-03-10 (one year from the date of this letter)" in text
        assert "**Date of this letter:** 2025-03-10" in text
        assert f"**Reference:** {letter.reference}" in text
        assert "Example Child Protection Unit (NL)" in text and "AUTH-2025-001" in text
        assert "officer-7" in text and "Art. 126j Sv" in text
        assert "18 U.S.C. § 2703(f)" in text and "art. 16" in text and "art. 29" in text
        assert "renewals due by 2025-06-08, 2025-09-06, 2025-12-05" in text
        for s in ("Subscriber information", "IP address and login logs", "Content"):
            assert s in text
        assert "sus_pect" not in text  # volunteered: no provider known, index only
        assert "NOT FOR SENDING" not in text
    xmpp = (out / by_platform["xmpp"].file).read_text(encoding="utf-8")
    assert f"`{XMPP_ID}`" in xmpp and MATRIX_ID not in xmpp
    assert (
        "`p-test@decoy.example`" in xmpp
        and "(server named by the identifiers: `chat.example`)" in xmpp
    )
    assert "between 2025-03-01T12:00:00.000000Z and 2025-03-01T13:00:00.000000Z" in xmpp
    matrix = (out / by_platform["matrix"].file).read_text(encoding="utf-8")
    assert f"`{MATRIX_ID}`" in matrix and "`matrix.example`" in matrix
    index = json.loads((out / INDEX_NAME).read_text(encoding="utf-8"))
    assert index["preserve_until"] == "2026-03-10" and index["letter_date"] == "2025-03-10"
    assert [x["file"] for x in index["letters"]] == [x.file for x in result.letters]
    assert index["other_identifiers"] == [{"kind": "handle", "value": "sus_pect"}]
    assert index["letters"][2]["identifiers"] == [{"kind": "platform_id", "value": XMPP_ID}]


def test_each_letter_is_audited(tmp_path: Path) -> None:
    url, case_id, signer = _case(tmp_path)
    result = _write(url, case_id, tmp_path / "letters", signer, letter_date=LETTER_DATE)
    rows = _audit_rows(url)
    assert len(rows) == len(result.letters) == 3
    for (actor, target, details), letter in zip(rows, result.letters, strict=True):
        assert actor == "officer-7" and target == f"case:{case_id}"
        assert details["platform"] == letter.platform and details["sha256"] == letter.sha256
        assert details["case_id"] == case_id and details["file"] == letter.file
        assert details["preserve_until"] == "2026-03-10"
        assert details["identifiers"] == 1 and XMPP_ID not in json.dumps(details)
    # the audit rows are in the ledger too (with their audit entries)
    with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
        (n,) = db.execute(
            "SELECT count(*) FROM audit_log WHERE action = 'preservation_request_written' "
            "AND ledger_seq IS NOT NULL"
        ).fetchone()
    assert n == 3


def test_identifiers_cannot_inject_markdown(tmp_path: Path) -> None:
    url, case_id, signer = _case(tmp_path)
    out = tmp_path / "letters"
    result = _write(url, case_id, out, signer, letter_date=LETTER_DATE)
    irc = next(x for x in result.letters if x.platform == "irc")
    text = (out / irc.file).read_text(encoding="utf-8")
    assert "\u202e" not in text and "\n# Disclosure order" not in text
    assert md_code(TRICK_ID) in text
    assert "<U+202E><U+000A># Disclosure order<U+000A>- [x](http://bad)`" in text
    assert "(room `#chat`)" in text
    assert md_literal("a_b|c") == "a\\_b\\|c"
    assert md_code("x`y") == "``x`y``"


def test_refusals(tmp_path: Path) -> None:
    url, case_id, signer = _case(tmp_path)
    out = tmp_path / "letters"
    _write(url, case_id, out, signer, letter_date=LETTER_DATE)
    with pytest.raises(InputError, match="already exists"):
        _write(url, case_id, out, signer, letter_date=LETTER_DATE)
    with pytest.raises(InputError, match="before the conversations' last recorded activity"):
        _write(url, case_id, tmp_path / "early", signer, letter_date=date(2025, 3, 1))
    assert not (tmp_path / "early").exists()
    with open_store(url) as store:
        rec = Recorder(store, signer=signer, checkpoint_every=0)
        lonely = rec.get_or_create_case(rec.get_or_create_contact("xmpp", "nobody@x.example"))
    with pytest.raises(InputError, match="has no conversations"):
        _write(url, lonely.id, tmp_path / "none", signer)
    assert len(_audit_rows(url)) == 3  # only the first run's letters


def test_non_evidential_letters_say_not_for_sending(tmp_path: Path) -> None:
    url, case_id, signer = _case(tmp_path, evidential=False)
    out = tmp_path / "letters"
    result = _write(url, case_id, out, signer, letter_date=LETTER_DATE)
    assert not result.evidential
    for letter in result.letters:
        assert (
            (out / letter.file).read_text(encoding="utf-8").startswith(f"> **{NOT_FOR_SENDING}**")
        )


def test_preserve_until_is_one_year_later() -> None:
    assert preserve_until(date(2025, 3, 10)) == date(2026, 3, 10)
    assert preserve_until(date(2024, 2, 29)) == date(2025, 2, 28)
    assert preserve_until(date(2024, 12, 31)) == date(2025, 12, 31)


def test_cli(tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    folder = tmp_path / "tutela-demo-cli"  # its signing-key.pem is the database's own key
    folder.mkdir()
    url, case_id, _ = _case(folder)
    out = tmp_path / "cli-letters"
    code, stdout, err = run_cli(
        "preservation", str(case_id), "--out", str(out), "--db", url, "--date", "2025-03-10"
    )
    assert code == 0, err
    assert stdout.count("wrote ") == 3 and "preserve until 2026-03-10 (one year)" in stdout
    assert "TUT-PR-" in stdout and (out / "preservation-xmpp.md").is_file()
    assert len(_audit_rows(url)) == 3
    with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
        (head,) = db.execute("SELECT max(seq) FROM ledger_entries").fetchone()
        (signed,) = db.execute("SELECT max(seq) FROM checkpoints").fetchone()
    assert signed == head  # the audit entries are signed by the ledger's key
    code, stdout, err = run_cli(
        "preservation", str(case_id), "--out", str(tmp_path / "j"), "--db", url, "--json",
        "--date", "2025-03-11",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(stdout)["preserve_until"] == "2026-03-11"
    code, _, err = run_cli("preservation", str(case_id), "--out", str(out), "--db", url)
    assert code == 2 and "already exists" in err
    code, _, err = run_cli("preservation", "999", "--out", str(tmp_path / "x"), "--db", url)
    assert code == 2 and "case 999 does not exist" in err
    code, _, err = run_cli(
        "preservation", str(case_id), "--out", str(tmp_path / "x"), "--db", url, "--date", "soon"
    )
    assert code == 2 and "--date" in err
