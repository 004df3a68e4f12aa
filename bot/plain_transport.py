"""The outbox's Telegram transport as plain HTTP: no aiogram models per card.

The same Bot API calls as ``bot.transport.AiogramTransport`` (sendMessage,
editMessageText, deleteMessage, sendDocument, sendPhoto; HTML, link previews off, the
payload's markup as it is), sent as JSON (files as multipart) and answered as plain JSON
(``bot.bot_api_answers``), so a card neither builds request models nor validates the
answer into ``Response[Message]``, and the service need not hold those validators.

The calls go through aiogram's own aiohttp session (``AiohttpSession.create_session``):
the same server, token, timeout, TLS and connection pool as every other call, closed
with the bot on stop. Being past the session's middlewares, each call reports to the
``BotApiWatch`` itself, so the reachability and the metrics see it as before.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiogram.client.session.aiohttp import AiohttpSession
from aiohttp import ClientError, ClientTimeout, FormData

from bot.bot_api_answers import Ended, read_answer
from bot.delivery.sender import DeliveryResult, Outcome
from bot.delivery.watch import BotApiWatch, CallOutcome
from bot.telegram_errors import for_chat
from storage.models import OutboxOp

if TYPE_CHECKING:
    from aiogram import Bot

_NO_PREVIEW = {"is_disabled": True}


@dataclass(frozen=True, slots=True)
class BotApiCall:
    """One Bot API request: its method, its fields, and a file to upload if any."""

    method: str
    fields: dict[str, Any]
    #: (field, file name, content): sent as multipart instead of JSON.
    upload: tuple[str, str, bytes] | None = None


class PlainTransport:
    """Implements ``bot.delivery.sender.TelegramTransport`` with plain Bot API requests."""

    def __init__(self, bot: Bot, *, watch: BotApiWatch | None = None) -> None:
        if not isinstance(bot.session, AiohttpSession):
            raise TypeError("PlainTransport needs the bot's AiohttpSession")
        self._session = bot.session
        self._token = bot.token
        self._watch = watch

    async def deliver(
        self, *, op: OutboxOp, chat_id: int, message_id: int | None, payload: dict[str, Any]
    ) -> DeliveryResult:
        """Make the call and say how it went; never raises for Telegram or network errors."""
        call = build_call(op, chat_id, message_id, payload)
        started = time.perf_counter()
        watched, result = await self._call(call, chat_id, message_id)
        if self._watch is not None:
            self._watch.seen(call.method, watched, started)
        return for_chat(result, chat_id)

    async def _call(self, call: BotApiCall, chat_id: int, message_id: int | None) -> Ended:
        session = await self._session.create_session()
        url = self._session.api.api_url(token=self._token, method=call.method)
        timeout = ClientTimeout(total=self._session.timeout)
        try:
            if call.upload is None:
                request = session.post(url, json=call.fields, timeout=timeout)
            else:
                request = session.post(url, data=_form(call), timeout=timeout)
            async with request as response:
                status, body = response.status, await response.read()
        # aiogram's TelegramNetworkError texts, in its order (a timeout first).
        except TimeoutError:
            return _network("TelegramNetworkError: Request timeout error")
        except ClientError as exc:
            return _network(f"TelegramNetworkError: {type(exc).__name__}: {exc}")
        except OSError as exc:
            return _network(repr(exc))
        return read_answer(call.method, chat_id, message_id, status, body)


def build_call(
    op: OutboxOp, chat_id: int, message_id: int | None, payload: dict[str, Any]
) -> BotApiCall:
    """The request an outbox row makes."""
    if op == OutboxOp.SEND:
        return _send(chat_id, payload)
    assert message_id is not None
    if op == OutboxOp.EDIT:
        fields: dict[str, Any] = {
            "chat_id": chat_id,
            "message_id": message_id,
            "text": payload["text"],
            "parse_mode": "HTML",
            "link_preview_options": _NO_PREVIEW,
        }
        markup = _markup(payload)
        # An edit takes inline buttons only; none means "remove them".
        if markup is not None and not markup.get("force_reply"):
            fields["reply_markup"] = markup
        return BotApiCall("editMessageText", fields)
    return BotApiCall("deleteMessage", {"chat_id": chat_id, "message_id": message_id})


def _send(chat_id: int, payload: dict[str, Any]) -> BotApiCall:
    for key, method, field in (
        ("document_b64", "sendDocument", "document"),
        ("photo_b64", "sendPhoto", "photo"),
    ):
        if key in payload:
            fields: dict[str, Any] = {"chat_id": chat_id, "parse_mode": "HTML"}
            if caption := payload.get("caption"):
                fields["caption"] = caption
            content = base64.b64decode(payload[key])
            return BotApiCall(method, fields, upload=(field, payload["filename"], content))
    fields = {
        "chat_id": chat_id,
        "text": payload["text"],
        "parse_mode": "HTML",
        "link_preview_options": _NO_PREVIEW,
    }
    if (markup := _markup(payload)) is not None:
        fields["reply_markup"] = markup
    if reply_to := payload.get("reply_to_message_id"):
        # The card may have been deleted (older than 48 h, or by hand): send anyway.
        fields["reply_parameters"] = {
            "message_id": int(reply_to),
            "allow_sending_without_reply": True,
        }
    return BotApiCall("sendMessage", fields)


def _markup(payload: dict[str, Any]) -> dict[str, Any] | None:
    raw = payload.get("reply_markup")
    if not raw:
        return None
    cleaned: dict[str, Any] = _without_none(raw)
    return cleaned


def _without_none(value: Any) -> Any:
    # aiogram never sent a null field; Telegram need not see one now either.
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value if v is not None]
    return value


def _form(call: BotApiCall) -> FormData:
    assert call.upload is not None
    # quote_fields=False as aiogram: a file name in Cyrillic stays readable.
    form = FormData(quote_fields=False)
    for key, value in call.fields.items():
        form.add_field(key, str(value))
    field, filename, content = call.upload
    form.add_field(field, content, filename=filename)
    return form


def _network(error: str) -> Ended:
    return CallOutcome.NETWORK_ERROR, DeliveryResult(Outcome.TRANSIENT, error=error)
