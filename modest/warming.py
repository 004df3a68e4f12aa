"""Building the aiogram models the service uses, in the background once it is up.

aiogram's models are built on first use (``modest.lazy_aiogram``). The first card, the
first update and the first edit would each pay for a build (up to ~100 ms of CPU with
the event loop stalled), so the service builds them itself, but only after ``/healthz``
answers: one model at a time, handing the event loop back between two, so a request that
comes meanwhile waits for one build at most instead of all of them. A request that needs
a model not built yet builds it itself (pydantic's lazy path); nothing is ever wrong,
only slower once.

Only the models of the configured mode are built: long polling receives its updates in
``Response[list[Update]]`` and never validates an ``Update`` alone; a webhook does the
reverse. Each model holding a whole ``Message`` costs about 2.5 MiB of memory.
"""

from __future__ import annotations

import asyncio
import gc
import sys
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import structlog
from aiogram import methods, types
from aiogram.methods.base import Response
from pydantic import BaseModel

from modest.lazy_aiogram import warm_up

log = structlog.get_logger(__name__)

#: The types the bot itself builds (the renderers' buttons).
_BUILT_TYPES = (
    types.InlineKeyboardMarkup,
    types.InlineKeyboardButton,
)

#: What setting the command menus builds (``bot.commands.register_menus``), right after.
_MENU_TYPES = (
    methods.SetMyCommands,
    types.BotCommand,
    types.BotCommandScopeAllPrivateChats,
    types.BotCommandScopeChat,
)

#: The methods the service calls through aiogram once it runs: the handlers' answers
#: (``message.answer``, a press's answer) and the start-up check. The outbox's sends,
#: edits and deletes build no aiogram model (``bot.plain_transport``). pydantic caches the
#: ``Response[...]`` models aiogram parametrises per call only weakly, so unpinned they
#: are rebuilt after every collection (~5 ms each): the service keeps them referenced.
_CALLED = (
    methods.SendMessage,
    methods.AnswerCallbackQuery,
    methods.GetMe,
)

#: While the models are built in a worker thread, the event loop waits at most this long
#: for the GIL (Python's default, 5 ms, made each of a request's hand-offs to the
#: database thread that slow: the first /healthz took ~0.2 s).
SWITCH_INTERVAL = 0.0005

Step = Callable[[], object]


def _response(method: type[methods.TelegramMethod[Any]]) -> type[BaseModel]:
    built: type[BaseModel] = Response[method.__returning__]  # type: ignore[name-defined]
    return built


def warm_steps(*, webhook: bool) -> list[Step]:
    """One build per step, in the order the first requests need them."""
    steps: list[Step] = [
        partial(warm_up, [types.Update]) if webhook else partial(_response, methods.GetUpdates)
    ]
    for method in _CALLED:
        steps += [partial(warm_up, [method]), partial(_response, method)]
    steps += [partial(warm_up, [model]) for model in (*_BUILT_TYPES, *_MENU_TYPES)]
    steps.append(partial(_response, methods.SetMyCommands))
    return steps


async def warm_in_background(pinned: list[object], *, webhook: bool) -> float:
    """Run the steps, yielding to the event loop between two; the seconds it took.

    What a step returns (the ``Response[...]`` models) is appended to ``pinned``.
    """
    started = time.perf_counter()
    switch = sys.getswitchinterval()
    sys.setswitchinterval(min(switch, SWITCH_INTERVAL))
    try:
        for step in warm_steps(webhook=webhook):
            built = await asyncio.to_thread(step)
            if isinstance(built, type) and issubclass(built, BaseModel):
                pinned.append(built)
    finally:
        sys.setswitchinterval(switch)
    # As after start: what was just built lives as long as the process, so the
    # collector need not walk it again and again.
    gc.freeze()
    seconds = time.perf_counter() - started
    log.info("modest.warmed", seconds=round(seconds, 3))
    return seconds
