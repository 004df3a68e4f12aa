"""Support lines end to end: the assignee passes a ticket to line 2, dispatch gives it on."""

from __future__ import annotations

from config.routing import RoutingConfig
from connectors.fake import FakeHelpdesk
from tests.support.buttons import find_message, press_labelled, wait_message
from tests.support.dispatching import DISPATCH, IVAN, OLGA, assign_on_card
from tests.support.harness import Harness, running_modest, ticket_body
from tests.support.sla import LINES, sla_routing
from tests.support.telegram_emulator import TelegramEmulator

ANNA = 1004


def routing() -> RoutingConfig:
    """Two more departments, on lines 2 and 3; SLA policies on."""
    return sla_routing(departments=LINES)


async def press(tg: TelegramEmulator, chat: int, needle: str, label: str) -> dict[str, object]:
    """Press a button on the newest message holding ``needle``; the bot's answer."""
    message = find_message(tg, chat, needle)
    assert message is not None, needle
    query = press_labelled(tg, chat, message, label)
    await tg.wait_for(lambda: query in tg.callback_answers)
    return tg.callback_answers[query]


async def passed_on(h: Harness, tg: TelegramEmulator) -> None:
    """Olga has the ticket, passes it to line 2 with a comment."""
    await h.post_generic(ticket_body("1", created_at=None, url=None))
    card = await h.card()
    assert [b[0] for b in tg.buttons(DISPATCH, card.message_id)] == [
        "Support",
        "Development",
        "Experts",
        "Platform team",
        "🙋 Take it myself",  # the dispatcher is also a specialist (issue 17.10)
    ], "line 1 dispatches anywhere"
    await assign_on_card(h, card.message_id, IVAN, "Support", "Olga Sidorova")
    handed = await wait_message(tg, OLGA, "A ticket for you")
    assert [b[0] for b in tg.buttons(OLGA, handed.message_id)] == [
        "↩️ Hand back",
        "➡️ Pass to line 2",
    ]
    assert (await press(tg, OLGA, "A ticket for you", "➡️ Pass to line 2")).get("text") is None
    question = await wait_message(tg, OLGA, "Pass #A-1 to line 2")
    assert [b[0] for b in tg.buttons(OLGA, question.message_id)] == ["Experts"]
    tg.send_text(OLGA, OLGA, "Needs the printer expert", reply_to_message_id=question.message_id)
    await tg.wait_for(
        lambda: "Comment: Needs the printer expert" in tg.message(OLGA, question.message_id).text
    )
    answer = await press(tg, OLGA, "Pass #A-1 to line 2", "Experts")
    assert answer.get("text") == "Passed on"
    await tg.wait_for(
        lambda: (
            "Passed to line 2, department Experts" in tg.message(OLGA, question.message_id).text
        )
    )
    assert tg.buttons(OLGA, question.message_id) == [], "nothing left to press"


async def test_a_ticket_passed_to_line_two_goes_back_to_dispatch_for_that_line(
    tg: TelegramEmulator, sqlite_url: str
) -> None:
    helpdesk = FakeHelpdesk()
    async with running_modest(tg, routing(), sqlite_url, helpdesk=helpdesk) as h:
        await passed_on(h, tg)
        card = await h.card(1)
        first = tg.messages(DISPATCH)[0]
        assert card.reply_to_message_id == first.message_id, "a reply to its first card"
        assert "Passed on from line 1 to Experts" in card.text
        await tg.wait_for(lambda: "Passed on from line 1" in tg.message(DISPATCH, 1).text)
        assert "line 2" in card.text
        assert "by Olga Sidorova" in card.text
        assert "💬 Needs the printer expert" in card.text
        assert "Not assigned" in card.text
        assert [b[0] for b in tg.buttons(DISPATCH, card.message_id)] == ["Experts"]

        again = await press(tg, OLGA, "A ticket for you", "➡️ Pass to line 2")
        assert again.get("text") == "Only the ticket's assignee can pass it on."

        await assign_on_card(h, card.message_id, IVAN, "Experts", "Anna Smirnova")
        handed = await wait_message(tg, ANNA, "A ticket for you")
        assert [b[0] for b in tg.buttons(ANNA, handed.message_id)] == [
            "↩️ Hand back",
            "➡️ Pass to line 3",
        ]

        async with h.service.database.unit_of_work() as uow:
            (ticket,) = await h.tickets()
            assert ticket.id is not None
            events = await uow.events.for_ticket(ticket_id=ticket.id)
            clocks = await uow.sla.clocks(ticket_id=ticket.id)
        (passed,) = [row for row in events if row.kind == "passed_to_line"]
        assert (passed.actor_kind, passed.actor, passed.source) == ("person", "olga", "bot")
        assert passed.changes == {
            "line": [1, 2],
            "state": ["assigned", "unassigned"],
            "assignee": ["olga", None],
            "department": ["support", "experts"],
        }
        assert passed.detail == {"comment": "Needs the printer expert"}
        kinds = [row.kind for row in events]
        assert kinds[kinds.index("passed_to_line") :][:3] == [
            "passed_to_line",
            "department_chosen",
            "assigned",
        ]
        assert (ticket.line, ticket.assignee_key, ticket.department_key) == (
            2,
            "anna",
            "experts",
        )
        resolution = next(c for c in clocks if c.target == "resolution")
        assert resolution.since is not None, "the clock kept running through the hand-over"
        assert resolution.done_at is None
