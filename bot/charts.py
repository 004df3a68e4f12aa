"""Charts of the statistics: what they show (:class:`Chart`), and the PNG (matplotlib).

The data of a chart is built first, as plain values a test can check; drawing it
is a separate step. matplotlib is imported only there, with its Agg canvas and no
pyplot (no global figure state, safe in a worker thread): the idle service never
loads it (~40 MB).
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.stats_text import SLA_TARGETS
from dispatch.stats.command import Section
from dispatch.stats.figures import SlaCount, SlaFigures, Stats

if TYPE_CHECKING:
    from matplotlib.axes import Axes

Translate = Callable[..., str]

#: Pixels per inch: 9 inches wide is 1080 px, a phone screen's width.
DPI = 120
WIDTH_INCHES = 9.0
PANEL_INCHES = 4.5
#: At most this many labels along a horizontal axis: a phone shows them without overlap.
MAX_LABELS = 10
#: At most this many people or types in a chart (the busiest).
MAX_BARS = 12
COLORS = ("#2b6cb0", "#dd6b20", "#38a169", "#805ad5")


@dataclass(frozen=True, slots=True)
class Series:
    """One set of bars: a label and a value per category."""

    label: str
    values: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class Panel:
    """One plot of a chart: categories along an axis, a bar per series and category."""

    title: str
    categories: tuple[str, ...]
    series: tuple[Series, ...]
    unit: str = ""
    #: Bars along the y axis (people, types: long names read better that way).
    horizontal: bool = False


@dataclass(frozen=True, slots=True)
class Chart:
    """A picture of one section."""

    title: str
    panels: tuple[Panel, ...]


def chart_for(stats: Stats, section: Section, t: Translate) -> Chart | None:
    """The chart of a section (the SLA section has none without SLA)."""
    first, last = stats.period.first, stats.period.last
    period = f"{first:%d.%m.%Y} – {last:%d.%m.%Y}"
    if section == Section.OVERVIEW:
        return Chart(
            t("Inflow and dispatch, {period}", period=period),
            (_inflow(stats, t), _dispatch(stats, t)),
        )
    if section == Section.PEOPLE:
        return Chart(t("Specialists, {period}", period=period), (_people(stats, t),))
    if section == Section.TYPES:
        return Chart(t("Ticket types, {period}", period=period), (_types(stats, t),))
    if section == Section.SLA and stats.sla is not None:
        return Chart(t("SLA targets, {period}", period=period), _sla(stats.sla, t))
    return None


def _inflow(stats: Stats, t: Translate) -> Panel:
    days = stats.inflow.by_day
    return Panel(
        t("New tickets per day"),
        tuple(f"{day:%d.%m}" for day, _ in days),
        (Series(t("new tickets"), tuple(float(n) for _, n in days)),),
    )


def _dispatch(stats: Stats, t: Translate) -> Panel:
    hours = stats.dispatch.by_hour
    return Panel(
        t("Time to assignment by hour of arrival"),
        tuple(f"{figure.hour:02d}" for figure in hours),
        (
            Series(t("median"), tuple(_minutes(f.waits.p50) for f in hours)),
            Series(t("90th percentile"), tuple(_minutes(f.waits.p90) for f in hours)),
        ),
        unit=t("minutes"),
    )


def _people(stats: Stats, t: Translate) -> Panel:
    people = stats.people[:MAX_BARS]
    return Panel(
        _of(t("Per specialist"), len(people), len(stats.people), t),
        tuple(person.name for person in people),
        (
            Series(t("tickets assigned"), tuple(float(p.assigned) for p in people)),
            Series(t("tickets closed"), tuple(float(p.closed) for p in people)),
            Series(t("staff replies"), tuple(float(p.replies) for p in people)),
        ),
        horizontal=True,
    )


def _types(stats: Stats, t: Translate) -> Panel:
    kinds = stats.response.by_type[:MAX_BARS]
    return Panel(
        _of(t("Per ticket type"), len(kinds), len(stats.response.by_type), t),
        tuple(kind.key or "—" for kind in kinds),
        (
            Series(t("new tickets"), tuple(float(k.created) for k in kinds)),
            Series(t("tickets closed"), tuple(float(k.closed) for k in kinds)),
        ),
        horizontal=True,
    )


def _sla(sla: SlaFigures, t: Translate) -> tuple[Panel, ...]:
    policies = sla.by_policy[:MAX_BARS]

    def bars(counts: tuple[SlaCount, ...]) -> tuple[Series, ...]:
        return (
            Series(t("met"), tuple(float(c.met) for c in counts)),
            Series(t("missed"), tuple(float(c.missed) for c in counts)),
        )

    return (
        Panel(
            t("Per target"),
            tuple(t(SLA_TARGETS.get(c.key, c.key)) for c in sla.by_target),
            bars(sla.by_target),
        ),
        Panel(
            _of(t("Per SLA policy"), len(policies), len(sla.by_policy), t),
            tuple(c.key for c in policies),
            bars(policies),
            horizontal=True,
        ),
    )


def _of(title: str, shown: int, total: int, t: Translate) -> str:
    # The rest is in the text and the CSV; on a phone a dozen bars is what stays legible.
    return (
        title
        if shown == total
        else t("{title}: the first {shown} of {total}", title=title, shown=shown, total=total)
    )


def _minutes(seconds: float | None) -> float:
    return round(seconds / 60, 1) if seconds is not None else 0.0


def panel_inches(panel: Panel) -> float:
    """A panel's height: half a phone screen, taller for a long list of bars."""
    if not panel.horizontal:
        return PANEL_INCHES
    return max(PANEL_INCHES, 0.28 * len(panel.categories) * len(panel.series) + 1.5)


def size_inches(chart: Chart) -> tuple[float, float]:
    """Width and height of the whole chart (the title takes 0.8 inch)."""
    return WIDTH_INCHES, 0.8 + sum(panel_inches(panel) for panel in chart.panels)


def draw_png(chart: Chart, *, no_data: str) -> bytes:
    """The chart as a PNG, ``no_data`` written on an empty panel."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=size_inches(chart), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    figure.suptitle(chart.title, fontsize=17, fontweight="bold")
    heights = [panel_inches(panel) for panel in chart.panels]
    axes = figure.subplots(len(chart.panels), 1, squeeze=False, height_ratios=heights)[:, 0]
    for ax, panel in zip(axes, chart.panels, strict=True):
        _draw_panel(ax, panel, no_data)
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI)
    return out.getvalue()


def _draw_panel(ax: Axes, panel: Panel, no_data: str) -> None:
    ax.set_title(panel.title, fontsize=15, loc="left")
    ax.tick_params(labelsize=12)
    if not panel.categories or not any(any(s.values) for s in panel.series):
        ax.text(0.5, 0.5, no_data, ha="center", va="center", fontsize=15, transform=ax.transAxes)
        ax.set_xticks([])
        ax.set_yticks([])
        return
    count = len(panel.series)
    width = 0.8 / count
    positions = range(len(panel.categories))
    for index, series in enumerate(panel.series):
        offsets = [p - 0.4 + width * (index + 0.5) for p in positions]
        color = COLORS[index % len(COLORS)]
        if panel.horizontal:
            bars = ax.barh(offsets, series.values, height=width, label=series.label, color=color)
        else:
            bars = ax.bar(offsets, series.values, width=width, label=series.label, color=color)
        if len(panel.categories) * count <= 40:
            labels = [_number(value) for value in series.values]
            ax.bar_label(bars, labels=labels, fontsize=10, padding=2)
    _axis_labels(ax, panel)
    if count > 1:
        # Below the plot, in one row: never over the bars.
        ax.legend(
            fontsize=12, loc="upper center", bbox_to_anchor=(0.5, -0.06), ncol=count, frameon=False
        )
    ax.grid(axis="x" if panel.horizontal else "y", alpha=0.3)
    ax.set_axisbelow(True)


def _axis_labels(ax: Axes, panel: Panel) -> None:
    from matplotlib.ticker import MaxNLocator

    positions = list(range(len(panel.categories)))
    if panel.horizontal:
        ax.set_yticks(positions, labels=list(panel.categories))
        ax.invert_yaxis()  # the first (busiest) on top
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        return
    # Every label where they fit; else every n-th, so a month of days stays legible.
    step = max(1, math.ceil(len(positions) / MAX_LABELS))
    ax.set_xticks(positions[::step], labels=list(panel.categories[::step]))
    if panel.unit:
        ax.set_ylabel(panel.unit, fontsize=12)
    else:
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts: no 0.25 of a ticket


def _number(value: float) -> str:
    if not value:
        return ""
    return f"{value:g}"
