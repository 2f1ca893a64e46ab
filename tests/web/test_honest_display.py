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


def _conversation(web, *, attachments: bool = False) -> tuple[int, dict[str, int]]:
    """A new open conversation of the demo case's contact: an explicit first line, then
    innocent ones; decisions list the conversation's indicators so far (as the policy records
    them). Returns the conversation id and message ids by text."""
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
        media = (
            (Attachment("image", "https://example.invalid/a.jpg", "image/jpeg", 2048, "sha256:ab"),)
            if attachments and n == 3
            else ()
        )
        msg = rec.record_inbound(
            conversation_id=conv.id,
            author="contact-1",
            text=text,
            wire=b"x",
            received_at=datetime.now(UTC),
            contact_line=n,
            attachments=media,
        )
        rec.record_decision(
            conversation_id=conv.id,
            message_id=msg.id,
            after_line=n,
            action="escalate",
            risk=0.9,
            indicators=so_far,
            rule="test",
            reason="test",
            variant=None,
        )
        ids[text] = msg.id
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
