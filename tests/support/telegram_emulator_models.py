"""Data types and request decoding of the Telegram emulator (public API: ``telegram_emulator``)."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.support.telegram_emulator_limits import bad_request

# Calls that send or change a message: the only ones the rate limiter counts.
COUNTED_METHODS = frozenset(
    {
        "sendMessage",
        "sendDocument",
        "sendPhoto",
        "editMessageText",
        "editMessageReplyMarkup",
        "deleteMessage",
    }
)
JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "reply_parameters",
        "link_preview_options",
        "allowed_updates",
        "commands",
        "scope",
        "entities",
        "caption_entities",
    }
)
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"


@dataclass
class RecordedCall:
    """One Bot API request: scalars as sent (strings), JSON fields (reply_markup...) decoded."""

    method: str
    params: dict[str, Any]
    time: float
    status: int = 0  # 0 while a long poll is still pending
    description: str | None = None


@dataclass
class UploadedFile:
    """A multipart file part."""

    filename: str
    data: bytes
    content_type: str | None


@dataclass
class ApiRequest:
    """What a method handler sees."""

    method: str
    params: dict[str, Any]
    files: dict[str, UploadedFile]
    time: float


@dataclass
class EmulatedDocument:
    """A document the bot uploaded."""

    file_id: str
    file_unique_id: str
    file_name: str
    mime_type: str | None
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass
class EmulatedPhoto:
    """A photo the bot uploaded (PNG), with the size its header gives."""

    file_id: str
    file_unique_id: str
    width: int
    height: int
    data: bytes


@dataclass
class EmulatedMessage:
    """Current state of one message; ``text`` is the visible text (caption for media)."""

    chat_id: int
    message_id: int
    from_id: int
    date: int
    text: str
    html: str
    entities: list[dict[str, Any]] = field(default_factory=list)
    reply_markup: dict[str, Any] | None = None
    reply_to_message_id: int | None = None
    document: EmulatedDocument | None = None
    deleted: bool = False
    edited: bool = False
    edit_date: int | None = None
    photo: EmulatedPhoto | None = None


@dataclass
class ChatInfo:
    """A known chat; private chats take their name from the user."""

    type: str
    title: str | None


@dataclass
class WebhookConfig:
    """The webhook set by setWebhook, with the last delivery error for getWebhookInfo."""

    url: str
    secret_token: str | None
    max_connections: int
    last_error_date: int | None = None
    last_error_message: str | None = None


def decode_json_fields(params: dict[str, Any]) -> dict[str, Any]:
    """Parse the JSON-encoded fields aiogram sends as strings (reply_markup...)."""
    decoded = dict(params)
    for key in JSON_FIELDS & decoded.keys():
        if not isinstance(decoded[key], str):
            continue
        try:
            decoded[key] = json.loads(decoded[key])
        except ValueError:
            what = "reply keyboard markup" if key == "reply_markup" else key
            raise bad_request(f"can't parse {what} JSON object") from None
    return decoded


def int_param(params: dict[str, Any], name: str) -> int | None:
    """An optional integer parameter; 400 if it is not one."""
    value = params.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad_request(f"invalid {name} specified") from None


def bool_param(params: dict[str, Any], name: str) -> bool:
    """A boolean parameter as aiogram sends it ("true"), false when absent."""
    return str(params.get(name, "")).lower() in ("true", "1")


@dataclass
class WebhookDelivery:
    """One POST of an update to the webhook: HTTP status, or None and the error."""

    update_id: int
    status: int | None
    error: str | None


async def read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    """Query string plus form (urlencoded or multipart) or JSON body, scalars as strings."""
    params: dict[str, Any] = dict(request.query)
    files: dict[str, UploadedFile] = {}
    if request.content_type == "application/json":
        with contextlib.suppress(ValueError):
            body = await request.json()
            for key, value in body.items() if isinstance(body, dict) else ():
                if value is not None:
                    # Normalised to aiogram's wire format: JSON-encoded unless a string.
                    params[key] = value if isinstance(value, str) else json.dumps(value)
        return params, files
    if not request.can_read_body:
        return params, files
    for key, value in (await request.post()).items():
        if isinstance(value, web.FileField):
            files[key] = UploadedFile(value.filename, value.file.read(), value.content_type)
            value.file.close()  # a spooled temp file: left open it warns (ResourceWarning)
        else:
            params[key] = value
    return params, files
