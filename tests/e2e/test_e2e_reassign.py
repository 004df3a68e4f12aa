"""After the assignment (issue 17.10): reassign on the card, hand back and take, all
through the bot against the emulator, each an event in the ticket's history."""

from __future__ import annotations

from sqlmodel import select

from config.routing import RoutingConfig, load_routing_text
from connectors.fake import FakeHelpdesk
from storage.models import NagRow, TicketEventRow
from tests.support.buttons import press_labelled, wait_message
from tests.support.dispatching import (
    IVAN,
    OLGA,
    PETR,
    REASSIGN,
    assign_by_taps,
    card_text,
    labels,
    tap,
)
from tests.support.harness import Harness, running_modest, ticket_body
from tests.support.routing import ROUTING_YAML
from tests.support.telegram_emulator import TelegramEmulator

TAKE = "🙋 Take it myself"
HAND_BACK = "↩️ Hand back"


async def history(h: Harness) -> list[tuple[str, dict[str, list[object]], str | None]]:
    """The ticket's events: kind, changes and the actor, oldest first."""
    async with h.service.database.unit_of_work() as uow:
        rows = (await uow.session.execute(select(TicketEventRow))).scalars().all()
    return [(row.kind, row.changes, row.actor) for row in sorted(rows, key=lambda r: r.id or 0)]


async def test_a_dispatcher_reassigns_and_both_assignees_are_told(
    tg: TelegramEmulator, routing: RoutingConfig, sqlite_url: str
) -> None:
    helpdesk = FakeHelpdesk()
    async with running_modest(tg, routing, sqlite_url, helpdesk=helpdesk) as h:
        await h.post_generic(ticket_body("1"))
        card = await h.card()
        await assign_by_taps(h, card.message_id)
        handed = await wait_message(tg, OLGA, "A ticket for you")
        await tg.wait_for(lambda: labels(h, card.message_id) == [REASSIGN])

        answer = await tap(h, card.message_id, PETR, REASSIGN)
        assert answer["text"] == "Only dispatchers can dispatch tickets."
        await tap(h, card.message_id, IVAN, REASSIGN)
        await tg.wait_for(lambda: "Reassign: choose a department" in card_text(h, card.message_id))
        assert labels(h, card.message_id) == ["Support", "Development", "« Cancel"]
        assert "Assigned to Olga Sidorova (Support)" in card_text(h, card.message_id)
        await tap(h, card.message_id, IVAN, "« Cancel")
        await tg.wait_for(lambda: labels(h, card.message_id) == [REASSIGN])

        await tap(h, card.message_id, IVAN, REASSIGN)
        await tg.wait_for(lambda: "Development" in labels(h, card.message_id))
        await tap(h, card.message_id, IVAN, "Development")
        await tg.wait_for(
            lambda: "Reassign to someone in Development:" in card_text(h, card.message_id)
        )
        assert labels(h, card.message_id) == ["Petr Ivanov · 0", "« Back"]
        answer = await tap(h, card.message_id, IVAN, "Petr Ivanov · 0")
        assert answer["text"] == "Assigned to Petr Ivanov"

        await tg.wait_for(
            lambda: (
                "Assigned to Petr Ivanov (Development) by Ivan Petrov"
                in card_text(h, card.message_id)
            )
        )
        await tg.wait_for(lambda: labels(h, card.message_id) == [REASSIGN])
        await tg.wait_for(lambda: helpdesk.assignments[-1:] == [("1", "2", "13")])
        assert await wait_message(tg, PETR, "A ticket for you")
        # A new message, so Olga is notified; and her old one says so too.
        await tg.wait_for(
            lambda: len([m for m in tg.messages(OLGA) if "Reassigned: Petr Ivanov" in m.text]) == 2
        )
        told = tg.messages(OLGA)[-1]
        assert told.message_id != handed.message_id
        assert "Reassigned: Petr Ivanov · Ivan Petrov" in told.text
        await tg.wait_for(lambda: tg.buttons(OLGA, handed.message_id) == [])
        assert "Reassigned: Petr Ivanov" in tg.message(OLGA, handed.message_id).text

        again = await tap(h, card.message_id, IVAN, REASSIGN)
        assert again.get("text") is None
        await tg.wait_for(lambda: "Development" in labels(h, card.message_id))
        await tap(h, card.message_id, IVAN, "Development")
        await tg.wait_for(lambda: "Petr Ivanov · 1" in labels(h, card.message_id))
        same = await tap(h, card.message_id, IVAN, "Petr Ivanov · 1")
        assert same["text"] == "Already assigned to Petr Ivanov."

        events = await history(h)
    kinds = [kind for kind, _, _ in events]
    assert kinds.count("reassigned") == 1
    (moved,) = [changes for kind, changes, _ in events if kind == "reassigned"]
    assert moved == {"assignee": ["olga", "petr"], "department": ["support", "dev"]}


async def test_the_assignee_hands_back_and_the_ticket_returns_to_dispatch(
    tg: TelegramEmulator, routing: RoutingConfig, sqlite_url: str
) -> None:
    helpdesk = FakeHelpdesk()
    async with running_modest(tg, routing, sqlite_url, helpdesk=helpdesk) as h:
        await h.post_generic(ticket_body("2"))
        card = await h.card()
        await h.post_generic(ticket_body("2", event="ticket.updated", assignee="12"))  # Olga
        handed = await wait_message(tg, OLGA, "A ticket for you")
        assert [b[0] for b in tg.buttons(OLGA, handed.message_id)] == [
            "Open in helpdesk",
            HAND_BACK,
        ]
        query = press_labelled(tg, OLGA, handed, HAND_BACK)
        await tg.wait_for(lambda: query in tg.callback_answers)
        assert tg.callback_answers[query]["text"] == "Handed back to dispatch."

        fresh = await h.card(1)
        assert "Handed back: Olga Sidorova" in fresh.text
        assert "Not assigned. Choose a department:" in fresh.text
        assert labels(h, fresh.message_id) == ["Support", "Development", TAKE]
        await tg.wait_for(lambda: "Handed back: Olga Sidorova" in card_text(h, card.message_id))
        await tg.wait_for(lambda: tg.buttons(OLGA, handed.message_id) == [])
        assert "Handed back to dispatch" in tg.message(OLGA, handed.message_id).text
        note = "Handed back to dispatch by Olga Sidorova in Modest."
        await tg.wait_for(lambda: helpdesk.notes == [("2", note)])

        # The helpdesk still names Olga: that is not a new assignment.
        await h.post_generic(ticket_body("2", event="ticket.updated", assignee="12"))
        (ticket,) = await h.tickets()
        assert ticket.state == "unassigned"
        async with h.service.database.unit_of_work() as uow:
            nag = await uow.session.get(NagRow, ticket.id)
        assert nag is not None
        assert nag.active, "reminders start again"
        # Someone else in the helpdesk is.
        await h.post_generic(ticket_body("2", event="ticket.updated", assignee="13"))
        await tg.wait_for(
            lambda: "Assigned to Petr Ivanov" in card_text(h, fresh.message_id), timeout=6
        )
        events = await history(h)
    unassigned = [(changes, actor) for kind, changes, actor in events if kind == "unassigned"]
    assert unassigned == [
        (
            {
                "state": ["assigned", "unassigned"],
                "assignee": ["olga", None],
                "department": ["support", None],
            },
            "olga",
        )
    ]


async def test_hand_back_by_someone_who_no_longer_has_the_ticket_is_refused(
    tg: TelegramEmulator, routing: RoutingConfig, sqlite_url: str
) -> None:
    async with running_modest(tg, routing, sqlite_url) as h:
        await h.post_generic(ticket_body("3", assignee="12"))
        handed = await wait_message(tg, OLGA, "A ticket for you")
        data = next(d for text, d, _ in tg.buttons(OLGA, handed.message_id) if text == HAND_BACK)
        await h.post_generic(ticket_body("3", event="ticket.updated", assignee="13"))
        await wait_message(tg, PETR, "A ticket for you")
        query = tg.press(OLGA, handed.message_id, OLGA, data or "")  # a stale button
        await tg.wait_for(lambda: query in tg.callback_answers)
        assert tg.callback_answers[query]["text"] == "This ticket is no longer yours."
        told = await wait_message(tg, OLGA, "Reassigned in the helpdesk: Petr Ivanov")
        assert tg.buttons(OLGA, told.message_id) == []
        (ticket,) = await h.tickets()
        assert ticket.assignee_key == "petr"


async def test_a_dispatcher_who_is_a_specialist_takes_the_ticket(
    tg: TelegramEmulator, sqlite_url: str
) -> None:
    text = ROUTING_YAML.replace(
        "  - key: anna\n",
        "  - key: dina\n    name: Dina Orlova\n    telegram_id: 1005\n    roles: [dispatcher]\n"
        "  - key: anna\n",
    )
    routing = load_routing_text(text)
    helpdesk = FakeHelpdesk()
    async with running_modest(tg, routing, sqlite_url, helpdesk=helpdesk) as h:
        await h.post_generic(ticket_body("4", helpdesk_department="2"))
        card = await h.card()
        assert labels(h, card.message_id) == ["Support", "Development", TAKE]
        answer = await tap(h, card.message_id, 1005, TAKE)
        assert answer["text"] == "You are in no department: choose someone on the card."
        answer = await tap(h, card.message_id, PETR, TAKE)
        assert answer["text"] == "Only dispatchers can dispatch tickets."
        answer = await tap(h, card.message_id, OLGA, TAKE)
        assert answer["text"] == "Assigned to Olga Sidorova"
        await tg.wait_for(
            lambda: (
                "Assigned to Olga Sidorova (Support) by Olga Sidorova"
                in card_text(h, card.message_id)
            )
        )
        await tg.wait_for(lambda: helpdesk.assignments == [("4", "1", "12")])
        await wait_message(tg, OLGA, "A ticket for you")
        events = await history(h)
        async with h.service.database.unit_of_work() as uow:
            rows = (await uow.session.execute(select(TicketEventRow))).scalars().all()
    assigned = [(changes, actor) for kind, changes, actor in events if kind == "assigned"]
    assert assigned == [({"assignee": [None, "olga"], "department": [None, "support"]}, "olga")]
    assert [row.detail.get("how") for row in rows if row.kind == "assigned"] == ["take"]
