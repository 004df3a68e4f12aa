"""The plain transport makes aiogram's calls and ends each one as it did (against the emulator)."""

from __future__ import annotations

import base64
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from PIL import Image

from bot.delivery.sender import DeliveryResult, Outcome
from bot.delivery.watch import BotApiReachability, BotApiWatch, CallOutcome
from bot.plain_transport import PlainTransport
from bot.transport import AiogramTransport
from storage.models import OutboxOp
from tests.support.telegram_emulator import TelegramEmulator

CHAT = 501
GROUP = -1005
MARKUP = {"inline_keyboard": [[{"text": "A", "callback_data": "dp:d:1:a:"}]]}


@dataclass
class Calls:
    """A ``TelegramCallObserver`` that keeps what it was told."""

    seen: list[tuple[str, CallOutcome]] = field(default_factory=list)

    def telegram_call(self, method: str, outcome: CallOutcome, seconds: float) -> None:
        assert seconds >= 0
        self.seen.append((method, outcome))


@dataclass
class Rig:
    """The emulator, both transports on one bot, and what the watch saw."""

    tg: TelegramEmulator
    plain: PlainTransport
    aiogram: AiogramTransport
    reachability: BotApiReachability
    calls: Calls

    async def send(self, transport: Any, payload: dict[str, Any], chat: int = CHAT) -> Any:
        return await transport.deliver(
            op=OutboxOp.SEND, chat_id=chat, message_id=None, payload=payload
        )


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    async with TelegramEmulator(enforce_rate_limits=False) as tg:
        tg.add_user(CHAT)
        tg.add_chat(GROUP)
        session = AiohttpSession(api=TelegramAPIServer.from_base(tg.base_url), timeout=5)
        bot = Bot(tg.token, session=session)
        reachability, calls = BotApiReachability(), Calls()
        watch = BotApiWatch(reachability, observer=calls)
        bot.session.middleware(watch)
        try:
            yield Rig(
                tg, PlainTransport(bot, watch=watch), AiogramTransport(bot), reachability, calls
            )
        finally:
            await bot.session.close()


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 20), "blue").save(out, format="PNG")
    return out.getvalue()


async def test_send_with_buttons_and_a_reply_edit_delete(rig: Rig) -> None:
    tg, t = rig.tg, rig.plain
    first = await rig.send(t, {"text": "<b>card</b>", "reply_markup": MARKUP})
    assert first.outcome == Outcome.DELIVERED
    assert first.message_id is not None
    assert tg.buttons(CHAT, first.message_id) == [("A", "dp:d:1:a:", None)]
    assert tg.message(CHAT, first.message_id).text == "card", "parse_mode HTML"
    reply = await rig.send(t, {"text": "again", "reply_to_message_id": first.message_id})
    assert reply.message_id is not None
    assert tg.message(CHAT, reply.message_id).reply_to_message_id == first.message_id
    same = await t.deliver(
        op=OutboxOp.EDIT,
        chat_id=CHAT,
        message_id=first.message_id,
        payload={"text": "<b>card</b>", "reply_markup": MARKUP},
    )
    assert same.outcome == Outcome.DELIVERED, "message is not modified = already delivered"
    assert "message is not modified" in same.error
    edited = await t.deliver(
        op=OutboxOp.EDIT, chat_id=CHAT, message_id=first.message_id, payload={"text": "done"}
    )
    assert edited == DeliveryResult(Outcome.DELIVERED, message_id=first.message_id)
    assert tg.message(CHAT, first.message_id).text == "done"
    assert tg.buttons(CHAT, first.message_id) == [], "an edit without markup drops the buttons"
    gone = await t.deliver(
        op=OutboxOp.DELETE, chat_id=CHAT, message_id=first.message_id, payload={}
    )
    assert gone == DeliveryResult(Outcome.DELIVERED, message_id=first.message_id)
    assert tg.message(CHAT, first.message_id).deleted
    assert [method for method, _ in rig.calls.seen] == [
        "sendMessage",
        "sendMessage",
        "editMessageText",
        "editMessageText",
        "deleteMessage",
    ], "the outbox's calls reach the watch (metrics) as aiogram's did"


async def test_documents_and_photos_go_as_multipart(rig: Rig) -> None:
    document = await rig.send(
        rig.plain,
        {
            "document_b64": base64.b64encode(b"%PDF-1.4 report").decode(),
            "filename": "отчёт.pdf",
            "caption": "<b>May</b>",
        },
    )
    assert document.outcome == Outcome.DELIVERED
    assert document.message_id is not None
    sent = rig.tg.message(CHAT, document.message_id)
    assert sent.document is not None
    assert (sent.document.file_name, sent.document.data) == ("отчёт.pdf", b"%PDF-1.4 report")
    assert sent.text == "May"
    photo = await rig.send(
        rig.plain,
        {"photo_b64": base64.b64encode(_png()).decode(), "filename": "chart.png"},
    )
    assert photo.outcome == Outcome.DELIVERED
    assert photo.message_id is not None
    shown = rig.tg.message(CHAT, photo.message_id).photo
    assert shown is not None
    assert (shown.width, shown.height) == (40, 20)


@pytest.mark.parametrize(
    "payload",
    [
        {"text": "<b>card</b>", "reply_markup": MARKUP, "reply_to_message_id": 1},
        {"text": "why?", "reply_markup": {"force_reply": True, "input_field_placeholder": "…"}},
        {"document_b64": base64.b64encode(b"x").decode(), "filename": "a.txt", "caption": "c"},
    ],
    ids=["card-reply", "force-reply", "document"],
)
async def test_the_request_is_the_one_aiogram_made(rig: Rig, payload: dict[str, Any]) -> None:
    await rig.send(rig.aiogram, payload)
    await rig.send(rig.plain, payload)
    old, new = rig.tg.calls[-2:]
    # aiogram names its upload "attach://<random>"; the plain one sends it in its own field.
    old_params = {k: v for k, v in old.params.items() if not str(v).startswith("attach://")}
    assert (new.method, new.params) == (old.method, old_params)


@pytest.mark.parametrize(
    ("op", "payload"),
    [
        (OutboxOp.EDIT, {"text": "<b>taken</b>", "reply_markup": MARKUP}),
        (OutboxOp.EDIT, {"text": "no buttons", "reply_markup": {"force_reply": True}}),
        (OutboxOp.DELETE, {}),
    ],
    ids=["edit", "edit-force-reply", "delete"],
)
async def test_edits_and_deletes_are_the_ones_aiogram_made(
    rig: Rig, op: OutboxOp, payload: dict[str, Any]
) -> None:
    params = []
    for transport in (rig.aiogram, rig.plain):
        card = await rig.send(transport, {"text": "card"})
        await transport.deliver(op=op, chat_id=CHAT, message_id=card.message_id, payload=payload)
        call = rig.tg.calls[-1]
        assert call.status == 200
        params.append((call.method, call.params | {"message_id": "same"}))
    assert params[1] == params[0]


def _ready(tg: TelegramEmulator, setup: str) -> int:
    """Arrange one failure for the next sendMessage; the chat to send to."""
    match setup:
        case "blocked":
            tg.block_bot(CHAT)
        case "group-blocked":
            tg.block_bot(GROUP)
            return GROUP
        case "unknown-chat":
            return 999
        case "429":
            tg.fail_next("sendMessage", error_code=429, retry_after=3)
        case "500":
            tg.fail_next("sendMessage", error_code=500)
        case "down-json":
            tg.set_down(True)
        case "migrated":
            tg.fail_next(
                "sendMessage",
                error_code=400,
                description="Bad Request: group chat was upgraded to a supergroup chat",
                migrate_to_chat_id=-1009,
            )
        case "404":
            tg.fail_next("sendMessage", error_code=404, description="Not Found")
        case "409":
            tg.fail_next("sendMessage", error_code=409, description="Conflict: terminated")
        case "413":
            tg.fail_next("sendMessage", error_code=413, description="Request Entity Too Large")
    return CHAT


CASES = {
    "blocked": (Outcome.BLOCKED, CallOutcome.FORBIDDEN),
    "group-blocked": (Outcome.FAILED, CallOutcome.FORBIDDEN),
    "unknown-chat": (Outcome.BLOCKED, CallOutcome.BAD_REQUEST),
    "429": (Outcome.RETRY_AFTER, CallOutcome.RETRY_AFTER),
    "500": (Outcome.TRANSIENT, CallOutcome.SERVER_ERROR),
    "down-json": (Outcome.TRANSIENT, CallOutcome.SERVER_ERROR),
    "migrated": (Outcome.FAILED, CallOutcome.OTHER),
    "404": (Outcome.FAILED, CallOutcome.NOT_FOUND),
    "409": (Outcome.FAILED, CallOutcome.CONFLICT),
    "413": (Outcome.TRANSIENT, CallOutcome.BAD_REQUEST),
}


@pytest.mark.parametrize("setup", list(CASES))
async def test_errors_end_as_they_did_through_aiogram(rig: Rig, setup: str) -> None:
    expected, watched = CASES[setup]
    chat = _ready(rig.tg, setup)
    old = await rig.send(rig.aiogram, {"text": "<i>x</i>"}, chat)
    _ready(rig.tg, setup)
    new = await rig.send(rig.plain, {"text": "<i>x</i>"}, chat)
    assert new.outcome == expected
    assert new == old, "same outcome, retry_after and error text as the aiogram transport"
    assert rig.calls.seen[-2:] == [("sendMessage", watched)] * 2
    if setup == "429":
        assert new.retry_after == 3
    if setup == "migrated":
        assert new.error == "chat moved to -1009: update chat_id"


async def test_the_watch_hears_when_the_bot_api_is_back(rig: Rig) -> None:
    back: list[bool] = []
    rig.reachability.listen(lambda: back.append(True))
    rig.tg.set_down(True, body="html")
    down = await rig.send(rig.plain, {"text": "x"})
    assert down.outcome == Outcome.TRANSIENT
    assert rig.reachability.down, "an nginx page is no Bot API answer"
    assert rig.calls.seen[-1] == ("sendMessage", CallOutcome.BAD_ANSWER)
    rig.tg.set_down(False)
    rig.tg.block_bot(CHAT)
    blocked = await rig.send(rig.plain, {"text": "x"})
    assert blocked.outcome == Outcome.BLOCKED
    assert not rig.reachability.down, "a 403 is an answer: the Bot API is back"
    assert back == [True]


async def test_a_wrong_token_is_transient_and_unreachable(rig: Rig) -> None:
    session = AiohttpSession(api=TelegramAPIServer.from_base(rig.tg.base_url))
    reachability = BotApiReachability()
    bot = Bot("1:wrong", session=session)
    try:
        plain = PlainTransport(bot, watch=BotApiWatch(reachability))
        result = await rig.send(plain, {"text": "x"})
    finally:
        await session.close()
    assert result == DeliveryResult(
        Outcome.TRANSIENT, error="TelegramUnauthorizedError: Unauthorized"
    )
    assert reachability.down
