"""One clock per demo conversation (issue 12, item 3): every case and referral time of a demo
lies on the simulated clock of the conversation that caused it, in order, across runs over a
reused database; and the demo's conversations are ended when the demo ends."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from tutela.cases.workflow import CaseWorkflow
from tutela.ledger import EntryKind
from tutela.live.demo import DEMO_ENDED, load_scenario, run_demo
from tutela.store import Recorder, iter_ledger, open_store
from tutela.store.queries.dashboard import open_conversations


def _db(tmp_path: Path) -> str:
    folder = tmp_path / "tutela-demo-clock"  # the demo keeps its signing key beside such a db
    folder.mkdir(exist_ok=True)
    return f"sqlite:///{folder / 'demo.db'}"


def test_case_and_referral_times_follow_the_conversations_clock(tmp_path: Path) -> None:
    db = _db(tmp_path)
    results = [
        run_demo(load_scenario(name), db_url=db)
        for name in ("grooming_en", "return_en", "return_en")
    ]
    assert [r["final_action"] for r in results] == ["deter", "escalate", "refer"]
    store = open_store(db)
    try:
        detail = CaseWorkflow(Recorder(store)).case_detail(results[0]["case_id"])
        convs = detail.conversations
        assert len(convs) == 3 and all(c.ended_at is not None for c in convs)
        spans = []
        for c in convs:
            times = [m.at for m in c.messages]
            assert times == sorted(times) and c.started_at <= times[0]
            spans.append((c.started_at, max(times[-1], c.ended_at)))
        # the runs follow one another on one clock: no run starts before the last ended
        assert all(spans[i][1] < spans[i + 1][0] for i in range(2))
        first, last = spans[0][0], spans[-1][1]
        case = detail.case
        assert first <= case.opened_at <= case.updated_at <= last
        assert spans[0][0] <= case.opened_at <= spans[0][1]  # opened by the first warning
        (referral,) = detail.referrals
        # the policy proposal is stamped by the third conversation's clock, not the wall clock
        assert spans[2][0] <= referral.proposed_at <= spans[2][1]
        events = [e.at for e in detail.events]
        assert events and events == sorted(events)
        assert all(spans[2][0] <= at <= spans[2][1] for at in events)
    finally:
        store.close()


def test_demo_conversations_are_ended_when_the_demo_ends(tmp_path: Path) -> None:
    db = _db(tmp_path)
    result = run_demo(load_scenario("benign_peer_en"), db_url=db)
    assert result["final_action"] == "continue"  # nothing ended it on the way
    store = open_store(db)
    try:
        assert open_conversations(store) == []  # not "open" on the live page
        ended = [
            e.payload
            for e in iter_ledger(store)
            if e.kind is EntryKind.OPERATION and e.payload.get("event") == "conversation_ended"
        ]
        assert [p["reason"] for p in ended] == [DEMO_ENDED]
        last_line = datetime.fromisoformat(result["transcript"][-1]["at"])
        assert datetime.fromisoformat(ended[0]["ended_at"]) >= last_line  # the demo's clock
    finally:
        store.close()
