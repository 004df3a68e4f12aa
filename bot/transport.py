"""The outbox's Telegram transport: one aiogram call, its errors classified.

Classification follows Telegram's own error texts: "message is not modified"
means the message already shows what we wanted; 403 means the user blocked or
removed the bot; 429 carries ``retry_after``; 5xx and network trouble pass.
"""

from __future__ import annotations

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
from aiogram.types import InlineKeyboardMarkup, LinkPreviewOptions, Message, ReplyParameters

from storage.models import OutboxOp
from storage.outbox import DeliveryResult, Outcome

_NOT_MODIFIED = "message is not modified"
_GONE = ("chat not found", "bot was kicked", "user is deactivated", "have no rights to send")


class AiogramTransport:
    """Implements ``storage.outbox.TelegramTransport`` with an aiogram ``Bot``."""

    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def deliver(
        self, *, op: OutboxOp, chat_id: int, message_id: int | None, payload: dict[str, Any]
    ) -> DeliveryResult:
        """Make the call and say how it went; never raises for Telegram errors."""
        try:
            return await self._call(op, chat_id, message_id, payload)
        except TelegramRetryAfter as exc:
            return DeliveryResult(
                Outcome.RETRY_AFTER, retry_after=float(exc.retry_after), error=exc.message
            )
        except TelegramForbiddenError as exc:
            return DeliveryResult(Outcome.BLOCKED, error=exc.message)
        except TelegramBadRequest as exc:
            return _bad_request(exc)
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
        markup = _markup(payload)
        if op == OutboxOp.SEND:
            sent = await self._bot.send_message(
                chat_id=chat_id,
                text=payload["text"],
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                reply_parameters=_reply_to(payload),
            )
            return DeliveryResult(Outcome.DELIVERED, message_id=sent.message_id)
        assert message_id is not None
        if op == OutboxOp.EDIT:
            edited = await self._bot.edit_message_text(
                chat_id=chat_id,
                message_id=message_id,
                text=payload["text"],
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
            mid = edited.message_id if isinstance(edited, Message) else message_id
            return DeliveryResult(Outcome.DELIVERED, message_id=mid)
        await self._bot.delete_message(chat_id=chat_id, message_id=message_id)
        return DeliveryResult(Outcome.DELIVERED, message_id=message_id)


def _reply_to(payload: dict[str, Any]) -> ReplyParameters | None:
    message_id = payload.get("reply_to_message_id")
    if not message_id:
        return None
    # The card may have been deleted (older than 48 h, or by hand): send anyway.
    return ReplyParameters(message_id=int(message_id), allow_sending_without_reply=True)


def _markup(payload: dict[str, Any]) -> InlineKeyboardMarkup | None:
    raw = payload.get("reply_markup")
    return InlineKeyboardMarkup.model_validate(raw) if raw else None


def _bad_request(exc: TelegramBadRequest) -> DeliveryResult:
    text = exc.message.lower()
    if _NOT_MODIFIED in text:
        return DeliveryResult(Outcome.DELIVERED, error=exc.message)
    if any(marker in text for marker in _GONE):
        return DeliveryResult(Outcome.BLOCKED, error=exc.message)
    return DeliveryResult(Outcome.FAILED, error=exc.message)
