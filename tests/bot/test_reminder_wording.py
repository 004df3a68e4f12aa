"""Reminder wording: real durations, plural forms in both languages, links to the cards."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.i18n import Texts
from bot.list_renderers import waited
from bot.renderers import TelegramRenderer
from dispatch.views import WaitingTicket

DISPATCH = -1001234567890


@pytest.mark.parametrize(
    ("seconds", "ru", "en"),
    [
        (30, "30 с", "30 s"),
        (5 * 60 + 20, "5 мин", "5 min"),
        (3600, "1 ч", "1 h"),
        (3900, "1 ч 5 мин", "1 h 5 min"),
        (2 * 86400 + 3 * 3600 + 60, "2 дн. 3 ч", "2 d 3 h"),
    ],
)
def test_waiting_times_read_as_people_say_them(seconds: int, ru: str, en: str) -> None:
    assert waited(timedelta(seconds=seconds), Texts("ru")) == ru
    assert waited(timedelta(seconds=seconds), Texts("en")) == en


def tickets(count: int, *, card: int | None = None) -> list[WaitingTicket]:
    return [
        WaitingTicket(n, f"A-{n}", "Printer", timedelta(minutes=65), card_message_id=card)
        for n in range(1, count + 1)
    ]


def renderer(language: str) -> TelegramRenderer:
    return TelegramRenderer(Texts(language), ZoneInfo("Europe/Moscow"), dispatch_chat=DISPATCH)


@pytest.mark.parametrize(
    ("count", "head"),
    [
        (1, "⏰ <b>1 заявка ждёт исполнителя</b>"),
        (3, "⏰ <b>3 заявки ждут исполнителя</b>"),
        (5, "⏰ <b>5 заявок ждут исполнителя</b>"),
        (11, "⏰ <b>11 заявок ждут исполнителя</b>"),
        (21, "⏰ <b>21 заявка ждёт исполнителя</b>"),
        (22, "⏰ <b>22 заявки ждут исполнителя</b>"),
    ],
)
def test_russian_digest_takes_the_plural_form_of_its_number(count: int, head: str) -> None:
    text = renderer("ru").digest(tickets(count), count)["text"]
    assert text.splitlines()[0] == head
    assert text.splitlines()[2] == "<b>#A-1</b> Printer · 1 ч 5 мин"


def test_english_digest_forms() -> None:
    en = renderer("en")
    assert en.digest(tickets(1), 1)["text"].startswith("⏰ <b>1 ticket is waiting for")
    assert en.digest(tickets(6), 6)["text"].startswith("⏰ <b>6 tickets are waiting for")


def test_escalation_names_one_or_many_and_links_each_card() -> None:
    ru = renderer("ru")
    one = ru.escalation(tickets(1, card=77), 1)
    assert one["text"].splitlines()[0] == "🚨 <b>1 заявку никто не взял после 1 напоминания</b>"
    many = ru.escalation(tickets(3, card=77), 5)
    assert many["text"].splitlines()[0] == "🚨 <b>3 заявки никто не взял после 5 напоминаний</b>"
    assert ru.escalation(tickets(2), 3)["text"].splitlines()[0] == (
        "🚨 <b>2 заявки никто не взял после 3 напоминаний</b>"
    )
    buttons = [b for row in many["reply_markup"]["inline_keyboard"] for b in row]
    assert [(b["text"], b["url"]) for b in buttons] == [
        (f"#A-{n}", "https://t.me/c/1234567890/77") for n in (1, 2, 3)
    ]
    en = renderer("en")
    assert en.escalation(tickets(1), 3)["text"].startswith(
        "🚨 <b>Nobody has taken this ticket after 3 reminders</b>"
    )
    assert en.escalation(tickets(4), 1)["text"].startswith(
        "🚨 <b>Nobody has taken these 4 tickets after 1 reminder</b>"
    )
    assert "reply_markup" not in en.escalation(tickets(1), 3), "no card delivered yet: no link"


def test_a_reminder_says_how_long_in_seconds_when_it_is_seconds() -> None:
    from dispatch.views import ReminderNote
    from tests.support.views import view

    card = renderer("ru").card(
        view(), departments=(), reminder=ReminderNote(2, timedelta(seconds=45))
    )
    assert card["text"].splitlines()[0] == "⏰ Напоминание 2: без исполнителя уже 45 с"
