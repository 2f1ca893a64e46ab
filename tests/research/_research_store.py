"""Builder of a small synthetic store with known statistics, built with the Recorder.

Two contacts on two platforms, three conversations over two UTC days:

* contact A (xmpp): conversation 1 on day 1 (persona ``ellie``): line 2 probes age, line 3 asks
  for a webcam image and gets a ``v_legal`` warning; conversation 2 on day 2 (persona ``mia``):
  A returns, one harmless line.
* contact B (irc): conversation 3 on day 2 (persona ``ellie``): line 2 proposes a meeting and
  gets a ``v_help`` warning; B never returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from tutela.domain import Attachment
from tutela.store import Recorder, Store, open_store

DAY1 = datetime(2025, 5, 6, 10, 0, tzinfo=UTC)
DAY2 = datetime(2025, 5, 7, 15, 30, tzinfo=UTC)
KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))

# Everything below must never appear in a default export (texts, handles, accounts, urls...).
HANDLE_A = "quokka.handle@example.org"
HANDLE_B = "nightjar_nick77"
ACCOUNT_XMPP = "decoy-account-ellie@example.net"
ACCOUNT_IRC = "DecoyNickEllie"
ATTACHMENT_URL = "https://media.example.com/upload/pangolin-file.jpg"
REASON = "reason sentence mentioning marmoset"


@dataclass
class FakeClock:
    now: datetime = DAY1

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Synthetic:
    store: Store
    url: str
    texts: list[str] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)


def _conversation(
    rec: Recorder,
    clock: FakeClock,
    syn: Synthetic,
    *,
    op: int,
    contact: int,
    persona: str,
    platform: str,
    account: str,
    author: str,
    start: datetime,
    lines: list[tuple[str, str, list[str], str | None]],
) -> int:
    """lines: (text, action, indicators, variant); line k is received k minutes after start."""
    clock.now = start
    conv = rec.open_conversation(
        operation_id=op,
        persona_id=persona,
        platform=platform,
        account=account,
        contact_id=contact,
        lang="en",
        started_at=start,
    ).id
    for k, (text, action, indicators, variant) in enumerate(lines, start=1):
        at = start + timedelta(minutes=k)
        clock.now = at
        atts = [Attachment(kind="image", url=ATTACHMENT_URL, mime="image/jpeg")] if k == 1 else []
        msg = rec.record_inbound(
            conversation_id=conv,
            author=author,
            text=text,
            wire=text.encode(),
            received_at=at,
            platform_msg_id=f"pmid-{author}-{k}",
            attachments=atts,
            contact_line=k,
        )
        syn.texts.append(text)
        rec.record_decision(
            conversation_id=conv,
            message_id=msg.id,
            after_line=k,
            action=action,
            risk=0.123456 * k,
            indicators=indicators,
            rule="ladder.first_solicitation" if variant else "none",
            reason=REASON,
            variant=variant,
        )
        reply = f"persona reply {persona} wombat{len(syn.texts)}"
        rec.record_outbound(
            conversation_id=conv,
            text=reply,
            origin="bank:en.test.0",
            sent_at=at + timedelta(seconds=20),
        )
        syn.texts.append(reply)
    return conv


def build_synthetic(url: str) -> Synthetic:
    store = open_store(url)
    clock = FakeClock()
    rec = Recorder(store, signer=None, clock=clock)
    syn = Synthetic(store=store, url=url)
    syn.secrets = [HANDLE_A, HANDLE_B, ACCOUNT_XMPP, ACCOUNT_IRC, ATTACHMENT_URL, REASON]
    syn.secrets += ["pmid-", "pangolin", "marmoset", "quokka", "nightjar", "wombat"]
    op = rec.create_operation(  # evidential: the deterrence outcome leaves demo data out
        organisation="Test", jurisdiction="none", legal_basis="test", authorisation_ref="test",
        officer="test", starts_at=DAY1, evidential=True,
    ).id  # fmt: skip
    a = rec.get_or_create_contact("xmpp", HANDLE_A, seen_at=DAY1)
    b = rec.get_or_create_contact("irc", HANDLE_B, seen_at=DAY2)
    how_old = "en.age_probe.how_old"
    cam = "en.media_request.cam"
    _conversation(
        rec, clock, syn, op=op, contact=a, persona="ellie", platform="xmpp",
        account=ACCOUNT_XMPP, author=HANDLE_A, start=DAY1,
        lines=[
            ("hello quokka line one", "continue", [], None),
            ("quokka asks an age question", "continue", [how_old], None),
            ("quokka asks for a camera image", "deter", [how_old, cam], "v_legal"),
        ],
    )  # fmt: skip
    _conversation(
        rec, clock, syn, op=op, contact=a, persona="mia", platform="xmpp",
        account=ACCOUNT_XMPP, author=HANDLE_A, start=DAY2,
        lines=[("quokka is back again", "continue", [], None)],
    )  # fmt: skip
    _conversation(
        rec, clock, syn, op=op, contact=b, persona="ellie", platform="irc",
        account=ACCOUNT_IRC, author=HANDLE_B, start=DAY2 + timedelta(minutes=30),
        lines=[
            ("nightjar greeting line", "continue", [], None),
            ("nightjar proposes a meeting", "deter", ["en.meeting.meet_up"], "v_help"),
        ],
    )  # fmt: skip
    return syn
