"""Validation rules and rate limits of the Telegram emulator (see ``telegram_emulator``).

Pure functions and small classes without I/O: the Telegram HTML parse mode, inline keyboard
validation, the sliding-window rate limiter and :func:`allowed_rate_floor_seconds`.
"""

from __future__ import annotations

import math
import re
from collections import deque
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_CALLBACK_ANSWER = 200
MAX_PHOTO_BYTES = 10 * 1024 * 1024
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class ApiError(Exception):
    """A Bot API error answer: HTTP status = ``error_code``, Telegram-style ``description``."""

    def __init__(
        self,
        code: int,
        description: str,
        *,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
    ) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after
        self.migrate_to_chat_id = migrate_to_chat_id

    def payload(self) -> dict[str, Any]:
        """The JSON body Telegram answers with."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        parameters: dict[str, int] = {}
        if self.retry_after is not None:
            parameters["retry_after"] = self.retry_after
        if self.migrate_to_chat_id is not None:
            parameters["migrate_to_chat_id"] = self.migrate_to_chat_id
        if parameters:
            body["parameters"] = parameters
        return body


def bad_request(reason: str) -> ApiError:
    """400 ``Bad Request: <reason>``."""
    return ApiError(400, f"Bad Request: {reason}")


# --------------------------------------------------------------------------- HTML parse mode

_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_TEXT_RUN = re.compile(r"[^<&]+")
_CHAR_REF = re.compile(r"&(?:(lt|gt|amp|quot)|#([0-9]{1,8})|#[xX]([0-9a-fA-F]{1,8}));")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_TAG_NAME = re.compile(r"[^\s>]*")
_ATTR_NAME = re.compile(r"[A-Za-z0-9_-]*")
_UNQUOTED_VALUE = re.compile(r"[^\s>\"']*")


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _decode_char_ref(match: re.Match[str]) -> str | None:
    """The character a ``&...;`` reference stands for, None when it is not a valid one."""
    named, dec, hexa = match.groups()
    if named:
        return _NAMED[named]
    code = int(dec) if dec else int(hexa, 16)
    if not 0 < code <= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code)


def _decode_attr(value: str) -> str:
    """Attribute values decode references but keep a bare ``&`` (hrefs with ``?a=1&b=2``)."""
    return _CHAR_REF.sub(lambda m: _decode_char_ref(m) or m.group(0), value)


@dataclass
class _OpenTag:
    name: str
    attrs: dict[str, str]
    offset: int  # UTF-16 offset in the visible text where the entity starts
    parent: str | None


class _HtmlParser:
    """Hand-written tokenizer with tdlib's strictness (html.parser is far too lenient)."""

    def __init__(self, source: str) -> None:
        self.src = source
        self.pos = 0
        self.parts: list[str] = []
        self.offset = 0
        self.stack: list[_OpenTag] = []
        self.entities: list[dict[str, Any]] = []

    def fail(self, reason: str, at: int | None = None, detail: str = "") -> ApiError:
        if at is not None:
            reason += f" at byte offset {len(self.src[:at].encode())}"
        return bad_request(f"can't parse entities: {reason}{detail}")

    def emit(self, text: str) -> None:
        self.parts.append(text)
        self.offset += utf16_len(text)

    def run(self) -> tuple[str, list[dict[str, Any]]]:
        while self.pos < len(self.src):
            if run := _TEXT_RUN.match(self.src, self.pos):
                self.emit(run.group(0))
                self.pos = run.end()
            elif self.src[self.pos] == "&":
                self.char_ref()
            elif self.src.startswith("</", self.pos):
                self.end_tag()
            else:
                self.start_tag()
        if self.stack:
            top = self.stack[-1].name
            raise self.fail(f'Can\'t find end tag corresponding to start tag "{top}"')
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.parts), self.entities

    def char_ref(self) -> None:
        match = _CHAR_REF.match(self.src, self.pos)
        char = _decode_char_ref(match) if match else None
        if match is None or char is None:
            # Stricter than tdlib (which keeps a bare "&"): unescaped data is a bug upstream.
            raise self.fail("Character '&' must be escaped as &amp;", self.pos)
        self.emit(char)
        self.pos = match.end()

    def start_tag(self) -> None:
        begin = self.pos
        name_match = _TAG_NAME.match(self.src, begin + 1)
        assert name_match is not None  # the pattern matches the empty string
        name = name_match.group(0).lower()
        if name_match.end() >= len(self.src):
            raise self.fail("Unclosed start tag", begin)
        if name not in _ENTITY_TYPES:
            raise self.fail(f'Unsupported start tag "{name}"', begin)
        self.pos = name_match.end()
        attrs = self.attributes(name, begin)
        self.check_tag(name, attrs, begin)
        parent = self.stack[-1].name if self.stack else None
        self.stack.append(_OpenTag(name, attrs, self.offset, parent))

    def attributes(self, tag: str, begin: int) -> dict[str, str]:
        attrs: dict[str, str] = {}
        src = self.src
        while True:
            while self.pos < len(src) and src[self.pos].isspace():
                self.pos += 1
            if self.pos >= len(src):
                raise self.fail("Unclosed start tag", begin)
            if src[self.pos] == ">":
                self.pos += 1
                return attrs
            name_match = _ATTR_NAME.match(src, self.pos)
            assert name_match is not None
            name = name_match.group(0).lower()
            if not name:
                raise self.fail(f'Empty attribute name in the tag "{tag}"', self.pos)
            self.pos = name_match.end()
            if src.startswith("=", self.pos):
                attrs[name] = self.attribute_value(begin)
            elif tag == "blockquote" and name == "expandable":
                attrs[name] = ""
            else:
                reason = f'Expected equal sign in declaration of an attribute of the tag "{tag}"'
                raise self.fail(reason, self.pos)

    def attribute_value(self, begin: int) -> str:
        self.pos += 1  # the "="
        quote = self.src[self.pos : self.pos + 1]
        if quote in ('"', "'"):
            end = self.src.find(quote, self.pos + 1)
            if end < 0:
                raise self.fail("Unclosed start tag", begin)
            value, self.pos = self.src[self.pos + 1 : end], end + 1
        else:
            match = _UNQUOTED_VALUE.match(self.src, self.pos)
            assert match is not None
            value, self.pos = match.group(0), match.end()
        return _decode_attr(value)

    def check_tag(self, name: str, attrs: dict[str, str], begin: int) -> None:
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise self.fail('Tag "span" must have class "tg-spoiler"', begin)
        if name == "a" and not attrs.get("href"):
            # Stricter than tdlib (which falls back to the link text), as the project agreed.
            raise self.fail('Tag "a" must have a non-empty attribute "href"', begin)
        if name == "tg-emoji" and not attrs.get("emoji-id"):
            raise self.fail('Tag "tg-emoji" must have attribute "emoji-id"', begin)

    def end_tag(self) -> None:
        begin = self.pos
        close = self.src.find(">", begin)
        if close < 0:
            raise self.fail("Unclosed end tag", begin)
        name = self.src[begin + 2 : close].strip().lower()
        if not self.stack:
            raise self.fail("Unexpected end tag", begin)
        top = self.stack[-1]
        if name != top.name:
            found = self.src[begin : close + 1]
            detail = f', expected "</{top.name}>", found "{found}"'
            raise self.fail("Unmatched end tag", begin, detail)
        self.stack.pop()
        self.pos = close + 1
        self.close_entity(top)

    def close_entity(self, tag: _OpenTag) -> None:
        length = self.offset - tag.offset
        if tag.name == "code" and tag.parent == "pre":
            # <pre><code class="language-x"> is one pre entity with a language, not two;
            # the enclosing <pre> is the stack top again now that <code> is popped.
            language = tag.attrs.get("class", "")
            if language.startswith("language-"):
                self.stack[-1].attrs["language"] = language.removeprefix("language-")
            return
        if length <= 0:
            return  # Telegram drops empty entities
        entity: dict[str, Any] = {"type": _ENTITY_TYPES[tag.name], "offset": tag.offset}
        entity["length"] = length
        if tag.name == "a":
            entity["url"] = tag.attrs["href"]
        elif tag.name == "tg-emoji":
            entity["custom_emoji_id"] = tag.attrs["emoji-id"]
        elif tag.name == "pre" and tag.attrs.get("language"):
            entity["language"] = tag.attrs["language"]
        elif tag.name == "blockquote" and "expandable" in tag.attrs:
            entity["type"] = "expandable_blockquote"
        self.entities.append(entity)


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram HTML into (visible text, MessageEntity dicts) or raise the 400 ApiError.

    Deviations from tdlib, both on the strict side: a bare ``&`` in text and ``<a>`` without
    ``href`` are rejected. Bare ``>`` is accepted, as Telegram does.
    """
    return _HtmlParser(source).run()


# --------------------------------------------------------------------------- inline keyboards

_BUTTON_ACTIONS = (
    "callback_data",
    "url",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
    "web_app",
)


def validate_reply_markup(markup: Any) -> None:
    """Raise the 400 Telegram answers for an invalid ``reply_markup`` (inline keyboards only)."""
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in markup:
        return  # reply keyboards, ForceReply, ReplyKeyboardRemove: not inspected
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request(
            'field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays'
        )
    for row in rows:
        for button in row:
            validate_button(button)


def validate_button(button: Any) -> None:
    """One inline button: a text label and exactly one valid action field."""
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise bad_request(
            'can\'t parse inline keyboard button: Field "text" must be of type String'
        )
    actions = [field for field in _BUTTON_ACTIONS if field in button]
    if len(actions) != 1:
        raise bad_request(
            "can't parse inline keyboard button: exactly one of the optional fields must be used"
        )
    if "callback_data" in button:
        data = button["callback_data"]
        size = len(data.encode()) if isinstance(data, str) else 0
        if not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
            raise bad_request("BUTTON_DATA_INVALID")
    if "url" in button and not _valid_button_url(button["url"]):
        raise bad_request("BUTTON_URL_INVALID")


def _valid_button_url(url: Any) -> bool:
    if not isinstance(url, str):
        return False
    parts = urlsplit(url)
    if parts.scheme == "tg":
        return bool(parts.netloc or parts.path)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


# --------------------------------------------------------------------------- rate limits


@dataclass(frozen=True)
class RateRule:
    """At most ``limit`` counted calls in any sliding ``window`` seconds."""

    limit: int
    window: float


_EPSILON = 1e-9
PER_CHAT = RateRule(1, 1.0)
PER_GROUP = RateRule(20, 60.0)
GLOBAL = RateRule(30, 1.0)


class RateLimiter:
    """Sliding-window limiter for the counted methods (contract in ``telegram_emulator``)."""

    def __init__(self, tolerance: float) -> None:
        self.tolerance = tolerance
        self._chats: dict[int, deque[float]] = {}
        self._global: deque[float] = deque(maxlen=GLOBAL.limit)

    def _wait(self, history: deque[float], rule: RateRule, now: float) -> float:
        """Seconds until ``rule`` allows one more call (<= 0: allowed now)."""
        if len(history) < rule.limit:
            return 0.0
        return history[-rule.limit] + rule.window - self.tolerance - now

    def retry_after(self, chat_id: int, now: float) -> int | None:
        """None if a counted call to ``chat_id`` is allowed at ``now``, else Telegram's N."""
        history = self._chats.get(chat_id, deque())
        waits = [self._wait(history, PER_CHAT, now), self._wait(self._global, GLOBAL, now)]
        if chat_id < 0:
            waits.append(self._wait(history, PER_GROUP, now))
        # The epsilon absorbs float noise of summed clock steps (0.95 = 0.9499999999...).
        wait = max(waits) - _EPSILON
        if wait <= 0:
            return None
        return max(1, math.ceil(wait))

    def record(self, chat_id: int, now: float) -> None:
        """Count a successful call."""
        self._chats.setdefault(chat_id, deque(maxlen=PER_GROUP.limit)).append(now)
        self._global.append(now)


def allowed_rate_floor_seconds(chat_counts: dict[int, int]) -> float:
    """Lower bound of the time from the first to the last counted call needed to deliver
    ``chat_counts[chat_id]`` calls per chat without any 429 under the nominal rules
    (tolerance 0; negative ids are groups).

    The answer is the largest of three independent bounds, each exact on its own:
    per chat ``n - 1`` seconds (1/s); per group, calls 0..19 at 0..19 s, the 21st no earlier
    than 60 s after the 1st and so on, i.e. ``60 * ((n - 1) // 20) + (n - 1) % 20``;
    globally ``(N - 1) // 30`` seconds for ``N`` calls in all (30 per sliding second).
    Their interplay can only make the real minimum longer, hence "lower bound".
    """
    bounds = [0.0]
    for chat_id, count in chat_counts.items():
        if count <= 0:
            continue
        steps = count - 1
        if chat_id < 0:
            per_window = PER_GROUP.limit
            bounds.append(PER_GROUP.window * (steps // per_window) + steps % per_window)
        else:
            bounds.append(float(steps))
    total = sum(count for count in chat_counts.values() if count > 0)
    if total:
        bounds.append(GLOBAL.window * ((total - 1) // GLOBAL.limit))
    return max(bounds)


# --------------------------------------------------------------------------- photos


def photo_size(data: bytes) -> tuple[int, int]:
    """Width and height of an uploaded photo, checked as Telegram checks them.

    Only PNG is read. Telegram takes photos up to 10 MB whose width and height
    add up to at most 10000 and whose sides are at most 20 times each other.
    """
    if len(data) > MAX_PHOTO_BYTES:
        raise bad_request("PHOTO_SAVE_FILE_INVALID")
    if not data.startswith(_PNG_SIGNATURE) or data[12:16] != b"IHDR":
        raise bad_request("IMAGE_PROCESS_FAILED")
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if (
        not width
        or not height
        or width + height > 10000
        or max(width, height) > 20 * min(width, height)
    ):
        raise bad_request("PHOTO_INVALID_DIMENSIONS")
    return width, height
