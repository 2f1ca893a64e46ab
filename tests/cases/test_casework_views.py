"""The case timeline, the risk-over-time chart and the contact identity graph, built directly
from the workflow's views (pure functions). Lines are short synthetic texts."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace

import pytest
from cases_support import Env, record_conversation

from tutela.cases.casework import CaseWork
from tutela.cases.hold import case_holds, release_legal_hold, set_legal_hold
from tutela.store.queries.casework import merged_contacts
from tutela.store.queries.dashboard import contact_conversations
from tutela.web.contactgraph import contact_graph, graph_svg
from tutela.web.riskchart import risk_chart_data_uri, risk_chart_svg, risk_series
from tutela.web.timeline import case_timeline, returns

FIRST = [
    ("hi there", "continue", 0.1, []),
    ("how old are you", "continue", 0.3, ["en.age_probe.how_old"]),
    ("send me a pic", "deter", 0.8, ["en.image_request.pic"]),
]
AGAIN = [
    ("hey its me again", "continue", 0.4, []),
    ("placeholder explicit line", "escalate", 0.9, ["en.sexual_content.synthetic_test"]),
]
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def story(env: Env) -> dict:
    """A contact warned in one conversation who comes back in a second one; then a referral,
    its approval, a reopen, a hold set and released, a note and an assignment."""
    wf, work = env.workflow, CaseWork(env.recorder, clock=env.clock)
    case_id = record_conversation(env, "ret", FIRST)
    env.clock.advance(minutes=10)
    record_conversation(env, "ret", AGAIN, persona="p-en-14")
    env.clock.advance(minutes=1)
    work.add_note(case_id, env.analyst, "came back on irc")
    env.clock.advance(minutes=1)
    work.assign(case_id, env.analyst, "sue")
    env.clock.advance(minutes=1)
    ref = wf.propose_referral(case_id, env.analyst, "returned after a warning")
    env.clock.advance(minutes=1)
    wf.approve_referral(ref.id, env.supervisor, "agreed")
    env.clock.advance(minutes=1)
    set_legal_hold(env.recorder, case_id, "order 7", user=env.analyst)
    env.clock.advance(minutes=1)
    release_legal_hold(env.recorder, case_id, "order lifted", user=env.supervisor)
    env.clock.advance(minutes=1)
    wf.reopen(case_id, env.analyst, "new lead")
    detail = wf.case_detail(case_id)
    return {
        "case_id": case_id,
        "detail": detail,
        "notes": work.notes(case_id),
        "assignments": work.assignments(case_id),
        "holds": case_holds(env.store, case_id),
    }


def test_timeline_holds_every_kind_in_recorded_time_order(story: dict) -> None:
    d = story["detail"]
    items = case_timeline(
        d, notes=story["notes"], assignments=story["assignments"], holds=story["holds"]
    )
    times = [i.at for i in items]
    assert times == sorted(times)
    kinds = [i.kind for i in items if i.kind != "message"]
    assert kinds == [
        "warning",
        "return",
        "decision",
        "note",
        "assignment",
        "referral_proposed",
        "referral_approved",
        "hold_set",
        "hold_released",
        "event",
    ]
    n_messages = sum(len(c.messages) for c in d.conversations)
    assert sum(i.kind == "message" for i in items) == n_messages  # in and out
    warning = next(i for i in items if i.kind == "warning")
    assert (warning.action, warning.detail, warning.risk) == ("deter", "v1", 0.8)
    decision = next(i for i in items if i.kind == "decision")
    assert decision.action == "escalate" and decision.conversation_id == d.conversations[1].id
    ret = next(i for i in items if i.kind == "return")
    second = d.conversations[1]
    assert ret.conversation_id == second.id and ret.message == second.messages[0]
    # the return comes right before the line it is, and each line before its decision
    pos = items.index(ret)
    assert items[pos + 1].kind == "message" and items[pos + 1].message == second.messages[0]
    event = items[-1]
    assert (event.action, event.actor, event.detail) == ("reopen", "ana", "new lead")
    approved = next(i for i in items if i.kind == "referral_approved")
    assert (approved.actor, approved.detail) == ("sue", "agreed")
    note = next(i for i in items if i.kind == "note")
    assert (note.actor, note.detail) == ("ana", "came back on irc")
    assignment = next(i for i in items if i.kind == "assignment")
    assert (assignment.actor, assignment.detail) == ("ana", "sue")
    released = next(i for i in items if i.kind == "hold_released")
    assert (released.actor, released.detail) == ("sue", "order lifted")


def test_timeline_carries_no_text_of_its_own_for_explicit_lines(story: dict) -> None:
    """A message item holds the transcript's MessageView (the page masks it by its flag)."""
    items = case_timeline(story["detail"])
    explicit = [i for i in items if i.kind == "message" and i.message.explicit]
    assert [i.message.text for i in explicit] == ["placeholder explicit line"]
    assert all(i.detail is None for i in explicit)


def test_no_return_without_a_warning_in_another_conversation(env: Env) -> None:
    case_id = record_conversation(env, "one", FIRST)  # warned, never came back
    record_conversation(env, "two", FIRST[:1])
    assert returns(env.workflow.case_detail(case_id)) == []
    quiet = record_conversation(env, "quiet", FIRST[:2])
    record_conversation(env, "quiet", FIRST[:1])  # came back, but was never warned
    assert returns(env.workflow.case_detail(quiet)) == []
    assert [i.kind for i in case_timeline(env.workflow.case_detail(quiet))] == ["message"] * 6


def test_empty_timeline(env: Env) -> None:
    rec = env.recorder
    contact = rec.get_or_create_contact("local", "silent", seen_at=env.clock())
    case_id = rec.get_or_create_case(contact).id
    assert case_timeline(env.workflow.case_detail(case_id)) == []


def _svg_texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def test_risk_chart_without_decisions_says_so(env: Env) -> None:
    texts = _svg_texts(risk_chart_svg([]))
    assert "no decisions yet" in texts
    assert risk_chart_data_uri([]).startswith("data:image/svg+xml;base64,")


def test_risk_chart_with_one_decision_has_a_marker_on_sane_axes(story: dict) -> None:
    conv = story["detail"].conversations[0]
    one = replace(conv, decisions=conv.decisions[2:3])  # the warning alone
    (series,) = risk_series([one])
    assert series.points == ((3, 0.8, "warning"),)
    texts = _svg_texts(risk_chart_svg([one]))
    assert "no decisions yet" not in texts
    assert "warning sent" in texts and "3" in texts  # legend entry and the one x tick
    assert {"0.0", "1.0"} <= set(texts)  # the risk axis spans [0, 1]


def test_risk_chart_draws_one_line_per_conversation_with_markers(story: dict) -> None:
    convs = story["detail"].conversations
    series = risk_series(convs)
    assert [s.conversation_id for s in series] == [c.id for c in convs]
    assert [p[2] for p in series[1].points] == [None, "escalate"]
    texts = _svg_texts(risk_chart_svg(convs, gettext=lambda s: "T:" + s))  # every label
    assert {"T:escalation", "T:warning sent", "T:contact line", "T:risk"} <= set(texts)
    legend = [t for t in texts if t.startswith("T:conversation")]
    assert len(legend) == 2


def test_contact_graph_links_identities_personas_and_merges_with_evidence(env: Env) -> None:
    rec = env.recorder
    case_id = record_conversation(env, "alpha", FIRST)
    other_case = record_conversation(env, "beta", FIRST[:1], persona="p-en-14", platform="irc")
    detail = env.workflow.case_detail(case_id)
    conv = detail.conversations[0]
    line2 = conv.messages[2]  # "how old are you" (contact line 2)
    survivor = detail.case.contact_id
    rec.link_identity(survivor, "local", "email", "a<b>@example.org", line2.id)
    beta = env.workflow.case_detail(other_case)
    beta_line = beta.conversations[0].messages[0]
    merged = rec.link_identity(
        beta.case.contact_id, "local", "email", "a<b>@example.org", beta_line.id
    )
    assert merged.merged_from == beta.case.contact_id and merged.contact_id == survivor
    detail = env.workflow.case_detail(case_id)
    cid, convs = contact_conversations(env.store, survivor)
    merges = merged_contacts(env.store, cid)
    assert [m.absorbed for m in merges] == [beta.case.contact_id]
    g = contact_graph(cid, case_id=case_id, detail=detail, conversations=convs, merges=merges)
    assert g.platforms == ("irc", "local")
    assert [(p.persona_id, p.platform, len(p.conversation_ids)) for p in g.personas] == [
        ("p-en-13", "local", 1),
        ("p-en-14", "irc", 1),
    ]
    email = next(link for link in g.identities if link.identity.kind == "email")
    assert email.evidence.message_id == line2.id and email.evidence.contact_line == 2
    assert email.evidence.href == f"/cases/{case_id}#msg-{line2.id}"
    assert email.evidence.message.text == "how old are you"
    platform_ids = [link for link in g.identities if link.identity.kind == "platform_id"]
    assert platform_ids and all(link.evidence is None for link in platform_ids)
    (m,) = g.merges
    assert m.identity is not None and m.identity.value == "a<b>@example.org"
    assert [e.message_id for e in m.evidence] == [beta_line.id, line2.id]
    svg = graph_svg(g)
    root = ET.fromstring(svg)  # well-formed: every text escaped
    assert "a<b>@example.org" not in svg and "a&lt;b&gt;@example.org" in svg
    hrefs = [a.get("href") for a in root.iter(f"{SVG}a")]
    assert f"/cases/{case_id}#msg-{line2.id}" in hrefs
    texts = _svg_texts(svg)
    assert f"merged contact {beta.case.contact_id}" in texts
    assert "how old are you" not in svg  # the SVG names lines, never their texts
    assert "style=" not in svg and "<script" not in svg


def test_contact_graph_without_a_case_file(env: Env) -> None:
    contact = env.recorder.get_or_create_contact("local", "nocase", seen_at=env.clock())
    g = contact_graph(contact, case_id=None, detail=None, conversations=[])
    assert (g.identities, g.personas, g.merges) == ((), (), ())
    assert ET.fromstring(graph_svg(g)) is not None


def test_timeline_returns_match_the_summary_in_ledger_order(env: Env) -> None:
    """An older chat recorded afterwards (earlier message times) is a return in both counts:
    the queue's SQL and the timeline use ledger order, not message times."""
    from datetime import timedelta

    case_id = record_conversation(env, "late", FIRST)  # warned
    env.clock.now = env.clock.now - timedelta(days=3)
    record_conversation(env, "late", AGAIN[:1], persona="p-old")
    detail = env.workflow.case_detail(case_id)
    summary = env.workflow.case_summary(case_id)
    assert summary.returns == len(returns(detail)) == 1
    assert [i.kind for i in case_timeline(detail)].count("return") == 1


def test_dollar_signs_in_names_are_drawn_as_text_not_mathtext(env: Env) -> None:
    from tutela.web import charts

    for platform in ("a$b$c", "$\\frac{$"):
        case_id = record_conversation(env, "x" + platform, FIRST, platform=platform)
        svg = risk_chart_svg(env.workflow.case_detail(case_id).conversations)
        assert any(platform in t for t in _svg_texts(svg))
    stats = {"indicator_frequencies": {"en.$x$": 2, "$\\frac{$": 1}}
    assert "en.$x$" in charts.indicator_frequencies(stats)
