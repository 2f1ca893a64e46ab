"""Each line shows the indicators it raised itself; a line is masked only for its own explicit
content (issue 12, item 3). Decisions list the conversation's indicators so far, as the policy
ladder records them; lines are short synthetic texts written for this test."""

from __future__ import annotations

from cases_support import Env, record_conversation

from tutela.cases.views import line_indicators

SEX = "en.sexual_content.explicit"
AGE = "en.age_probe.how_old"
SECRET = "en.secrecy.our_secret"
# (text, action, risk, indicators of the decision after the line: cumulative, as recorded live)
EARLY_EXPLICIT = [
    ("a clinical sexual remark", "escalate", 0.95, [SEX]),
    ("how old are you", "escalate", 0.95, [SEX, AGE]),
    ("ok bye", "continue", 0.95, [SEX, AGE]),
    ("my snapchat is placeholder", "continue", 0.95, [SEX, AGE]),
    ("keep this our secret", "deter", 0.97, [SEX, SECRET, AGE]),
    ("hello??", "continue", 0.97, [SEX, SECRET, AGE]),
]


def test_line_indicators_keeps_only_what_a_line_raised_first() -> None:
    own = line_indicators([(3, ["a", "b", "c"]), (1, ["a"]), (2, ["a", "b"]), (4, ["a", "b", "c"])])
    assert own == {1: ("a",), 2: ("b",), 3: ("c",), 4: ()}
    assert line_indicators([(5, ["a", "b"])], seen=["a"]) == {5: ("b",)}
    assert line_indicators([]) == {}


def test_later_innocent_lines_are_neither_masked_nor_tagged(env: Env) -> None:
    case = record_conversation(env, "early", EARLY_EXPLICIT)
    (conv,) = env.workflow.case_detail(case).conversations
    inbound = {m.text: m for m in conv.messages if m.direction == "in"}
    assert inbound["a clinical sexual remark"].indicators == (SEX,)
    assert inbound["a clinical sexual remark"].explicit
    assert inbound["how old are you"].indicators == (AGE,)
    assert inbound["keep this our secret"].indicators == (SECRET,)
    for text in ("ok bye", "my snapchat is placeholder", "hello??"):
        assert inbound[text].indicators == () and not inbound[text].explicit, text
    assert [m.explicit for m in inbound.values()] == [True, False, False, False, False, False]
    # the decisions themselves keep what was recorded (ledger and evidence unchanged)
    assert conv.decisions[-1].indicators == (SEX, SECRET, AGE)


def test_identity_source_masked_only_for_its_own_explicit_line(env: Env) -> None:
    lines = [
        ("a clinical sexual remark", "escalate", 0.95, [SEX]),
        ("write me at someone@example.org", "continue", 0.95, [SEX]),
    ]
    case = record_conversation(env, "ident", lines)
    detail = env.workflow.case_detail(case)
    (conv,) = detail.conversations
    second = next(m for m in conv.messages if m.contact_line == 2)
    env.recorder.link_identity(detail.case.contact_id, "disclosed", "email", "x@y.z", second.id)
    first = next(m for m in conv.messages if m.contact_line == 1)
    env.recorder.link_identity(detail.case.contact_id, "disclosed", "handle", "h1", first.id)
    by_value = {i.value: i for i in env.workflow.case_detail(case).identities}
    assert not by_value["x@y.z"].source_explicit
    assert by_value["h1"].source_explicit
