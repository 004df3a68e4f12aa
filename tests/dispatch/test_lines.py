"""Passing tickets to the next support line, on a controllable clock."""

from __future__ import annotations

import asyncio

from sqlmodel import col, select, update

from bot.i18n import Texts
from bot.renderers import TelegramRenderer
from dispatch.events import TicketLog
from dispatch.helpdesk_notes import HelpdeskNotes
from dispatch.job_payloads import HelpdeskNote
from dispatch.lines.service import LineOutcome, LineService
from dispatch.models import TicketEventKind
from storage.db import Database
from storage.models import JobRow, TicketRow
from tests.support.actors import telegram_actor
from tests.support.reminders import Clock
from tests.support.sla import LINES, MONDAY_10, SlaServices, sla_routing, sla_services

IVAN, OLGA, ANNA = 1001, 1002, 1004


async def olga_has(database: Database, **fields: str) -> tuple[SlaServices, int, int]:
    """Olga has ticket 1 and is asked for the department of line 2."""
    s = sla_services(database, sla_routing(departments=LINES), Clock(MONDAY_10))
    ticket = await s.new_ticket("1", **fields)
    await s.assignment.assign(
        ticket_id=ticket,
        department_key="support",
        person_key="olga",
        actor=telegram_actor(s.routing, IVAN),
    )
    olga = telegram_actor(s.routing, OLGA)
    assert await s.lines.start(ticket_id=ticket, actor=olga) == LineOutcome.OK
    async with database.unit_of_work() as uow:
        question = (await uow.messages.find(ticket_id=ticket, kind="line_question"))[0]
        handover = await uow.lines.by_question(question_id=question.id or 0)
    assert handover is not None
    assert handover.id is not None
    return s, ticket, handover.id


async def test_only_the_assignee_passes_on_and_only_where_a_next_line_is(
    database: Database,
) -> None:
    s, ticket, _ = await olga_has(database)
    ivan = telegram_actor(s.routing, IVAN)
    assert await s.lines.start(ticket_id=ticket, actor=ivan) == LineOutcome.NOT_YOURS
    assert await s.lines.start(ticket_id=999, actor=ivan) == LineOutcome.UNKNOWN
    plain = sla_services(database, sla_routing(), s.clock)  # no department above line 1
    olga = telegram_actor(plain.routing, OLGA)
    assert await plain.lines.start(ticket_id=ticket, actor=olga) == LineOutcome.NO_NEXT_LINE


async def test_a_double_tap_or_two_at_once_pass_the_ticket_once(database: Database) -> None:
    s, ticket, handover = await olga_has(database)
    olga = telegram_actor(s.routing, OLGA)
    outcomes = await asyncio.gather(
        *(
            s.lines.pass_on(handover_id=handover, department_key="experts", actor=olga)
            for _ in range(3)
        )
    )
    assert sorted(outcomes) == [LineOutcome.DONE_ALREADY] * 2 + [LineOutcome.OK]
    assert len(await s.events(ticket, "passed_to_line")) == 1
    ivan = telegram_actor(s.routing, IVAN)
    wrong = await s.lines.pass_on(handover_id=handover, department_key="experts", actor=ivan)
    assert wrong == LineOutcome.NOT_YOURS


async def test_a_department_not_on_the_next_line_is_refused(database: Database) -> None:
    s, ticket, handover = await olga_has(database)
    olga = telegram_actor(s.routing, OLGA)
    for key in ("platform", "support", "nope"):
        outcome = await s.lines.pass_on(handover_id=handover, department_key=key, actor=olga)
        assert outcome == LineOutcome.UNKNOWN
    assert (await s.ticket(ticket)).line == 1


async def test_passed_on_the_ticket_is_reminded_again_and_its_clocks_keep_running(
    database: Database,
) -> None:
    s, ticket, handover = await olga_has(database, priority="urgent")
    s.clock.advance(minutes=5)
    olga = telegram_actor(s.routing, OLGA)
    await s.lines.pass_on(handover_id=handover, department_key="experts", actor=olga)
    async with database.unit_of_work() as uow:
        nag = await uow.nags.get(ticket_id=ticket)
    assert nag is not None
    assert nag.active, "back in dispatch: reminded like a new one"
    resolution = (await s.clocks(ticket))["resolution"]
    assert resolution.since is not None
    assert resolution.used_s == 0, "not even paused"
    row = await s.ticket(ticket)
    assert (row.state, row.line, row.assignee_key, row.stage) == (
        "unassigned",
        2,
        None,
        "classification",
    )


async def test_the_helpdesk_still_naming_the_old_assignee_does_not_take_it_back(
    database: Database,
) -> None:
    s, ticket, handover = await olga_has(database)
    async with database.unit_of_work() as uow:
        # The assignment reached the helpdesk before the hand-over.
        await uow.session.execute(
            update(TicketRow).where(col(TicketRow.id) == ticket).values(writeback="done")
        )
        await uow.commit()
    olga = telegram_actor(s.routing, OLGA)
    await s.lines.pass_on(handover_id=handover, department_key="experts", actor=olga)
    await s.send("1", TicketEventKind.UPDATED, assignee_ref="12", subject="still Olga's")
    assert (await s.ticket(ticket)).state == "unassigned"
    await s.send("1", TicketEventKind.UPDATED, assignee_ref="13")  # assigned anew, there
    row = await s.ticket(ticket)
    assert (row.state, row.assignee_key) == ("assigned", "petr")


async def test_a_reply_to_the_question_is_the_comment_and_other_replies_are_not(
    database: Database,
) -> None:
    s, ticket, handover = await olga_has(database)
    async with database.unit_of_work() as uow:
        (question,) = await uow.messages.find(ticket_id=ticket, kind="line_question")
        await uow.messages.set_message_id(message_row_id=question.id or 0, message_id=77)
        await uow.commit()
    olga, anna = telegram_actor(s.routing, OLGA), telegram_actor(s.routing, ANNA)
    answer = await s.lines.comment(chat_id=OLGA, reply_to_message_id=77, text=" Why ", actor=olga)
    assert answer == LineOutcome.OK
    assert (
        await s.lines.comment(chat_id=OLGA, reply_to_message_id=78, text="x", actor=olga) is None
    )
    refused = await s.lines.comment(chat_id=OLGA, reply_to_message_id=77, text="x", actor=anna)
    assert refused == LineOutcome.NOT_YOURS
    await s.lines.pass_on(handover_id=handover, department_key="experts", actor=olga)
    (passed,) = await s.events(ticket, "passed_to_line")
    assert passed.detail == {"comment": "Why"}
    late = await s.lines.comment(chat_id=OLGA, reply_to_message_id=77, text="x", actor=olga)
    assert late == LineOutcome.DONE_ALREADY


async def test_the_helpdesk_gets_an_internal_note_of_the_hand_over(database: Database) -> None:
    s, ticket, handover = await olga_has(database)
    renderer = TelegramRenderer(Texts("en"), s.routing.tz)
    events = TicketLog(clock=s.clock)
    notes = HelpdeskNotes(Texts("en"))
    lines = LineService(database, s.routing, renderer, events, notes=notes, clock=s.clock)
    olga = telegram_actor(s.routing, OLGA)
    async with database.unit_of_work() as uow:
        question = (await uow.messages.find(ticket_id=ticket, kind="line_question"))[0]
        await uow.messages.set_message_id(message_row_id=question.id or 0, message_id=5)
        await uow.commit()
    await lines.comment(chat_id=OLGA, reply_to_message_id=5, text="printers", actor=olga)
    assert await lines.pass_on(handover_id=handover, department_key="experts", actor=olga) == "ok"
    async with database.unit_of_work() as uow:
        jobs = (await uow.session.execute(select(JobRow))).scalars().all()
    notes_queued = [HelpdeskNote.of(job) for job in jobs if job.kind == HelpdeskNote.job_kind]
    assert [note.text for note in notes_queued] == [
        "Passed to line 2 (Experts) by Olga Sidorova: printers"
    ]
