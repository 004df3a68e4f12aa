"""Time prompts with a controllable clock: asked again, /missing, reopen, package on the card."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import select

from dispatch.models import Client, HelpdeskEvent, TicketData, TicketEventKind
from dispatch.time_tracking import TimeOutcome
from storage.db import Database
from storage.models import OutboxRow, TicketRow, TimeEntryRow, TimePromptRow
from tests.support.actors import telegram_actor
from tests.support.reminders import Clock, Services, routing_with, services

OLGA = 1002
HOURS = 'working_hours:\n  mon-fri: "09:00-19:00"\n'
CLIENT = (
    "clients:\n  - key: acme\n    name: Acme\n    match: {companies: [Acme]}\n"
    "    hours_per_month: 1\n"
)


async def event(s: Services, kind: TicketEventKind, n: int, **fields: object) -> None:
    data = TicketData(external_id="1", number="N-1", subject="s", assignee_ref="12", **fields)  # type: ignore[arg-type]
    await s.intake.accept_event(HelpdeskEvent("generic", kind, f"{kind}-{n}", data))


async def prompts(db: Database) -> list[TimePromptRow]:
    async with db.unit_of_work() as uow:
        return list((await uow.session.execute(select(TimePromptRow))).scalars().all())


async def test_an_unanswered_prompt_is_asked_again_within_working_hours(
    database: Database,
) -> None:
    # Monday 23 Nov 2026, 17:30 Moscow.
    s = services(database, routing_with(HOURS), Clock(datetime(2026, 11, 23, 14, 30, tzinfo=UTC)))
    await event(s, TicketEventKind.CREATED, 1)
    await event(s, TicketEventKind.CLOSED, 2, closed=True)
    assert len(await s.live_sends("time_prompt")) == 1
    s.clock.advance(minutes=59)
    assert await s.followup.ask_again() == 0
    s.clock.advance(minutes=1)  # 18:30
    assert await s.followup.ask_again() == 1
    s.clock.advance(hours=1)  # 19:30: after hours
    assert await s.followup.ask_again() == 0
    s.clock.now = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)  # Tuesday 09:00
    assert await s.followup.ask_again() == 1
    (prompt,) = await prompts(database)
    await s.time.choose(
        prompt_id=prompt.id or 0, minutes=15, billable=True, actor=telegram_actor(s.routing, OLGA)
    )
    s.clock.advance(hours=3)
    assert await s.followup.ask_again() == 0, "answered: asked no more"


async def test_missing_lists_closed_tickets_without_time_by_person(database: Database) -> None:
    s = services(database, routing_with(), Clock())
    await event(s, TicketEventKind.CREATED, 1)
    await event(s, TicketEventKind.CLOSED, 2, closed=True)
    assert not await s.followup.send_missing(chat_id=OLGA), "only in the dispatch chat"
    assert await s.followup.send_missing(chat_id=s.routing.dispatch.chat_id)
    async with database.unit_of_work() as uow:
        rows = (await uow.session.execute(select(OutboxRow))).scalars().all()
    listing = [r for r in rows if "without time" in r.payload.get("text", "")]
    assert "Olga Sidorova" in listing[-1].payload["text"]
    assert "#N-1" in listing[-1].payload["text"]


async def test_reopened_and_closed_again_asks_for_the_additional_time(
    database: Database,
) -> None:
    s = services(database, routing_with(), Clock())
    await event(s, TicketEventKind.CREATED, 1)
    await event(s, TicketEventKind.CLOSED, 2, closed=True)
    (first,) = await prompts(database)
    await s.time.choose(
        prompt_id=first.id or 0, minutes=30, billable=True, actor=telegram_actor(s.routing, OLGA)
    )
    await event(s, TicketEventKind.REOPENED, 3)
    await event(s, TicketEventKind.CLOSED, 4, closed=True)
    second = next(p for p in await prompts(database) if p.round == 2)
    result = await s.time.choose(
        prompt_id=second.id or 0, minutes=45, billable=True, actor=telegram_actor(s.routing, OLGA)
    )
    assert result.outcome == TimeOutcome.OK
    async with database.unit_of_work() as uow:
        entries = (await uow.session.execute(select(TimeEntryRow))).scalars().all()
    assert sorted(e.minutes for e in entries) == [30, 45]
    assert sum(e.minutes for e in entries) == 75


async def test_the_card_of_a_new_ticket_from_a_client_over_its_package_says_so(
    database: Database,
) -> None:
    s = services(database, routing_with(CLIENT), Clock())
    async with database.unit_of_work() as uow:
        old = await uow.tickets.create(
            TicketRow(
                source="generic", external_id="0", number="N-0", subject="old", state="closed"
            )
        )
        assert old.id is not None
        today = datetime.now(UTC).astimezone(s.routing.tz).date()
        await uow.time.add_entry(
            TimeEntryRow(
                ticket_id=old.id,
                person_key="olga",
                minutes=70,
                client_key="acme",
                closed_on=today,
                month=f"{today:%Y-%m}",
            )
        )
        await uow.commit()
    await s.new_ticket("9", client=Client(company="Acme"))
    (card,) = await s.live_sends("card")
    assert "Over its hour package this month: 1:10 of 1:00 h" in card.payload["text"]


async def test_package_thresholds_fire_once_per_month(database: Database) -> None:
    routing = routing_with(
        CLIENT.replace("hours_per_month: 1\n", "hours_per_month: 1\n    manager: ivan\n")
    )
    s = services(database, routing, Clock())
    minutes_per_close = [30, 20, 15, 40]  # 50 %, 83 %, 108 %, 175 %
    for n, minutes in enumerate(minutes_per_close, start=1):
        data = TicketData(
            external_id=str(n),
            number=f"N-{n}",
            subject="s",
            assignee_ref="12",
            client=Client(company="Acme"),
        )
        await s.intake.accept_event(
            HelpdeskEvent("generic", TicketEventKind.CREATED, f"c{n}", data)
        )
        closed = TicketData(
            external_id=str(n),
            number=f"N-{n}",
            subject="s",
            assignee_ref="12",
            client=Client(company="Acme"),
            closed=True,
        )
        await s.intake.accept_event(
            HelpdeskEvent("generic", TicketEventKind.CLOSED, f"x{n}", closed)
        )
        prompt = next(p for p in await prompts(database) if p.state == "asked")
        await s.time.choose(
            prompt_id=prompt.id or 0,
            minutes=minutes,
            billable=True,
            actor=telegram_actor(s.routing, OLGA),
        )
    async with database.unit_of_work() as uow:
        rows = (await uow.session.execute(select(OutboxRow))).scalars().all()
    alerts = [
        r.payload["text"] for r in rows if r.chat_id == 1001 and "📦" in r.payload.get("text", "")
    ]
    # The real figures, not the threshold (issue 17.14).
    assert len(alerts) == 2
    assert "0:50 of 1:00 h used (83%), 0:10 h left" in alerts[0]
    assert "1:05 of 1:00 h used, 0:05 over the package (108%)" in alerts[1]


async def test_one_entry_past_both_thresholds_is_one_message_with_the_real_figures(
    database: Database,
) -> None:
    package = CLIENT.replace("hours_per_month: 1\n", "hours_per_month: 2\n    manager: ivan\n")
    s = services(database, routing_with(package), Clock(datetime(2026, 12, 3, 10, tzinfo=UTC)))
    await event(s, TicketEventKind.CREATED, 1, client=Client(company="Acme"))
    await event(s, TicketEventKind.CLOSED, 2, client=Client(company="Acme"), closed=True)
    (prompt,) = await prompts(database)
    result = await s.time.choose(
        prompt_id=prompt.id or 0, minutes=160, billable=True, actor=telegram_actor(s.routing, OLGA)
    )
    assert result.outcome == TimeOutcome.OK
    async with database.unit_of_work() as uow:
        rows = (await uow.session.execute(select(OutboxRow))).scalars().all()
    alerts = [r.payload["text"] for r in rows if "📦" in r.payload.get("text", "")]
    assert alerts == [
        "📦 <b>Acme</b> · December 2026: 2:40 of 2:00 h used, 0:40 over the package (133%)"
    ]


async def test_forged_quick_answers_are_refused(database: Database) -> None:
    s = services(database, routing_with(), Clock())
    await event(s, TicketEventKind.CREATED, 1)
    await event(s, TicketEventKind.CLOSED, 2, closed=True)
    (prompt,) = await prompts(database)
    for minutes in (-30, 0, 24 * 60 + 1):
        result = await s.time.choose(
            prompt_id=prompt.id or 0,
            minutes=minutes,
            billable=True,
            actor=telegram_actor(s.routing, OLGA),
        )
        assert result.outcome == TimeOutcome.REFUSED, minutes
