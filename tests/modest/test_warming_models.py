"""What the background warming builds, now that the outbox sends without aiogram's models."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import asyncio, base64, json
import modest  # imports aiogram the way the service does
from aiogram import Bot, methods, types
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from pydantic import BaseModel
from bot.plain_transport import PlainTransport
from modest.warming import warm_steps
from storage.models import OutboxOp
from tests.support.telegram_emulator import TelegramEmulator

built = [step() for step in warm_steps(webhook=False)]
pinned = sorted({m.__name__ for m in built if isinstance(m, type) and issubclass(m, BaseModel)})

async def cards() -> list[str]:
    async with TelegramEmulator(enforce_rate_limits=False) as tg:
        tg.add_user(501)
        session = AiohttpSession(api=TelegramAPIServer.from_base(tg.base_url))
        plain = PlainTransport(Bot(tg.token, session=session))
        markup = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
        card = {"text": "<b>c</b>", "reply_markup": markup, "reply_to_message_id": 1}
        sent = await plain.deliver(op=OutboxOp.SEND, chat_id=501, message_id=None, payload=card)
        ends = [sent.outcome]
        for op, payload in ((OutboxOp.EDIT, {"text": "d"}), (OutboxOp.DELETE, {})):
            done = await plain.deliver(
                op=op, chat_id=501, message_id=sent.message_id, payload=payload
            )
            ends.append(done.outcome)
        doc = {"document_b64": base64.b64encode(b"x").decode(), "filename": "a.txt"}
        done = await plain.deliver(op=OutboxOp.SEND, chat_id=501, message_id=None, payload=doc)
        ends.append(done.outcome)
        await session.close()
        return [str(end) for end in ends]

ends = asyncio.run(cards())
watched = (
    methods.EditMessageText, methods.SendDocument, methods.SendPhoto, types.Message,
    types.ReplyParameters, types.LinkPreviewOptions, types.ForceReply,
)
complete = sorted(m.__name__ for m in watched if m.__pydantic_complete__)
print(json.dumps({"pinned": pinned, "ends": ends, "complete": complete}))
"""


async def test_the_outbox_needs_no_message_models_of_aiogram() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", PROBE, stdout=asyncio.subprocess.PIPE, cwd=ROOT
    )
    stdout, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0
    result = json.loads(stdout)
    assert result["ends"] == ["delivered"] * 4
    # Response[Message] stays: the handlers answer with message.answer (sendMessage).
    assert result["pinned"] == [
        "Response[Message]",
        "Response[User]",
        "Response[bool]",
        "Response[list[Update]]",
    ], "no Response[Message | bool] (editMessageText) any more"
    assert result["complete"] == [], "a card, an edit, a delete, a document built none of them"
