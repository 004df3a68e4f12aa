"""Request Tracker correspondence as a ticket's replies: staff answers and the client's.

RT keeps a ticket's conversation as transactions: ``Correspond`` is a message the
requestors see (a staff answer, or a requestor's mail), ``Comment`` an internal note
that never becomes a reply (Modest's own notes are comments). Facts relied on, each
checked against RT 5.0.3:

* ``GET /transactions?query=<JSON>`` filters the transactions of many tickets at once
  (``ObjectType``, ``ObjectId IN [...]``, ``Type``, ``Created >= 'YYYY-MM-DD HH:MM:SS'``).
  JSON limits go to SQL as they are, so ``Created`` is compared with the UTC RT stores:
  no TicketSQL date reading, none of the listing window's time zone questions;
* ``fields[Creator]=Name,RealName,EmailAddress`` names the author. A collection
  serialises ``Privileged`` as "" (it is no column); only ``GET /user/{name}`` tells
  it, to any privileged API user;
* ``GET /attachments?query=<JSON>`` with ``TransactionId IN [...]`` and ``ContentType
  STARTSWITH 'text/'`` reads the text parts of many transactions in one call, without
  the bytes of attached files. A mailed reply has a text/plain and a text/html part,
  a reply made in RT's web UI or REST2 one part.

Who wrote it: a requestor of the ticket is the client; a routing-file person
(``rt_user``) or any other privileged RT user is staff; anyone else (a Cc on the
client's side, mail from an address RT does not know as staff) is the client's side.

Requests: one search per page of listed tickets (more only past 100 replies in the
window), one for the text of replies not read before, one per author who is neither a
requestor nor a routing-file person, once per process. A ticket whose ``LastUpdated``
is the one seen last time is not read again, if that read came :data:`SETTLED` after
it: RT's dates have whole seconds, so a reply in the same second as the one read last
time leaves ``LastUpdated`` as it was.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar
from urllib.parse import quote

import structlog

from connectors.base import PermanentError
from connectors.rt_parse import (
    PER_PAGE,
    JsonObject,
    Params,
    body_of,
    items,
    name,
    parse_rt_datetime,
    text,
)
from connectors.types import Reply, ReplyAuthor

__all__ = ["CORRESPOND", "REPLY_TEXT_CHARS", "Conversations", "GetJson"]

log = structlog.get_logger(__name__)

CORRESPOND = "Correspond"
#: How much of a reply's text is kept: enough for the quality check of staff replies.
REPLY_TEXT_CHARS = 4000
#: At most this many pages of one search (10,000 replies or text parts).
MAX_PAGES = 100
#: How long after a ticket's ``LastUpdated`` its replies must have been read for that
#: read to stand for the same ``LastUpdated`` later (covers clocks a little apart).
SETTLED = timedelta(seconds=30)
_TICKETS_CACHED = 512
_TEXTS_CACHED = 2048
_USERS_CACHED = 1024
_TRANSACTION_FIELDS: Params = (
    ("fields", "Type,Creator,Created,ObjectId"),
    ("fields[Creator]", "Name,RealName,EmailAddress"),
)
_TEXT_FIELDS: Params = (("fields", "TransactionId,ContentType,Content,Filename"),)

#: ``GET path`` with query parameters, answered with decoded JSON (the connector's call).
GetJson = Callable[[str, Params], Awaitable[object]]
K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class _Message:
    """One Correspond transaction, before its text and its author's side are known."""

    transaction_id: str
    ticket_id: str
    author: str
    author_name: str
    at: datetime | None


def _remember(cache: dict[K, V], key: K, value: V, limit: int) -> None:
    """Store in an insertion-ordered cache, dropping the oldest entries past ``limit``."""
    cache.pop(key, None)
    cache[key] = value
    while len(cache) > limit:
        del cache[next(iter(cache))]


def _numeric(value: str) -> bool:
    """An RT id as it may go into a query: ASCII digits only."""
    return value.isascii() and value.isdecimal()


def _message(raw: Mapping[str, object]) -> _Message | None:
    transaction_id, ticket_id = text(raw.get("id")), text(raw.get("ObjectId"))
    if text(raw.get("Type")) != CORRESPOND or not (
        _numeric(transaction_id) and _numeric(ticket_id)
    ):
        return None
    creator = raw.get("Creator")
    login = name(creator)
    real = text(creator.get("RealName")) if isinstance(creator, dict) else ""
    at = parse_rt_datetime(raw.get("Created"))
    return _Message(transaction_id, ticket_id, login, real or login, at)


def _requestors(raw: Mapping[str, object]) -> frozenset[str]:
    """The ticket's requestors by login and e-mail, case-folded."""
    found = raw.get("Requestor")
    keys: set[str] = set()
    for person in found if isinstance(found, list) else []:
        keys.add(name(person).casefold())
        if isinstance(person, dict):
            keys.add(text(person.get("EmailAddress")).casefold())
    return frozenset(keys - {""})


def _query(*limits: JsonObject) -> str:
    return json.dumps(list(limits), separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class _Read:
    """A ticket's replies as read at ``read_at`` (local time), its ``LastUpdated`` then."""

    updated: datetime | None
    read_at: datetime
    replies: tuple[Reply, ...]

    def stands_for(self, updated: datetime | None) -> bool:
        """Whether this read is still the ticket's conversation at ``updated``."""
        return (
            updated is not None and updated == self.updated and (self.read_at - updated >= SETTLED)
        )


def _now() -> datetime:
    return datetime.now(UTC)


class Conversations:
    """Reads listed tickets' correspondence in batches; keeps what does not change."""

    def __init__(
        self,
        get: GetJson,
        *,
        staff_users: Iterable[str] = (),
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._get = get
        self._staff = frozenset(user.strip().casefold() for user in staff_users if user.strip())
        self._clock = clock
        self._tickets: dict[str, _Read] = {}
        self._texts: dict[str, str] = {}
        self._privileged: dict[str, bool] = {}

    async def replies(
        self, tickets: Sequence[Mapping[str, object]], *, since: datetime | None
    ) -> dict[str, tuple[Reply, ...]]:
        """Each ticket's replies, oldest first, by ticket id (tickets are REST2 search items).

        ``since``: only replies written at or after it (a polling window), else all.
        A failure RT will repeat (a permanent error) costs the replies of this read,
        never the tickets; a transient one is raised, so the caller tries again.
        """
        found: dict[str, tuple[Reply, ...]] = {}
        wanted: dict[str, Mapping[str, object]] = {}
        for raw in tickets:
            ticket_id = text(raw.get("id"))
            if not _numeric(ticket_id):
                continue
            cached = self._tickets.get(ticket_id)
            if cached is not None and cached.stands_for(parse_rt_datetime(raw.get("LastUpdated"))):
                found[ticket_id] = cached.replies
            else:
                wanted[ticket_id] = raw
        if not wanted:
            return found
        read_at = self._clock()
        try:
            read = await self._read(wanted, since)
        except PermanentError as exc:
            log.warning("rt.replies_unreadable", tickets=len(wanted), error=str(exc)[:300])
            return found
        for ticket_id, raw in wanted.items():
            replies = read.get(ticket_id, ())
            updated = parse_rt_datetime(raw.get("LastUpdated"))
            _remember(self._tickets, ticket_id, _Read(updated, read_at, replies), _TICKETS_CACHED)
            found[ticket_id] = replies
        return found

    async def _read(
        self, tickets: Mapping[str, Mapping[str, object]], since: datetime | None
    ) -> dict[str, tuple[Reply, ...]]:
        messages = await self._messages([int(ticket_id) for ticket_id in tickets], since)
        texts = await self._texts_of([m.transaction_id for m in messages])
        by_ticket: dict[str, list[Reply]] = {}
        for message in messages:
            if message.ticket_id not in tickets:
                continue  # RT skips a JSON limit it cannot search by: only asked-for tickets
            side = await self._side(message.author, _requestors(tickets[message.ticket_id]))
            by_ticket.setdefault(message.ticket_id, []).append(
                Reply(
                    external_id=message.transaction_id,
                    author=side,
                    at=message.at,
                    author_ref=message.author if side is ReplyAuthor.STAFF else None,
                    author_name=message.author_name,
                    text=texts.get(message.transaction_id, ""),
                )
            )
        return {
            ticket_id: tuple(sorted(replies, key=lambda reply: int(reply.external_id)))
            for ticket_id, replies in by_ticket.items()
        }

    async def _messages(self, ticket_ids: list[int], since: datetime | None) -> list[_Message]:
        """The tickets' Correspond transactions (newest first when there are too many)."""
        limits: list[JsonObject] = [
            {"field": "ObjectType", "value": "RT::Ticket"},
            {"field": "ObjectId", "operator": "IN", "value": ticket_ids},
            {"field": "Type", "value": CORRESPOND},
        ]
        if since is not None:
            bound = since.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
            limits.append({"field": "Created", "operator": ">=", "value": bound})
        params = (("query", _query(*limits)), *_TRANSACTION_FIELDS)
        params += (("orderby", "id"), ("order", "DESC"))
        found = [_message(raw) for raw in await self._pages("transactions", params)]
        return [message for message in found if message is not None]

    async def _texts_of(self, transaction_ids: list[str]) -> dict[str, str]:
        """The text of each transaction (cached: a transaction never changes)."""
        unread = [t for t in dict.fromkeys(transaction_ids) if t not in self._texts]
        for start in range(0, len(unread), PER_PAGE):
            chunk = unread[start : start + PER_PAGE]
            query = _query(
                {"field": "TransactionId", "operator": "IN", "value": [int(t) for t in chunk]},
                {"field": "ContentType", "operator": "STARTSWITH", "value": "text/"},
            )
            params = (("query", query), *_TEXT_FIELDS, ("orderby", "id"), ("order", "ASC"))
            parts: dict[str, list[JsonObject]] = {t: [] for t in chunk}
            for part in await self._pages("attachments", params):
                parts.setdefault(text(part.get("TransactionId")), []).append(part)
            for transaction_id in chunk:
                content = body_of(parts[transaction_id])[:REPLY_TEXT_CHARS]
                _remember(self._texts, transaction_id, content, _TEXTS_CACHED)
        return {t: self._texts.get(t, "") for t in transaction_ids}

    async def _side(self, author: str, requestors: frozenset[str]) -> ReplyAuthor:
        """The client for a requestor, staff for a routing-file person or a privileged user."""
        key = author.casefold()
        if not key or key in requestors:
            return ReplyAuthor.CLIENT
        if key in self._staff:
            return ReplyAuthor.STAFF
        privileged = self._privileged.get(key)
        if privileged is None:
            privileged = await self._is_privileged(author)
            _remember(self._privileged, key, privileged, _USERS_CACHED)
        return ReplyAuthor.STAFF if privileged else ReplyAuthor.CLIENT

    async def _is_privileged(self, author: str) -> bool:
        try:
            record = await self._get(f"user/{quote(author, safe='@')}", ())
        except PermanentError as exc:
            log.warning("rt.reply_author_unknown", error=str(exc)[:300])
            return False
        return isinstance(record, dict) and text(record.get("Privileged")) == "1"

    async def _pages(self, path: str, params: Params) -> list[JsonObject]:
        """Every item of a search, page after page (at most ``MAX_PAGES``)."""
        found: list[JsonObject] = []
        for page in range(1, MAX_PAGES + 1):
            paged = (*params, ("per_page", PER_PAGE), ("page", page))
            answer = items(await self._get(path, paged))
            found += answer
            if len(answer) < PER_PAGE:
                return found
        log.warning("rt.search_truncated", path=path, pages=MAX_PAGES)
        return found
