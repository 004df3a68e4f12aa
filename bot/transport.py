"""The outbox's Telegram transport through aiogram: one ``Bot`` call, its errors classified.

The service sends with ``bot.plain_transport`` (the same calls without aiogram's models);
this one stays as the reference that one is measured and tested against (``bench.transport``).
403 means the user blocked or removed the bot; 429 carries ``retry_after``; 5xx and
network trouble pass; bad requests are read by ``bot.telegram_errors``.
"""

from __future__ import annotations

import base64
from typing import Any

from aiogram import Bot
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import (
    BufferedInputFile,
    ForceReply,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    ReplyParameters,
)

from bot.delivery.sender import DeliveryResult, Outcome
from bot.telegram_errors import bad_request, for_chat
from storage.models import OutboxOp


class AiogramTransport:
    """Implements ``bot.delivery.sender.TelegramTransport`` with an aiogram ``Bot``."""

    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def deliver(
        self, *, op: OutboxOp, chat_id: int, message_id: int | None, payload: dict[str, Any]
    ) -> DeliveryResult:
        """Make the call and say how it went; never raises for Telegram errors."""
        return for_chat(await self._classified(op, chat_id, message_id, payload), chat_id)

    async def _classified(
        self, op: OutboxOp, chat_id: int, message_id: int | None, payload: dict[str, Any]
    ) -> DeliveryResult:
        try:
            return await self._call(op, chat_id, message_id, payload)
        except TelegramRetryAfter as exc:
            return DeliveryResult(
                Outcome.RETRY_AFTER, retry_after=float(exc.retry_after), error=exc.message
            )
        except TelegramForbiddenError as exc:
            return DeliveryResult(Outcome.BLOCKED, error=exc.message)
        except TelegramBadRequest as exc:
            return bad_request(exc.message)
        except (TelegramServerError, TelegramNetworkError, TelegramUnauthorizedError) as exc:
            # Unauthorized too: a token being rotated should not lose messages.
            return DeliveryResult(Outcome.TRANSIENT, error=f"{type(exc).__name__}: {exc.message}")
        except (TimeoutError, OSError) as exc:
            return DeliveryResult(Outcome.TRANSIENT, error=repr(exc))
        except TelegramMigrateToChat as exc:
            # The group became a supergroup: routing.yaml must name the new id.
            return DeliveryResult(
                Outcome.FAILED, error=f"chat moved to {exc.migrate_to_chat_id}: update chat_id"
            )
        except TelegramAPIError as exc:
            return DeliveryResult(Outcome.FAILED, error=f"{type(exc).__name__}: {exc.message}")

    async def _call(
        self, op: OutboxOp, chat_id: int, message_id: int | None, payload: dict[str, Any]
    ) -> DeliveryResult:
        if op == OutboxOp.SEND:
            return await self._send(chat_id, payload)
        assert message_id is not None
        if op == OutboxOp.EDIT:
            markup = _markup(payload)
            edited = await self._bot.edit_message_text(
                chat_id=chat_id,
                message_id=message_id,
                text=payload["text"],
                parse_mode=ParseMode.HTML,
                # An edit takes inline buttons only; none means "remove them".
                reply_markup=markup if isinstance(markup, InlineKeyboardMarkup) else None,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
            mid = edited.message_id if isinstance(edited, Message) else message_id
            return DeliveryResult(Outcome.DELIVERED, message_id=mid)
        await self._bot.delete_message(chat_id=chat_id, message_id=message_id)
        return DeliveryResult(Outcome.DELIVERED, message_id=message_id)

    async def _send(self, chat_id: int, payload: dict[str, Any]) -> DeliveryResult:
        if "document_b64" in payload:
            document = BufferedInputFile(
                base64.b64decode(payload["document_b64"]), filename=payload["filename"]
            )
            sent = await self._bot.send_document(
                chat_id=chat_id,
                document=document,
                caption=payload.get("caption"),
                parse_mode=ParseMode.HTML,
            )
            return DeliveryResult(Outcome.DELIVERED, message_id=sent.message_id)
        if "photo_b64" in payload:
            photo = BufferedInputFile(
                base64.b64decode(payload["photo_b64"]), filename=payload["filename"]
            )
            sent = await self._bot.send_photo(
                chat_id=chat_id,
                photo=photo,
                caption=payload.get("caption"),
                parse_mode=ParseMode.HTML,
            )
            return DeliveryResult(Outcome.DELIVERED, message_id=sent.message_id)
        sent = await self._bot.send_message(
            chat_id=chat_id,
            text=payload["text"],
            parse_mode=ParseMode.HTML,
            reply_markup=_markup(payload),
            link_preview_options=LinkPreviewOptions(is_disabled=True),
            reply_parameters=_reply_to(payload),
        )
        return DeliveryResult(Outcome.DELIVERED, message_id=sent.message_id)


def _reply_to(payload: dict[str, Any]) -> ReplyParameters | None:
    message_id = payload.get("reply_to_message_id")
    if not message_id:
        return None
    # The card may have been deleted (older than 48 h, or by hand): send anyway.
    return ReplyParameters(message_id=int(message_id), allow_sending_without_reply=True)


def _markup(payload: dict[str, Any]) -> InlineKeyboardMarkup | ForceReply | None:
    raw = payload.get("reply_markup")
    if not raw:
        return None
    if raw.get("force_reply"):
        return ForceReply.model_validate(raw)
    return InlineKeyboardMarkup.model_validate(raw)
