"""Statistics charts with zero, one and a few data points: valid SVG, the data present as text, a
sane axis for a single point, labels through the given gettext, no JavaScript."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from tutela.web.charts import CHARTS, render_chart

SVG = "{http://www.w3.org/2000/svg}"

ONE = {
    "contacts_per_day": [{"day": "2026-11-29", "platform": "irc", "n": 1}],
    "time_to_first_solicitation": [{"conversation": "c1", "messages": 7, "minutes": 3.5}],
    "indicator_frequencies": {"en.age_probe.synthetic": 1},
    "warnings": [{"day": "2026-11-29", "variant": "variant-a", "n": 1}],
    "returns_after_warning": {
        "variant-a": {"warned": 1, "returned": 0, "rate": 0.0, "low": 0.0, "high": 0.79}
    },
}
THREE = {
    "contacts_per_day": [
        {"day": "2026-11-27", "platform": "irc", "n": 2},
        {"day": "2026-11-29", "platform": "irc", "n": 1},
        {"day": "2026-11-29", "platform": "xmpp", "n": 3},
        {"day": "2026-11-30", "platform": "xmpp", "n": 5},
    ],
    "time_to_first_solicitation": [
        {"conversation": "c1", "messages": 7, "minutes": 3.5},
        {"conversation": "c2", "messages": 12, "minutes": 41.0},
        {"conversation": "c3", "messages": 9, "minutes": 12.25},
    ],
    "indicator_frequencies": {"en.a.x": 3, "en.b.y": 2, "nl.c.z": 1},
    "warnings": [
        {"day": "2026-11-29", "variant": "variant-a", "n": 2},
        {"day": "2026-11-30", "variant": "variant-a", "n": 1},
        {"day": "2026-11-30", "variant": "variant-b", "n": 6},
    ],
    "returns_after_warning": {
        "variant-a": {"warned": 3, "returned": 1, "rate": 1 / 3, "low": 0.06, "high": 0.79},
        "variant-b": {"warned": 6, "returned": 0, "rate": 0.0, "low": 0.0, "high": 0.39},
    },
}


def _texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)  # valid XML, or this raises
    assert root.tag == f"{SVG}svg"
    assert "<script" not in svg and "javascript:" not in svg.lower()
    return ["".join(t.itertext()).strip() for t in root.iter(f"{SVG}text")]


@pytest.mark.parametrize("name", sorted(CHARTS))
def test_zero_points_say_so(name):
    texts = _texts(render_chart(name, {}))
    assert "No data yet" in texts


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("contacts_per_day", ["2026-11-29", "irc", "1"]),
        ("first_solicitation", ["contact lines", "minutes", "conversations: 1"]),
        ("indicators", ["en.age_probe.synthetic", "1"]),
        ("warnings", ["variant-a", "1"]),
        ("returns", ["variant-a\n0/1", "0%", "100%"]),
    ],
)
def test_one_point_shows_its_data(name, expected):
    svg = render_chart(name, ONE)
    texts = _texts(svg)
    flat = "\n".join(texts)
    for want in expected:
        assert want in texts or want in flat, (want, texts)
    assert "No data yet" not in texts
    assert re.search(r"<path[^>]+d=\"M[^\"]+\"", svg)  # bars / markers are drawn


def test_one_day_gets_a_week_wide_axis_with_one_tick():
    texts = _texts(render_chart("contacts_per_day", ONE))
    days = [t for t in texts if re.fullmatch(r"\d{4}-\d{2}-\d{2}", t)]
    assert days == ["2026-11-29"]  # one tick, at the day; not a bar filling the plot
    counts = [int(t) for t in texts if t.isdigit()]
    assert max(counts) >= 1 and 0 in counts  # a count axis from 0


def test_one_value_histogram_keeps_a_five_unit_axis():
    texts = _texts(render_chart("first_solicitation", ONE))
    ticks = sorted({int(t) for t in texts if t.isdigit()})
    assert 7 in ticks and ticks[-1] - ticks[0] >= 5


def test_small_values_keep_a_non_negative_axis():
    s = {"time_to_first_solicitation": [{"conversation": "c", "messages": 1, "minutes": 0.5}]}
    texts = _texts(render_chart("first_solicitation", s))
    numbers = [t.replace("\u2212", "-") for t in texts if re.fullmatch(r"[\u2212-]?\d+", t)]
    assert numbers and all(not n.startswith("-") for n in numbers)


@pytest.mark.parametrize("name", sorted(CHARTS))
def test_narrow_size_for_phones(name):
    wide, narrow = render_chart(name, THREE), render_chart(name, THREE, size="narrow")
    width = re.compile(r'<svg[^>]* width="([\d.]+)pt"')
    assert float(width.search(narrow).group(1)) < float(width.search(wide).group(1))

    def words(svg: str) -> set[str]:  # names, days, titles (tick numbers may differ)
        return {t for t in _texts(svg) if not re.fullmatch(r"[\d.%\u2212-]+", t)}

    assert words(narrow) == words(wide)


@pytest.mark.parametrize("name", sorted(CHARTS))
def test_three_points_render(name):
    texts = _texts(render_chart(name, THREE))
    assert "No data yet" not in texts and texts


def test_three_points_show_every_category_and_total():
    days = _texts(render_chart("contacts_per_day", THREE))
    assert {"2026-11-27", "2026-11-29", "2026-11-30"} <= set(days)
    assert {"2", "4", "5"} <= set(days)  # the day totals on the stacks
    warned = _texts(render_chart("warnings", THREE))
    assert {"variant-a", "variant-b", "3", "6"} <= set(warned)
    returns = "\n".join(_texts(render_chart("returns", THREE)))
    assert "1/3" in returns and "0/6" in returns


def test_labels_go_through_gettext():
    catalogue = {"Warnings sent per variant": "Verstuurde waarschuwingen per variant"}
    texts = _texts(render_chart("warnings", ONE, lambda s: catalogue.get(s, s)))
    assert "Verstuurde waarschuwingen per variant" in texts
    empty = _texts(
        render_chart("warnings", {}, lambda s: {"No data yet": "Nog geen gegevens"}.get(s, s))
    )
    assert "Nog geen gegevens" in empty


def test_same_data_same_svg():
    assert render_chart("returns", THREE) == render_chart("returns", THREE)


def test_stats_page_and_charts_through_the_app(web):
    c = web.login("ana")
    page = c.get("/stats")
    assert page.status_code == 200
    assert page.text.count("<figure>") == len(CHARTS) and "<figcaption>" in page.text
    for name in CHARTS:
        r = c.get(f"/stats/charts/{name}.svg")
        assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
        _texts(r.text)
    assert c.get("/stats/charts/nope.svg").status_code == 404
    assert c.get("/stats/charts/warnings.svg", params={"size": "narrow"}).status_code == 200
    assert c.get("/stats/charts/warnings.svg", params={"size": "huge"}).status_code == 422
    assert "?size=narrow" in page.text  # the phone picks the narrow chart (<picture>)
