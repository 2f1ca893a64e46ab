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
        # demo data never enters the deterrence outcome (issue 13: evidential operations only;
        # the outcome's rule itself is tested in test_stats and test_trial_report)
        assert returns_after_warning(store) == {}
        s = summary(store)
        assert s["totals"]["contacts"] == 1 and s["totals"]["conversations"] == 2
        report = export_research(store, tmp_path / "export", key=b"x" * 32)
    for path in report.out_dir.iterdir():
        data = path.read_bytes()
        assert second.contact.encode() not in data, path.name
        for line in second.lines:
            assert line.encode() not in data, (path.name, line)
