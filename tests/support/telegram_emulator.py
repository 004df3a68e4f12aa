"""A local Telegram Bot API emulator for end-to-end tests and benchmarks.

A real aiogram ``Bot`` talks to it over HTTP::

    async with TelegramEmulator() as tg:
        session = AiohttpSession(api=TelegramAPIServer.from_base(tg.base_url))
        bot = Bot(tg.token, session=session)

URLs are ``{base_url}/bot{token}/{method}`` (method names are case-insensitive, as in Telegram);
parameters are read from the query string, urlencoded or multipart forms and JSON bodies.
Answers are Telegram's envelopes, so aiogram raises its own exceptions. Methods: getMe,
getChat, getUpdates (long polling), setWebhook, deleteWebhook, getWebhookInfo, sendMessage,
editMessageText, editMessageReplyMarkup, deleteMessage, answerCallbackQuery, sendDocument,
sendPhoto (PNG only, with Telegram's size rules), setMyCommands, deleteMyCommands, logOut,
close. Message limits, the HTML parse mode and keyboard checks live in
``telegram_emulator_limits``, method handlers in ``telegram_emulator_api``.

Rate-limit contract (when ``enforce_rate_limits``; all times from the injected ``clock``)
----------------------------------------------------------------------------------------
Counted methods: sendMessage, sendDocument, sendPhoto, editMessageText, editMessageReplyMarkup,
deleteMessage. Only successful calls are counted. A counted call is rejected if it breaks any of:

1. per chat: 1 call per 1 s - the previous counted call to that chat must be at least
   ``1.0 - tolerance`` seconds earlier;
2. per group (negative chat id) additionally: 20 calls per sliding 60 s - the 20th previous
   counted call to that chat must be at least ``60.0 - tolerance`` seconds earlier;
3. globally: 30 calls per sliding 1 s - the 30th previous counted call (any chat) must be at
   least ``1.0 - tolerance`` seconds earlier.

A rejected call is answered 429 ``Too Many Requests: retry after N`` with
``parameters.retry_after = N = max(1, ceil(seconds until every rule allows it))`` and is not
counted. The limit check runs after the chat lookup (unknown chat: 400, blocked: 403) and before
any content validation. ``allowed_rate_floor_seconds`` gives the fastest legal delivery time.

Other behaviour worth knowing: an update is queued for getUpdates or, once setWebhook was called,
POSTed to the webhook (in order, up to 3 attempts each; non-2xx counts as a failure).
A newer getUpdates makes a still-waiting older one answer 409, like Telegram. ``on_request``,
when set, is awaited with each recorded call before it is answered (to act in the middle of
a request, such as killing the client that made it). ``set_down``
answers JSON ``{"ok": false, "error_code": 502, "description": "Bad Gateway"}`` by default (what
api.telegram.org answers; aiogram raises TelegramServerError) or an HTML page with
``body="html"`` (an nginx error page; aiogram raises ClientDecodeError).

Deliberate simplifications and strictness (stricter than Telegram where it catches real bugs):
a bare ``&`` in text and ``<a>`` without ``href`` are rejected (tdlib tolerates both); lengths
count code points of the visible text; whitespace-only text is "empty"; parse modes other than
HTML answer 400 ``unsupported parse_mode``; editMessageText without ``reply_markup`` removes the
inline keyboard (as Telegram does); callback queries never expire; inline messages, media other
than documents and PNG photos, and "reply into webhook" are not supported.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import re
import time
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from types import TracebackType
from typing import Any, Literal, Self

import aiohttp
from aiohttp import web

from tests.support.telegram_emulator_api import BotApiCore
from tests.support.telegram_emulator_limits import (
    ApiError,
    allowed_rate_floor_seconds,
    utf16_len,
)
from tests.support.telegram_emulator_models import (
    COUNTED_METHODS,
    ApiRequest,
    ChatInfo,
    EmulatedDocument,
    EmulatedMessage,
    EmulatedPhoto,
    RecordedCall,
    UploadedFile,
    WebhookConfig,
    WebhookDelivery,
    decode_json_fields,
    read_params,
)

__all__ = [
    "EmulatedDocument",
    "EmulatedMessage",
    "EmulatedPhoto",
    "RecordedCall",
    "TelegramEmulator",
    "WebhookDelivery",
    "allowed_rate_floor_seconds",
]

_PATH = re.compile(r"/bot([^/]+)/([A-Za-z]+)")
_CANONICAL = {name.lower(): name for name in BotApiCore.HANDLERS}
_MAX_BODY = 50 * 1024 * 1024  # the cloud Bot API upload limit
WEBHOOK_ATTEMPTS = 3
WEBHOOK_RETRY_DELAY = 0.05


class TelegramEmulator(BotApiCore):
    """The emulator: an aiohttp server plus helpers that play the users' side."""

    def __init__(
        self,
        *,
        token: str = "123456:TEST",  # noqa: S107 - a fake token is the point
        bot_id: int = 123456,
        bot_username: str = "modest_test_bot",
        enforce_rate_limits: bool = True,
        clock: Callable[[], float] = time.monotonic,
        tolerance: float = 0.05,
    ) -> None:
        super().__init__(
            token=token,
            bot_id=bot_id,
            bot_username=bot_username,
            enforce_rate_limits=enforce_rate_limits,
            tolerance=tolerance,
        )
        self.base_url = ""
        self.webhook_deliveries: list[WebhookDelivery] = []
        self._clock = clock
        self._down: tuple[int, str] | None = None
        self._failures: dict[str, list[ApiError]] = {}
        self._next_query_id = 4_000_000_000_000_000_000
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None
        self._worker: asyncio.Task[None] | None = None
        self.on_request: Callable[[RecordedCall], Awaitable[None]] | None = None

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Serve on 127.0.0.1 on a free port; sets ``base_url``."""
        app = web.Application(client_max_size=_MAX_BODY)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        # A short shutdown timeout: stop() must not wait for abandoned long polls.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"
        self._http = aiohttp.ClientSession()
        self._stopping = False
        self._worker = asyncio.create_task(self._webhook_worker())

    async def stop(self) -> None:
        """Answer pending long polls, stop the webhook worker and the server."""
        self._stopping = True
        self._wake()
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
        if self._http is not None:
            await self._http.close()
            self._http = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # ------------------------------------------------------------------ the users' side

    def add_chat(self, chat_id: int, *, type: str | None = None, title: str | None = None) -> None:
        """Make a chat known; negative ids default to "supergroup", positive to "private"."""
        kind = type or ("supergroup" if chat_id < 0 else "private")
        if kind != "private" and title is None:
            title = f"Group {chat_id}"
        self._chats[chat_id] = ChatInfo(kind, title)

    def add_user(
        self,
        user_id: int,
        *,
        first_name: str = "User",
        username: str | None = None,
        language_code: str | None = None,
    ) -> None:
        """Make a user (and the private chat with them) known."""
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if username is not None:
            user["username"] = username
        if language_code is not None:
            user["language_code"] = language_code
        self._users[user_id] = user
        self._chats.setdefault(user_id, ChatInfo("private", None))

    def _ensure(self, chat_id: int, user_id: int) -> None:
        if user_id not in self._users:
            self.add_user(user_id)
        if chat_id not in self._chats:
            self.add_chat(chat_id)

    def send_text(
        self, chat_id: int, user_id: int, text: str, *, reply_to_message_id: int | None = None
    ) -> int:
        """A user writes ``text``; returns its message_id. "/cmd" gets a bot_command entity."""
        self._ensure(chat_id, user_id)
        if reply_to_message_id is not None:
            self._live_message(chat_id, reply_to_message_id)
        entities = []
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            entities.append({"type": "bot_command", "offset": 0, "length": utf16_len(command)})
        message = self._store(
            chat_id,
            user_id,
            text,
            text,
            entities=entities,
            reply_to_message_id=reply_to_message_id,
        )
        self._enqueue("message", self._message_json(message))
        return message.message_id

    def press(self, chat_id: int, message_id: int, user_id: int, callback_data: str) -> str:
        """A user presses an existing inline button; returns the callback query id."""
        message = self._live_message(chat_id, message_id)
        buttons = self.buttons(chat_id, message_id)
        if not any(data == callback_data for _, data, _ in buttons):
            raise AssertionError(
                f"message {message_id} in chat {chat_id} has no button with callback_data "
                f"{callback_data!r}; its buttons: {buttons}"
            )
        self._ensure(chat_id, user_id)
        self._next_query_id += 1
        query_id = str(self._next_query_id)
        self._open_queries[query_id] = (chat_id, message_id)
        query = {
            "id": query_id,
            "from": self._user_json(user_id),
            "chat_instance": str(abs(chat_id) * 31 + self.bot_id),
            "message": self._message_json(message),
            "data": callback_data,
        }
        self._enqueue("callback_query", query)
        return query_id

    def block_bot(self, chat_id: int) -> None:
        """From now on calls to this chat answer 403 (blocked by the user / kicked)."""
        self._blocked.add(chat_id)

    def set_down(
        self, down: bool, *, status: int = 502, body: Literal["json", "html"] = "json"
    ) -> None:
        """While down every request (getUpdates too) answers ``status``; see module docs."""
        self._down = (status, body) if down else None

    def fail_next(
        self,
        method: str,
        *,
        times: int = 1,
        error_code: int = 500,
        description: str = "Internal Server Error",
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
    ) -> None:
        """The next ``times`` calls of ``method`` answer this error (not counted as sent).

        ``migrate_to_chat_id``: the group became that supergroup (Telegram answers 400).
        """
        if error_code == 429 and description == "Internal Server Error":
            description = f"Too Many Requests: retry after {retry_after or 1}"
            retry_after = retry_after or 1
        name = _CANONICAL.get(method.lower(), method)
        failure = ApiError(
            error_code, description, retry_after=retry_after, migrate_to_chat_id=migrate_to_chat_id
        )
        self._failures.setdefault(name, []).extend([failure] * times)

    # ------------------------------------------------------------------ inspection

    def messages(self, chat_id: int) -> list[EmulatedMessage]:
        """All messages of a chat (the users' too, deleted ones flagged) in order."""
        return list(self._messages.get(chat_id, {}).values())

    def message(self, chat_id: int, message_id: int) -> EmulatedMessage:
        """One message, deleted or not; AssertionError if it never existed."""
        message = self._messages.get(chat_id, {}).get(message_id)
        if message is None:
            raise AssertionError(f"no message {message_id} in chat {chat_id}")
        return message

    def _live_message(self, chat_id: int, message_id: int) -> EmulatedMessage:
        message = self.message(chat_id, message_id)
        if message.deleted:
            raise AssertionError(f"message {message_id} in chat {chat_id} was deleted")
        return message

    def buttons(self, chat_id: int, message_id: int) -> list[tuple[str, str | None, str | None]]:
        """Inline buttons as (text, callback_data, url), row by row."""
        markup = self.message(chat_id, message_id).reply_markup or {}
        return [
            (button["text"], button.get("callback_data"), button.get("url"))
            for row in markup.get("inline_keyboard", [])
            for button in row
        ]

    def unanswered_callbacks(self) -> list[str]:
        """Ids of pressed callback queries nobody answered yet."""
        return list(self._open_queries)

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Poll ``predicate`` every 10 ms; AssertionError with recent calls on timeout.

        (A plain ``timeout`` argument, not asyncio.timeout: the predicate is synchronous.)
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            if loop.time() >= deadline:
                recent = ", ".join(
                    f"{c.method}->{c.status}" + (f" ({c.description})" if c.description else "")
                    for c in self.calls[-8:]
                )
                name = getattr(predicate, "__name__", repr(predicate))
                raise AssertionError(
                    f"condition {name} not met within {timeout} s; last calls: {recent or 'none'}"
                )
            await asyncio.sleep(0.01)

    # ------------------------------------------------------------------ HTTP

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        match = _PATH.fullmatch(request.path)
        if match is None:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
            )
        token, name = match.groups()
        try:
            params, files = await read_params(request)
        except web.HTTPRequestEntityTooLarge:
            # aiohttp's own 413 is plain text; Telegram answers JSON (TelegramEntityTooLarge).
            error = ApiError(413, "Request Entity Too Large")
            return web.json_response(error.payload(), status=413)
        call = RecordedCall(_CANONICAL.get(name.lower(), name), params, self._clock())
        self.calls.append(call)
        if self.on_request is not None:
            await self.on_request(call)
        if self._down is not None:
            return self._down_response(call)
        try:
            result = await self._dispatch(token, call, files)
        except ApiError as error:
            call.status, call.description = error.code, error.description
            if error.code == 429:
                self.count_429 += 1
            return web.json_response(error.payload(), status=error.code)
        call.status = 200
        return web.json_response({"ok": True, "result": result})

    async def _dispatch(
        self, token: str, call: RecordedCall, files: dict[str, UploadedFile]
    ) -> Any:
        if token != self.token:
            raise ApiError(401, "Unauthorized")
        handler_name = self.HANDLERS.get(call.method)
        if handler_name is None:
            raise ApiError(404, "Not Found: method not found")
        call.params = decode_json_fields(call.params)
        if failures := self._failures.get(call.method):
            raise failures.pop(0)
        handler: Callable[[ApiRequest], Any] = getattr(self, handler_name)
        result = handler(ApiRequest(call.method, call.params, files, call.time))
        if inspect.isawaitable(result):
            result = await result
        if call.method in COUNTED_METHODS:
            self._limiter.record(int(call.params["chat_id"]), call.time)
        return result

    def _down_response(self, call: RecordedCall) -> web.Response:
        assert self._down is not None
        status, body = self._down
        phrase = HTTPStatus(status).phrase
        call.status, call.description = status, phrase
        if body == "html":
            page = f"<html><head><title>{status} {phrase}</title></head><body></body></html>"
            return web.Response(status=status, text=page, content_type="text/html")
        payload = {"ok": False, "error_code": status, "description": phrase}
        return web.json_response(payload, status=status)

    # ------------------------------------------------------------------ webhook push

    async def _webhook_worker(self) -> None:
        """Push pending updates one at a time, in order, while a webhook is set."""
        attempts = 0
        while True:
            event = self._update_event
            hook = self._webhook
            if hook is None or not self._pending:
                await event.wait()
                continue
            update = self._pending[0]
            delivered = await self._deliver(hook, update)
            attempts += 1
            if delivered or attempts >= WEBHOOK_ATTEMPTS:
                # Telegram gives up on an update after some failed attempts and moves on.
                if self._pending and self._pending[0] is update:
                    self._pending.pop(0)
                attempts = 0
            else:
                await asyncio.sleep(WEBHOOK_RETRY_DELAY)

    async def _deliver(self, hook: WebhookConfig, update: dict[str, Any]) -> bool:
        assert self._http is not None
        headers = (
            {"X-Telegram-Bot-Api-Secret-Token": hook.secret_token} if hook.secret_token else {}
        )
        timeout = aiohttp.ClientTimeout(total=10)
        try:
            async with self._http.post(
                hook.url, json=update, headers=headers, timeout=timeout
            ) as resp:
                await resp.read()
                status, reason = resp.status, resp.reason
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.webhook_deliveries.append(WebhookDelivery(update["update_id"], None, repr(exc)))
            hook.last_error_date, hook.last_error_message = int(time.time()), str(exc)
            return False
        self.webhook_deliveries.append(WebhookDelivery(update["update_id"], status, None))
        if 200 <= status < 300:
            return True
        hook.last_error_date = int(time.time())
        hook.last_error_message = f"Wrong response from the webhook: {status} {reason}"
        return False
