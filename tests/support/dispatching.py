"""The dispatch chat in end-to-end tests: who is who, and tapping a card's buttons."""

from __future__ import annotations

import re

from tests.support.harness import Harness

DISPATCH = -1001234567890
IVAN, OLGA, PETR, ANNA = 1001, 1002, 1003, 1004
#: The one button an assigned card keeps (issue 17.10).
REASSIGN = "↪️ Reassign"
#: A person's button ends with their open tickets: "Olga Sidorova · 3" (issue 17.11).
_LOAD = re.compile(r" · \d+$")


def member_label(h: Harness, message_id: int, name: str) -> str | None:
    """The label of ``name``'s button among a card's people ("Olga Sidorova · 3"), if shown."""
    for text, data, _url in h.tg.buttons(DISPATCH, message_id):
        if data and _LOAD.search(text) and _LOAD.sub("", text) == name:
            return text
    return None


def button(h: Harness, message_id: int, label: str) -> str:
    """The callback data of the button labelled ``label``."""
    for text, data, _url in h.tg.buttons(DISPATCH, message_id):
        if text == label and data:
            return data
    raise AssertionError(f"no button {label!r} in {h.tg.buttons(DISPATCH, message_id)}")


async def tap(h: Harness, message_id: int, user: int, label: str) -> dict[str, object]:
    """Press a button and wait for the bot's answer to the press."""
    query = h.tg.press(DISPATCH, message_id, user, button(h, message_id, label))
    await h.tg.wait_for(lambda: query in h.tg.callback_answers)
    return h.tg.callback_answers[query]


async def assign_on_card(
    h: Harness, message_id: int, user: int, department: str, person: str
) -> dict[str, object]:
    """Tap the department, wait for its people on the card, tap the person (by name)."""
    await tap(h, message_id, user, department)
    await h.tg.wait_for(lambda: member_label(h, message_id, person) is not None)
    return await tap(h, message_id, user, member_label(h, message_id, person) or person)


def card_text(h: Harness, message_id: int) -> str:
    return h.tg.message(DISPATCH, message_id).text


def labels(h: Harness, message_id: int) -> list[str]:
    return [text for text, _data, _url in h.tg.buttons(DISPATCH, message_id)]


async def assign_by_taps(
    h: Harness, message_id: int, *, department: str = "Support", person: str = "Olga Sidorova"
) -> None:
    """Ivan taps the department, waits for its people, then taps the person."""
    await tap(h, message_id, IVAN, department)
    await h.tg.wait_for(lambda: member_label(h, message_id, person) is not None)
    answer = await tap(h, message_id, IVAN, member_label(h, message_id, person) or person)
    assert answer.get("text") == f"Assigned to {person}"
