"""The statistics as text, in the bot's language: for Telegram (HTML) and for files."""

from __future__ import annotations

import html
from collections.abc import Callable

from bot.i18n import Texts
from dispatch.stats.command import Section
from dispatch.stats.figures import Breakdown, Durations, KindFigure, SlaCount, Stats

#: Telegram allows 4096 characters; long lists of people or types are cut to fit.
MAX_CHARS = 3800
#: Items of a breakdown shown in one line (the CSV has all of them).
TOP = 8

#: Short weekday names (message ids).
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

#: SLA targets as the statistics name them (message ids).
SLA_TARGETS = {"first_response": "First response", "resolution": "Resolution"}


def duration(seconds: float | None, t: Texts) -> str:
    """``45 s``, ``12 min``, ``3 h 05 min``, ``2 d 4 h``; ``—`` for none."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return t("{n} s", n=round(seconds))
    minutes = round(seconds / 60)
    if minutes < 60:
        return t("{minutes} min", minutes=minutes)
    if minutes < 24 * 60:
        return t("{hours} h {minutes:02d} min", hours=minutes // 60, minutes=minutes % 60)
    hours = round(seconds / 3600)
    return t("{days} d {hours} h", days=hours // 24, hours=hours % 24)


def clock_hours(minutes: int) -> str:
    """``5:30``."""
    return f"{minutes // 60}:{minutes % 60:02d}"


def percent(share: float | None) -> str:
    """``12 %``; ``—`` for none."""
    return "—" if share is None else f"{share * 100:.0f} %"


class SummaryWriter:
    """Writes each section's lines: Telegram HTML cut to fit a message, or plain text."""

    def __init__(self, texts: Texts, *, markup: bool) -> None:
        self._t = texts
        self._markup = markup
        self._limit = MAX_CHARS if markup else None

    def lines(self, stats: Stats, section: Section, *, weekly: bool = False) -> list[str]:
        """The section's lines, the title first."""
        writers: dict[Section, Callable[[Stats], list[str]]] = {
            Section.OVERVIEW: self._overview,
            Section.PEOPLE: self._people,
            Section.TYPES: self._types,
            Section.SLA: self._sla,
        }
        lines = [self._title(stats, section, weekly), *writers[section](stats)]
        while self._limit and len(lines) > 2 and sum(len(x) + 1 for x in lines) > self._limit:
            lines.pop(-1)
        return lines

    def _title(self, stats: Stats, section: Section, weekly: bool) -> str:
        t, period = self._t, stats.period
        dates = {"first": f"{period.first:%d.%m.%Y}", "last": f"{period.last:%d.%m.%Y}"}
        titles = {
            Section.OVERVIEW: (
                "📊 " + t("Weekly digest, {first} – {last}", **dates)
                if weekly
                else "📊 " + t("Statistics, {first} – {last}", **dates)
            ),
            Section.PEOPLE: "👥 " + t("People, {first} – {last}", **dates),
            Section.TYPES: "🗂 " + t("Types and priorities, {first} – {last}", **dates),
            Section.SLA: "⏱ " + t("SLA, {first} – {last}", **dates),
        }
        return self._bold(titles[section])

    def _overview(self, stats: Stats) -> list[str]:
        t = self._t
        return [
            self._head(t("Inflow")) + self._inflow(stats),
            t("Channels") + ": " + self._top(stats.inflow.by_channel),
            self._head(t("Dispatch")) + self._dispatch(stats),
            self._head(t("Flow")) + self._flow(stats),
            self._head(t("First response")) + self._summary(stats.response.first_response),
            self._head(t("Resolution"))
            + self._summary(stats.response.resolution)
            + "; "
            + t(
                "reopened {n} ({share})",
                n=stats.response.reopened,
                share=percent(stats.response.reopen_rate),
            ),
            self._head(t("Developer tasks"))
            + t(
                "created {created}, done {done}, average time to done {average}",
                created=stats.dev_tasks.created,
                done=stats.dev_tasks.done,
                average=duration(stats.dev_tasks.to_done.average, t),
            ),
            self._head(t("Forbidden words")) + self._quality(stats),
            self._head(t("SLA")) + self._sla_short(stats),
        ]

    def _inflow(self, stats: Stats) -> str:
        t, inflow = self._t, stats.inflow
        parts = [t.ngettext("{n} new ticket", "{n} new tickets", inflow.created)]
        if inflow.created:
            day, most = max(inflow.by_day, key=lambda item: item[1])
            parts.append(t("busiest day {day} ({n})", day=f"{day:%d.%m}", n=most))
            cells = [
                (n, weekday, hour)
                for weekday, hours in enumerate(inflow.by_weekday_hour)
                for hour, n in enumerate(hours)
            ]
            n, weekday, hour = max(cells, key=lambda cell: (cell[0], -cell[1], -cell[2]))
            when = f"{t(WEEKDAYS[weekday])} {hour:02d}:00"
            parts.append(t("busiest hour {when} ({n})", when=when, n=n))
        return "; ".join(parts)

    def _dispatch(self, stats: Stats) -> str:
        t, dispatch = self._t, stats.dispatch
        waits = dispatch.assignment
        return "; ".join(
            [
                t.ngettext("{n} ticket assigned", "{n} tickets assigned", waits.count),
                t(
                    "median {median}, p90 {p90}",
                    median=duration(waits.p50, t),
                    p90=duration(waits.p90, t),
                ),
                t(
                    "after more than {interval}: {n}",
                    interval=duration(dispatch.nag_interval.total_seconds(), t),
                    n=dispatch.over_nag,
                ),
                t.ngettext("{n} reminder", "{n} reminders", dispatch.reminders)
                + ", "
                + t.ngettext("{n} escalation", "{n} escalations", dispatch.escalations),
            ]
        )

    def _flow(self, stats: Stats) -> str:
        flow = stats.flow
        return self._t(
            "solved {solved}; open at the end {open}, unassigned {unassigned}; "
            "of the new: solved {new_solved}, unsolved {new_unsolved}",
            solved=flow.solved,
            open=flow.open_at_end,
            unassigned=flow.unassigned_at_end,
            new_solved=flow.new_solved,
            new_unsolved=flow.new_unsolved,
        )

    def _summary(self, durations: Durations) -> str:
        t = self._t
        return t(
            "average {average}, p90 {p90}",
            average=duration(durations.average, t),
            p90=duration(durations.p90, t),
        ) + (" (" + t.ngettext("{n} ticket", "{n} tickets", durations.count) + ")")

    def _quality(self, stats: Stats) -> str:
        quality = stats.quality
        shown = self._t.ngettext("{n} reply", "{n} replies", quality.replies)
        if quality.by_word:
            shown += " (" + self._top(quality.by_word) + ")"
        return shown

    def _sla_short(self, stats: Stats) -> str:
        sla = stats.sla
        if sla is None:
            return self._t("not configured")
        return self._t(
            "{share} met ({met} of {total})",
            share=percent(sla.met_share),
            met=sla.met,
            total=sla.met + sla.breached,
        )

    def _people(self, stats: Stats) -> list[str]:
        t = self._t
        lines = []
        for person in stats.people:
            line = (
                self._bold(self._esc(person.name))
                + ": "
                + t(
                    "assigned {assigned}, closed {closed}, replies {replies}, time {time} "
                    "(no charge {free}), resolution on average {average}",
                    assigned=person.assigned,
                    closed=person.closed,
                    replies=person.replies,
                    time=clock_hours(person.billable_minutes + person.free_minutes),
                    free=clock_hours(person.free_minutes),
                    average=duration(person.resolution.average, t),
                )
            )
            if person.forbidden:
                line += "; " + t("replies with forbidden words: {n}", n=person.forbidden)
            lines.append(line)
        if not lines:
            lines.append(t("No activity in this period."))
        lines.append(self._bold(t("Departments")))
        lines += [
            self._esc(department.name)
            + ": "
            + t(
                "assigned {assigned}, closed {closed}, resolution on average {average}",
                assigned=department.assigned,
                closed=department.closed,
                average=duration(department.resolution.average, t),
            )
            for department in stats.departments
        ]
        if len(stats.lines) > 1:
            lines += self._lines(stats)
        return lines

    def _lines(self, stats: Stats) -> list[str]:
        t = self._t
        lines = [self._bold(t("Support lines"))]
        for figure in stats.lines:
            line = (
                t("Line {line}", line=figure.line)
                + ": "
                + t(
                    "assigned {assigned}, closed {closed}, resolution on average {average}",
                    assigned=figure.assigned,
                    closed=figure.closed,
                    average=duration(figure.resolution.average, t),
                )
            )
            if figure.passed_on:
                line += "; " + t("passed to the next line {n}", n=figure.passed_on)
            lines.append(line)
        return lines

    def _types(self, stats: Stats) -> list[str]:
        t, response, inflow = self._t, stats.response, stats.inflow
        lines = [self._bold(t("By type"))]
        lines += [self._kind(figure) for figure in response.by_type] or ["—"]
        lines.append(self._bold(t("By priority")))
        lines += [self._kind(figure) for figure in response.by_priority] or ["—"]
        for title, counts in (
            (t("By status now"), stats.flow.by_status),
            (t("By channel"), inflow.by_channel),
            (t("By client"), inflow.by_client),
        ):
            lines.append(self._head(title) + self._top(counts))
        return lines

    def _kind(self, figure: KindFigure) -> str:
        t = self._t
        return (
            self._esc(figure.key or t("unknown"))
            + ": "
            + t(
                "{created} new, {closed} closed; first response {response}; "
                "resolution {average}, p90 {p90}",
                created=figure.created,
                closed=figure.closed,
                response=duration(figure.first_response.average, t),
                average=duration(figure.resolution.average, t),
                p90=duration(figure.resolution.p90, t),
            )
        )

    def _sla(self, stats: Stats) -> list[str]:
        t, sla = self._t, stats.sla
        if sla is None:
            return [t("SLA is not configured: the share of tickets that met it will show here.")]
        lines = [
            t(
                "Met: {share} ({met} of {total}); breached: {breached}",
                share=percent(sla.met_share),
                met=sla.met,
                total=sla.met + sla.breached,
                breached=sla.breached,
            )
        ]
        lines += [
            self._head(t(SLA_TARGETS.get(count.key, count.key))) + self._sla_count(count)
            for count in sla.by_target
        ]
        if sla.by_policy:
            lines.append(self._bold(t("By SLA policy")))
            lines += [
                self._esc(count.key) + ": " + self._sla_count(count) for count in sla.by_policy
            ]
        lines.append(
            t(
                "A target counts in the period its clock stopped in, or, still running, "
                "the period its time ran out in."
            )
        )
        return lines

    def _sla_count(self, count: SlaCount) -> str:
        return self._t(
            "{share} ({met} of {total}), missed {missed}",
            share=percent(count.met_share),
            met=count.met,
            total=count.met + count.missed,
            missed=count.missed,
        )

    def _top(self, counts: Breakdown) -> str:
        if not counts:
            return "—"
        shown = [f"{self._esc(key or self._t('unknown'))} {n}" for key, n in counts[:TOP]]
        if len(counts) > TOP:
            shown.append(self._t("other {n}", n=sum(n for _, n in counts[TOP:])))
        return ", ".join(shown)

    def _head(self, label: str) -> str:
        return self._bold(label) + ": "

    def _bold(self, text: str) -> str:
        return f"<b>{text}</b>" if self._markup else text

    def _esc(self, text: str) -> str:
        return html.escape(text, quote=False) if self._markup else text


def stats_plain(stats: Stats, texts: Texts) -> str:
    """Every section as plain text (``modest stats --format text``)."""
    writer = SummaryWriter(texts, markup=False)
    return "\n\n".join("\n".join(writer.lines(stats, section)) for section in Section) + "\n"
