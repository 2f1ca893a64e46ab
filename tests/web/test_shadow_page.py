"""The shadow-policy page (``/shadow``): per candidate policy the decisions compared, agreement,
extra/fewer warnings, extra referrals and escalations and the disagreements; case workers only."""

from __future__ import annotations

import re

from tutela.store.queries.shadow import record_shadow


def _shadow_rows(web) -> str:
    """Record, for the demo case's first conversation, a shadow decision after each of its first
    three inbound lines: one agreeing, one extra warning, one extra referral. Returns the sha."""
    rec = web.services.recorder
    detail = web.services.workflow.case_detail(web.case_id)
    conv = detail.conversations[0]
    inbound = [m for m in conv.messages if m.direction == "in"][:3]
    sha = "ab" * 32
    for m, (action, variant, active, active_variant) in zip(
        inbound,
        [
            ("continue", None, "continue", None),
            ("deter", "combined", "continue", None),
            ("refer", None, "continue", None),
        ],
        strict=True,
    ):
        record_shadow(
            rec,
            message_id=m.id,
            conversation_id=conv.id,
            policy_sha256=sha,
            policy_name="candidate.yaml",
            action=action,
            variant=variant,
            rule="ladder.test_rule",
            active_action=active,
            active_variant=active_variant,
        )
    return sha


def _cell(page: str, label: str) -> str:
    m = re.search(rf"<th>{label}</th><td>([^<]*)</td>", page)
    assert m is not None, label
    return m.group(1)


def test_shadow_page_shows_the_comparison(web):
    sha = _shadow_rows(web)
    ana = web.login("ana")
    page = ana.get("/shadow").text
    assert "candidate.yaml" in page and sha[:16] in page
    assert _cell(page, "decisions compared") == "3"
    assert _cell(page, "agreement") == "33% (1)"
    assert _cell(page, "extra warnings") == "1"
    assert _cell(page, "fewer warnings") == "0"
    assert _cell(page, "extra referral proposals") == "1"
    assert _cell(page, "extra escalations") == "0"
    rows = re.findall(r"<tr><td>(\d+)</td><td>(\d*)</td><td>([^<]*)</td><td>([^<]*)</td>", page)
    assert [(r[1], r[2], r[3]) for r in rows] == [
        ("3", "continue", "refer"),
        ("2", "continue", "deter (combined)"),
    ]
    assert page.count("ladder.test_rule") == 2
    assert 'href="/shadow"' in page  # in the navigation

    one = ana.get(f"/shadow?policy={sha}").text
    assert "candidate.yaml" in one
    assert "No shadow policy" in ana.get(f"/shadow?policy={'cd' * 32}").text
    assert ana.get("/shadow?policy=not-a-sha").status_code == 422


def test_shadow_page_roles_and_empty_state(web):
    assert "No shadow policy has been evaluated yet." in web.login("sue").get("/shadow").text
    assert web.login("root").get("/shadow").status_code == 403


def test_shadow_page_honours_operation_grants(web):
    """An analyst granted only another operation sees none of this operation's shadow rows."""
    from datetime import UTC, datetime

    from tutela.accounts import grant_operation

    _shadow_rows(web)
    other = web.services.recorder.find_or_create_operation(
        organisation="Test NGO",
        jurisdiction="GB",
        legal_basis="test basis",
        authorisation_ref="TEST-OP-SHADOW",
        officer="officer x",
        starts_at=datetime(2025, 1, 1, tzinfo=UTC),
    ).id
    grant_operation(web.services.recorder, web.services.users.get("ana").id, other, actor="root")
    page = web.login("ana").get("/shadow").text
    assert "No shadow policy has been evaluated yet." in page and "candidate.yaml" not in page
    assert "candidate.yaml" in web.login("sue").get("/shadow").text  # unrestricted
