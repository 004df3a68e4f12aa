"""Polling windows against the real RT 5.0.3: each lookback lists exactly its tickets.

RT's REST2 cannot set a ticket's dates, so the tickets are made through REST2 and then
dated back with RT's own Perl API (``tests/support/rt_admin.pl``, run as RT's server
user, as ``rt-up`` runs its setup); the same script makes a queue of these tests' own
and two API users who see only that queue: one without a time zone of its own (RT's
``$Timezone``, UTC here) and one whose RT preference is America/New_York. Every
ticket is resolved when the module ends. Needs root (to run as RT's user), as
``rt-up`` does.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

import httpx
import pytest

from connectors.rt import RequestTrackerConnector, rt_date_bound
from tests.support.rt import RtServer, rt_admin

QUEUE = "PollWindows"
#: API user -> the zone RT reads its dates in (the first has no preference: $Timezone).
USERS: dict[str, tzinfo] = {"window-utc": UTC, "window-ny": ZoneInfo("America/New_York")}
LOOKBACKS = {
    "5s": timedelta(seconds=5),
    "20min": timedelta(minutes=20),
    "1h": timedelta(hours=1),
    "3h": timedelta(hours=3),
    "2d": timedelta(days=2),
}


@dataclass(frozen=True)
class EdgeTickets:
    """Tickets changed around one window's edge: a second after it, at it, a second before.

    The one at the edge was also created there (a new ticket, whose text is read);
    the others were created days before (old tickets, changed now and then).
    """

    edge: datetime
    inside: str
    at_edge: str
    outside: str


@pytest.fixture(scope="module")
def edges(rt_server: RtServer) -> Iterator[dict[str, EdgeTickets]]:
    """For every lookback, tickets dated around ``now - lookback``."""
    users = [f"{name}={'-' if zone is UTC else zone}" for name, zone in USERS.items()]
    rt_admin("setup", *users, password=rt_server.password)
    headers = {"Authorization": f"token {rt_server.token}"}
    root = httpx.Client(base_url=f"{rt_server.url}/REST/2.0/", headers=headers, timeout=10)
    now = datetime.now(UTC).replace(microsecond=0)
    created: dict[str, EdgeTickets] = {}
    dates: list[str] = []
    for name, lookback in LOOKBACKS.items():
        edge = now - lookback
        second, long_ago = timedelta(seconds=1), (now - timedelta(days=5)).isoformat()
        ids = []
        for where, updated, made in (
            ("inside", edge + second, long_ago),
            ("at the edge", edge, edge.isoformat()),
            ("outside", edge - second, long_ago),
        ):
            subject = f"Window {name}, {where} [{uuid.uuid4().hex[:8]}]"
            body = {"Queue": QUEUE, "Subject": subject, "Content": f"{subject}: text"}
            answer = root.post("ticket", json={**body, "ContentType": "text/plain"})
            assert answer.status_code == 201, answer.text
            ids.append(str(answer.json()["id"]))
            dates.append(f"{ids[-1]}={updated.isoformat()},{made}".replace("+00:00", ""))
        created[name] = EdgeTickets(edge, *ids)
    rt_admin("backdate", *dates)
    yield created
    for tickets in created.values():
        for ticket_id in (tickets.inside, tickets.at_edge, tickets.outside):
            root.put(f"ticket/{ticket_id}", json={"Status": "resolved"})
    root.close()


@pytest.mark.parametrize("user", list(USERS))
@pytest.mark.parametrize("lookback", list(LOOKBACKS))
async def test_every_lookback_lists_its_edge_and_nothing_before_it(
    rt_server: RtServer, edges: dict[str, EdgeTickets], lookback: str, user: str
) -> None:
    tickets = edges[lookback]
    connector = RequestTrackerConnector(
        base_url=rt_server.url, user=user, password=rt_server.password, timezone=USERS[user]
    )
    try:
        covering = {t.external_id: t async for t in connector.list_updated_since(tickets.edge)}
        later_since = tickets.edge + timedelta(seconds=1)
        later = {t.external_id async for t in connector.list_updated_since(later_since)}
    finally:
        await connector.aclose()

    assert tickets.inside in covering
    assert tickets.at_edge in covering, "changed at the window's first second"
    assert tickets.outside not in covering, "changed a second before the window"
    assert covering[tickets.at_edge].created_at == tickets.edge
    assert covering[tickets.at_edge].body.endswith(": text"), "a new ticket: its text is read"
    assert covering[tickets.inside].body == "", "an old ticket: no text read"
    assert tickets.inside in later
    assert tickets.at_edge not in later, "a second before this window"


async def test_the_zone_must_be_the_one_rt_reads_the_users_dates_in(
    rt_server: RtServer, edges: dict[str, EdgeTickets]
) -> None:
    since = edges["1h"].edge
    found = {}
    for zone in (UTC, USERS["window-ny"]):
        connector = RequestTrackerConnector(
            base_url=rt_server.url, user="window-ny", password=rt_server.password, timezone=zone
        )
        try:
            found[zone] = {t.external_id async for t in connector.list_updated_since(since)}
        finally:
            await connector.aclose()
    # RT reads the UTC wall time as New York's: five hours later, after every ticket.
    assert edges["1h"].inside not in found[UTC]
    assert edges["1h"].inside in found[USERS["window-ny"]]


@pytest.mark.parametrize(
    ("zone", "changes"),
    [
        ("Europe/Berlin", ["2026-03-29T01:00:00", "2026-10-25T01:00:00"]),
        ("America/New_York", ["2026-03-08T07:00:00", "2026-11-01T06:00:00"]),
    ],
)
def test_rt_reads_the_bound_no_later_than_meant_across_daylight_saving_changes(
    rt_server: RtServer, zone: str, changes: list[str]
) -> None:
    changes_utc = [datetime.fromisoformat(change).replace(tzinfo=UTC) for change in changes]
    moments = [
        change + timedelta(minutes=30 * step) for change in changes_utc for step in range(-24, 25)
    ]
    bounds = [rt_date_bound(moment, ZoneInfo(zone)) for moment in moments]
    plain = [m.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M:%S") for m in moments]
    readings = [int(line) for line in rt_admin("read", zone, *bounds, *plain)]
    bound_readings, plain_readings = readings[: len(moments)], readings[len(moments) :]

    for moment, reading in zip(moments, bound_readings, strict=True):
        early = moment.timestamp() - reading
        assert 0 <= early <= 3600, f"{moment}: RT reads the bound {early} s early"
        if min(abs(moment - change) for change in changes_utc) > timedelta(hours=6):
            assert early == 0, f"{moment}: RT reads the bound {early} s early"
    # The plain wall time would start some windows an hour late: RT's offset quirk.
    assert any(r > m.timestamp() for r, m in zip(plain_readings, moments, strict=True))
