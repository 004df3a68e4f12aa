"""Request Tracker 5 (REST2) connector: read tickets, write queue and owner, add comments.

Facts about RT 5.0.3's REST2 this relies on, each checked against a real server:
auth is ``Authorization: token ...`` or HTTP basic auth; a search
(``GET /tickets?query=<TicketSQL>``) expands linked records in the same call
(``fields[Queue]=Name``), a single ticket does not, so reads are searches by id;
searches never return deleted tickets, ``GET /ticket/{id}`` does; ``PUT /ticket/{id}``
answers 200 with messages even when it changed nothing ("Queue X does not exist"),
so an assignment is read back; dates come back in UTC, unset ones as the epoch;
``/comment`` is staff-only while ``/correspond`` mails the requestors.

Listing windows. TicketSQL dates go through Time::ParseDate, which reads the
number of ``'N seconds ago'`` as a clock time or a year for many N (``1000`` is
10:00, ``3600`` the year 3600), so such a window is wrong for most lengths. An
absolute ``'YYYY-MM-DD HH:MM:SS'`` is read the same for every length: as a wall
time in the API user's RT time zone (its Timezone preference, else RT's
``$Timezone``), which REST2 does not show, hence ``timezone``. RT turns that wall
time into UTC with the offset *at the wall time read as UTC*; :func:`rt_date_bound`
undoes exactly that, so a window near a daylight-saving change may start up to an
hour early (a deliberate overlap) but never late.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterable, Mapping
from datetime import UTC, datetime, timedelta, tzinfo
from typing import ClassVar

import httpx
import structlog

from connectors.base import (
    ConnectorError,
    HelpdeskConnector,
    PermanentError,
    client_error,
)
from connectors.http import classified_request, transient_retries, with_retries
from connectors.plugin import Capabilities
from connectors.rt_parse import PER_PAGE, JsonObject, Params, parse_rt_datetime
from connectors.rt_parse import body_of as _body_of
from connectors.rt_parse import items as _items
from connectors.rt_parse import name as _name
from connectors.rt_parse import text as _text
from connectors.rt_replies import Conversations
from connectors.types import Client, TicketData

__all__ = [
    "CLOSED_STATUSES",
    "RequestTrackerConnector",
    "parse_rt_datetime",
    "rt_date_bound",
    "ticket_from_rt",
]

log = structlog.get_logger(__name__)

CLOSED_STATUSES = frozenset({"resolved", "rejected", "deleted"})
NOBODY = "nobody"  # the owner of every unowned ticket
_MAX_ERROR_TEXT = 300
_BODY_CACHE_SIZE = 512
#: What a search returns per ticket: names of the queue, owner and requestors included.
_TICKET_FIELDS: tuple[tuple[str, str], ...] = (
    ("fields", "Subject,Status,Queue,Owner,Priority,Requestor,Created,LastUpdated"),
    ("fields[Queue]", "Name"),
    ("fields[Owner]", "Name"),
    ("fields[Requestor]", "Name,EmailAddress,RealName"),
)


def _rt_reading(wall: datetime, zone: tzinfo) -> datetime:
    """The UTC moment RT 5 makes of a TicketSQL wall time (``RT::Date``, format unknown)."""
    as_utc = wall.replace(tzinfo=UTC)
    offset = as_utc.astimezone(zone).utcoffset() or timedelta(0)
    return as_utc - offset


def rt_date_bound(moment: datetime, zone: tzinfo) -> str:
    """A TicketSQL date RT reads as ``moment`` (whole seconds), or up to an hour earlier.

    ``zone`` is the time zone RT reads dates in for the API user. Only around a
    daylight-saving change does RT's reading differ from the plain wall time; then
    the wall time is moved back until RT's reading is no later than ``moment``.
    """
    moment = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).replace(microsecond=0)
    wall = moment.astimezone(zone).replace(tzinfo=None)
    for _ in range(3):  # one step suffices; the others guard zones with odd rules
        late = _rt_reading(wall, zone) - moment
        if late <= timedelta(0):
            break
        wall -= late
    return wall.strftime("%Y-%m-%d %H:%M:%S")


def _client(requestors: object) -> Client:
    """The first requestor: real name (else login), e-mail."""
    first = requestors[0] if isinstance(requestors, list) and requestors else None
    if not isinstance(first, dict):
        return Client()
    login = _name(first)
    email = _text(first.get("EmailAddress")) or (login if "@" in login else "")
    return Client(name=_text(first.get("RealName")) or login, email=email)


def ticket_from_rt(raw: Mapping[str, object], *, url_template: str, body: str = "") -> TicketData:
    """One REST2 ticket (a search item or a single ticket) as TicketData."""
    ticket_id = _text(raw.get("id"))
    if not ticket_id.isdecimal():
        raise PermanentError(f"RT ticket without a numeric id: {ticket_id!r}")
    status = _text(raw.get("Status")).lower()
    owner = _name(raw.get("Owner"))
    return TicketData(
        external_id=ticket_id,
        number=ticket_id,
        subject=_text(raw.get("Subject")),
        body=body,
        status=status,
        priority=_text(raw.get("Priority")),
        department_ref=_name(raw.get("Queue")) or None,
        assignee_ref=None if owner.lower() in ("", NOBODY) else owner,
        client=_client(raw.get("Requestor")),
        url=url_template.format(id=ticket_id, number=ticket_id),
        created_at=parse_rt_datetime(raw.get("Created")),
        updated_at=parse_rt_datetime(raw.get("LastUpdated")),
        closed=status in CLOSED_STATUSES,
    )


def _same(record: object, ref: str) -> bool:
    """Whether a queue or user record is the one ``ref`` names (by name or by id)."""
    wanted = ref.strip().casefold()
    if isinstance(record, dict):
        return wanted in {_text(record.get("Name")).casefold(), _text(record.get("id")).casefold()}
    return _text(record).casefold() == wanted


def _ticket_id(value: str) -> int:
    """An RT ticket id, checked before it goes into a URL or a query."""
    text = str(value).strip()
    if not (text.isascii() and text.isdecimal()) or int(text) <= 0:
        raise PermanentError(f"an RT ticket id must be a positive integer: {value!r}")
    return int(text)


class RequestTrackerConnector(HelpdeskConnector):
    """A Request Tracker 5 instance reached through its REST2 API.

    ``base_url`` is RT's web root (``RT_URL``); ``token`` wins over ``user`` and
    ``password``; ``timezone`` is the zone RT reads dates in for that user (``RT_TIMEZONE``);
    ``staff_users`` are RT users known as staff (the routing file's ``rt_user``), whose
    replies need no look-up of their privileges.
    Departments are queue names, people are user names. The ticket link is
    ``{base_url}/Ticket/Display.html?id={id}`` unless ``ticket_url_template``
    (``{id}``, ``{number}``) says otherwise.
    """

    slug: ClassVar[str] = "rt"
    title: ClassVar[str] = "Request Tracker"
    # RT sends no events of its own (a scrip may): polling is how tickets come in.
    # Tickets carry their Correspond transactions as replies (connectors/rt_replies.py).
    capabilities: ClassVar[Capabilities] = Capabilities(
        writes_back=True,
        lists_changes=True,
        polls_for_intake=True,
        accepts_events=True,
        fetches_tickets=True,
        tells_replies=True,
    )

    def __init__(
        self,
        *,
        base_url: str,
        token: str | None = None,
        user: str | None = None,
        password: str | None = None,
        ticket_url_template: str | None = None,
        timezone: tzinfo = UTC,
        staff_users: Iterable[str] = (),
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        retry_attempts: int = 4,
        retry_wait: float = 0.5,
    ) -> None:
        if retry_attempts < 1:
            raise ValueError("retry_attempts must be at least 1")
        if not token and not (user and password):
            raise ValueError("RT needs a token, or a user and a password")
        # httpx shows an Authorization header as "[secure]" in every repr.
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"token {token}"
        auth = httpx.BasicAuth(user, password) if user and password and not token else None
        # RT_URL is RT's web root; the REST2 root itself is accepted too.
        root = base_url.strip().rstrip("/").removesuffix("/REST/2.0")
        escaped = root.replace("{", "{{").replace("}", "}}")
        self._url_template = ticket_url_template or f"{escaped}/Ticket/Display.html?id={{id}}"
        self._retrying = transient_retries(retry_attempts, retry_wait)
        self._timezone = timezone
        self._bodies: dict[int, str] = {}  # insertion-ordered: the oldest goes first
        self._conversations = Conversations(self._get, staff_users=staff_users)
        self._client = httpx.AsyncClient(
            base_url=f"{root}/REST/2.0/",
            auth=auth,
            timeout=timeout,
            transport=transport,
            headers=headers,
        )

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()

    async def check_access(self) -> None:
        """``GET /rt``: the server's version, served only to a signed-in user."""
        await self._call("GET", "rt")

    async def fetch_ticket(self, external_id: str) -> TicketData:
        """Read a ticket with its queue, owner and requestor names, its first message and
        its replies (the Correspond transactions)."""
        ticket_id = _ticket_id(external_id)
        raw = await self._find(ticket_id)
        if raw is None:
            # Searches hide deleted tickets; this read shows them (and is a 404 for none).
            single = await self._call("GET", f"ticket/{ticket_id}")
            raw = single if isinstance(single, dict) else {}
        if _text(raw.get("id")) != str(ticket_id):
            raise PermanentError(f"RT ticket {ticket_id}: the answer is about another ticket")
        body = await self._body(ticket_id)
        replies = await self._conversations.replies([raw], since=None)
        ticket = ticket_from_rt(raw, url_template=self._url_template, body=body)
        return dataclasses.replace(ticket, replies=replies.get(ticket.external_id, ()))

    async def assign(
        self, external_id: str, *, department_ref: str | None, assignee_ref: str | None
    ) -> None:
        """Set the ticket's ``Queue`` and ``Owner``; a None ref leaves that field unchanged.

        RT answers 200 even when it refused, so the ticket is read back: a field
        that did not take is a PermanentError carrying RT's own messages.
        """
        ticket_id = _ticket_id(external_id)
        if department_ref is None and assignee_ref is None:
            log.debug("rt.assign_nothing", ticket_id=ticket_id)
            return
        messages: list[str] = []
        # Queue first, in its own call: within one PUT RT sets Owner before Queue, and
        # checks the owner's right to own tickets against the queue the ticket is in.
        for field, value in (("Queue", department_ref), ("Owner", assignee_ref)):
            if value is not None:
                answer = await self._call("PUT", f"ticket/{ticket_id}", payload={field: value})
                messages += [_text(m) for m in answer] if isinstance(answer, list) else []
        raw = await self._find(ticket_id)
        wrong = [
            f"{field} is not {value!r}"
            for field, value in (("Queue", department_ref), ("Owner", assignee_ref))
            if value is not None and (raw is None or not _same(raw.get(field), value))
        ]
        if wrong:
            detail = "; ".join(messages)[:_MAX_ERROR_TEXT] or "no message from RT"
            raise PermanentError(f"RT ticket {ticket_id}: {', '.join(wrong)} ({detail})")

    async def add_internal_note(self, external_id: str, text: str) -> None:
        """Add a comment: staff see it, requestors are not mailed (unlike correspondence)."""
        ticket_id = _ticket_id(external_id)
        if not text.strip():
            raise PermanentError("an internal note needs some text")
        payload: JsonObject = {"Content": text, "ContentType": "text/plain"}
        await self._call("POST", f"ticket/{ticket_id}/comment", payload=payload)

    async def set_status(self, external_id: str, status: str) -> None:
        """Set the ticket's Status (``open``, ``stalled``, ...)."""
        await self._call("PUT", f"ticket/{_ticket_id(external_id)}", payload={"Status": status})

    async def record_time(self, external_id: str, *, minutes: int) -> None:
        """Set the ticket's TimeWorked to its total time spent (RT logs the difference)."""
        ticket_id = _ticket_id(external_id)
        if minutes <= 0:
            raise PermanentError(f"time worked must be a positive number of minutes: {minutes}")
        await self._call("PUT", f"ticket/{ticket_id}", payload={"TimeWorked": minutes})

    async def list_updated_since(self, since: datetime) -> AsyncIterator[TicketData]:
        """Tickets changed at or after ``since``, oldest change first, resolved ones included.

        Only open tickets created since ``since`` (the ones that may get a new card)
        have their first message read, once per ticket: RT spends about 250 ms on
        every authenticated request. Each page's tickets carry the replies written
        since ``since``, read together (:class:`~connectors.rt_replies.Conversations`).
        """
        since = since if since.tzinfo else since.replace(tzinfo=UTC)
        since_second = since.replace(microsecond=0)  # RT dates have whole seconds
        # An absolute bound: every page sees the same window, however long paging takes.
        query = f"LastUpdated >= '{rt_date_bound(since_second, self._timezone)}'"
        page = 1
        while True:
            answer = await self._search(query, page=page)
            items = _items(answer)
            replies = await self._conversations.replies(items, since=since_second)
            for raw in items:
                try:
                    ticket = ticket_from_rt(raw, url_template=self._url_template)
                except PermanentError:
                    log.warning("rt.list_item_skipped", page=page)
                    continue
                created = ticket.created_at
                if created is not None and created >= since_second and not ticket.closed:
                    body = await self._body(int(ticket.external_id))
                    ticket = dataclasses.replace(ticket, body=body)
                yield dataclasses.replace(ticket, replies=replies.get(ticket.external_id, ()))
            # "total" and "pages" are null for users who may not see every ticket.
            if len(items) < PER_PAGE:
                return
            page += 1

    async def _search(self, query: str, *, page: int = 1) -> object:
        """One page of a TicketSQL search, oldest change first."""
        order = (("orderby", "LastUpdated"), ("order", "ASC"), ("orderby", "id"), ("order", "ASC"))
        params: Params = (("query", query), *_TICKET_FIELDS, *order)
        params += (("per_page", PER_PAGE), ("page", page))
        return await self._call("GET", "tickets", params=params)

    async def _find(self, ticket_id: int) -> JsonObject | None:
        """The ticket as a search returns it (names expanded); None when not found."""
        items = _items(await self._search(f"id = {ticket_id}"))
        # Only an item with that id: an answer about another ticket must not stand for it.
        return next((item for item in items if _text(item.get("id")) == str(ticket_id)), None)

    async def _body(self, ticket_id: int) -> str:
        """The ticket's first message as plain text (cached); "" when it cannot be read."""
        if ticket_id in self._bodies:
            return self._bodies[ticket_id]
        try:
            body = await self._read_body(ticket_id)
        except ConnectorError as exc:
            # A ticket without its text is still worth dispatching.
            log.warning("rt.body_unreadable", ticket_id=ticket_id, error=type(exc).__name__)
            return ""
        self._bodies[ticket_id] = body
        while len(self._bodies) > _BODY_CACHE_SIZE:
            del self._bodies[next(iter(self._bodies))]
        return body

    async def _read_body(self, ticket_id: int) -> str:
        """The content of the ticket's Create transaction (its oldest)."""
        params: Params = (("per_page", 1), ("fields", "Type"))
        history = await self._call("GET", f"ticket/{ticket_id}/history", params=params)
        first = next(iter(_items(history)), None)
        transaction = _text(first.get("id")) if first is not None else ""
        if first is None or _text(first.get("Type")) != "Create" or not transaction.isdecimal():
            return ""
        params = (("per_page", PER_PAGE), ("fields", "ContentType,Content,Filename"))
        parts = await self._call("GET", f"transaction/{transaction}/attachments", params=params)
        return _body_of(_items(parts))

    async def _get(self, path: str, params: Params) -> object:
        """A GET of the API (retried as every call is)."""
        return await self._call("GET", path, params=params)

    async def _call(
        self, method: str, path: str, *, params: Params = (), payload: JsonObject | None = None
    ) -> object:
        """One API call; transient failures other than 429 are retried with back-off."""

        def failed(number: int, exc: ConnectorError) -> None:
            # Only the request line and the outcome: never headers, queries or bodies.
            log.warning("rt.request_failed", attempt=number, reason=str(exc))

        return await with_retries(
            self._retrying, lambda _n: self._send(method, path, params, payload), on_error=failed
        )

    async def _send(
        self, method: str, path: str, params: Params, payload: JsonObject | None
    ) -> object:
        """One HTTP request, mapped to decoded JSON or an error of the tree."""
        where = f"RT {method} {path}"
        response, body = await classified_request(
            self._client, method, path, where=where, params=params, json=payload
        )
        where = f"{where}: HTTP {response.status_code}"
        if not response.is_success or body is None:
            message = body.get("message") if isinstance(body, dict) else "answer is not JSON"
            detail = _text(message)[:_MAX_ERROR_TEXT]
            raise client_error(response.status_code, f"{where}: {detail}" if detail else where)
        return body
