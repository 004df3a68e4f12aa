"""Time answers people actually give: a reply to any prompt, a plain message, and a
"no charge" that still says how long it took."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from bot.i18n import Texts
from bot.renderers import TelegramRenderer
from dispatch.views import TimePromptView
from storage.types import utcnow
from tests.support.buttons import press_labelled, wait_message
from tests.support.dispatching import OLGA
from tests.support.harness import close_assigned, entries, running_modest
from tests.support.routing import time_routing as routing
from tests.support.telegram_emulator import EmulatedMessage, TelegramEmulator
from tests.support.views import view


async def next_prompt(tg: TelegramEmulator, after: int) -> EmulatedMessage:
    """The first time prompt Olga gets after message ``after``."""

    def found() -> EmulatedMessage | None:
        fresh = [m for m in tg.messages(OLGA) if m.message_id > after]
        return next((m for m in fresh if "How much time" in m.text), None)

    await tg.wait_for(lambda: found() is not None, timeout=8)
    prompt = found()
    assert prompt is not None
    return prompt


async def test_a_reply_to_the_prompt_or_to_a_re_ask_is_taken(
    tg: TelegramEmulator, sqlite_url: str
) -> None:
    async with running_modest(tg, routing(), sqlite_url) as h:
        await close_assigned(h, "1")
        prompt = await wait_message(tg, OLGA, "How much time")
        tg.send_text(OLGA, OLGA, "1h 30m", reply_to_message_id=prompt.message_id)
        await tg.wait_for(lambda: "Recorded: 1:30" in tg.message(OLGA, prompt.message_id).text)

        await close_assigned(h, "2")
        first_ask = await next_prompt(tg, prompt.message_id)
        later = utcnow() + timedelta(hours=2)
        assert await h.service.domain.time_followup.ask_again(now=later) == 1
        again = await next_prompt(tg, first_ask.message_id)
        tg.send_text(OLGA, OLGA, "45", reply_to_message_id=again.message_id)
        await tg.wait_for(lambda: "Recorded: 0:45" in tg.message(OLGA, again.message_id).text)
        assert sorted((e.minutes, e.billable) for e in await entries(h)) == [
            (45, True),
            (90, True),
        ]


async def test_a_plain_message_answers_the_one_open_prompt_only(
    tg: TelegramEmulator, sqlite_url: str
) -> None:
    async with running_modest(tg, routing(), sqlite_url) as h:
        await close_assigned(h, "1")
        prompt = await wait_message(tg, OLGA, "How much time")
        tg.send_text(OLGA, OLGA, "2 ч")
        await tg.wait_for(lambda: "Recorded: 2:00" in tg.message(OLGA, prompt.message_id).text)

        await close_assigned(h, "2")
        await close_assigned(h, "3")
        second = await next_prompt(tg, prompt.message_id)
        await next_prompt(tg, second.message_id)
        tg.send_text(OLGA, OLGA, "30m")
        tg.send_text(OLGA, OLGA, "thanks!")
        tg.send_text(OLGA, OLGA, "/whoami")  # handled after the two before it
        await wait_message(tg, OLGA, "Your Telegram id")
        assert [(e.minutes, e.billable) for e in await entries(h)] == [(120, True)]


async def test_no_charge_still_asks_how_long_and_records_it_unbilled(
    tg: TelegramEmulator, sqlite_url: str
) -> None:
    async with running_modest(tg, routing(), sqlite_url) as h:
        await close_assigned(h, "1")
        prompt = await wait_message(tg, OLGA, "How much time")
        press_labelled(tg, OLGA, prompt, "no charge (our fault)")
        question = await wait_message(tg, OLGA, "Reply to this message")
        assert question.text.endswith("It is recorded with no charge.")
        free = tg.message(OLGA, prompt.message_id)
        assert free.text.splitlines()[0] == (
            "⏱ How much time did it take? It is recorded with no charge."
        )
        assert [b[0] for b in tg.buttons(OLGA, prompt.message_id)] == ["Change"]
        tg.send_text(OLGA, OLGA, "45", reply_to_message_id=question.message_id)
        await tg.wait_for(
            lambda: "Recorded: 0:45, no charge" in tg.message(OLGA, prompt.message_id).text
        )

        await close_assigned(h, "2")
        second = await next_prompt(tg, question.message_id)
        press_labelled(tg, OLGA, second, "no charge (our fault)")
        await wait_message(tg, OLGA, "It is recorded with no charge.")
        await tg.wait_for(lambda: "no charge" in tg.message(OLGA, second.message_id).text)
        tg.send_text(OLGA, OLGA, "20")  # the one open prompt: no reply needed
        await tg.wait_for(
            lambda: "Recorded: 0:20, no charge" in tg.message(OLGA, second.message_id).text
        )
        assert sorted((e.minutes, e.billable) for e in await entries(h)) == [
            (20, False),
            (45, False),
        ]


def test_the_russian_no_charge_prompt() -> None:
    renderer = TelegramRenderer(Texts("ru"), ZoneInfo("Europe/Moscow"))
    prompt = TimePromptView(prompt_id=3, ticket=view(), round=1, client_name=None)
    payload = renderer.time_prompt_free(prompt)
    assert payload["text"].splitlines()[0] == (
        "⏱ <b>Сколько времени заняло? Время запишется без оплаты.</b>"
    )
    labels = [b["text"] for row in payload["reply_markup"]["inline_keyboard"] for b in row]
    assert labels == ["Изменить"]
    assert renderer.time_question(refused=None, free=True)["text"].endswith(
        "Время запишется без оплаты."
    )
