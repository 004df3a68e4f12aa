"""State and Bot API method handlers of the Telegram emulator (public API: ``telegram_emulator``).

Handlers take an :class:`ApiRequest` and return the ``result`` of a successful answer or raise
:class:`ApiError`; the HTTP layer in ``telegram_emulator`` wraps both into Telegram's envelope.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from typing import Any, ClassVar

from tests.support.telegram_emulator_limits import (
    MAX_CALLBACK_ANSWER,
    MAX_CAPTION,
    MAX_TEXT,
    ApiError,
    RateLimiter,
    bad_request,
    parse_html,
    photo_size,
    validate_reply_markup,
)
from tests.support.telegram_emulator_models import (
    NOT_MODIFIED,
    QUERY_TOO_OLD,
    ApiRequest,
    ChatInfo,
    EmulatedDocument,
    EmulatedMessage,
    EmulatedPhoto,
    RecordedCall,
    WebhookConfig,
    bool_param,
    int_param,
)

_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
_COMMAND = re.compile(r"[a-z0-9_]{1,32}")


class BotApiCore:
    """Emulator state plus one ``_api_<method>`` handler per supported Bot API method."""

    HANDLERS: ClassVar[dict[str, str]] = {
        "getMe": "_api_get_me",
        "getChat": "_api_get_chat",
        "getUpdates": "_api_get_updates",
        "setWebhook": "_api_set_webhook",
        "deleteWebhook": "_api_delete_webhook",
        "getWebhookInfo": "_api_get_webhook_info",
        "sendMessage": "_api_send_message",
        "editMessageText": "_api_edit_message_text",
        "editMessageReplyMarkup": "_api_edit_message_reply_markup",
        "deleteMessage": "_api_delete_message",
        "answerCallbackQuery": "_api_answer_callback_query",
        "sendDocument": "_api_send_document",
        "sendPhoto": "_api_send_photo",
        "setMyCommands": "_api_set_my_commands",
        "deleteMyCommands": "_api_delete_my_commands",
        "logOut": "_api_true",
        "close": "_api_true",
    }

    def __init__(
        self,
        *,
        token: str,
        bot_id: int,
        bot_username: str,
        enforce_rate_limits: bool,
        tolerance: float,
    ) -> None:
        self.token = token
        self.bot_id = bot_id
        self.bot_username = bot_username
        self.enforce_rate_limits = enforce_rate_limits
        self.calls: list[RecordedCall] = []
        self.callback_answers: dict[str, dict[str, Any]] = {}
        self.count_429 = 0
        #: Every photo the bot sent, in order.
        self.photos: list[EmulatedPhoto] = []
        self.my_commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._limiter = RateLimiter(tolerance)
        self._chats: dict[int, ChatInfo] = {}
        self._users: dict[int, dict[str, Any]] = {}
        self._messages: dict[int, dict[int, EmulatedMessage]] = {}
        self._blocked: set[int] = set()
        self._open_queries: dict[str, tuple[int, int]] = {}
        self._files: dict[str, EmulatedDocument] = {}
        self._pending: list[dict[str, Any]] = []
        self._next_update_id = 100_000
        self._webhook: WebhookConfig | None = None
        self._allowed_updates: list[str] = []
        self._poll_generation = 0
        self._update_event = asyncio.Event()
        self._stopping = False

    # ------------------------------------------------------------------ state helpers

    def _wake(self) -> None:
        """Wake every long poll and the webhook worker (a fresh Event avoids clear() races)."""
        event, self._update_event = self._update_event, asyncio.Event()
        event.set()

    def _enqueue(self, kind: str, payload: dict[str, Any]) -> None:
        # Telegram does not even store update types the bot opted out of.
        if self._allowed_updates and kind not in self._allowed_updates:
            return
        self._next_update_id += 1
        self._pending.append({"update_id": self._next_update_id, kind: payload})
        self._wake()

    def _store(
        self,
        chat_id: int,
        from_id: int,
        text: str,
        html: str,
        *,
        entities: list[dict[str, Any]] | None = None,
        reply_markup: dict[str, Any] | None = None,
        reply_to_message_id: int | None = None,
        document: EmulatedDocument | None = None,
        photo: EmulatedPhoto | None = None,
    ) -> EmulatedMessage:
        """Append a message to its chat; ids count from 1 per chat, as in Telegram."""
        chat = self._messages.setdefault(chat_id, {})
        message = EmulatedMessage(
            chat_id,
            len(chat) + 1,  # deleted messages stay in the dict, so this never reuses an id
            from_id,
            int(time.time()),
            text,
            html,
            entities or [],
            reply_markup,
            reply_to_message_id,
            document,
            photo=photo,
        )
        chat[message.message_id] = message
        return message

    def _user_json(self, user_id: int) -> dict[str, Any]:
        if user_id == self.bot_id:
            return {
                "id": self.bot_id,
                "is_bot": True,
                "first_name": "Modest",
                "username": self.bot_username,
            }
        return dict(self._users[user_id])

    def _chat_json(self, chat_id: int) -> dict[str, Any]:
        info = self._chats[chat_id]
        if info.type != "private":
            return {"id": chat_id, "type": info.type, "title": info.title or f"Chat {chat_id}"}
        user = self._users.get(chat_id, {"first_name": "User"})
        chat = {"id": chat_id, "type": "private", "first_name": user["first_name"]}
        if user.get("username"):
            chat["username"] = user["username"]
        return chat

    def _message_json(self, msg: EmulatedMessage, *, nested: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "message_id": msg.message_id,
            "date": msg.date,
            "chat": self._chat_json(msg.chat_id),
            "from": self._user_json(msg.from_id),
        }
        media = msg.document is not None or msg.photo is not None
        text_key, entities_key = ("caption", "caption_entities") if media else ("text", "entities")
        if msg.document:
            doc = msg.document
            data["document"] = {
                "file_id": doc.file_id,
                "file_unique_id": doc.file_unique_id,
                "file_name": doc.file_name,
                "file_size": doc.size,
            } | ({"mime_type": doc.mime_type} if doc.mime_type else {})
        if msg.photo:
            photo = msg.photo
            data["photo"] = [
                {
                    "file_id": photo.file_id,
                    "file_unique_id": photo.file_unique_id,
                    "width": photo.width,
                    "height": photo.height,
                    "file_size": len(photo.data),
                }
            ]
        if msg.text or not media:
            data[text_key] = msg.text
        if msg.entities:
            data[entities_key] = msg.entities
        if msg.reply_markup and "inline_keyboard" in msg.reply_markup:
            data["reply_markup"] = msg.reply_markup  # reply keyboards are never echoed back
        if msg.edit_date is not None:
            data["edit_date"] = msg.edit_date
        if nested and msg.reply_to_message_id is not None:
            replied = self._messages[msg.chat_id][msg.reply_to_message_id]
            data["reply_to_message"] = self._message_json(replied, nested=False)
        return data

    # ------------------------------------------------------------------ parameter helpers

    def _target_chat(self, req: ApiRequest) -> int:
        """The known, reachable chat of a counted call, after the rate-limit check."""
        chat_id = int_param(req.params, "chat_id")
        if chat_id is None:
            raise bad_request("chat_id is empty")
        info = self._chats.get(chat_id)
        if info is None:
            raise bad_request("chat not found")
        if chat_id in self._blocked:
            if info.type == "private":
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            raise ApiError(403, f"Forbidden: bot was kicked from the {info.type} chat")
        retry = self._limiter.retry_after(chat_id, req.time) if self.enforce_rate_limits else None
        if retry is not None:
            raise ApiError(429, f"Too Many Requests: retry after {retry}", retry_after=retry)
        return chat_id

    def _formatted(self, params: dict[str, Any], key: str) -> tuple[str, list[dict[str, Any]]]:
        """Visible text and entities of ``text`` or ``caption`` with Telegram's length rules."""
        raw = str(params.get(key, ""))
        mode = str(params.get("parse_mode", ""))
        if mode.lower() == "html":
            text, entities = parse_html(raw)
        elif mode:
            raise bad_request("unsupported parse_mode")  # the emulator implements HTML only
        else:
            given = params.get("entities" if key == "text" else "caption_entities")
            text, entities = raw, given if isinstance(given, list) else []
        if key == "text" and not text.strip():
            raise bad_request("message text is empty")
        if key == "text" and len(text) > MAX_TEXT:
            raise bad_request("message is too long")
        if key == "caption" and len(text) > MAX_CAPTION:
            raise bad_request("message caption is too long")
        return text, entities

    @staticmethod
    def _markup(params: dict[str, Any]) -> dict[str, Any] | None:
        markup = params.get("reply_markup")
        if markup is None:
            return None
        validate_reply_markup(markup)
        # An empty inline keyboard is no keyboard, for "not modified" purposes as well.
        return None if markup.get("inline_keyboard") == [] else dict(markup)

    def _reply_to(self, chat_id: int, params: dict[str, Any]) -> int | None:
        reply = params.get("reply_parameters")
        if isinstance(reply, dict):
            message_id = int_param(reply, "message_id")
            lenient = bool_param(reply, "allow_sending_without_reply")
        else:
            message_id = int_param(params, "reply_to_message_id")
            lenient = bool_param(params, "allow_sending_without_reply")
        if message_id is None:
            return None
        target = self._messages.get(chat_id, {}).get(message_id)
        if target is None or target.deleted:
            if lenient:
                return None
            raise bad_request("message to be replied not found")
        return message_id

    def _find(self, chat_id: int, params: dict[str, Any], missing: str) -> EmulatedMessage:
        message_id = int_param(params, "message_id")
        if message_id is None:
            raise bad_request("message identifier is not specified")
        message = self._messages.get(chat_id, {}).get(message_id)
        if message is None or message.deleted:
            raise bad_request(missing)
        return message

    def _editable(self, req: ApiRequest) -> EmulatedMessage:
        if "inline_message_id" in req.params:
            raise bad_request("inline messages are not supported by the emulator")
        message = self._find(self._target_chat(req), req.params, "message to edit not found")
        if message.from_id != self.bot_id:
            raise bad_request("message can't be edited")
        return message

    @staticmethod
    def _apply_edit(
        msg: EmulatedMessage, text: str, html: str, entities: list[Any], markup: Any
    ) -> None:
        if (text, entities, markup) == (msg.text, msg.entities, msg.reply_markup):
            raise bad_request(NOT_MODIFIED)
        msg.text, msg.html, msg.entities, msg.reply_markup = text, html, entities, markup
        msg.edited, msg.edit_date = True, int(time.time())

    # ------------------------------------------------------------------ methods

    def _api_true(self, req: ApiRequest) -> bool:
        return True

    def _api_get_me(self, req: ApiRequest) -> dict[str, Any]:
        return self._user_json(self.bot_id) | {
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _api_get_chat(self, req: ApiRequest) -> dict[str, Any]:
        # Like Telegram: a group the bot is not in (or was removed from) is "not found".
        chat_id = int_param(req.params, "chat_id")
        if chat_id is None or chat_id not in self._chats or chat_id in self._blocked:
            raise bad_request("chat not found")
        names = ("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription")
        gifts = dict.fromkeys((*names, "gifts_from_channels"), False)
        return self._chat_json(chat_id) | {
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": gifts,
        }

    def _api_send_message(self, req: ApiRequest) -> dict[str, Any]:
        chat_id = self._target_chat(req)
        text, entities = self._formatted(req.params, "text")
        markup = self._markup(req.params)
        reply_to = self._reply_to(chat_id, req.params)
        message = self._store(
            chat_id,
            self.bot_id,
            text,
            str(req.params.get("text", "")),
            entities=entities,
            reply_markup=markup,
            reply_to_message_id=reply_to,
        )
        return self._message_json(message)

    def _api_edit_message_text(self, req: ApiRequest) -> dict[str, Any]:
        message = self._editable(req)
        if message.document or message.photo:
            raise bad_request("there is no text in the message to edit")
        text, entities = self._formatted(req.params, "text")
        # Like Telegram: an edit without reply_markup removes the inline keyboard.
        markup = self._markup(req.params)
        self._apply_edit(message, text, str(req.params.get("text", "")), entities, markup)
        return self._message_json(message)

    def _api_edit_message_reply_markup(self, req: ApiRequest) -> dict[str, Any]:
        message = self._editable(req)
        markup = self._markup(req.params)
        self._apply_edit(message, message.text, message.html, message.entities, markup)
        return self._message_json(message)

    def _api_delete_message(self, req: ApiRequest) -> bool:
        chat_id = self._target_chat(req)
        self._find(chat_id, req.params, "message to delete not found").deleted = True
        return True

    def _api_answer_callback_query(self, req: ApiRequest) -> bool:
        query_id = str(req.params.get("callback_query_id", ""))
        if len(str(req.params.get("text", ""))) > MAX_CALLBACK_ANSWER:
            raise bad_request("MESSAGE_TOO_LONG")
        if self._open_queries.pop(query_id, None) is None:
            raise bad_request(QUERY_TOO_OLD)
        self.callback_answers[query_id] = dict(req.params)
        return True

    def _api_send_document(self, req: ApiRequest) -> dict[str, Any]:
        chat_id = self._target_chat(req)
        document = self._document(req)
        caption, entities = self._formatted(req.params, "caption")
        markup = self._markup(req.params)
        reply_to = self._reply_to(chat_id, req.params)
        message = self._store(
            chat_id,
            self.bot_id,
            caption,
            str(req.params.get("caption", "")),
            entities=entities,
            reply_markup=markup,
            reply_to_message_id=reply_to,
            document=document,
        )
        return self._message_json(message)

    def _api_send_photo(self, req: ApiRequest) -> dict[str, Any]:
        chat_id = self._target_chat(req)
        photo = self._photo(req)
        caption, entities = self._formatted(req.params, "caption")
        message = self._store(
            chat_id,
            self.bot_id,
            caption,
            str(req.params.get("caption", "")),
            entities=entities,
            reply_markup=self._markup(req.params),
            reply_to_message_id=self._reply_to(chat_id, req.params),
            photo=photo,
        )
        return self._message_json(message)

    def _photo(self, req: ApiRequest) -> EmulatedPhoto:
        ref = req.params.get("photo")
        upload = req.files.get("photo")
        if isinstance(ref, str) and ref.startswith("attach://"):
            upload = req.files.get(ref.removeprefix("attach://"))
        elif ref:
            raise bad_request("wrong file identifier/HTTP URL specified")
        if upload is None or not upload.data:
            raise bad_request("there is no photo in the request")
        width, height = photo_size(upload.data)
        number = len(self._files) + len(self.photos) + 1
        photo = EmulatedPhoto(
            f"AgACAgIAAxkB{number:08d}", f"AQAD{number:04d}", width, height, upload.data
        )
        self.photos.append(photo)
        return photo

    def _document(self, req: ApiRequest) -> EmulatedDocument:
        ref = req.params.get("document")
        upload = req.files.get("document")
        if isinstance(ref, str) and ref.startswith("attach://"):
            upload = req.files.get(ref.removeprefix("attach://"))
        elif isinstance(ref, str) and ref in self._files:
            return self._files[ref]  # re-sending by file_id
        elif ref:
            raise bad_request("wrong file identifier/HTTP URL specified")
        if upload is None:
            raise bad_request("there is no document in the request")
        if not upload.data:
            raise bad_request("file must be non-empty")
        number = len(self._files) + 1
        document = EmulatedDocument(
            f"BQACAgIAAxkB{number:08d}",
            f"AgAD{number:04d}",
            upload.filename,
            upload.content_type,
            upload.data,
        )
        self._files[document.file_id] = document
        return document

    def _api_set_my_commands(self, req: ApiRequest) -> bool:
        commands = req.params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("commands must be an array of at most 100 BotCommand")
        for command in commands:
            if not _COMMAND.fullmatch(str(command.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        self.my_commands[self._commands_key(req.params)] = commands
        return True

    def _api_delete_my_commands(self, req: ApiRequest) -> bool:
        self.my_commands.pop(self._commands_key(req.params), None)
        return True

    @staticmethod
    def _commands_key(params: dict[str, Any]) -> tuple[str, str]:
        scope = params.get("scope")
        scope_type = scope.get("type", "default") if isinstance(scope, dict) else "default"
        return str(scope_type), str(params.get("language_code", ""))

    # ------------------------------------------------------------------ updates and webhooks

    async def _api_get_updates(self, req: ApiRequest) -> list[dict[str, Any]]:
        if self._webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = int_param(req.params, "offset")
        limit = min(max(int_param(req.params, "limit") or 100, 1), 100)
        timeout = max(int_param(req.params, "timeout") or 0, 0)
        self._set_allowed_updates(req.params)
        if offset is not None:
            # Confirm everything before offset; a negative offset keeps only the last -offset.
            kept = [u for u in self._pending if u["update_id"] >= offset]
            self._pending = kept if offset >= 0 else self._pending[offset:]
        self._poll_generation += 1
        generation = self._poll_generation
        self._wake()  # an older poll still waiting must now answer 409
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            event = self._update_event
            if generation != self._poll_generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
            remaining = deadline - loop.time()
            if self._pending or self._stopping or remaining <= 0:
                return self._pending[:limit]
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    def _set_allowed_updates(self, params: dict[str, Any]) -> None:
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = [str(kind) for kind in allowed]

    def _api_set_webhook(self, req: ApiRequest) -> bool:
        url = str(req.params.get("url", ""))
        if not url:
            return self._api_delete_webhook(req)  # Telegram: an empty url removes the webhook
        if not url.startswith(("http://", "https://")):
            # Accepting http:// too is what a local Bot API server does.
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = req.params.get("secret_token")
        if secret is not None and not _SECRET_TOKEN.fullmatch(str(secret)):
            raise bad_request("secret token contains unallowed characters")
        max_connections = int_param(req.params, "max_connections") or 40
        self._set_allowed_updates(req.params)
        if bool_param(req.params, "drop_pending_updates"):
            self._pending.clear()
        self._webhook = WebhookConfig(url, secret, max_connections)
        self._wake()
        return True

    def _api_delete_webhook(self, req: ApiRequest) -> bool:
        if bool_param(req.params, "drop_pending_updates"):
            self._pending.clear()
        self._webhook = None
        return True

    def _api_get_webhook_info(self, req: ApiRequest) -> dict[str, Any]:
        hook = self._webhook
        info: dict[str, Any] = {
            "url": hook.url if hook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }
        if hook is not None:
            info["max_connections"] = hook.max_connections
            if self._allowed_updates:
                info["allowed_updates"] = self._allowed_updates
            if hook.last_error_date is not None:
                info["last_error_date"] = hook.last_error_date
                info["last_error_message"] = hook.last_error_message
        return info
