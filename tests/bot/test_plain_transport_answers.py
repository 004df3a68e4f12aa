"""Answers the emulator never gives: the plain transport still never raises."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiohttp import web

from bot.delivery.sender import DeliveryResult, Outcome
from bot.delivery.watch import BotApiReachability, BotApiWatch
from bot.plain_transport import PlainTransport
from storage.models import OutboxOp

TOKEN = "42:test"


@dataclass
class Answer:
    """What the fake Bot API answers next."""

    status: int = 200
    body: str = '{"ok": true, "result": {"message_id": 7}}'
    delay: float = 0.0


@pytest.fixture
async def served() -> AsyncIterator[tuple[Answer, str]]:
    answer = Answer()

    async def handle(request: web.Request) -> web.Response:
        await request.read()
        await asyncio.sleep(answer.delay)
        return web.Response(status=answer.status, text=answer.body, content_type="text/plain")

    app = web.Application()
    app.router.add_post("/bot{token}/{method}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield answer, f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def _send(base: str, *, timeout: float = 5) -> tuple[DeliveryResult, BotApiReachability]:
    session = AiohttpSession(api=TelegramAPIServer.from_base(base), timeout=timeout)
    reachability = BotApiReachability()
    try:
        plain = PlainTransport(Bot(TOKEN, session=session), watch=BotApiWatch(reachability))
        result = await plain.deliver(
            op=OutboxOp.SEND, chat_id=5, message_id=None, payload={"text": "x"}
        )
    finally:
        await session.close()
    return result, reachability


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (502, "<html>Bad Gateway</html>", "ClientDecodeError: Failed to decode object"),
        (200, "{not json", "ClientDecodeError: Failed to decode object"),
        (200, '["ok"]', "ClientDecodeError: Failed to deserialize object"),
        (200, '{"ok": true}', "ClientDecodeError: Failed to deserialize object"),
        (
            200,
            '{"ok": true, "result": {"id": 1}}',
            "ClientDecodeError: Failed to deserialize object",
        ),
        (
            503,
            '{"ok": false, "error_code": 503, "description": "Service Unavailable"}',
            "TelegramServerError: Service Unavailable",
        ),
        (
            500,
            '{"ok": false, "error_code": 500, "description": "restarting"}',
            "RestartingTelegram: restarting",
        ),
    ],
    ids=[
        "html-5xx",
        "malformed",
        "not-an-envelope",
        "no-result",
        "no-message-id",
        "503",
        "restart",
    ],
)
async def test_broken_answers_are_transient_and_unreachable(
    served: tuple[Answer, str], status: int, body: str, error: str
) -> None:
    answer, base = served
    answer.status, answer.body = status, body
    result, reachability = await _send(base)
    assert result == DeliveryResult(Outcome.TRANSIENT, error=error)
    assert reachability.down


async def test_an_error_that_says_ok_false_on_200_fails(served: tuple[Answer, str]) -> None:
    answer, base = served
    answer.body = '{"ok": false, "description": "odd"}'
    result, reachability = await _send(base)
    assert result == DeliveryResult(Outcome.FAILED, error="TelegramAPIError: odd")
    assert not reachability.down


async def test_a_timeout_is_transient(served: tuple[Answer, str]) -> None:
    answer, base = served
    answer.delay = 2.0
    result, reachability = await _send(base, timeout=0.2)
    assert result == DeliveryResult(
        Outcome.TRANSIENT, error="TelegramNetworkError: Request timeout error"
    )
    assert reachability.down


async def test_nobody_listening_is_transient() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result, reachability = await _send(f"http://127.0.0.1:{port}")
    assert result.outcome == Outcome.TRANSIENT
    assert result.error.startswith("TelegramNetworkError: ClientConnectorError")
    assert reachability.down


async def test_a_success_brings_the_bot_api_back(served: tuple[Answer, str]) -> None:
    _, base = served
    result, reachability = await _send(base)
    assert result == DeliveryResult(Outcome.DELIVERED, message_id=7)
    assert not reachability.down


def test_only_an_aiohttp_session_will_do() -> None:
    class Other(AiohttpSession):
        pass

    PlainTransport(Bot(TOKEN, session=Other()))  # a subclass is fine
    bot = Bot(TOKEN)
    bot.session = object()  # type: ignore[assignment]
    with pytest.raises(TypeError):
        PlainTransport(bot)
