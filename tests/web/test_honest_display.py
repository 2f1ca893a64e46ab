"""Honest display on the dashboard (issue 12, items 3 and 4): a line shows and is masked for its
own indicators only; contact text is masked by default with audited reveals per line and per
conversation; media metadata is blurred until revealed; htmx error answers are swapped with
their reason. Lines are short synthetic texts written for this test."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from web_support import EXPLICIT, csrf_of

from tutela.domain import Attachment

AGE = "en.age_probe.synthetic_test"
EXPLICIT_TEXT = "placeholder line standing for explicit content"
INNOCENT = ("ok bye", "my snapchat is placeholder", "hello??")


def _add_line(web, conv_id: int, n: int, text: str, so_far, own, media=()) -> int:
    """Record contact line ``n`` and its decision (``so_far``: the conversation's indicators, as
    the policy lists them; ``own``: the line's own, as the live engine records them, or ``None``
    like a decision from before migration 0008). Returns the message id."""
    rec = web.services.recorder
    msg = rec.record_inbound(
        conversation_id=conv_id,
        author="contact-1",
        text=text,
        wire=b"x",
        received_at=datetime.now(UTC),
        contact_line=n,
        attachments=media,
    )
    rec.record_decision(
        conversation_id=conv_id,
        message_id=msg.id,
        after_line=n,
        action="escalate",
        risk=0.9,
        indicators=so_far,
        rule="test",
        reason="test",
        variant=None,
        line_indicators=own,
    )
    return msg.id


def _conversation(
    web, *, attachments: bool = False, legacy: bool = False
) -> tuple[int, dict[str, int]]:
    """A new open conversation of the demo case's contact: an explicit first line, then
    innocent ones; decisions list the conversation's indicators so far (as the policy records
    them) and each line's own (as the live engine records them; not with ``legacy``). Returns
    the conversation id and message ids by text."""
    rec = web.services.recorder
    contact_id = rec.get_case(web.case_id).contact_id
    conv = rec.open_conversation(
        operation_id=rec.ensure_demo_operation().id,
        persona_id="gb-ellie",
        platform="local",
        account="gb-ellie",
        contact_id=contact_id,
        lang="en",
        started_at=datetime.now(UTC),
    )
    ids: dict[str, int] = {}
    so_far = [EXPLICIT]
    for n, text in enumerate((EXPLICIT_TEXT, "how old r u", *INNOCENT), start=1):
        if n == 2:
            so_far = [EXPLICIT, AGE]
        own = None if legacy else {1: [EXPLICIT], 2: [AGE]}.get(n, [])
        media = (
            (Attachment("image", "https://example.invalid/a.jpg", "image/jpeg", 2048, "sha256:ab"),)
            if attachments and n == 3
            else ()
        )
        ids[text] = _add_line(web, conv.id, n, text, so_far, own, media)
    return conv.id, ids


def _line(page: str, prefix: str, mid: int) -> str:
    """The HTML of one transcript line (``prefix``: ``msg`` on the case page, ``live-msg``)."""
    m = re.search(
        rf'<div class="line[^"]*" id="{prefix}-{mid}">(.*?)</div>\s*(?=<div|</div>)', page, re.S
    )
    assert m is not None, f"{prefix}-{mid} not on the page"
    return m.group(1)


def _case_events(web, action: str = "reveal"):
    return [e for e in web.services.workflow.case_events(web.case_id) if e.action == action]


def test_case_page_masks_contact_text_by_default_and_only_own_explicit_lines(web):
    _, ids = _conversation(web)
    page = web.login("ana").get(f"/cases/{web.case_id}").text
    assert EXPLICIT_TEXT not in page and "[masked: sexual content]" in _line(
        page, "msg", ids[EXPLICIT_TEXT]
    )
    for text in INNOCENT:
        line = _line(page, "msg", ids[text])
        assert text not in line and "[masked: contact text]" in line
        assert "sexual content" not in line and "cat-" not in line  # no inherited chips
    assert "age probe" in _line(page, "msg", ids["how old r u"])
    assert "sexual content" not in _line(page, "msg", ids["how old r u"])


def test_with_contact_masking_off_innocent_lines_show_and_explicit_stays_masked(make_web):
    web = make_web(mask_contact_text=False)
    _, ids = _conversation(web)
    page = web.login("ana").get(f"/cases/{web.case_id}").text
    assert EXPLICIT_TEXT not in page
    for text in INNOCENT:
        line = _line(page, "msg", ids[text])
        assert text in line and "masked" not in line and "Reveal" not in line


def test_reveal_per_line_and_per_conversation_are_audited(web):
    conv_id, ids = _conversation(web)
    c = web.login("ana")
    token = csrf_of(c, "/queue")
    hx = {"HX-Request": "true", "X-CSRF-Token": token}
    page = c.get(f"/cases/{web.case_id}").text
    assert f"/cases/{web.case_id}/conversations/{conv_id}/reveal" in page
    r = c.post(f"/cases/{web.case_id}/messages/{ids['ok bye']}/reveal", headers=hx)
    assert r.status_code == 200 and "ok bye" in r.text and "masked" not in r.text
    assert [e.details["message_id"] for e in _case_events(web)] == [ids["ok bye"]]
    r = c.post(f"/cases/{web.case_id}/conversations/{conv_id}/reveal", headers=hx)
    assert r.status_code == 200
    assert all(t in r.text for t in (EXPLICIT_TEXT, *INNOCENT)) and "[masked" not in r.text
    last = _case_events(web)[-1]
    assert last.details["conversation"] == conv_id and "message_id" not in last.details
    assert last.details["shown_on"] == "case" and last.actor == "ana"
    # a conversation of no case of this contact is refused, and nothing is recorded for it
    r = c.post(f"/cases/{web.case_id}/conversations/999999/reveal", headers=hx)
    assert r.status_code == 404 and '<p class="error">' in r.text
    assert len(_case_events(web)) == 2


def test_media_metadata_is_blurred_until_revealed(web):
    _, ids = _conversation(web, attachments=True)
    c = web.login("ana")
    line = _line(c.get(f"/cases/{web.case_id}").text, "msg", ids["ok bye"])
    assert "media-blurred" in line and "example.invalid/a.jpg" in line and "image/jpeg" in line
    assert "<img" not in line and "href=" not in line  # metadata as text, never fetched
    r = c.post(
        f"/cases/{web.case_id}/messages/{ids['ok bye']}/reveal",
        headers={"HX-Request": "true", "X-CSRF-Token": csrf_of(c, "/queue")},
    )
    assert "media-blurred" not in r.text and "example.invalid/a.jpg" in r.text
    css = c.get("/static/display.css").text
    assert re.search(r"\.media-blurred\s*\{[^}]*blur\([^}]*grayscale\(", css)


def test_live_feed_shows_own_indicators_masks_and_remembers_audited_reveals(web):
    conv_id, ids = _conversation(web)
    c = web.login("ana")
    feed = c.get("/live/feed").text
    assert EXPLICIT_TEXT not in feed
    for text in INNOCENT:
        line = _line(feed, "live-msg", ids[text])
        assert "[masked: contact text]" in line and "sexual content" not in line
    assert "sexual content" in _line(feed, "live-msg", ids[EXPLICIT_TEXT])
    hx = {"HX-Request": "true", "X-CSRF-Token": csrf_of(c, "/queue")}
    r = c.post(f"/live/{conv_id}/messages/{ids['hello??']}/reveal", headers=hx)
    assert r.status_code == 200 and "hello??" in r.text
    assert "hello??" in c.get("/live/feed").text  # the next poll keeps it revealed
    assert "ok bye" not in c.get("/live/feed").text
    r = c.post(f"/live/{conv_id}/reveal", headers=hx)
    assert r.status_code == 200 and all(t in r.text for t in (EXPLICIT_TEXT, *INNOCENT))
    shown = [(e.details.get("message_id"), e.details["shown_on"]) for e in _case_events(web)]
    assert shown == [(ids["hello??"], "live"), (None, "live")]


def test_live_feed_without_contact_masking_masks_only_own_explicit_lines(make_web):
    web = make_web(mask_contact_text=False)
    _conversation(web)
    feed = web.login("ana").get("/live/feed").text
    assert EXPLICIT_TEXT not in feed and "[masked: sexual content]" in feed
    assert all(t in feed for t in INNOCENT)


def test_refused_takeover_reason_is_swapped_into_the_page(web):
    conv_id, _ = _conversation(web)
    c = web.login("ana")
    page = c.get("/live").text
    meta = re.search(r'<meta name="htmx-config" content=\'([^\']+)\'>', page)
    assert meta is not None
    config = json.loads(meta.group(1))
    rules = {r["code"]: r for r in config["responseHandling"]}
    assert rules["[45].."]["swap"] is True and rules["[45].."]["error"] is True
    assert config["allowEval"] is False  # the CSP (script-src 'self') needs no eval
    assert f'hx-target="#takeover-{conv_id}"' in page
    r = c.post(
        f"/live/{conv_id}/takeover",
        data={"text": "lets meet at the park tomorrow"},
        headers={"HX-Request": "true", "X-CSRF-Token": csrf_of(c, "/queue")},
    )
    assert r.status_code == 422
    assert "Not sent." in r.text and "meeting" in r.text and 'role="alert"' in r.text
    assert "unsafe-eval" not in r.headers["content-security-policy"]
    assert "<html" not in r.text  # a fragment for the swap, not a page


def test_a_repeated_explicit_indicator_masks_and_tags_every_line_raising_it(make_web):
    web = make_web(mask_contact_text=False)
    conv_id, ids = _conversation(web)
    again = "another placeholder standing for explicit content"
    ids[again] = _add_line(web, conv_id, 6, again, [EXPLICIT, AGE], [EXPLICIT])
    c = web.login("ana")
    for page, prefix in (
        (c.get(f"/cases/{web.case_id}").text, "msg"),
        (c.get("/live/feed").text, "live-msg"),
    ):
        for text in (EXPLICIT_TEXT, again):
            line = _line(page, prefix, ids[text])
            assert text not in line and "[masked: sexual content]" in line
            assert "cat-sexual_content" in line  # the chip on both lines
        assert "ok bye" in _line(page, prefix, ids["ok bye"])  # innocent lines still show


def test_older_decisions_mask_every_line_from_the_first_explicit_one(make_web):
    """Decisions without recorded own indicators (before migration 0008): a later line may
    repeat an explicit indicator unseen, so every line from the first explicit one is masked."""
    web = make_web(mask_contact_text=False)
    _, ids = _conversation(web, legacy=True)
    c = web.login("ana")
    for page, prefix in (
        (c.get(f"/cases/{web.case_id}").text, "msg"),
        (c.get("/live/feed").text, "live-msg"),
    ):
        for text in (EXPLICIT_TEXT, *INNOCENT):
            line = _line(page, prefix, ids[text])
            assert text not in line and "[masked: sexual content]" in line
        assert "cat-" not in _line(page, prefix, ids["ok bye"])  # no inherited chip


def test_live_conversation_reveal_does_not_reveal_a_later_line(web):
    conv_id, ids = _conversation(web)
    c = web.login("ana")
    hx = {"HX-Request": "true", "X-CSRF-Token": csrf_of(c, "/queue")}
    r = c.post(f"/live/{conv_id}/reveal", headers=hx)
    assert r.status_code == 200 and "ok bye" in r.text
    assert _case_events(web)[-1].details["up_to_message_id"] == ids["hello??"]
    later = _add_line(web, conv_id, 6, "a later placeholder line", [EXPLICIT, AGE], [])
    explicit = _add_line(
        web, conv_id, 7, "a later explicit placeholder", [EXPLICIT, AGE], [EXPLICIT]
    )
    feed = c.get("/live/feed").text
    assert "ok bye" in feed and "hello??" in feed  # revealed lines stay revealed
    assert "a later placeholder line" not in feed and "[masked: contact text]" in _line(
        feed, "live-msg", later
    )
    assert "a later explicit placeholder" not in feed
    assert "[masked: sexual content]" in _line(feed, "live-msg", explicit)
    assert "reveal-conversation" in feed  # the conversation can be revealed again
    assert len(_case_events(web)) == 1  # a poll records nothing
    r = c.post(f"/live/{conv_id}/reveal", headers=hx)
    assert "a later explicit placeholder" in r.text and len(_case_events(web)) == 2
    assert _case_events(web)[-1].details["up_to_message_id"] == explicit
    assert "reveal-conversation" not in c.get("/live/feed").text
