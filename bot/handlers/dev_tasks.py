"""Developer-task buttons, replies in private chats, and ``/tasks``."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from bot.callbacks import DevAction, DevCb
from bot.i18n import Texts
from bot.replies import safe_answer
from dispatch.dev_sync import DevTaskSync
from dispatch.dev_tasks import DevOutcome, DevTaskService
from dispatch.events import Actor
from dispatch.time_tracking import TimeOutcome, TimeTracker


def dev_tasks_router() -> Router:
    """``dv:`` buttons, ``/tasks``, and the replies that answer the bot's questions."""
    router = Router(name="dev_tasks")
    router.callback_query.register(dev_tapped, DevCb.filter())
    router.message.register(tasks_command, Command("tasks"), F.chat.type == "private")
    router.message.register(reply_received, F.chat.type == "private", F.reply_to_message, F.text)
    return router


async def dev_tapped(
    query: CallbackQuery,
    callback_data: DevCb,
    dev_tasks: DevTaskService,
    dev_sync: DevTaskSync,
    texts: Texts,
    actor: Actor,
) -> None:
    """Start a task, take the ticket text, pick the developer, or reply into a task."""
    ref = callback_data.ref
    match callback_data.action:
        case DevAction.START:
            outcome = await dev_tasks.start(ticket_id=ref, actor=actor)
        case DevAction.TEXT:
            outcome = await dev_tasks.use_ticket_text(question_id=ref, actor=actor)
        case DevAction.PICK:
            outcome = await dev_tasks.pick(
                draft=ref, developer_key=callback_data.person, actor=actor
            )
        case DevAction.REPLY:
            outcome = await dev_sync.reply_start(task_id=ref, actor=actor)
    if outcome == DevOutcome.OK:
        await safe_answer(query, None)
    elif outcome == DevOutcome.NOT_ALLOWED:
        await safe_answer(
            query, texts("Only the specialist who started it can continue."), alert=True
        )
    else:
        await safe_answer(query, texts("This button is out of date."), alert=True)


async def reply_received(
    message: Message,
    time_tracker: TimeTracker,
    dev_tasks: DevTaskService,
    dev_sync: DevTaskSync,
    texts: Texts,
    actor: Actor,
) -> None:
    """A reply to one of the bot's questions: the time spent, a task statement or a reply."""
    assert message.reply_to_message is not None
    assert message.from_user is not None
    chat, replied, text = message.chat.id, message.reply_to_message.message_id, message.text or ""
    time = await time_tracker.answer(
        chat_id=chat, reply_to_message_id=replied, text=text, actor=actor
    )
    if time is not None:
        if time.outcome == TimeOutcome.LOCKED:
            await message.answer(
                texts("This month's report was issued: its time can no longer change.")
            )
        return
    if (
        await dev_tasks.statement(
            chat_id=chat, reply_to_message_id=replied, text=text, actor=actor
        )
        is not None
    ):
        return
    await dev_sync.reply_text(chat_id=chat, reply_to_message_id=replied, text=text, actor=actor)


async def tasks_command(message: Message, dev_sync: DevTaskSync, actor: Actor) -> None:
    """``/tasks`` in a private chat."""
    await dev_sync.send_my_tasks(actor=actor)
