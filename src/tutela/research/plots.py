"""PNG plots of the research statistics (matplotlib, Agg renderer, no pyplot global state).

Each function draws one figure from the values :mod:`tutela.research.stats` returns and writes it
to ``path`` as PNG (100 dpi). An empty input gives a figure saying "no data", so an export of an
empty store still holds every file. Figures are built with ``matplotlib.figure.Figure`` and the
Agg canvas directly (thread-safe, no display needed, the interactive backend is never touched).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from tutela.research.stats import ContactsPerDay, FirstSolicitation, ReturnRate, WarningsPerDay

__all__ = [
    "plot_contacts_per_day",
    "plot_indicator_frequencies",
    "plot_returns_after_warning",
    "plot_time_to_first_solicitation",
    "plot_warnings_per_variant",
]

DPI = 100
MAX_INDICATORS = 30  # bars shown in the indicator plot (the most frequent)


def _figure(
    width: float = 8.0, height: float = 4.5, ncols: int = 1, *, left: float = 0.1
) -> tuple[Figure, list[Axes]]:
    # fixed margins: a layout engine would draw every figure twice
    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    fig.subplots_adjust(left=left, right=0.97, top=0.9, bottom=0.22, wspace=0.3)
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    return fig, list(axes)


def _no_data(ax: Axes, title: str) -> None:
    ax.set_title(title)
    ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def _save(fig: Figure, path: Path) -> None:
    fig.savefig(path, format="png", dpi=DPI)


def plot_contacts_per_day(rows: Sequence[ContactsPerDay], path: Path) -> None:
    """Stacked bars: distinct contacts per UTC day, one colour per platform."""
    fig, (ax,) = _figure()
    title = "Contacts per day and platform"
    if not rows:
        _no_data(ax, title)
    else:
        days = sorted({r.day for r in rows})
        labels = [d.isoformat() for d in days]
        by_platform: dict[str, dict[str, int]] = defaultdict(dict)
        for r in rows:
            by_platform[r.platform][r.day.isoformat()] = r.n
        bottom = [0] * len(days)
        for platform in sorted(by_platform):
            heights = [by_platform[platform].get(d, 0) for d in labels]
            ax.bar(labels, heights, bottom=bottom, label=platform)
            bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
        ax.set_title(title)
        ax.set_xlabel("day (UTC)")
        ax.set_ylabel("contacts")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(title="platform")
        ax.tick_params(axis="x", labelrotation=45)
    _save(fig, path)


def plot_time_to_first_solicitation(rows: Sequence[FirstSolicitation], path: Path) -> None:
    """Two histograms: contact lines and minutes until the first solicitation."""
    fig, (ax_m, ax_t) = _figure(10.0, 4.5, ncols=2)
    if not rows:
        _no_data(ax_m, "Contact lines to first solicitation")
        _no_data(ax_t, "Minutes to first solicitation")
    else:
        lines = [r.messages for r in rows]
        lo, hi = min(lines), max(lines)
        step = max(1, (hi - lo + 1) // 50)  # one bar per line count, at most ~50 bars
        ax_m.hist(lines, bins=[x - 0.5 for x in range(lo, hi + step + 1, step)])
        ax_m.set_title("Contact lines to first solicitation")
        ax_m.set_xlabel("contact lines")
        ax_m.set_ylabel("conversations")
        ax_m.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax_t.hist([r.minutes for r in rows], bins=min(30, max(5, len(rows))))
        ax_t.set_title("Minutes to first solicitation")
        ax_t.set_xlabel("minutes")
        ax_t.set_ylabel("conversations")
        ax_t.yaxis.set_major_locator(MaxNLocator(integer=True))
    _save(fig, path)


def plot_indicator_frequencies(freq: Mapping[str, int], path: Path) -> None:
    """Horizontal bars: conversations per indicator (the ``MAX_INDICATORS`` most frequent)."""
    items = list(freq.items())[:MAX_INDICATORS]
    fig, (ax,) = _figure(9.0, max(3.0, 0.3 * len(items) + 1.5), left=0.4)
    title = "Indicator frequencies"
    if not items:
        _no_data(ax, title)
    else:
        names = [k for k, _ in reversed(items)]
        ax.barh(names, [v for _, v in reversed(items)])
        ax.set_title(title)
        ax.set_xlabel("conversations")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    _save(fig, path)


def plot_warnings_per_variant(rows: Sequence[WarningsPerDay], path: Path) -> None:
    """Bars: warnings sent per deterrence variant (all days)."""
    totals: dict[str, int] = defaultdict(int)
    for r in rows:
        totals[r.variant] += r.n
    fig, (ax,) = _figure()
    title = "Warnings per variant"
    if not totals:
        _no_data(ax, title)
    else:
        names = sorted(totals)
        ax.bar(names, [totals[n] for n in names])
        ax.set_title(title)
        ax.set_xlabel("variant")
        ax.set_ylabel("warnings")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    _save(fig, path)


def plot_returns_after_warning(rates: Mapping[str, ReturnRate], path: Path) -> None:
    """Bars: share of warned contacts who returned, per variant (label: returned/warned)."""
    fig, (ax,) = _figure()
    title = "Return rate after a warning, per variant"
    if not rates:
        _no_data(ax, title)
    else:
        names = sorted(rates)
        bars = ax.bar(names, [rates[n].rate for n in names])
        ax.bar_label(bars, labels=[f"{rates[n].returned}/{rates[n].warned}" for n in names])
        ax.set_ylim(0.0, 1.1)
        ax.set_title(title)
        ax.set_xlabel("variant")
        ax.set_ylabel("returned / warned")
    _save(fig, path)
