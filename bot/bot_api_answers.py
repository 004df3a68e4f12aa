"""A Bot API answer read as plain JSON: how the call ended, for the outbox and the watch.

The rules are aiogram's (``BaseSession.check_response``) and the outbox's
(``bot.transport``), so the plain transport ends every call the way the aiogram one did:

* an answer that is not Telegram's JSON, or a success without a usable result, is
  transient (and the Bot API unreachable, as a ``ClientDecodeError`` counted);
* ``parameters.retry_after`` (any status) is a 429 to wait out;
  ``parameters.migrate_to_chat_id`` fails: the routing file must name the new id;
* then by status: 400 is read by ``bot.telegram_errors``, 403 is blocked, 401, 413 and
  5xx are transient, anything else fails.
"""

from __future__ import annotations

import json
from typing import Any, Final

from bot.delivery.sender import DeliveryResult, Outcome
from bot.delivery.watch import CallOutcome
from bot.telegram_errors import bad_request

Ended = tuple[CallOutcome, DeliveryResult]

#: The calls whose result may be True instead of the message (it is the one they name).
_ABOUT_A_MESSAGE: Final = frozenset({"editMessageText", "deleteMessage"})

#: Statuses read alone: the watch's outcome, the outbox's, aiogram's exception name
#: (the outbox's error texts have always started with it).
_BY_STATUS: Final[dict[int, tuple[CallOutcome, Outcome, str]]] = {
    401: (CallOutcome.UNAUTHORIZED, Outcome.TRANSIENT, "TelegramUnauthorizedError"),
    404: (CallOutcome.NOT_FOUND, Outcome.FAILED, "TelegramNotFound"),
    409: (CallOutcome.CONFLICT, Outcome.FAILED, "TelegramConflictError"),
    # A network-error subclass in aiogram, hence transient; the watch counts it a bad request.
    413: (CallOutcome.BAD_REQUEST, Outcome.TRANSIENT, "TelegramEntityTooLarge"),
}


def read_answer(
    method: str, chat_id: int, message_id: int | None, status: int, body: bytes
) -> Ended:
    """How a call to ``method`` ended, from the answer's HTTP status and body.

    ``message_id`` is the message an edit or a delete was about (the result then).
    """
    try:
        answer = json.loads(body)
    except ValueError:
        return bad_answer("Failed to decode object")
    if not isinstance(answer, dict) or not isinstance(answer.get("ok"), bool):
        return bad_answer("Failed to deserialize object")
    if 200 <= status <= 226 and answer["ok"]:
        return _success(method, answer.get("result"), message_id)
    return _error(method, chat_id, status, answer)


def bad_answer(why: str) -> Ended:
    """An answer that is not the Bot API's: transient, and the Bot API unreachable."""
    return CallOutcome.BAD_ANSWER, DeliveryResult(
        Outcome.TRANSIENT, error=f"ClientDecodeError: {why}"
    )


def _success(method: str, result: Any, message_id: int | None) -> Ended:
    if isinstance(result, dict):
        sent = result.get("message_id")
        if isinstance(sent, int) and not isinstance(sent, bool):
            return CallOutcome.OK, DeliveryResult(Outcome.DELIVERED, message_id=sent)
    elif isinstance(result, bool) and method in _ABOUT_A_MESSAGE and message_id is not None:
        # An edit may answer True instead of the message; a delete always does.
        return CallOutcome.OK, DeliveryResult(Outcome.DELIVERED, message_id=message_id)
    return bad_answer("Failed to deserialize object")


def _error(method: str, chat_id: int, status: int, answer: dict[str, Any]) -> Ended:
    description = answer.get("description")
    text = description if isinstance(description, str) else ""
    parameters = answer.get("parameters")
    if isinstance(parameters, dict):
        if retry_after := parameters.get("retry_after"):
            return CallOutcome.RETRY_AFTER, DeliveryResult(
                Outcome.RETRY_AFTER,
                retry_after=float(retry_after),
                error=_flood_text(method, chat_id, retry_after, text),
            )
        if moved_to := parameters.get("migrate_to_chat_id"):
            # The group became a supergroup: routing.yaml must name the new id.
            return CallOutcome.OTHER, DeliveryResult(
                Outcome.FAILED, error=f"chat moved to {moved_to}: update chat_id"
            )
    return _by_status(status, text)


def _by_status(status: int, text: str) -> Ended:
    if status == 400:
        return CallOutcome.BAD_REQUEST, bad_request(text)
    if status == 403:
        return CallOutcome.FORBIDDEN, DeliveryResult(Outcome.BLOCKED, error=text)
    if status >= 500:
        name = "RestartingTelegram" if "restart" in text else "TelegramServerError"
        return CallOutcome.SERVER_ERROR, DeliveryResult(Outcome.TRANSIENT, error=f"{name}: {text}")
    if status in _BY_STATUS:
        watched, outcome, name = _BY_STATUS[status]
        return watched, DeliveryResult(outcome, error=f"{name}: {text}")
    return CallOutcome.OTHER, DeliveryResult(Outcome.FAILED, error=f"TelegramAPIError: {text}")


def _flood_text(method: str, chat_id: int, retry_after: object, text: str) -> str:
    # aiogram's TelegramRetryAfter wording, which the outbox's log has always shown.
    name = method[:1].upper() + method[1:]
    return (
        f"Flood control exceeded on method {name!r} in chat {chat_id}. "
        f"Retry in {retry_after} seconds.\nOriginal description: {text}"
    )
