"""The RT listing window: one absolute TicketSQL date, in the zone RT reads it in.

RT 5.0.3 reads ``'N seconds ago'`` wrongly for most N (``1000`` is 10:00, ``3600`` is
a year), so a window is an absolute date; ``tests/test_rt_window_real.py`` proves the
same windows against the real server. These check the query shape with respx.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
import respx

from config.errors import ConfigError
from config.routing import load_routing_text
from config.settings import load_settings
from connectors.rt import RequestTrackerConnector, rt_date_bound
from modest.app import build_helpdesk
from tests.support.routing import ROUTING_YAML

WEB = "http://rt.test"
API = f"{WEB}/REST/2.0/"
MOSCOW = ZoneInfo("Europe/Moscow")
BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 22, 9, 40, 0, tzinfo=UTC)
EMPTY = {"items": [], "count": 0, "total": None, "pages": None, "per_page": 100, "page": 1}


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=API, assert_all_called=False) as router:
        # The listed tickets' replies (none here; see test_connector_rt_replies.py).
        router.get("transactions").respond(json=EMPTY)
        yield router


def rt_reading(bound: str, zone: ZoneInfo) -> datetime:
    """What RT 5 makes of a TicketSQL wall time: read as UTC, less the zone's offset there.

    The same arithmetic as ``RT::Date::ParseByTimeParseDate`` (checked against RT's own
    code in ``tests/test_rt_window_real.py``).
    """
    as_utc = datetime.fromisoformat(bound).replace(tzinfo=UTC)
    offset = as_utc.astimezone(zone).utcoffset()
    assert offset is not None
    return as_utc - offset


async def window_queries(
    api: respx.MockRouter, connector: RequestTrackerConnector, since: datetime
) -> list[str]:
    route = api.get("tickets").respond(json=EMPTY)
    assert [t async for t in connector.list_updated_since(since)] == []
    return [call.request.url.params["query"] for call in route.calls]


@pytest.mark.parametrize(
    ("lookback", "bound"),
    [
        (timedelta(seconds=5), "2026-11-22 09:39:55"),
        (timedelta(minutes=20), "2026-11-22 09:20:00"),
        (timedelta(hours=1), "2026-11-22 08:40:00"),
        (timedelta(hours=3), "2026-11-22 06:40:00"),
        (timedelta(days=2), "2026-11-20 09:40:00"),
    ],
)
async def test_every_lookback_is_one_absolute_utc_date(
    api: respx.MockRouter, lookback: timedelta, bound: str
) -> None:
    connector = RequestTrackerConnector(base_url=WEB, token="1-2-t")
    try:
        queries = await window_queries(api, connector, NOW - lookback)
    finally:
        await connector.aclose()
    assert queries == [f"LastUpdated >= '{bound}'"]


async def test_the_window_is_written_in_the_users_rt_zone_and_the_same_on_every_page(
    api: respx.MockRouter,
) -> None:
    template = {"id": "7", "Subject": "s", "Status": "resolved", "Created": "2026-11-01T00:00Z"}
    full = [{**template, "id": str(100 + n)} for n in range(100)]
    page1 = api.get("tickets", params={"page": "1"}).respond(json={**EMPTY, "items": full})
    page2 = api.get("tickets", params={"page": "2"}).respond(json=EMPTY)
    connector = RequestTrackerConnector(base_url=WEB, token="1-2-t", timezone=MOSCOW)
    try:
        listed = [t async for t in connector.list_updated_since(NOW - timedelta(hours=1))]
    finally:
        await connector.aclose()
    assert len(listed) == 100
    queries = [r.calls[0].request.url.params["query"] for r in (page1, page2)]
    assert queries == ["LastUpdated >= '2026-11-22 11:40:00'"] * 2, "08:40 UTC in Moscow"


def test_bound_whole_seconds_naive_utc_and_no_later_than_meant() -> None:
    assert rt_date_bound(datetime(2026, 11, 22, 9, 40, 7, 900_000, tzinfo=UTC), UTC) == (
        "2026-11-22 09:40:07"
    )
    assert rt_date_bound(datetime(2026, 11, 22, 9, 40), MOSCOW) == "2026-11-22 12:40:00"
    assert rt_date_bound(NOW, ZoneInfo("America/New_York")) == "2026-11-22 04:40:00"
    # 23:30 UTC on 24 October is 01:30 in Berlin (summer time), which RT would read
    # with winter time's offset, as an hour later. No wall time reads as 23:30 (RT's
    # readings jump from 22:59:59 to 00:00), so the bound goes back an hour: overlap.
    autumn = datetime(2026, 10, 24, 23, 30, tzinfo=UTC)
    plain = autumn.astimezone(BERLIN).strftime("%Y-%m-%d %H:%M:%S")
    assert rt_reading(plain, BERLIN) == autumn + timedelta(hours=1)
    assert rt_date_bound(autumn, BERLIN) == "2026-10-25 00:30:00"
    assert rt_reading(rt_date_bound(autumn, BERLIN), BERLIN) == autumn - timedelta(hours=1)
    for step in range(-96, 97):  # 15-minute steps over two days around each change
        for change in (
            datetime(2026, 3, 29, 1, tzinfo=UTC),
            datetime(2026, 10, 25, 1, tzinfo=UTC),
        ):
            moment = change + timedelta(minutes=15 * step)
            early = moment - rt_reading(rt_date_bound(moment, BERLIN), BERLIN)
            assert timedelta(0) <= early <= timedelta(hours=1), moment


@pytest.fixture
def no_rt_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("RT_URL", "RT_TOKEN", "RT_USER", "RT_PASSWORD", "RT_TIMEZONE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.mark.usefixtures("no_rt_env")
async def test_rt_timezone_setting_reaches_the_window(
    api: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    routing = load_routing_text(ROUTING_YAML + "helpdesk:\n  kind: rt\n", "routing.yaml")
    base = {"env_file": None, "telegram_bot_token": "1:x", "rt_url": WEB, "rt_token": "1-2-t"}
    assert load_settings(**base).rt_timezone == "UTC"
    with pytest.raises(ConfigError, match="RT_TIMEZONE: unknown time zone 'Mars/Olympus'"):
        load_settings(**base, rt_timezone="Mars/Olympus")
    monkeypatch.setenv("RT_TIMEZONE", "Europe/Moscow")
    connector = build_helpdesk(load_settings(**base), routing)
    assert isinstance(connector, RequestTrackerConnector)
    try:
        queries = await window_queries(api, connector, NOW)
    finally:
        await connector.aclose()
    assert queries == ["LastUpdated >= '2026-11-22 12:40:00'"]


async def test_a_transient_failure_repeats_the_same_window(api: respx.MockRouter) -> None:
    route = api.get("tickets").mock(
        side_effect=[httpx.Response(503), httpx.Response(200, json=EMPTY)]
    )
    connector = RequestTrackerConnector(base_url=WEB, token="1-2-t", retry_wait=0)
    try:
        assert [t async for t in connector.list_updated_since(NOW)] == []
    finally:
        await connector.aclose()
    queries = {call.request.url.params["query"] for call in route.calls}
    assert queries == {"LastUpdated >= '2026-11-22 09:40:00'"}
    assert route.call_count == 2
