"""``modest stats``: a period's statistics as text, CSV or a PNG chart."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import date
from pathlib import Path

from bot.charts import chart_for, draw_png
from bot.i18n import Texts
from bot.stats_text import stats_plain
from config.routing import RoutingConfig
from dispatch.stats.command import Section
from dispatch.stats.export import stats_csv
from dispatch.stats.figures import Stats
from dispatch.stats.period import Period, PeriodError, between
from dispatch.stats.service import StatsService
from storage.db import Database

_CHARTS = {
    "overview": Section.OVERVIEW,
    "people": Section.PEOPLE,
    "types": Section.TYPES,
    "sla": Section.SLA,
}


def write_stats(args: argparse.Namespace, routing: RoutingConfig, database_url: str) -> int:
    """Compute the period's figures and write them in the chosen format."""
    try:
        period = between(date.fromisoformat(args.first), date.fromisoformat(args.last), routing.tz)
    except (ValueError, PeriodError) as exc:
        print(f"modest: {exc}", file=sys.stderr)
        return 2
    if args.format == "png" and not args.out:
        print("modest: --format png needs --out FILE", file=sys.stderr)
        return 2
    stats = asyncio.run(_compute(database_url, routing, period))
    texts = Texts(routing.language)
    if args.format == "csv":
        data = stats_csv(stats)
    elif args.format == "png":
        chart = chart_for(stats, _CHARTS[args.section], texts)
        if chart is None:
            print("modest: SLA is not configured: no SLA chart", file=sys.stderr)
            return 2
        data = draw_png(chart, no_data=texts("No data for this period."))
    else:
        data = stats_plain(stats, texts).encode("utf-8")
    if args.out:
        Path(args.out).write_bytes(data)
        print(args.out)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return 0


async def _compute(url: str, routing: RoutingConfig, period: Period) -> Stats:
    database = Database(url)
    try:
        return await StatsService(database, routing).compute(period)
    finally:
        await database.dispose()
