"""The case page's risk-over-time chart: server-side SVG (matplotlib's SVG canvas, no pyplot
state, no JavaScript), like :mod:`tutela.web.charts`.

x: the contact line a decision was taken after (``DecisionRecord.after_line``; line numbers
need no clock, so conversations on different clocks line up); y: the decision's risk in [0, 1]
(fixed axis). One line per conversation (:func:`risk_series`; labelled ``conversation <id> ·
<persona> · <platform>``); markers on the decisions that sent a deterrence warning
(``tutela.domain.is_warning``), that escalated, and that proposed a referral (the strongest
wins: refer, then escalate, then warning). One decision draws a marker on sane axes (x from 0.5
to 1.5); none draws the text "no decisions yet". Strings are passed through ``gettext`` (the
request's, ``tutela.web.i18n.gettext_for``).
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from matplotlib import rc_context
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.ticker import MaxNLocator

from tutela.cases.views import ConversationView
from tutela.domain import is_warning

__all__ = ["RiskSeries", "marker_kind", "risk_chart_data_uri", "risk_chart_svg", "risk_series"]

_MARKERS = {
    "refer": ("*", 14, "#7b1fa2"),
    "escalate": ("D", 7, "#c62828"),
    "warning": ("^", 8, "#ef6c00"),
}


def _identity(text: str) -> str:
    return text


def marker_kind(action: str, variant: str | None) -> str | None:
    """``"refer"``, ``"escalate"``, ``"warning"`` or ``None`` (no marker) for one decision."""
    if action == "refer":
        return "refer"
    if action == "escalate":
        return "escalate"
    if is_warning(action, variant):
        return "warning"
    return None


@dataclass(frozen=True, slots=True)
class RiskSeries:
    """One conversation's line: ``points`` are ``(contact line, risk in [0, 1], marker kind or
    None)`` in line order (a line with several decisions keeps them all, in decision order)."""

    conversation_id: int
    persona_id: str
    platform: str
    points: tuple[tuple[int, float, str | None], ...]


def risk_series(conversations: Iterable[ConversationView]) -> list[RiskSeries]:
    """The chart's data: one :class:`RiskSeries` per conversation with decisions."""
    out = []
    for c in conversations:
        decs = sorted(c.decisions, key=lambda d: (d.after_line, d.id))
        if not decs:
            continue
        points = tuple(
            (d.after_line, min(1.0, max(0.0, float(d.risk))), marker_kind(d.action, d.variant))
            for d in decs
        )
        out.append(RiskSeries(c.id, c.persona_id, c.platform, points))
    return out


def risk_chart_svg(
    conversations: Iterable[ConversationView],
    *,
    gettext: Callable[[str], str] = _identity,
    width: float = 7.0,
    height: float = 3.0,
) -> str:
    """SVG text of the chart (module docstring) over ``conversations``' decisions."""
    _ = gettext
    labels = {
        "refer": _("referral proposal"),
        "escalate": _("escalation"),
        "warning": _("warning sent"),
    }
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasSVG(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.set_title(_("Risk per contact line"), fontsize="medium")
    series = risk_series(conversations)
    if not series:
        ax.text(0.5, 0.5, _("no decisions yet"), ha="center", va="center", transform=ax.transAxes)
        ax.set_xticks([])
        ax.set_yticks([])
        return _svg(fig)
    shown: set[str] = set()
    max_line = 1
    for sr in series:
        xs = [p[0] for p in sr.points]
        ys = [p[1] for p in sr.points]
        max_line = max(max_line, *xs)
        label = _("conversation %(id)s · %(persona)s · %(platform)s") % {
            "id": sr.conversation_id,
            "persona": sr.persona_id,
            "platform": sr.platform,
        }
        ax.plot(xs, ys, marker="o", markersize=3, linewidth=1.5, label=label)
        for x, y, kind in sr.points:
            if kind is None:
                continue
            shape, size, colour = _MARKERS[kind]
            ax.plot(
                [x],
                [y],
                linestyle="none",
                marker=shape,
                markersize=size,
                color=colour,
                markeredgecolor="black",
                markeredgewidth=0.5,
                label=labels[kind] if kind not in shown else "_nolegend_",
                zorder=3,
            )
            shown.add(kind)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlim(0.5, max_line + 0.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=10))
    ax.set_xlabel(_("contact line"))
    ax.set_ylabel(_("risk"))
    ax.grid(True, linewidth=0.3, alpha=0.6)
    ax.legend(fontsize="x-small", loc="upper left", framealpha=0.8)
    return _svg(fig)


def risk_chart_data_uri(
    conversations: Iterable[ConversationView], *, gettext: Callable[[str], str] = _identity
) -> str:
    """The chart as a ``data:image/svg+xml;base64,...`` URI for an ``<img>`` (the dashboard's
    Content-Security-Policy allows ``img-src data:``; an SVG shown as an image runs no script)."""
    svg = risk_chart_svg(conversations, gettext=gettext)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def _svg(fig: Figure) -> str:
    """SVG text; glyphs as ``<text>`` (``svg.fonttype: none``): smaller, selectable, and the
    translated labels stay text."""
    buf = io.StringIO()
    for text in fig.findobj(Text):  # a "$" in a persona or platform name is no mathtext
        text.set_parse_math(False)
    with rc_context({"svg.fonttype": "none"}):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    return buf.getvalue()
