"""Statistics on the synthetic store (values known by construction, see conftest) and on an empty
store."""

from __future__ import annotations

import json
from datetime import date

from _research_store import KEY, OTHER_KEY, Synthetic

from tutela.research import pseudonym
from tutela.research.stats import (
    ContactsPerDay,
    FirstSolicitation,
    ReturnRate,
    WarningsPerDay,
    contacts_per_day,
    indicator_category,
    indicator_frequencies,
    returns_after_warning,
    summary,
    time_to_first_solicitation,
    warnings,
)
from tutela.store import Store

D1, D2 = date(2025, 5, 6), date(2025, 5, 7)


def test_contacts_per_day(synthetic: Synthetic) -> None:
    assert contacts_per_day(synthetic.store) == [
        ContactsPerDay(D1, "xmpp", 1),
        ContactsPerDay(D2, "irc", 1),
        ContactsPerDay(D2, "xmpp", 1),
    ]


def test_time_to_first_solicitation(synthetic: Synthetic) -> None:
    got = time_to_first_solicitation(synthetic.store, key=KEY)
    # conversation 1: line 3 (media request + deter), 3 minutes after the start;
    # conversation 3: line 2 (meeting), 2 minutes; conversation 2 has none.
    assert sorted(got, key=lambda r: r.messages) == [
        FirstSolicitation(pseudonym(KEY, "conversation", 3), 2, 2.0),
        FirstSolicitation(pseudonym(KEY, "conversation", 1), 3, 3.0),
    ]
    assert got == sorted(got)  # ordered by pseudonym, not by database id
    other = time_to_first_solicitation(synthetic.store, key=OTHER_KEY)
    assert {r.conversation for r in other}.isdisjoint(r.conversation for r in got)
    # without a key: a process-wide random key, stable between calls
    assert time_to_first_solicitation(synthetic.store) == time_to_first_solicitation(
        synthetic.store
    )


def test_indicator_frequencies_count_conversations(synthetic: Synthetic) -> None:
    # how_old is listed by two decisions of one conversation: counted once
    assert indicator_frequencies(synthetic.store) == {
        "en.age_probe.how_old": 1,
        "en.media_request.cam": 1,
        "en.meeting.meet_up": 1,
    }
    assert indicator_category("en.meeting.meet_up") == "meeting"
    assert indicator_category("odd") is None


def test_warnings_and_returns(synthetic: Synthetic) -> None:
    assert warnings(synthetic.store) == [
        WarningsPerDay(D1, "v_legal", 1),
        WarningsPerDay(D2, "v_help", 1),
    ]
    assert returns_after_warning(synthetic.store) == {
        "v_help": ReturnRate(1, 0, 0.0),
        "v_legal": ReturnRate(1, 1, 1.0),
    }


def test_summary_is_json_ready(synthetic: Synthetic) -> None:
    s = summary(synthetic.store, key=KEY)
    assert json.loads(json.dumps(s)) == s
    assert s["totals"] == {
        "contacts": 2,
        "conversations": 3,
        "messages_in": 6,
        "messages_out": 6,
        "decisions": 6,
        "warnings": 2,
        "solicited_conversations": 2,
    }
    assert s["contacts_per_day"][0] == {"day": "2025-05-06", "platform": "xmpp", "n": 1}
    assert s["returns_after_warning"]["v_legal"] == {
        "warned": 1, "returned": 1, "rate": 1.0, "low": 0.2065, "high": 1.0,  # Wilson 95 %
    }  # fmt: skip
    assert s["warnings"][1] == {"day": "2025-05-07", "variant": "v_help", "n": 1}
    assert {r["conversation"] for r in s["time_to_first_solicitation"]} == {
        pseudonym(KEY, "conversation", 1),
        pseudonym(KEY, "conversation", 3),
    }


def test_empty_store(empty_store: Store) -> None:
    assert contacts_per_day(empty_store) == []
    assert time_to_first_solicitation(empty_store) == []
    assert indicator_frequencies(empty_store) == {}
    assert warnings(empty_store) == []
    assert returns_after_warning(empty_store) == {}
    s = summary(empty_store)
    assert s["totals"] == dict.fromkeys(
        (
            "contacts",
            "conversations",
            "messages_in",
            "messages_out",
            "decisions",
            "warnings",
            "solicited_conversations",
        ),
        0,
    )
    assert s["contacts_per_day"] == s["warnings"] == s["time_to_first_solicitation"] == []
