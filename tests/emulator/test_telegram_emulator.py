"""Tests of the Telegram Bot API emulator, driven by a real aiogram Bot over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.filters import Command
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyParameters,
)
from aiohttp import web

from tests.support.telegram_emulator import TelegramEmulator, allowed_rate_floor_seconds
from tests.support.telegram_emulator_limits import ApiError, parse_html

USER = 501
PRIVATE = USER
GROUP = -100_200
NOT_MODIFIED = "message is not modified"


class FakeClock:
    """A manual clock for the rate limiter."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class LocalSession(AiohttpSession):
    """aiogram's session minus the 250 ms grace sleep on close (meant for TLS, not localhost)."""

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


def make_bot(tg: TelegramEmulator, token: str | None = None) -> Bot:
    """A real aiogram Bot pointed at the emulator."""
    session = LocalSession(api=TelegramAPIServer.from_base(tg.base_url))
    return Bot(token or tg.token, session=session)


def keyboard(*buttons: tuple[str, str]) -> InlineKeyboardMarkup:
    """One row of callback buttons from (text, callback_data) pairs."""
    row = [InlineKeyboardButton(text=text, callback_data=data) for text, data in buttons]
    return InlineKeyboardMarkup(inline_keyboard=[row])


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def tg(clock: FakeClock) -> AsyncIterator[TelegramEmulator]:
    async with TelegramEmulator(clock=clock) as emulator:
        emulator.add_user(USER, first_name="Ann", username="ann")
        emulator.add_chat(GROUP, title="Support")
        yield emulator


@pytest.fixture
async def bot(tg: TelegramEmulator) -> AsyncIterator[Bot]:
    bot = make_bot(tg)
    yield bot
    await bot.session.close()


def pending_poll(tg: TelegramEmulator) -> bool:
    """True while a getUpdates request is being held open."""
    return any(call.method == "getUpdates" and call.status == 0 for call in tg.calls)


# --------------------------------------------------------------------------- messages


async def test_send_edit_and_not_modified(
    tg: TelegramEmulator, bot: Bot, clock: FakeClock
) -> None:
    sent = await bot.send_message(
        PRIVATE, "<b>Ticket</b> #1", parse_mode="HTML", reply_markup=keyboard(("Take", "t:1"))
    )
    assert isinstance(sent, Message)
    assert (sent.message_id, sent.text, sent.chat.first_name) == (1, "Ticket #1", "Ann")
    assert sent.entities is not None
    assert sent.entities[0].type == "bold"
    assert sent.from_user is not None
    assert sent.from_user.is_bot
    clock.advance(1)
    edited = await bot.edit_message_text(
        "Ticket #1 taken", chat_id=PRIVATE, message_id=1, reply_markup=keyboard(("Done", "d:1"))
    )
    assert isinstance(edited, Message)
    assert edited.edit_date is not None
    clock.advance(1)
    with pytest.raises(TelegramBadRequest, match=NOT_MODIFIED):
        await bot.edit_message_text(
            "Ticket #1 taken",
            chat_id=PRIVATE,
            message_id=1,
            reply_markup=keyboard(("Done", "d:1")),
        )
    clock.advance(1)
    with pytest.raises(TelegramBadRequest, match=NOT_MODIFIED):
        await bot.edit_message_reply_markup(
            chat_id=PRIVATE, message_id=1, reply_markup=keyboard(("Done", "d:1"))
        )
    clock.advance(1)
    await bot.edit_message_reply_markup(chat_id=PRIVATE, message_id=1)
    state = tg.message(PRIVATE, 1)
    assert (state.text, state.html, state.reply_markup, state.edited) == (
        "Ticket #1 taken",
        "Ticket #1 taken",
        None,
        True,
    )
    assert tg.calls[-1].params["chat_id"] == str(PRIVATE)


async def test_edit_text_without_markup_removes_the_keyboard(
    tg: TelegramEmulator, bot: Bot, clock: FakeClock
) -> None:
    await bot.send_message(PRIVATE, "a", reply_markup=keyboard(("Take", "t:1")))
    clock.advance(1)
    await bot.edit_message_text("b", chat_id=PRIVATE, message_id=1)
    assert tg.buttons(PRIVATE, 1) == []


async def test_delete_and_edit_missing_messages(
    tg: TelegramEmulator, bot: Bot, clock: FakeClock
) -> None:
    await bot.send_message(PRIVATE, "bye")
    clock.advance(1)
    assert await bot.delete_message(PRIVATE, 1) is True
    assert tg.message(PRIVATE, 1).deleted
    clock.advance(1)
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(PRIVATE, 1)
    clock.advance(1)
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("x", chat_id=PRIVATE, message_id=1)
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_reply_markup(chat_id=PRIVATE, message_id=99)
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(777, "who?")


async def test_user_messages_replies_and_commands(tg: TelegramEmulator, bot: Bot) -> None:
    first = tg.send_text(GROUP, USER, "/start@modest_test_bot now")
    sent = await bot.send_message(GROUP, "hi", reply_parameters=ReplyParameters(message_id=first))
    assert sent.reply_to_message is not None
    assert sent.reply_to_message.text == "/start@modest_test_bot now"
    assert sent.chat.title == "Support"
    updates = await bot.get_updates()
    message = updates[0].message
    assert message is not None
    assert message.entities is not None
    assert (message.entities[0].type, message.entities[0].length) == ("bot_command", 22)
    assert [m.message_id for m in tg.messages(GROUP)] == [1, 2]
    with pytest.raises(TelegramBadRequest, match="message to be replied not found"):
        await bot.send_message(PRIVATE, "hi", reply_parameters=ReplyParameters(message_id=9))
    with pytest.raises(AssertionError, match="no message 9"):
        tg.send_text(GROUP, USER, "re", reply_to_message_id=9)


async def test_send_document(tg: TelegramEmulator, bot: Bot, clock: FakeClock) -> None:
    file = BufferedInputFile(b"col1,col2\n", filename="report.csv")
    sent = await bot.send_document(PRIVATE, file, caption="<i>Report</i>", parse_mode="HTML")
    assert sent.document is not None
    assert sent.document.file_name == "report.csv"
    assert sent.caption == "Report"
    stored = tg.message(PRIVATE, 1).document
    assert stored is not None
    assert (stored.size, stored.data) == (10, b"col1,col2\n")
    clock.advance(1)
    with pytest.raises(TelegramBadRequest, match="message caption is too long"):
        await bot.send_document(PRIVATE, file, caption="x" * 1025)


async def test_set_and_delete_commands(tg: TelegramEmulator, bot: Bot) -> None:
    await bot.set_my_commands([BotCommand(command="queue", description="Open tickets")])
    assert tg.my_commands[("default", "")] == [{"command": "queue", "description": "Open tickets"}]
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Bad Command", description="x")])
    await bot.delete_my_commands()
    assert tg.my_commands == {}
    assert (await bot.get_me()).username == "modest_test_bot"
    assert await bot.log_out() is True


# --------------------------------------------------------------------------- text limits


async def test_html_must_be_escaped(tg: TelegramEmulator, bot: Bot, clock: FakeClock) -> None:
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(PRIVATE, "<b>&", parse_mode="HTML")
    assert tg.messages(PRIVATE) == []
    sent = await bot.send_message(PRIVATE, "&lt;b&gt;&amp;", parse_mode="HTML")
    assert sent.text == "<b>&"
    assert tg.message(PRIVATE, 1).html == "&lt;b&gt;&amp;"


async def test_text_length_counts_visible_characters(
    tg: TelegramEmulator, bot: Bot, clock: FakeClock
) -> None:
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(PRIVATE, "<b>" + "a" * 4097 + "</b>", parse_mode="HTML")
    sent = await bot.send_message(PRIVATE, "<b>" + "a" * 4095 + "</b>&amp;", parse_mode="HTML")
    assert sent.text is not None
    assert len(sent.text) == 4096
    clock.advance(1)
    for empty in ("<b></b>", " \n "):
        with pytest.raises(TelegramBadRequest, match="message text is empty"):
            await bot.send_message(PRIVATE, empty, parse_mode="HTML")


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("<br>", 'Unsupported start tag "br" at byte offset 0'),
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("</b>", "Unexpected end tag at byte offset 0"),
        ("<b>a<i>b</b></i>", 'Unmatched end tag at byte offset 8, expected "</i>", found "</b>"'),
        ("<b", "Unclosed start tag at byte offset 0"),
        ("<b>x</b", "Unclosed end tag at byte offset 4"),
        ("ж &nbsp;", "Character '&' must be escaped as &amp; at byte offset 3"),
        ("&#xD800;", "Character '&'"),
        ("AT&T", "Character '&'"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler"'),
        ("<a>x</a>", 'Tag "a" must have a non-empty attribute "href"'),
        ("<tg-emoji>x</tg-emoji>", 'Tag "tg-emoji" must have attribute "emoji-id"'),
        ("<b =x>y</b>", 'Empty attribute name in the tag "b"'),
        ("<a href>x</a>", 'Expected equal sign in declaration of an attribute of the tag "a"'),
        ('<a href="x>y</a>', "Unclosed start tag at byte offset 0"),
    ],
)
def test_html_parser_rejects(source: str, reason: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse_html(source)
    assert caught.value.code == 400
    assert caught.value.description.startswith("Bad Request: can't parse entities: " + reason)


@pytest.mark.parametrize(
    ("source", "text", "entities"),
    [
        ("5 > 3 &quot;ok&quot; &#65;&#x42;", '5 > 3 "ok" AB', []),
        ("<B>x</B><strong></strong>", "x", [{"type": "bold", "offset": 0, "length": 1}]),
        ("😀<i>é</i>", "😀é", [{"type": "italic", "offset": 2, "length": 1}]),
        (
            '<a href="https://e.com/?a=1&b=2&amp;c">l</a>',
            "l",
            [{"type": "text_link", "offset": 0, "length": 1, "url": "https://e.com/?a=1&b=2&c"}],
        ),
        (
            "<b>a<i>b</i></b>",
            "ab",
            [
                {"type": "bold", "offset": 0, "length": 2},
                {"type": "italic", "offset": 1, "length": 1},
            ],
        ),
        (
            '<pre><code class="language-py">x = 1</code></pre>',
            "x = 1",
            [{"type": "pre", "offset": 0, "length": 5, "language": "py"}],
        ),
        (
            "<blockquote expandable>q</blockquote><span class='tg-spoiler'>s</span>",
            "qs",
            [
                {"type": "expandable_blockquote", "offset": 0, "length": 1},
                {"type": "spoiler", "offset": 1, "length": 1},
            ],
        ),
        ("<b title='x>y'>z</b>", "z", [{"type": "bold", "offset": 0, "length": 1}]),
        ("<pre><code>a</code></pre>", "a", [{"type": "pre", "offset": 0, "length": 1}]),
    ],
)
def test_html_parser_accepts(source: str, text: str, entities: list[dict[str, Any]]) -> None:
    assert parse_html(source) == (text, entities)


async def test_callback_data_is_limited_in_bytes(
    tg: TelegramEmulator, bot: Bot, clock: FakeClock
) -> None:
    for data in ("x" * 65, "я" * 33, ""):
        with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
            await bot.send_message(PRIVATE, "t", reply_markup=keyboard(("b", data)))
    await bot.send_message(PRIVATE, "t", reply_markup=keyboard(("a", "x" * 64), ("b", "я" * 32)))
    assert tg.buttons(PRIVATE, 1) == [("a", "x" * 64, None), ("b", "я" * 32, None)]
    clock.advance(1)
    bad_url = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="u", url="ftp://example.com")]]
    )
    with pytest.raises(TelegramBadRequest, match="BUTTON_URL_INVALID"):
        await bot.send_message(PRIVATE, "t", reply_markup=bad_url)
    two_actions = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="u", url="https://e.com", callback_data="c")]]
    )
    with pytest.raises(TelegramBadRequest, match="exactly one of the optional fields"):
        await bot.send_message(PRIVATE, "t", reply_markup=two_actions)


# --------------------------------------------------------------------------- rate limits


async def test_second_send_to_a_chat_within_a_second_is_429(
    tg: TelegramEmulator, bot: Bot, clock: FakeClock
) -> None:
    await bot.send_message(PRIVATE, "1")
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(PRIVATE, "2")
    assert caught.value.retry_after == 1
    assert "Too Many Requests: retry after 1" in caught.value.message
    clock.advance(0.94)
    with pytest.raises(TelegramRetryAfter):
        await bot.edit_message_text("1b", chat_id=PRIVATE, message_id=1)
    clock.advance(0.01)  # 0.95 s = 1 s minus the tolerance
    await bot.send_message(PRIVATE, "2")
    assert tg.count_429 == 2
    assert [m.text for m in tg.messages(PRIVATE)] == ["1", "2"]


async def test_group_allows_20_messages_per_minute(
    tg: TelegramEmulator, bot: Bot, clock: FakeClock
) -> None:
    for n in range(20):
        await bot.send_message(GROUP, f"m{n}")
        clock.advance(1)
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(GROUP, "m20")
    assert caught.value.retry_after == 40  # the 1st was at 0 s, now is 20 s: 39.95 s to go
    clock.advance(39.9)
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(GROUP, "m20")
    assert caught.value.retry_after == 1
    clock.advance(0.05)
    await bot.send_message(GROUP, "m20")


async def test_global_limit_is_30_per_second(
    tg: TelegramEmulator, bot: Bot, clock: FakeClock
) -> None:
    for chat_id in range(1, 32):
        tg.add_chat(chat_id)
    for chat_id in range(1, 31):
        await bot.send_message(chat_id, "broadcast")
        clock.advance(0.01)
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(31, "broadcast")
    assert caught.value.retry_after == 1
    clock.advance(0.65)  # the first of the 30 is now 0.95 s old
    await bot.send_message(31, "broadcast")


async def test_rate_limits_can_be_disabled(clock: FakeClock) -> None:
    async with TelegramEmulator(clock=clock, enforce_rate_limits=False) as tg:
        tg.add_chat(PRIVATE)
        bot = make_bot(tg)
        for n in range(5):
            await bot.send_message(PRIVATE, str(n))
        await bot.session.close()
    assert tg.count_429 == 0


def test_allowed_rate_floor_seconds() -> None:
    assert allowed_rate_floor_seconds({}) == 0
    assert allowed_rate_floor_seconds({1: 1}) == 0
    assert allowed_rate_floor_seconds({1: 3, 2: 2}) == 2
    assert allowed_rate_floor_seconds({-1: 20}) == 19
    assert allowed_rate_floor_seconds({-1: 21}) == 60
    assert allowed_rate_floor_seconds({-1: 45}) == 124
    assert allowed_rate_floor_seconds(dict.fromkeys(range(1, 62), 1)) == 2


async def test_injected_failures(tg: TelegramEmulator, bot: Bot) -> None:
    tg.fail_next("sendMessage", error_code=429, retry_after=7)
    tg.fail_next("sendmessage")
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(PRIVATE, "x")
    assert caught.value.retry_after == 7
    with pytest.raises(TelegramServerError, match="Internal Server Error"):
        await bot.send_message(PRIVATE, "x")
    await bot.send_message(PRIVATE, "x")  # the failures were not counted by the limiter
    assert tg.count_429 == 1
    assert [c.status for c in tg.calls] == [429, 500, 200]


# --------------------------------------------------------------------------- callbacks, updates


async def test_press_is_delivered_by_long_polling(tg: TelegramEmulator, bot: Bot) -> None:
    await bot.send_message(PRIVATE, "Ticket", reply_markup=keyboard(("Take", "t:take:1")))
    with pytest.raises(AssertionError, match="no button with callback_data 't:nope'"):
        tg.press(PRIVATE, 1, USER, "t:nope")
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await tg.wait_for(lambda: pending_poll(tg))
    query_id = tg.press(PRIVATE, 1, USER, "t:take:1")
    updates = await asyncio.wait_for(poll, 2)
    query = updates[0].callback_query
    assert query is not None
    assert query.id == query_id
    assert query.data == "t:take:1"
    assert query.from_user.username == "ann"
    assert isinstance(query.message, Message)
    assert query.message.text == "Ticket"
    assert tg.unanswered_callbacks() == [query_id]
    assert await bot.answer_callback_query(query_id, text="Taken") is True
    assert tg.callback_answers[query_id]["text"] == "Taken"
    assert tg.unanswered_callbacks() == []
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query_id)
    assert await bot.get_updates(offset=updates[-1].update_id + 1) == []


async def test_pressing_a_deleted_message_is_impossible(
    tg: TelegramEmulator, bot: Bot, clock: FakeClock
) -> None:
    await bot.send_message(PRIVATE, "Ticket", reply_markup=keyboard(("Take", "t:1")))
    clock.advance(1)
    await bot.delete_message(PRIVATE, 1)
    with pytest.raises(AssertionError, match="was deleted"):
        tg.press(PRIVATE, 1, USER, "t:1")


async def test_a_newer_poll_terminates_the_older_one(tg: TelegramEmulator, bot: Bot) -> None:
    older = asyncio.create_task(bot.get_updates(timeout=5))
    await tg.wait_for(lambda: pending_poll(tg))
    assert await bot.get_updates(timeout=0) == []
    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates"):
        await asyncio.wait_for(older, 2)


async def test_dispatcher_polling_receives_a_message(tg: TelegramEmulator, bot: Bot) -> None:
    dp = Dispatcher()
    seen: list[str] = []

    @dp.message(Command("start"))
    async def on_start(message: Message) -> None:
        seen.append(message.text or "")
        await message.answer("Welcome")

    polling = asyncio.create_task(
        dp.start_polling(bot, polling_timeout=1, handle_signals=False, close_bot_session=False)
    )
    tg.send_text(PRIVATE, USER, "/start")
    await tg.wait_for(lambda: len(tg.messages(PRIVATE)) == 2)
    assert seen == ["/start"]
    assert tg.message(PRIVATE, 2).text == "Welcome"
    await dp.stop_polling()
    await asyncio.wait_for(polling, 2)


# --------------------------------------------------------------------------- failures


async def test_down_gateway_and_recovery(tg: TelegramEmulator, bot: Bot, clock: FakeClock) -> None:
    tg.set_down(True)
    with pytest.raises(TelegramServerError, match="Bad Gateway"):
        await bot.send_message(PRIVATE, "x")
    tg.set_down(True, status=503, body="html")
    with pytest.raises(ClientDecodeError):
        await bot.get_me()
    tg.set_down(False)
    await bot.send_message(PRIVATE, "x")
    assert [c.status for c in tg.calls] == [502, 503, 200]


async def test_blocked_bot_is_forbidden(tg: TelegramEmulator, bot: Bot) -> None:
    tg.block_bot(PRIVATE)
    tg.block_bot(GROUP)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(PRIVATE, "x")
    with pytest.raises(TelegramForbiddenError, match="bot was kicked from the supergroup chat"):
        await bot.send_message(GROUP, "x")


async def test_wrong_token_unknown_method_and_raw_requests(tg: TelegramEmulator) -> None:
    stranger = make_bot(tg, token="999:WRONG")
    with pytest.raises(TelegramUnauthorizedError):
        await stranger.get_me()
    await stranger.session.close()
    async with aiohttp.ClientSession() as http:
        url = f"{tg.base_url}/bot{tg.token}"
        async with http.post(f"{url}/fooBar") as resp:
            assert resp.status == 404
            assert (await resp.json())["description"] == "Not Found: method not found"
        markup = {"inline_keyboard": [[{"text": "Go", "url": "https://example.com"}]]}
        payload = {"chat_id": USER, "text": "json body", "reply_markup": markup}
        async with http.post(f"{url}/SENDMESSAGE", json=payload) as resp:
            body = await resp.json()
        assert body["ok"]
        assert body["result"]["reply_markup"] == markup
        broken = {"chat_id": str(USER), "text": "x", "reply_markup": "{not json"}
        async with http.post(f"{url}/sendMessage", data=broken) as resp:
            assert resp.status == 400
            reason = (await resp.json())["description"]
        assert reason == "Bad Request: can't parse reply keyboard markup JSON object"
        async with http.get(f"{url}/getMe?x=1") as resp:
            assert (await resp.json())["result"]["is_bot"] is True
    assert [c.method for c in tg.calls] == [
        "getMe",
        "fooBar",
        "sendMessage",
        "sendMessage",
        "getMe",
    ]
    assert tg.calls[2].params["reply_markup"] == markup
    assert tg.calls[2].params["chat_id"] == str(USER)


async def test_wait_for_times_out_with_a_helpful_message(tg: TelegramEmulator) -> None:
    def never() -> bool:
        return False

    with pytest.raises(AssertionError, match=r"condition never not met within 0\.05 s"):
        await tg.wait_for(never, timeout=0.05)


# --------------------------------------------------------------------------- webhooks


async def test_webhook_push_with_secret(tg: TelegramEmulator, bot: Bot) -> None:
    received: list[tuple[str | None, dict[str, Any]]] = []

    async def receive(request: web.Request) -> web.Response:
        received.append(
            (request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json())
        )
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/hook", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        hook_url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
        with pytest.raises(TelegramBadRequest, match="secret token"):
            await bot.set_webhook(hook_url, secret_token="not allowed!")
        await bot.set_webhook(hook_url, secret_token="s3cret_-Token")
        assert (await bot.get_webhook_info()).url == hook_url
        with pytest.raises(TelegramConflictError):
            await bot.get_updates()
        tg.send_text(PRIVATE, USER, "hello")
        await tg.wait_for(lambda: len(received) == 1)
        secret, update = received[0]
        assert secret == "s3cret_-Token"
        assert update["message"]["text"] == "hello"
        assert (await bot.get_webhook_info()).pending_update_count == 0
        await bot.delete_webhook()
        assert await bot.get_updates() == []
    finally:
        await runner.cleanup()


async def test_failing_webhook_is_retried_then_dropped(tg: TelegramEmulator, bot: Bot) -> None:
    async def reject(request: web.Request) -> web.Response:
        return web.Response(status=401)

    app = web.Application()
    app.router.add_post("/hook", reject)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        await bot.set_webhook(f"http://127.0.0.1:{runner.addresses[0][1]}/hook")
        tg.send_text(PRIVATE, USER, "hello")
        await tg.wait_for(lambda: len(tg.webhook_deliveries) == 3)
        info = await bot.get_webhook_info()
        assert info.last_error_message == "Wrong response from the webhook: 401 Unauthorized"
        assert info.pending_update_count == 0  # given up after the 3rd attempt
        assert [d.status for d in tg.webhook_deliveries] == [401, 401, 401]
    finally:
        await runner.cleanup()


async def test_unknown_path_is_404(tg: TelegramEmulator) -> None:
    async with aiohttp.ClientSession() as http, http.get(f"{tg.base_url}/nothing") as resp:
        assert resp.status == 404
    bot = make_bot(tg)
    with pytest.raises(TelegramNotFound):
        await bot.get_file("x")  # a real method the emulator does not implement
    await bot.session.close()
