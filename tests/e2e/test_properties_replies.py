"""Telegram replies by machine: typed times and task statements, end to end.

A real Modest (aiogram Dispatcher, outbox, jobs) runs against the Bot API emulator
with Telegram's limits on; each drawn text is sent as the user's reply to the bot's
question, and the bot must answer it: a refused time is asked again and stores no
time, an accepted one is recorded as read; a statement leads to the developer
choice. A handler that raised would leave the reply unanswered. Telegram delivers
no message that is empty or only whitespace, and no lone surrogates, so neither is
drawn. Each example waits for the bot's answer (a private chat takes about one
message a second), so these properties run few examples.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Any, TypeVar

from hypothesis import example, given
from hypothesis import strategies as st
from sqlmodel import select

from config.routing import RoutingConfig
from connectors.fake import FakeHelpdesk
from connectors.fake_tracker import FakeTracker
from dispatch.durations import DurationError, format_minutes, parse_minutes
from storage.models import SyncStateRow, TimeEntryRow
from tests.support.harness import Harness, running_modest, ticket_body
from tests.support.properties import durations, examples
from tests.support.routing import dev_task_routing as dev_routing
from tests.support.routing import time_routing
from tests.support.telegram_emulator import EmulatedMessage, TelegramEmulator

T = TypeVar("T")
OLGA = 1002
QUESTION = "Reply to this message"
PICK = "Who should do it?"
#: What Telegram delivers: some visible character, any Unicode but lone surrogates.
_delivered = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=300)
#: (A text starting with "/" may be a command, which its own handler takes.)
telegram_texts = st.one_of(durations, _delivered).filter(
    lambda text: bool(text.strip()) and not text.startswith("/")
)


class RunningBot:
    """A started Modest and the emulator on an event loop of their own."""

    def __init__(self, db_url: str, routing: RoutingConfig, **kwargs: Any) -> None:
        self._runner = asyncio.Runner()
        self.tg = TelegramEmulator()
        self._service: AbstractAsyncContextManager[Harness] = running_modest(
            self.tg, routing, db_url, **kwargs
        )
        self.h: Harness | None = None

    def __enter__(self) -> RunningBot:
        self._runner.run(self.tg.__aenter__())
        self.h = self._runner.run(self._service.__aenter__())
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._runner.run(self._service.__aexit__(None, None, None))
        self._runner.run(self.tg.__aexit__(None, None, None))
        self._runner.close()

    def run(self, call: Callable[[Harness], Awaitable[T]]) -> T:
        """Run ``call`` on the loop, the service working meanwhile."""
        assert self.h is not None
        harness = self.h
        return self._runner.run(call_with(harness, call))

    def last(self, needle: str) -> EmulatedMessage:
        """The newest message of the bot to Olga that contains ``needle``."""
        found = [m for m in self.tg.messages(OLGA) if m.from_id != OLGA and needle in m.text]
        assert found, f"no message with {needle!r}"
        return found[-1]

    def press(self, message: EmulatedMessage, label: str) -> None:
        data = next(d for text, d, _ in self.tg.buttons(OLGA, message.message_id) if text == label)
        assert data is not None
        self.tg.press(OLGA, message.message_id, OLGA, data)

    def wait(self, predicate: Callable[[], bool], what: str) -> None:
        async def waiting(_h: Harness) -> None:
            try:
                await self.tg.wait_for(predicate, timeout=8)
            except (AssertionError, TimeoutError):
                raise AssertionError(f"the bot never answered: {what}") from None

        self.run(waiting)


async def call_with(harness: Harness, call: Callable[[Harness], Awaitable[T]]) -> T:
    return await call(harness)


def bot_messages(bot: RunningBot, needle: str) -> int:
    return sum(m.from_id != OLGA and needle in m.text for m in bot.tg.messages(OLGA))


async def time_entries(h: Harness) -> list[TimeEntryRow]:
    async with h.service.database.unit_of_work() as uow:
        return list((await uow.session.execute(select(TimeEntryRow))).scalars().all())


async def drafts(h: Harness) -> list[dict[str, Any]]:
    async with h.service.database.unit_of_work() as uow:
        rows = (await uow.session.execute(select(SyncStateRow))).scalars().all()
    return [json.loads(row.value) for row in rows if row.key.startswith("devdraft.")]


def test_a_typed_time_is_recorded_as_read_or_asked_again(sqlite_url: str) -> None:
    with RunningBot(sqlite_url, time_routing()) as bot:

        async def close_assigned(h: Harness) -> None:
            await h.post_generic(ticket_body("1", assignee="12"))
            await h.post_generic(ticket_body("1", event="ticket.closed", assignee="12"))

        bot.run(close_assigned)
        bot.wait(lambda: bot_messages(bot, "How much time") > 0, "the time prompt")
        prompt = bot.last("How much time")
        bot.press(prompt, "other…")
        bot.wait(lambda: bot_messages(bot, QUESTION) > 0, "the question")

        @examples(15)
        @given(telegram_texts)
        @example("9" * 400).via("a number past float range: it overflowed")
        @example("1ч 30м")
        def reply(text: str) -> None:
            asked = bot_messages(bot, QUESTION)
            entries_before = bot.run(time_entries)
            bot.tg.send_text(OLGA, OLGA, text, reply_to_message_id=bot.last(QUESTION).message_id)
            try:
                minutes = parse_minutes(text)
            except DurationError:
                bot.wait(lambda: bot_messages(bot, QUESTION) > asked, f"time {text!r}")
                assert bot.run(time_entries) == entries_before, "a refused time stored something"
                return
            recorded = f"Recorded: {format_minutes(minutes)}"
            bot.wait(lambda: recorded in bot.tg.message(OLGA, prompt.message_id).text, text)
            assert [e.minutes for e in bot.run(time_entries)] == [minutes]
            # Ask again for the next example: "Change", then "other…".
            bot.press(prompt, "Change")
            bot.wait(lambda: "other…" in str(bot.tg.buttons(OLGA, prompt.message_id)), "change")
            bot.press(prompt, "other…")
            bot.wait(lambda: bot_messages(bot, QUESTION) > asked, "the question again")

        reply()


def test_a_statement_of_any_text_leads_to_the_developer_choice(sqlite_url: str) -> None:
    helpdesk, tracker = FakeHelpdesk(), FakeTracker()
    with RunningBot(sqlite_url, dev_routing(), helpdesk=helpdesk, tracker=tracker) as bot:
        bot.run(lambda h: h.post_generic(ticket_body("1", assignee="12")))
        bot.wait(lambda: bot_messages(bot, "A ticket for you") > 0, "the handover")
        bot.press(bot.last("A ticket for you"), "Developer task")
        bot.wait(lambda: bot_messages(bot, "What should the developer do?") > 0, "the question")
        question = bot.last("What should the developer do?")

        @examples(10)
        @given(telegram_texts)
        @example("Ж" * 4096).via("the longest text Telegram delivers")
        def reply(text: str) -> None:
            picks = bot_messages(bot, PICK)
            bot.tg.send_text(OLGA, OLGA, text, reply_to_message_id=question.message_id)
            bot.wait(lambda: bot_messages(bot, PICK) > picks, f"statement {text!r}")
            statements = [draft["statement"] for draft in bot.run(drafts)]
            assert statements == [text.strip()[:4000]]
            assert not tracker.tasks, "no task before a developer is chosen"

        reply()
