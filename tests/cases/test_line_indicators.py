"""Each line shows the indicators it raised itself; a line is masked only for its own explicit
content (issue 12, item 3). Decisions list the conversation's indicators so far, as the policy
ladder records them, and (since migration 0008) the line's own, as the live engine records them;
decisions without the latter are masked conservatively. Lines are short synthetic texts written
for this test."""

from __future__ import annotations

from collections.abc import Sequence

from cases_support import Env, record_conversation

from tutela.cases.views import explicit_lines, line_indicators

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


def _own(lines: Sequence[tuple[str, str, float, Sequence[str]]]) -> dict[int, list[str]]:
    """Each line's own indicators of cumulative ``lines`` (what the engine records)."""
    out, seen = {}, set()
    for n, (_, _, _, inds) in enumerate(lines, start=1):
        out[n] = [i for i in inds if i not in seen]
        seen.update(inds)
    return out


def test_recorded_own_indicators_are_used_as_is_repeats_included() -> None:
    decs = [(1, [SEX], [SEX]), (2, [SEX, AGE], [AGE]), (3, [SEX, AGE], [SEX]), (4, [SEX, AGE], [])]
    assert line_indicators(decs) == {1: (SEX,), 2: (AGE,), 3: (SEX,), 4: ()}
    assert explicit_lines(decs) == {1, 3}
    # older decisions (no own ids): every line from the first explicit one is masked
    assert explicit_lines([(1, [AGE], None), (2, [AGE, SEX], None), (3, [AGE, SEX], None)]) == {
        2,
        3,
    }
    # mixed: old decisions first, then recorded ones
    mixed = [(1, [SEX], None), (2, [SEX], None), (3, [SEX], []), (4, [SEX], [SEX])]
    assert explicit_lines(mixed) == {1, 2, 4}
    assert line_indicators(mixed) == {1: (SEX,), 2: (), 3: (), 4: (SEX,)}


def test_a_line_repeating_an_explicit_indicator_is_masked_and_tagged(env: Env) -> None:
    lines = [
        *EARLY_EXPLICIT,
        ("another clinical sexual remark", "escalate", 0.98, [SEX, SECRET, AGE]),
    ]
    own = _own(lines) | {7: [SEX]}
    case = record_conversation(env, "repeat", lines, own=own)
    (conv,) = env.workflow.case_detail(case).conversations
    inbound = {m.text: m for m in conv.messages if m.direction == "in"}
    for text in ("a clinical sexual remark", "another clinical sexual remark"):
        assert inbound[text].indicators == (SEX,) and inbound[text].explicit, text
    assert [m.explicit for m in inbound.values()] == [True, False, False, False, False, False, True]
    assert conv.decisions[-1].line_indicators == (SEX,)
    assert conv.decisions[-1].indicators == (SEX, SECRET, AGE)  # the ledger's list unchanged


def test_older_decisions_mask_every_line_from_the_first_explicit_one(env: Env) -> None:
    case = record_conversation(env, "legacy", EARLY_EXPLICIT)  # no own indicators recorded
    (conv,) = env.workflow.case_detail(case).conversations
    inbound = [m for m in conv.messages if m.direction == "in"]
    assert all(m.explicit for m in inbound)
    assert [m.indicators for m in inbound][2] == ()  # chips stay the derived ones
    assert all(d.line_indicators is None for d in conv.decisions)


def test_later_innocent_lines_are_neither_masked_nor_tagged(env: Env) -> None:
    case = record_conversation(env, "early", EARLY_EXPLICIT, own=_own(EARLY_EXPLICIT))
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
    case = record_conversation(env, "ident", lines, own=_own(lines))
    detail = env.workflow.case_detail(case)
    (conv,) = detail.conversations
    second = next(m for m in conv.messages if m.contact_line == 2)
    env.recorder.link_identity(detail.case.contact_id, "disclosed", "email", "x@y.z", second.id)
    first = next(m for m in conv.messages if m.contact_line == 1)
    env.recorder.link_identity(detail.case.contact_id, "disclosed", "handle", "h1", first.id)
    by_value = {i.value: i for i in env.workflow.case_detail(case).identities}
    assert not by_value["x@y.z"].source_explicit
    assert by_value["h1"].source_explicit


def test_identity_source_of_an_older_decision_after_an_explicit_line_is_masked(env: Env) -> None:
    lines = [
        ("a clinical sexual remark", "escalate", 0.95, [SEX]),
        ("write me at someone@example.org", "continue", 0.95, [SEX]),
    ]
    case = record_conversation(env, "ident-old", lines)
    detail = env.workflow.case_detail(case)
    second = next(m for m in detail.conversations[0].messages if m.contact_line == 2)
    env.recorder.link_identity(detail.case.contact_id, "disclosed", "email", "x@y.z", second.id)
    by_value = {i.value: i for i in env.workflow.case_detail(case).identities}
    assert by_value["x@y.z"].source_explicit
