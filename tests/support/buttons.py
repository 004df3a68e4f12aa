"""Pressing inline buttons by their label, as a person does."""

from __future__ import annotations

from tests.support.telegram_emulator import EmulatedMessage, TelegramEmulator


def press_labelled(
    tg: TelegramEmulator,
    chat: int,
    message: EmulatedMessage,
    label: str,
    *,
    user: int | None = None,
) -> str:
    """Press the button labelled ``label`` on ``message`` as ``user`` (default: the chat).

    Returns the callback query id, to wait for its answer. Fails with the labels
    there are when none matches, so a renamed button says what it became.
    """
    buttons = tg.buttons(chat, message.message_id)
    data = next((d for text, d, _ in buttons if text == label), None)
    assert data is not None, f"no button {label!r}; there are {[b[0] for b in buttons]}"
    return tg.press(chat, message.message_id, user if user is not None else chat, data)


def find_message(tg: TelegramEmulator, chat: int, needle: str) -> EmulatedMessage | None:
    """The newest message of ``chat`` whose text holds ``needle``."""
    return next((m for m in reversed(tg.messages(chat)) if needle in m.text), None)


async def wait_message(
    tg: TelegramEmulator, chat: int, needle: str, timeout: float = 8.0
) -> EmulatedMessage:
    """Wait for a message of ``chat`` holding ``needle`` and return it."""
    await tg.wait_for(lambda: find_message(tg, chat, needle) is not None, timeout=timeout)
    found = find_message(tg, chat, needle)
    assert found is not None
    return found
