"""Server-side SVG charts of ``tutela.research.stats.summary`` (matplotlib's SVG canvas, no pyplot
state, no JavaScript). Each chart function takes the summary dict and a ``gettext`` for its
labels (the request's language; :func:`tutela.web.i18n.gettext_for`) and returns SVG text.

Readable with little data: an empty chart says so; one or a few points keep a sane axis (a
category axis at least three slots wide, a day axis at least a week wide with a tick at each
day that has data, a histogram at least five units wide with each value marked below its bar,
count axes from 0 with integer ticks and headroom); bars carry their values as text. Text stays
text in the SVG (``svg.fonttype: none``), so the numbers, days and names are in the file and
screen readers and tests can read them; ids are salted with a constant, so the same data gives
the same SVG.
"""

from __future__ import annotations

import io
import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

import matplotlib
from matplotlib.axes import Axes
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, PercentFormatter

__all__ = ["CHARTS", "WIDTHS", "render_chart"]

MAX_BARS = 20
WIDTHS = {"wide": 7.0, "narrow": 4.2}
"""Figure widths in inches of the two chart sizes (the page picks ``narrow`` below 40rem)."""
MIN_SLOTS = 3  # a category axis is at least this many bars wide
MIN_DAYS = 7  # a day axis spans at least a week
MIN_SPAN = 5.0  # a histogram's x axis spans at least this many units
Gettext = Callable[[str], str]


def _same(message: str) -> str:
    return message


def _figure(width: float = 7.0, height: float = 3.4) -> tuple[Figure, Axes]:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasSVG(fig)
    return fig, fig.add_subplot(1, 1, 1)


def _no_data(ax: Axes, _: Gettext) -> None:
    ax.text(0.5, 0.5, _("No data yet"), ha="center", va="center", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def _svg(fig: Figure) -> str:
    buf = io.StringIO()
    for text in fig.findobj(Text):  # a "$" in a platform, indicator or variant is no mathtext
        text.set_parse_math(False)
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "tutela"}):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    return buf.getvalue()


def _counts_axis(ax: Axes, top: float, *, axis: str = "y") -> None:
    """A count axis from 0 with integer ticks and room above the highest value for its label."""
    high = max(1.0, float(top)) * 1.18
    if axis == "y":
        ax.set_ylim(0, high)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
    else:
        ax.set_xlim(0, high)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))


def _slots(n: int) -> tuple[float, float]:
    """Limits of a category axis with ``n`` bars at 0 .. n-1, at least ``MIN_SLOTS`` wide."""
    pad = max(0.0, (MIN_SLOTS - n) / 2)
    return -0.6 - pad, n - 0.4 + pad


def _categories(ax: Axes, names: Sequence[str], values: Sequence[float], **bar: Any) -> Any:
    """Vertical bars at 0 .. n-1 named ``names`` (rotated when long or many)."""
    pos = list(range(len(names)))
    bars = ax.bar(pos, values, width=0.6, **bar)
    ax.set_xticks(pos, list(names))
    ax.set_xlim(*_slots(len(names)))
    if len(names) > 4 or max((len(n) for n in names), default=0) > 14:
        ax.tick_params(axis="x", labelrotation=30, labelsize="small")
        for label in ax.get_xticklabels():
            label.set_horizontalalignment("right")
    return bars


def contacts_per_day(s: dict[str, Any], _: Gettext = _same, width: float = 7.0) -> str:
    """Stacked bars: distinct contacts per UTC day, one colour per platform; a day axis at least
    ``MIN_DAYS`` wide, ticks at each day with data (or evenly spaced past 14 such days)."""
    fig, ax = _figure(width)
    ax.set_title(_("Contacts per day and platform"))
    rows = s.get("contacts_per_day", [])
    if not rows:
        _no_data(ax, _)
        return _svg(fig)
    days = sorted({date.fromisoformat(r["day"]).toordinal() for r in rows})
    by_platform: dict[str, dict[int, int]] = defaultdict(dict)
    for r in rows:
        day = date.fromisoformat(r["day"]).toordinal()
        by_platform[r["platform"]][day] = by_platform[r["platform"]].get(day, 0) + int(r["n"])
    bottom = [0] * len(days)
    bars = None
    for platform, counts in sorted(by_platform.items()):
        values = [counts.get(d, 0) for d in days]
        bars = ax.bar(days, values, bottom=bottom, width=0.7, label=platform)
        bottom = [a + b for a, b in zip(bottom, values, strict=True)]
    if bars is not None and len(days) <= 31:
        ax.bar_label(bars, labels=[str(t) for t in bottom], padding=2, fontsize="small")
    lo, hi = days[0], days[-1]
    pad = max(1.0, (MIN_DAYS - 1 - (hi - lo)) / 2)
    ax.set_xlim(lo - pad, hi + pad)
    if len(days) <= 14:
        ax.xaxis.set_major_locator(FixedLocator(days))
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=8))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: _iso(x)))
    ax.tick_params(axis="x", labelrotation=30, labelsize="small")
    ax.set_ylabel(_("contacts"))
    _counts_axis(ax, max(bottom))
    ax.legend(fontsize="small", title=_("platform"), title_fontsize="small")
    return _svg(fig)


def _iso(x: float) -> str:
    try:
        return date.fromordinal(math.floor(x + 0.5)).isoformat()
    except (ValueError, OverflowError):
        return ""


def _histogram(ax: Axes, values: Sequence[float], xlabel: str, _: Gettext) -> None:
    """A histogram readable with one value: at most 10 bins (whole units for whole numbers),
    an x axis at least ``MIN_SPAN`` wide, each value marked below the bars, counts from 0."""
    lo, hi = min(values), max(values)
    whole = all(float(v).is_integer() for v in values)
    if whole:
        step = max(1, math.ceil((hi - lo + 1) / 10))
        edges = [lo - 0.5 + step * i for i in range(int((hi - lo) // step) + 2)]
    elif hi == lo:
        width = max(1.0, abs(lo) * 0.1)
        edges = [lo - width / 2, lo + width / 2]
    else:
        n = min(10, max(3, len(values)))
        edges = [lo + (hi - lo) * i / n for i in range(n + 1)]
    counts, _edges, _patches = ax.hist(values, bins=edges, rwidth=0.9)
    span = max(MIN_SPAN, edges[-1] - edges[0])
    left = (edges[0] + edges[-1]) / 2 - span / 2 - 0.5
    if lo >= 0:  # counts and durations: no negative axis
        left = max(left, min(edges[0], -0.5))
    ax.set_xlim(left, left + span + 1.0)
    _counts_axis(ax, float(max(counts)) if len(counts) else 1.0)
    ax.plot(values, [0] * len(values), "|", color="black", markersize=10, clip_on=False)
    if whole:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(_("conversations"))


def first_solicitation(s: dict[str, Any], _: Gettext = _same, width: float = 7.0) -> str:
    """Histograms: contact lines and minutes until the first solicitation (``n`` in the title)."""
    narrow = width < 5.0  # a phone: the two histograms one above the other
    fig = Figure(figsize=(width, 5.6 if narrow else 3.2), layout="constrained")
    FigureCanvasSVG(fig)
    left, right = fig.subplots(2, 1) if narrow else fig.subplots(1, 2)
    rows = s.get("time_to_first_solicitation", [])
    left.set_title(_("Messages to first solicitation"), fontsize="medium")
    right.set_title(_("Minutes to first solicitation"), fontsize="medium")
    if not rows:
        _no_data(left, _)
        _no_data(right, _)
        return _svg(fig)
    _histogram(left, [float(r["messages"]) for r in rows], _("contact lines"), _)
    _histogram(right, [float(r["minutes"]) for r in rows], _("minutes"), _)
    fig.suptitle(_("conversations: %(n)d") % {"n": len(rows)}, fontsize="small")
    return _svg(fig)


def indicator_frequencies(s: dict[str, Any], _: Gettext = _same, width: float = 7.0) -> str:
    """Horizontal bars: conversations per indicator (the ``MAX_BARS`` most frequent)."""
    freq = s.get("indicator_frequencies", {})
    top = sorted(freq.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_BARS]
    fig, ax = _figure(width, height=max(2.5, 0.28 * max(len(top), MIN_SLOTS) + 1.2))
    fig.suptitle(_("Indicator frequencies (conversations)"))  # long labels: centred on the figure
    if not top:
        _no_data(ax, _)
        return _svg(fig)
    names = [k for k, _v in reversed(top)]
    values = [v for _k, v in reversed(top)]
    pos = list(range(len(names)))
    bars = ax.barh(pos, values, height=0.6)
    ax.set_yticks(pos, names)
    ax.set_ylim(*_slots(len(names)))
    ax.bar_label(bars, padding=2, fontsize="small")
    ax.tick_params(axis="y", labelsize="small")
    _counts_axis(ax, max(values), axis="x")
    ax.set_xlabel(_("conversations"))
    return _svg(fig)


def warnings(s: dict[str, Any], _: Gettext = _same, width: float = 7.0) -> str:
    """Bars: deterrence warnings sent per variant (all days)."""
    fig, ax = _figure(width)
    ax.set_title(_("Warnings sent per variant"))
    totals: dict[str, int] = defaultdict(int)
    for r in s.get("warnings", []):
        totals[r["variant"]] += int(r["n"])
    if not totals:
        _no_data(ax, _)
        return _svg(fig)
    names = sorted(totals)
    bars = _categories(ax, names, [totals[n] for n in names])
    ax.bar_label(bars, padding=2, fontsize="small")
    ax.set_ylabel(_("warnings"))
    _counts_axis(ax, max(totals.values()))
    return _svg(fig)


def returns_after_warning(s: dict[str, Any], _: Gettext = _same, width: float = 7.0) -> str:
    """Bars: share of warned contacts who came back, per variant (a dot at each share, so 0 %
    shows), with the interval ``low``..``high`` of ``tutela.research.stats.returns_after_warning``
    as error bars and ``returned/warned`` under each variant's name."""
    fig, ax = _figure(width)
    ax.set_title(_("Returns after a warning, per variant"))
    rates = s.get("returns_after_warning", {})
    if not rates:
        _no_data(ax, _)
        return _svg(fig)
    names = sorted(rates)
    values = [float(rates[n]["rate"]) for n in names]
    below = [
        max(0.0, v - float(rates[n].get("low", v))) for n, v in zip(names, values, strict=True)
    ]
    above = [
        max(0.0, float(rates[n].get("high", v)) - v) for n, v in zip(names, values, strict=True)
    ]
    labels = [f"{n}\n{rates[n]['returned']}/{rates[n]['warned']}" for n in names]
    _categories(ax, labels, values, yerr=[below, above], capsize=4, ecolor="#444444")
    ax.plot(range(len(names)), values, "o", color="black", markersize=4)  # a 0 % rate shows too
    ax.set_ylim(0, 1.1)
    ax.yaxis.set_major_locator(FixedLocator([0, 0.25, 0.5, 0.75, 1.0]))
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))
    ax.set_ylabel(_("returned / warned"))
    return _svg(fig)


CHARTS: dict[str, Callable[..., str]] = {
    "contacts_per_day": contacts_per_day,
    "first_solicitation": first_solicitation,
    "indicators": indicator_frequencies,
    "warnings": warnings,
    "returns": returns_after_warning,
}


def render_chart(name: str, s: dict[str, Any], gettext: Gettext = _same, size: str = "wide") -> str:
    """SVG text of chart ``name`` (a key of ``CHARTS``; ``KeyError`` otherwise), its labels
    translated with ``gettext``; ``size`` a key of ``WIDTHS`` (``narrow``: for a phone, the
    same text on a narrower figure, so it stays legible when scaled to the screen)."""
    return CHARTS[name](s, gettext, WIDTHS[size])
