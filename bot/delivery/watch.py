"""Every Bot API call the bot makes, watched: how it ended, and whether Telegram is back.

``BotApiWatch`` is an aiogram session middleware, so it sees all calls: the long poll
(``getUpdates``), the outbox's sends and edits, the answers to button presses. It
classifies each outcome once (``CallOutcome``), reports it to an observer (metrics),
and keeps ``BotApiReachability`` up to date:

* a network error, a 5xx, an answer that is not Telegram's JSON, or 401 means the Bot
  API cannot take our calls ("unreachable");
* any other answer (a success, and also 400, 403, 409 or a 429) means it can.

The outbox backs a message off for up to a minute after a network error or a 5xx.
When the Bot API answers again, waiting that out would hold cards for no reason, so the
reachability tells its listeners at once (the sender then retries those messages).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods.base import TelegramType

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.methods import Response, TelegramMethod


class CallOutcome(StrEnum):
    """How one Bot API call ended."""

    OK = "ok"
    RETRY_AFTER = "retry_after"
    BAD_REQUEST = "bad_request"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    UNAUTHORIZED = "unauthorized"
    SERVER_ERROR = "server_error"
    NETWORK_ERROR = "network_error"
    BAD_ANSWER = "bad_answer"
    OTHER = "other"


#: Outcomes that say the Bot API cannot take our calls at the moment.
UNREACHABLE = frozenset(
    {
        CallOutcome.SERVER_ERROR,
        CallOutcome.NETWORK_ERROR,
        CallOutcome.BAD_ANSWER,
        # A token being rotated: sends cannot succeed either, so it must not count as
        # "back" (that would retry every backed-off message on every answer).
        CallOutcome.UNAUTHORIZED,
    }
)


def classify(exc: BaseException) -> CallOutcome:
    """The outcome of a call that raised ``exc``."""
    kinds: tuple[tuple[type[BaseException], CallOutcome], ...] = (
        (TelegramRetryAfter, CallOutcome.RETRY_AFTER),
        (TelegramEntityTooLarge, CallOutcome.BAD_REQUEST),  # a network-error subclass
        (TelegramNetworkError, CallOutcome.NETWORK_ERROR),
        (TelegramServerError, CallOutcome.SERVER_ERROR),
        (TelegramUnauthorizedError, CallOutcome.UNAUTHORIZED),
        (TelegramForbiddenError, CallOutcome.FORBIDDEN),
        (TelegramNotFound, CallOutcome.NOT_FOUND),
        (TelegramConflictError, CallOutcome.CONFLICT),
        (TelegramBadRequest, CallOutcome.BAD_REQUEST),
        (ClientDecodeError, CallOutcome.BAD_ANSWER),
        (TimeoutError, CallOutcome.NETWORK_ERROR),
        (OSError, CallOutcome.NETWORK_ERROR),
    )
    for kind, outcome in kinds:
        if isinstance(exc, kind):
            return outcome
    return CallOutcome.OTHER


class BotApiReachability:
    """Whether the Bot API takes our calls, as the latest calls showed it."""

    def __init__(self) -> None:
        self._down = False
        #: How many times the Bot API came back after being unreachable.
        self.recoveries = 0
        self._listeners: list[Callable[[], None]] = []

    @property
    def down(self) -> bool:
        """True since a call found the Bot API unreachable, until one gets an answer."""
        return self._down

    def listen(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` (synchronously, keep it short) whenever the Bot API is back."""
        self._listeners.append(listener)

    def unreachable(self) -> None:
        """A call failed for want of the Bot API."""
        self._down = True

    def answered(self) -> None:
        """A call got Telegram's answer: if the Bot API was down, it is back."""
        if not self._down:
            return
        self._down = False
        self.recoveries += 1
        for listener in self._listeners:
            listener()

    def saw(self, outcome: CallOutcome) -> None:
        """Take one call's outcome into account."""
        if outcome in UNREACHABLE:
            self.unreachable()
        elif outcome != CallOutcome.OTHER:
            self.answered()


class TelegramCallObserver(Protocol):
    """Told about every Bot API call (metrics)."""

    def telegram_call(self, method: str, outcome: CallOutcome, seconds: float) -> None:
        """One call to ``method`` ended with ``outcome`` after ``seconds``."""


class BotApiWatch(BaseRequestMiddleware):
    """The session middleware that classifies every call; it changes no call or error."""

    def __init__(
        self,
        reachability: BotApiReachability,
        observer: TelegramCallObserver | None = None,
    ) -> None:
        self._reachability = reachability
        self._observer = observer

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        """Make the call, note how it ended, and pass the result or the error on."""
        started = time.perf_counter()
        try:
            response = await make_request(bot, method)
        except Exception as exc:
            self.seen(method.__api_method__, classify(exc), started)
            raise
        self.seen(method.__api_method__, CallOutcome.OK, started)
        return response

    def seen(self, name: str, outcome: CallOutcome, started: float) -> None:
        """One call to ``name`` (begun at ``perf_counter()`` ``started``) ended so.

        Calls made past aiogram's session (``bot.plain_transport``) report here too.
        """
        self._reachability.saw(outcome)
        if self._observer is not None:
            self._observer.telegram_call(name, outcome, time.perf_counter() - started)
