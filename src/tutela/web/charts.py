"""Server-side SVG charts of ``tutela.research.stats.summary`` (matplotlib, Agg-free SVG canvas,
no pyplot state, no JavaScript). Each function takes the summary dict and returns SVG text."""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from matplotlib.axes import Axes
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

__all__ = ["CHARTS", "render_chart"]

MAX_BARS = 20


def _figure(width: float = 7.0, height: float = 3.4) -> tuple[Figure, Axes]:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasSVG(fig)
    return fig, fig.add_subplot(1, 1, 1)


def _no_data(ax: Axes) -> None:
    ax.text(0.5, 0.5, "no data yet", ha="center", va="center", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def _svg(fig: Figure) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    return buf.getvalue()


def contacts_per_day(s: dict[str, Any]) -> str:
    """Stacked bars: distinct contacts per UTC day, one colour per platform."""
    fig, ax = _figure()
    ax.set_title("Contacts per day and platform")
    rows = s.get("contacts_per_day", [])
    if not rows:
        _no_data(ax)
        return _svg(fig)
    days = sorted({r["day"] for r in rows})
    by_platform: dict[str, dict[str, int]] = defaultdict(dict)
    for r in rows:
        by_platform[r["platform"]][r["day"]] = r["n"]
    bottom = [0] * len(days)
    for platform, counts in sorted(by_platform.items()):
        values = [counts.get(d, 0) for d in days]
        ax.bar(days, values, bottom=bottom, label=platform)
        bottom = [a + b for a, b in zip(bottom, values, strict=True)]
    ax.set_ylabel("contacts")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize="small")
    ax.tick_params(axis="x", labelrotation=30, labelsize="small")
    return _svg(fig)


def first_solicitation(s: dict[str, Any]) -> str:
    """Histograms: contact lines and minutes until the first solicitation."""
    fig = Figure(figsize=(7.0, 3.2), layout="constrained")
    FigureCanvasSVG(fig)
    left, right = fig.subplots(1, 2)
    rows = s.get("time_to_first_solicitation", [])
    left.set_title("Messages to first solicitation", fontsize="medium")
    right.set_title("Minutes to first solicitation", fontsize="medium")
    if not rows:
        _no_data(left)
        _no_data(right)
    else:
        left.hist([r["messages"] for r in rows], bins=min(10, max(1, len(rows))))
        left.set_xlabel("contact lines")
        right.hist([r["minutes"] for r in rows], bins=min(10, max(1, len(rows))))
        right.set_xlabel("minutes")
    return _svg(fig)


def indicator_frequencies(s: dict[str, Any]) -> str:
    """Horizontal bars: conversations per indicator (the ``MAX_BARS`` most frequent)."""
    freq = s.get("indicator_frequencies", {})
    top = sorted(freq.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_BARS]
    fig, ax = _figure(height=max(2.5, 0.28 * len(top) + 1.0))
    ax.set_title("Indicator frequencies (conversations)")
    if not top:
        _no_data(ax)
        return _svg(fig)
    names = [k for k, _ in reversed(top)]
    ax.barh(names, [v for _, v in reversed(top)])
    ax.tick_params(axis="y", labelsize="small")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return _svg(fig)


def warnings(s: dict[str, Any]) -> str:
    """Bars: deterrence warnings sent per variant (all days)."""
    fig, ax = _figure()
    ax.set_title("Warnings sent per variant")
    totals: dict[str, int] = defaultdict(int)
    for r in s.get("warnings", []):
        totals[r["variant"]] += r["n"]
    if not totals:
        _no_data(ax)
        return _svg(fig)
    names = sorted(totals)
    ax.bar(names, [totals[n] for n in names])
    ax.set_ylabel("warnings")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    return _svg(fig)


def returns_after_warning(s: dict[str, Any]) -> str:
    """Bars: share of warned contacts who came back, per variant (with counts)."""
    fig, ax = _figure()
    ax.set_title("Returns after a warning, per variant")
    rates = s.get("returns_after_warning", {})
    if not rates:
        _no_data(ax)
        return _svg(fig)
    names = sorted(rates)
    bars = ax.bar(names, [rates[n]["rate"] for n in names])
    ax.set_ylim(0, 1)
    ax.set_ylabel("returned / warned")
    labels = [f"{rates[n]['returned']}/{rates[n]['warned']}" for n in names]
    ax.bar_label(bars, labels=labels)
    return _svg(fig)


CHARTS: dict[str, Callable[[dict[str, Any]], str]] = {
    "contacts_per_day": contacts_per_day,
    "first_solicitation": first_solicitation,
    "indicators": indicator_frequencies,
    "warnings": warnings,
    "returns": returns_after_warning,
}


def render_chart(name: str, s: dict[str, Any]) -> str:
    """SVG text of chart ``name`` (a key of ``CHARTS``; ``KeyError`` otherwise)."""
    return CHARTS[name](s)
