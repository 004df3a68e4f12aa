"""The outbox transport classifies every Telegram answer (against the emulator)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bot.delivery.sender import Outcome
from bot.transport import AiogramTransport
from storage.models import OutboxOp
from tests.support.telegram_emulator import TelegramEmulator

CHAT = 501


@pytest.fixture
async def transport() -> AsyncIterator[tuple[AiogramTransport, TelegramEmulator]]:
    async with TelegramEmulator(enforce_rate_limits=False) as tg:
        tg.add_user(CHAT)
        bot = Bot(tg.token, session=AiohttpSession(api=TelegramAPIServer.from_base(tg.base_url)))
        try:
            yield AiogramTransport(bot), tg
        finally:
            await bot.session.close()


async def test_send_edit_delete_and_not_modified_counts_as_delivered(
    transport: tuple[AiogramTransport, TelegramEmulator],
) -> None:
    t, tg = transport
    markup = {"inline_keyboard": [[{"text": "A", "callback_data": "dp:d:1:a:"}]]}
    sent = await t.deliver(
        op=OutboxOp.SEND,
        chat_id=CHAT,
        message_id=None,
        payload={"text": "<b>hi</b>", "reply_markup": markup},
    )
    assert sent.outcome == Outcome.DELIVERED
    assert sent.message_id is not None
    same = await t.deliver(
        op=OutboxOp.EDIT,
        chat_id=CHAT,
        message_id=sent.message_id,
        payload={"text": "<b>hi</b>", "reply_markup": markup},
    )
    assert same.outcome == Outcome.DELIVERED, "message is not modified = already delivered"
    edited = await t.deliver(
        op=OutboxOp.EDIT, chat_id=CHAT, message_id=sent.message_id, payload={"text": "done"}
    )
    assert edited.outcome == Outcome.DELIVERED
    assert tg.buttons(CHAT, sent.message_id) == [], "an edit without markup drops the buttons"
    gone = await t.deliver(
        op=OutboxOp.DELETE, chat_id=CHAT, message_id=sent.message_id, payload={}
    )
    assert gone.outcome == Outcome.DELIVERED


@pytest.mark.parametrize(
    ("setup", "outcome"),
    [
        (lambda tg: tg.block_bot(CHAT), Outcome.BLOCKED),
        (lambda tg: tg.set_down(True), Outcome.TRANSIENT),
        (
            lambda tg: tg.fail_next("sendMessage", error_code=429, retry_after=3),
            Outcome.RETRY_AFTER,
        ),
        (lambda tg: tg.fail_next("sendMessage", error_code=500), Outcome.TRANSIENT),
    ],
    ids=["blocked", "down", "429", "500"],
)
async def test_errors_are_classified(
    transport: tuple[AiogramTransport, TelegramEmulator], setup: object, outcome: Outcome
) -> None:
    t, tg = transport
    setup(tg)  # type: ignore[operator]
    result = await t.deliver(
        op=OutboxOp.SEND, chat_id=CHAT, message_id=None, payload={"text": "x"}
    )
    assert result.outcome == outcome
    if outcome == Outcome.RETRY_AFTER:
        assert result.retry_after == 3


async def test_unknown_chat_is_marked_and_broken_html_fails_without_retry(
    transport: tuple[AiogramTransport, TelegramEmulator],
) -> None:
    t, _ = transport
    unknown = await t.deliver(
        op=OutboxOp.SEND, chat_id=999, message_id=None, payload={"text": "x"}
    )
    assert unknown.outcome == Outcome.BLOCKED
    broken = await t.deliver(
        op=OutboxOp.SEND, chat_id=CHAT, message_id=None, payload={"text": "<b>unclosed"}
    )
    assert broken.outcome == Outcome.FAILED
    assert "can't parse entities" in broken.error


async def test_a_group_that_refuses_messages_is_not_written_off(
    transport: tuple[AiogramTransport, TelegramEmulator],
) -> None:
    t, tg = transport
    tg.add_chat(-1005)
    tg.block_bot(-1005)
    result = await t.deliver(
        op=OutboxOp.SEND, chat_id=-1005, message_id=None, payload={"text": "x"}
    )
    assert result.outcome == Outcome.FAILED, "failed this once, not marked blocked"
