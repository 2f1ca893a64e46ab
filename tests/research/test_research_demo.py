"""End to end: the shipped demo scenarios (a contact warned, then returning) measured by the
research statistics and export."""

from __future__ import annotations

from pathlib import Path

import pytest

from tutela.research import export_research
from tutela.research.stats import returns_after_warning, summary
from tutela.store import open_store

pytestmark = pytest.mark.slow


def test_demo_return_after_warning(tmp_path: Path) -> None:
    from tutela.live.demo import load_scenario, run_demo

    folder = tmp_path / "tutela-demo-research"  # the demo keeps its signing key beside such a db
    folder.mkdir()
    url = f"sqlite:///{folder / 'demo.db'}"
    first = run_demo(load_scenario("grooming_en"), db_url=url)
    variants = {d["variant"] for d in first["decisions"] if d.get("variant")}
    if not variants:
        pytest.fail("the grooming_en demo sent no deterrence warning")
    second = load_scenario("return_en")
    run_demo(second, db_url=url)
    with open_store(url) as store:
        rates = returns_after_warning(store)
        assert variants <= set(rates)
        assert all(
            rates[v].warned == rates[v].returned == 1 and rates[v].rate == 1.0 for v in variants
        )
        # the return conversation's own warning (the next variant: the rotation resumes on a
        # reused database, tutela.runtime) has no later conversation to return in
        assert all(r.returned == 0 for v, r in rates.items() if v not in variants)
        s = summary(store)
        assert s["totals"]["contacts"] == 1 and s["totals"]["conversations"] == 2
        report = export_research(store, tmp_path / "export", key=b"x" * 32)
    for path in report.out_dir.iterdir():
        data = path.read_bytes()
        assert second.contact.encode() not in data, path.name
        for line in second.lines:
            assert line.encode() not in data, (path.name, line)
