"""Pure helpers for HelpDeskEddy: envelopes, dates, HTML, tickets and webhooks.

Nothing here does I/O; :mod:`connectors.helpdeskeddy` calls these to turn
API answers into :class:`~dispatch.models.TicketData`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from html.parser import HTMLParser
from urllib.parse import quote

from connectors.base import PermanentError
from connectors.payload import PayloadError, known_event_names, parse_event_kind
from connectors.types import Client, Reply, ReplyAuthor, TicketData, TicketEventKind

_DATE_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%H:%M:%S %d.%m.%Y",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%Y-%m-%d %H:%M",
)
_POSITIVE_INT = re.compile(r"^[0-9]{1,18}$")
_TAG = re.compile(r"<\s*/?\s*[a-zA-Z][^>]*>")
# Paragraph-level tags are set off by a blank line; line-level ones start a new line.
_PARAGRAPH_TAGS = frozenset({"p", "blockquote", "pre", "table", "ul", "ol", "hr"}) | {
    f"h{level}" for level in range(1, 7)
}
_LINE_TAGS = frozenset({"div", "li", "tr", "dt", "dd"})
_SKIP_TAGS = frozenset({"script", "style", "head", "title"})
MAX_DELIVERY_ID = 200


@dataclass(frozen=True, slots=True)
class TicketContext:
    """Portal settings that shape how a ticket object is mapped."""

    closed_statuses: frozenset[str] = frozenset({"closed"})
    portal_tz: tzinfo | None = None
    url_template: str | None = None
    #: Names of the portal's priorities and ticket types by id (its dictionaries).
    priority_names: Mapping[str, str] = field(default_factory=dict)
    type_names: Mapping[str, str] = field(default_factory=dict)


def dictionary_names(data: object, language: str) -> dict[str, str]:
    """``{id: name}`` from a dictionary answer (priorities, types): a list or keyed by id.

    A name may be text or, like department names, an object by language: the given
    language's, else English, else the first one given.
    """
    names: dict[str, str] = {}
    for item in data_items(data):
        key, name = _text(item.get("id")), item.get("name")
        if isinstance(name, Mapping):
            by_language = {str(k): _text(v) for k, v in name.items() if _text(v)}
            name = (
                by_language.get(language)
                or by_language.get("en")
                or next(iter(by_language.values()), "")
            )
        if key and isinstance(name, str) and name.strip():
            names[key] = name.strip()
    return names


def positive_id(value: object) -> int | None:
    """``value`` as a positive integer id, or None (0, empty, junk, bool)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if isinstance(value, str) and _POSITIVE_INT.match(value.strip()):
        number = int(value.strip())
        return number if number > 0 else None
    return None


def require_ticket_id(external_id: str) -> int:
    """The ticket id as an int; PermanentError if it is not a positive integer.

    Checked before building a URL so an id like ``../users`` never reaches a path.
    """
    number = positive_id(external_id)
    if number is None:
        raise PermanentError(f"HelpDeskEddy ticket id must be a positive integer: {external_id!r}")
    return number


def data_items(data: object) -> list[dict[str, object]]:
    """Normalise a list answer's ``data``: an array or an object keyed by id."""
    if isinstance(data, Mapping):
        values: list[object] = list(data.values())
    elif isinstance(data, list):
        values = data
    else:
        return []
    return [dict(item) for item in values if isinstance(item, Mapping)]


def single_item(data: object) -> dict[str, object] | None:
    """The one object in a single-item answer, tolerating a keyed or listed wrapper."""
    if isinstance(data, Mapping):
        if "id" in data:
            return dict(data)
        items = data_items(data)
        return items[0] if len(items) == 1 else None
    if isinstance(data, list) and len(data) == 1 and isinstance(data[0], Mapping):
        return dict(data[0])
    return None


def total_pages(body: Mapping[str, object]) -> int:
    """``pagination.total_pages`` of a list answer, 1 when absent or odd."""
    pagination = body.get("pagination")
    if isinstance(pagination, Mapping):
        pages = positive_id(pagination.get("total_pages"))
        if pages is not None:
            return pages
    return 1


def earliest_post(posts: list[dict[str, object]]) -> dict[str, object] | None:
    """The oldest post of a page: the smallest id, else the last item (lists are newest-first)."""
    if not posts:
        return None
    ids = [positive_id(post.get("id")) for post in posts]
    if all(number is not None for number in ids):
        return min(zip(ids, posts, strict=True), key=lambda pair: pair[0] or 0)[1]
    return posts[-1]


def replies_from_posts(
    posts: list[dict[str, object]],
    *,
    client_id: object,
    first_post_id: int | None,
    portal_tz: tzinfo | None,
) -> tuple[Reply, ...]:
    """The conversation after the client's first message, oldest first.

    A post by the ticket's client (``user_id``) is the client's reply; any other
    author is staff. The earliest post is the ticket's body, not a reply.
    """
    client = positive_id(client_id)
    replies = []
    for post in posts:
        post_id = positive_id(post.get("id"))
        if post_id is None or post_id == first_post_id:
            continue
        author_id = positive_id(post.get("user_id"))
        by_client = author_id is not None and author_id == client
        text = post.get("text")
        replies.append(
            Reply(
                external_id=str(post_id),
                author=ReplyAuthor.CLIENT if by_client else ReplyAuthor.STAFF,
                at=parse_datetime(post.get("date_created"), portal_tz),
                author_ref=None if by_client or author_id is None else str(author_id),
                text=html_to_text(text)[:4000] if isinstance(text, str) else "",
            )
        )
    return tuple(sorted(replies, key=lambda reply: int(reply.external_id)))


def parse_datetime(value: object, portal_tz: tzinfo | None = None) -> datetime | None:
    """Parse the date formats HelpDeskEddy uses; the result is aware and in UTC.

    A naive value is taken to be in ``portal_tz`` (UTC when not given). Anything
    unparseable gives None rather than failing the whole ticket.
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value, UTC) if value > 0 else None
        except (ValueError, OverflowError, OSError):  # past year 9999, or past time_t
            return None
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    parsed: datetime | None = None
    for fmt in _DATE_FORMATS:
        try:
            parsed = datetime.strptime(text, fmt)
            break
        except ValueError:
            continue
    if parsed is None:
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=portal_tz or UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # year 1 east of UTC, or year 9999 west of it
        return None


def format_filter_datetime(moment: datetime, portal_tz: tzinfo | None) -> str:
    """``YYYY-MM-DD HH:MM:SS`` for list filters, in the portal's zone (UTC by default).

    A naive ``moment`` is assumed to be in that zone already.
    """
    if moment.tzinfo is not None:
        moment = moment.astimezone(portal_tz or UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


class _TextExtractor(HTMLParser):
    """Collects the text of an HTML fragment, breaking lines where a browser would."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0
        self._pre = 0
        self._has_text = False

    def parse_marked_section(self, i: int, report: bool = True) -> int:
        """``<![...]>``; one that is not CDATA or a condition is skipped like a comment.

        CPython's parser asserts on such a section ("<![0", "<![A["), which mail
        from outside can hold; a browser shows nothing of it either.
        """
        try:
            return super().parse_marked_section(i, report)
        except AssertionError:
            return self.parse_bogus_comment(i, report)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip += 1
        elif tag == "pre":
            self._pre += 1
        self._break(tag, opening=True)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._break(tag, opening=True)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skip = max(0, self._skip - 1)
        elif tag == "pre":
            self._pre = max(0, self._pre - 1)
        self._break(tag, opening=False)

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        self._has_text = self._has_text or bool(data.strip())
        if self._pre:
            self.parts.append(data)
            return
        # Outside <pre>, source line breaks are just whitespace, as in a browser.
        text = re.sub(r"\s+", " ", data)
        if text == " " and self._trailing_newlines() > 0:
            return  # indentation between block tags, not content
        self.parts.append(text)

    def _break(self, tag: str, *, opening: bool) -> None:
        if tag == "br":
            self.parts.append("\n")  # always: <div><br></div> is how mail marks a blank line
        elif tag in _PARAGRAPH_TAGS:
            self._ensure_newlines(2)
        elif tag in _LINE_TAGS and not (opening and not self.parts):
            self._ensure_newlines(1)

    def _ensure_newlines(self, count: int) -> None:
        missing = count - self._trailing_newlines()
        if missing > 0:
            self.parts.append("\n" * missing)

    def _trailing_newlines(self) -> int:
        """How many line breaks end the text so far (ignoring spaces); 2 at the start."""
        if not self._has_text:
            return 2
        # Only the last few parts matter: at most two line breaks are ever needed.
        tail = "".join(self.parts[-8:]).rstrip(" ")
        return len(tail) - len(tail.rstrip("\n"))


def html_to_text(value: str) -> str:
    """Plain text of a post: tags stripped, entities unescaped, blank lines collapsed.

    Text without any tag is treated as plain text so its line breaks survive.
    """
    if _TAG.search(value):
        extractor = _TextExtractor()
        extractor.feed(value)
        extractor.close()
        text = "".join(extractor.parts)
    else:
        text = html.unescape(value)
    text = text.replace("\xa0", " ").replace("\r\n", "\n").replace("\r", "\n")
    lines = [line.strip() for line in text.split("\n")]
    collapsed = re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
    return collapsed.strip()


def _text(value: object) -> str:
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, str | int | float):
        return str(value).strip()
    return ""


def _ref(value: object) -> str | None:
    """An id reference as a string; 0, null, empty and missing all mean "none"."""
    text = _text(value)
    return None if text in {"", "0"} else text


def normalise_base_url(base_url: str) -> str:
    """The API root ending in ``/api/v2/``, from a portal or API address."""
    url = base_url.strip().rstrip("/")
    if not url.startswith(("https://", "http://")):
        raise ValueError("HelpDeskEddy base_url must start with https:// or http://")
    if url.endswith("/api"):
        url += "/v2"
    elif not url.endswith("/api/v2"):
        url += "/api/v2"
    return url + "/"


def company_of(user: Mapping[str, object]) -> str:
    """The client's company from a user object (``organization``: text or object)."""
    organization = user.get("organization")
    if isinstance(organization, Mapping):
        name = organization.get("name")
        if isinstance(name, Mapping):
            # Localised names come keyed by language; any one will do.
            name = next((v for v in name.values() if isinstance(v, str) and v.strip()), "")
        return _text(name)
    return _text(organization)


def ticket_url(template: str | None, external_id: str, number: str) -> str | None:
    """The ticket's web address from a template with ``{id}`` / ``{number}``."""
    if not template:
        return None
    return template.replace("{id}", quote(external_id, safe="")).replace(
        "{number}", quote(number, safe="")
    )


def ticket_from_hde(
    raw: Mapping[str, object],
    context: TicketContext,
    *,
    body: str = "",
    company: str = "",
    fallback_id: str | None = None,
    replies: tuple[Reply, ...] = (),
) -> TicketData:
    """Map a HelpDeskEddy ticket object to :class:`TicketData`.

    Raises PermanentError when the object has no usable id.
    """
    ticket_id = positive_id(raw.get("id"))
    external_id = str(ticket_id) if ticket_id is not None else fallback_id
    if external_id is None:
        raise PermanentError("HelpDeskEddy ticket object has no valid id")
    number = _text(raw.get("unique_id")) or external_id
    status = _text(raw.get("status_id"))
    name = " ".join(p for p in (_text(raw.get("user_name")), _text(raw.get("user_lastname"))) if p)
    return TicketData(
        external_id=external_id,
        number=number,
        subject=_text(raw.get("title")),
        body=body,
        status=status,
        priority=_named(raw.get("priority_id"), context.priority_names),
        type=_named(raw.get("type_id"), context.type_names),
        department_ref=_ref(raw.get("department_id")),
        assignee_ref=_ref(raw.get("owner_id")),
        client=Client(name=name, email=_text(raw.get("user_email")), company=company),
        url=ticket_url(context.url_template, external_id, number),
        created_at=parse_datetime(raw.get("date_created"), context.portal_tz),
        updated_at=parse_datetime(raw.get("date_updated"), context.portal_tz),
        closed=status in context.closed_statuses,
        channel=_text(raw.get("source")),
        replies=replies,
    )


def _named(value: object, names: Mapping[str, str]) -> str:
    """A dictionary id as its name when the portal's dictionary is known, else the id."""
    key = _text(value)
    return names.get(key, key)


def error_summary(body: object) -> tuple[list[str], bool]:
    """The ``errors`` of an answer as readable strings, and whether all mean success.

    HelpDeskEddy reports some successes (``s-204`` after a delete) as errors.
    """
    if not isinstance(body, Mapping):
        return [], True
    errors = body.get("errors")
    if not isinstance(errors, list) or not errors:
        return [], True
    messages: list[str] = []
    success = True
    for item in errors:
        if not isinstance(item, Mapping):
            success = False
            continue
        code = _text(item.get("code"))
        success = success and code.startswith("s-")
        text = ": ".join(p for p in (_text(item.get("title")), _text(item.get("details"))) if p)
        messages.append(f"[{code}] {text}" if code else text)
    return messages, success


def _field(fields: Mapping[str, object], name: str) -> str | None:
    value = fields.get(name)
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value.strip() or None
    raise PayloadError(name, "must be a string")


def parse_webhook(fields: Mapping[str, object]) -> tuple[TicketEventKind, str, str | None]:
    """Read a HelpDeskEddy webhook body (JSON or form fields, as templated in the rule).

    Fields: ``ticket_id`` (or ``id``), ``event`` (``ticket.created`` or its short
    form ``created``…), optional ``delivery_id``. Returns (kind, ticket id,
    delivery id); raises PayloadError naming the bad field.
    """
    id_field = "ticket_id" if fields.get("ticket_id") is not None else "id"
    raw_id = _field(fields, id_field)
    if raw_id is None:
        raise PayloadError("ticket_id", "is required")
    ticket_id = positive_id(raw_id)
    if ticket_id is None:
        raise PayloadError(id_field, f"must be a positive integer, got {raw_id[:50]!r}")
    raw_event = _field(fields, "event")
    if raw_event is None:
        raise PayloadError("event", "is required")
    kind = parse_event_kind(raw_event)
    if kind is None:
        raise PayloadError(
            "event", f"unknown event {raw_event[:50]!r}; expected one of {known_event_names()}"
        )
    delivery_id = _field(fields, "delivery_id")
    if delivery_id is not None and len(delivery_id) > MAX_DELIVERY_ID:
        raise PayloadError("delivery_id", f"must be at most {MAX_DELIVERY_ID} characters")
    return kind, str(ticket_id), delivery_id
