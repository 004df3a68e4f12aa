"""What Telegram's error answers mean for one outbox call, shared by both transports.

Classification follows Telegram's own error texts: "message is not modified" means the
message already shows what we wanted; a chat that is gone or bars the bot is written off
like a blocked one; any other bad request fails.
"""

from __future__ import annotations

from bot.delivery.sender import DeliveryResult, Outcome

_NOT_MODIFIED = "message is not modified"
_GONE = ("chat not found", "bot was kicked", "user is deactivated", "have no rights to send")


def bad_request(description: str) -> DeliveryResult:
    """The result of a 400 answer with this ``description``."""
    text = description.lower()
    if _NOT_MODIFIED in text:
        return DeliveryResult(Outcome.DELIVERED, error=description)
    if any(marker in text for marker in _GONE):
        return DeliveryResult(Outcome.BLOCKED, error=description)
    return DeliveryResult(Outcome.FAILED, error=description)


def for_chat(result: DeliveryResult, chat_id: int) -> DeliveryResult:
    """``result`` as the sender should see it for ``chat_id``."""
    if result.outcome == Outcome.BLOCKED and chat_id < 0:
        # A group (the dispatch chat) is never written off for good: the bot may be
        # back in it any minute. This message fails, and the log says why.
        return DeliveryResult(Outcome.FAILED, error=f"group refuses messages: {result.error}")
    return result
