"""aiogram imported with its models built on first use (``modest.lazy_aiogram``)."""

from __future__ import annotations

import asyncio
import json
import sys

from config.routing import RoutingConfig
from modest.lazy_aiogram import _aiogram_models
from tests.support.dispatching import IVAN, OLGA, assign_on_card
from tests.support.harness import running_modest, ticket_body
from tests.support.telegram_emulator import TelegramEmulator

PROBE = """
import json, sys
import modest  # imports aiogram the way the service does
from modest.lazy_aiogram import _aiogram_models, warm_up
from aiogram.methods import GetChatMember
from aiogram.methods.base import Response
from aiogram.types import Sticker, Update

result = {"deferred": not Sticker.__pydantic_complete__}
update = Update.model_validate({
    "update_id": 7,
    "callback_query": {
        "id": "q", "chat_instance": "c", "data": "dp:1:d:2",
        "from": {"id": 5, "is_bot": False, "first_name": "Olga"},
        "message": {"message_id": 9, "date": 0, "chat": {"id": -100, "type": "supergroup"},
                    "text": "card", "reply_to_message": {"message_id": 8, "date": 0,
                    "chat": {"id": -100, "type": "supergroup"}, "text": "x"}},
    },
})
result["update"] = [update.callback_query.from_user.first_name,
                    update.callback_query.message.reply_to_message.message_id]
member = Response[GetChatMember.__returning__].model_validate({"ok": True, "result": {
    "status": "creator", "is_anonymous": False,
    "user": {"id": 1, "is_bot": False, "first_name": "x"}}})
result["member"] = type(member.result).__name__
# Models outside aiogram that nest types not built yet, as a handler's payload might.
from pydantic import BaseModel, TypeAdapter
from aiogram.types import Message
from aiogram.utils.chat_member import ChatMemberAdapter
class Outside(BaseModel):
    message: Message
outside = Outside.model_validate({"message": {"message_id": 1, "date": 0,
                                              "chat": {"id": 1, "type": "private"}}})
adapted = TypeAdapter(Message).validate_python({"message_id": 2, "date": 0,
                                                "chat": {"id": 1, "type": "group"}})
owner = ChatMemberAdapter.validate_python({"status": "creator", "is_anonymous": False,
                                           "user": {"id": 1, "is_bot": False, "first_name": "x"}})
result["outside"] = [outside.message.message_id, adapted.chat.type, type(owner).__name__]
failed = []
for model in _aiogram_models():
    try:
        warm_up([model])
    except Exception as exc:
        failed.append(f"{model.__name__}: {exc}")
result["failed"] = failed
result["models"] = sum(1 for _ in _aiogram_models())
print(json.dumps(result))
"""


async def test_models_are_deferred_and_every_one_still_builds() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", PROBE, stdout=asyncio.subprocess.PIPE
    )
    stdout, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0
    result = json.loads(stdout)
    assert result["deferred"] is True
    assert result["update"] == ["Olga", 8]
    assert result["member"] == "ChatMemberOwner"
    assert result["outside"] == [1, "group", "ChatMemberOwner"]
    assert result["failed"] == []
    assert result["models"] > 400


async def test_the_dispatch_flow_builds_no_model_after_start(
    tg: TelegramEmulator, routing: RoutingConfig, sqlite_url: str
) -> None:
    # A model built on first use stalls the event loop for milliseconds: the service
    # builds the ones it needs before it takes traffic.
    async with running_modest(tg, routing, sqlite_url) as h:
        ready = {model for model in _aiogram_models() if model.__pydantic_complete__}
        await h.post_generic(ticket_body("31"))
        card = await h.card()
        await assign_on_card(h, card.message_id, IVAN, "Support", "Olga Sidorova")
        await tg.wait_for(lambda: len(tg.messages(OLGA)) == 1)
        built = {model for model in _aiogram_models() if model.__pydantic_complete__}
    assert sorted(model.__name__ for model in built - ready) == []
