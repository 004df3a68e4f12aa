"""A fake HelpDeskEddy REST API v2 server for end-to-end tests.

It speaks the shapes of ``/work/shared/reference/helpdeskeddy-api.md`` over real
HTTP (aiohttp on 127.0.0.1, a free port), so the real connector is exercised
end to end::

    async with HelpDeskEddyFake() as hde:
        hde.add_ticket(5, title="VPN is down", first_post="<p>Since 9:00</p>")
        connector = HelpDeskEddyConnector(
            base_url=hde.base_url, email=hde.email, api_key=hde.api_key
        )

What it serves (every path under ``/api/v2``, trailing slash optional):

- ``GET /tickets/{id}/`` → ``{"data": ticket}``; 404 with ``errors`` if unknown;
- ``GET /tickets/{id}/posts/?page=N`` → public posts, newest first, 30 per page,
  with ``pagination``;
- ``GET /tickets/{id}/comments/``, ``POST /tickets/{id}/comments/`` (internal
  comments, ``"visible": "staff"``; recorded in ``comments``);
- ``PUT /tickets/{id}/`` → updates ``owner_id``, ``department_id``, ``status_id``
  (and a few other plain fields), answers ``{"data": ticket}``;
- ``GET /tickets/?page=&from_date_updated=&order_by=&status_list=&owner_list=``
  → ``data`` as an object keyed by id, 30 per page, with ``pagination``;
- ``GET /users/{id}/`` → a user with ``organization``, ``group`` and, like the
  real API, the user's ``api_key`` (so tests can check it never leaks);
- ``GET /departments/`` → ``departments`` (id and a name per language);
- ``GET /priorities/``, ``GET /types/`` → ``priorities``, ``types`` (the same shape).

Every answer carries ``X-Rate-Limit`` (300) and ``X-Rate-Limit-Remaining``,
counted per calendar minute of ``clock``; past the quota the answer is 429.
Requests without the right HTTP Basic credentials get 401 with ``errors``.
Every request is recorded in ``requests`` (even refused ones), failures can be
injected with :meth:`fail_next`, :meth:`set_down` / :meth:`set_offline`
make the whole server fail, ``latency`` makes it slow and :meth:`pause` holds
every answer until :meth:`resume`.

Simplifications: no files, no custom fields, no delete, no ``s-`` success codes;
``PUT`` does not check that owners and departments exist.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import hmac
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from http import HTTPStatus
from types import TracebackType
from typing import Any, Literal, Self

from aiohttp import web

__all__ = [
    "PER_PAGE",
    "RATE_LIMIT",
    "HdeRequest",
    "HelpDeskEddyFake",
]

PER_PAGE = 30
RATE_LIMIT = 300
API_PREFIX = "/api/v2"
_DATE = "%Y-%m-%d %H:%M:%S"
_POST_DATE = "%H:%M:%S %d.%m.%Y"
_TICKET = re.compile(r"^/tickets/(?P<id>[^/]+)$")
_POSTS = re.compile(r"^/tickets/(?P<id>[^/]+)/posts$")
_COMMENTS = re.compile(r"^/tickets/(?P<id>[^/]+)/comments$")
_USER = re.compile(r"^/users/(?P<id>[^/]+)$")
_ORDER = re.compile(r"^(?P<field>[a-z_]+)(?:\{(?P<dir>asc|desc)\})?$")
_PUT_FIELDS = frozenset(
    {"owner_id", "department_id", "status_id", "priority_id", "type_id", "title", "user_id"}
)

Json = dict[str, Any]


@dataclass(frozen=True, slots=True)
class HdeRequest:
    """One request the fake received, as the test wants to check it."""

    method: str
    #: The path below ``/api/v2``, e.g. ``/tickets/5/`` (as sent, trailing slash kept).
    path: str
    query: dict[str, str]
    #: The decoded JSON body, or None (no body or not JSON).
    body: Any
    #: ``clock()`` when it arrived.
    at: float
    #: Whether the Basic credentials were right.
    authorized: bool
    #: The status the fake answered with (0 when the connection was dropped).
    status: int = 0
    #: The ``X-Rate-Limit-Remaining`` header of the answer (None when dropped).
    remaining: int | None = None


@dataclass
class _Failure:
    method: str
    path_prefix: str
    status: int
    times: int
    details: str


@dataclass
class _Window:
    minute: int = -1
    used: int = 0


@dataclass
class _Server:
    runner: web.AppRunner | None = None
    site: web.TCPSite | None = None
    port: int = 0
    offline: bool = False


def _errors(status: int, title: str, details: str = "") -> web.Response:
    body = {"errors": [{"code": str(status), "title": title, "details": details}]}
    return web.json_response(body, status=status)


def _strip_prefix(path: str) -> str:
    """``/api/v2/tickets/5/`` → ``/tickets/5/``; anything else is returned as is."""
    return path[len(API_PREFIX) :] if path.startswith(API_PREFIX + "/") else path


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _page_number(query: dict[str, str]) -> int:
    number = _int_or_none(query.get("page", "1"))
    return number if number is not None and number > 0 else 1


def _pagination(total: int, page: int) -> Json:
    pages = max(1, -(-total // PER_PAGE))
    return {"total": total, "per_page": PER_PAGE, "current_page": page, "total_pages": pages}


class HelpDeskEddyFake:
    """The fake portal: state (tickets, users, posts, comments) plus an HTTP server."""

    def __init__(
        self,
        *,
        email: str = "dispatch-bot@portal.test",
        api_key: str = "hde-api-key-9f8e7d6c5b4a",
        clock: Callable[[], float] = time.time,
        tz: tzinfo = UTC,
        rate_limit: int = RATE_LIMIT,
    ) -> None:
        self.email = email
        self.api_key = api_key
        self.base_url = ""
        #: Ticket objects by id, in the API's shape; tests may read and change them.
        self.tickets: dict[int, Json] = {}
        #: Users (staff and clients) by id, in the API's shape (``api_key`` included).
        self.users: dict[int, Json] = {}
        #: Public posts by ticket id, oldest first.
        self.posts: dict[int, list[Json]] = {}
        #: Internal comments in the order they were added (all tickets).
        self.comments: list[Json] = []
        #: The portal's departments, in the API's shape.
        self.departments: list[Json] = [{"id": 1, "name": {"ru": "Поддержка", "en": "Support"}}]
        #: The portal's dictionaries of priorities and ticket types.
        self.priorities: list[Json] = [
            {"id": 1, "name": {"ru": "Низкий", "en": "Low"}},
            {"id": 2, "name": {"ru": "Высокий", "en": "High"}},
        ]
        self.types: list[Json] = [{"id": 1, "name": {"ru": "Инцидент", "en": "Incident"}}]
        #: Every request received, in order.
        self.requests: list[HdeRequest] = []
        self.rate_limit = rate_limit
        #: Seconds every answer is held back (a slow portal); 0 = answer at once.
        self.latency = 0.0
        self._gate: asyncio.Event | None = None
        self._clock = clock
        self._tz = tz
        self._failures: list[_Failure] = []
        self._down: Literal["503", "disconnect"] | None = None
        self._window = _Window()
        self._next_post_id = 1000
        self._next_comment_id = 5000
        self._server = _Server()

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Serve on 127.0.0.1 on a free port; sets ``base_url`` (ends in ``/api/v2``)."""
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._server.runner = runner
        self._server.site = site
        self._server.port = int(runner.addresses[0][1])
        self.base_url = f"http://127.0.0.1:{self._server.port}{API_PREFIX}"

    async def stop(self) -> None:
        """Stop the server (held requests are released, connections in flight closed)."""
        self.resume()
        runner = self._server.runner
        self._server = _Server()
        if runner is not None:
            await runner.cleanup()

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

    # ------------------------------------------------------------------ test controls

    def add_user(
        self,
        user_id: int,
        *,
        name: str = "Maria",
        lastname: str = "Ivanova",
        email: str | None = None,
        organization: str | Json | None = "Acme LLC",
        group_type: Literal["user", "staff"] = "user",
        api_key: str | None = None,
    ) -> Json:
        """Add (or replace) a contact; the returned dict is the stored one."""
        user: Json = {
            "id": user_id,
            "date_created": self.now(),
            "date_updated": self.now(),
            "name": name,
            "lastname": lastname,
            "alias": "",
            "email": email or f"user{user_id}@client.test",
            "phone": "",
            "organization": organization if organization is not None else "",
            "status": "active",
            "language": "en",
            # The real API hands out every user's key: the bot must never log it.
            "api_key": api_key or f"user-{user_id}-secret-api-key",
            "group": {
                "id": 1 if group_type == "staff" else 2,
                "type": group_type,
                "name": {"en": "Staff" if group_type == "staff" else "Clients"},
                "disable": False,
            },
            "department": [],
            "custom_fields": [],
        }
        self.users[user_id] = user
        return user

    def add_ticket(
        self,
        ticket_id: int,
        *,
        title: str = "Printer is on fire",
        owner_id: int | None = None,
        department_id: int | None = 1,
        status_id: str = "open",
        user_id: int = 501,
        first_post: str | None = "<p>The printer in room 4 is on fire.</p>",
        date_created: str | None = None,
        unique_id: str | None = None,
        priority_id: int = 2,
        type_id: int = 1,
    ) -> Json:
        """Add (or replace) a ticket, with its client (created if unknown) and first post.

        ``owner_id=None`` stores ``0``, one of the ways the API says "unassigned".
        The returned dict is the stored ticket: change it to change the portal.
        """
        client = self.users.get(user_id) or self.add_user(user_id)
        created = date_created or self.now()
        ticket: Json = {
            "id": ticket_id,
            "unique_id": unique_id or f"QWE-{ticket_id:05d}",
            "date_created": created,
            "date_updated": created,
            "title": title,
            "source": "email",
            "status_id": status_id,
            "priority_id": priority_id,
            "type_id": type_id,
            "department_id": department_id if department_id is not None else 0,
            "department_name": "",
            "owner_id": 0,
            "owner_name": "",
            "owner_lastname": "",
            "owner_email": "",
            "user_id": user_id,
            "user_name": client["name"],
            "user_lastname": client["lastname"],
            "user_email": client["email"],
            "cc": [],
            "bcc": [],
            "followers": [],
            "ticket_lock": 0,
            "sla_date": "",
            "freeze_date": "",
            "freeze": 0,
            "deleted": 0,
            "viewed_by_staff": 0,
            "viewed_by_client": 1,
            "rate": "",
            "rate_comment": "",
            "rate_date": "",
            "custom_fields": [],
        }
        self.tickets[ticket_id] = ticket
        self.set_owner(ticket_id, owner_id)
        ticket["date_updated"] = created
        self.posts[ticket_id] = []
        if first_post is not None:
            self.add_post(ticket_id, first_post, user_id=user_id)
        return ticket

    def add_post(self, ticket_id: int, text: str, *, user_id: int | None = None) -> Json:
        """Append a public post (the newest) to a ticket."""
        self._next_post_id += 1
        stamp = self._post_now()
        post: Json = {
            "ticket_id": ticket_id,
            "id": self._next_post_id,
            "user_id": user_id if user_id is not None else self.tickets[ticket_id]["user_id"],
            "text": text,
            "date_created": stamp,
            "date_updated": stamp,
            "files": [],
        }
        self.posts.setdefault(ticket_id, []).append(post)
        return post

    def set_owner(self, ticket_id: int, owner_id: int | None) -> None:
        """Assign the ticket in the portal (as a staff member would in the web UI)."""
        ticket = self.tickets[ticket_id]
        staff = self.users.get(owner_id) if owner_id else None
        ticket["owner_id"] = owner_id or 0
        ticket["owner_name"] = staff["name"] if staff else ""
        ticket["owner_lastname"] = staff["lastname"] if staff else ""
        ticket["owner_email"] = staff["email"] if staff else ""
        ticket["date_updated"] = self.now()

    def set_status(self, ticket_id: int, status_id: str) -> None:
        """Change the ticket's status in the portal (``open``, ``process``, ``closed``…)."""
        self.tickets[ticket_id]["status_id"] = status_id
        self.tickets[ticket_id]["date_updated"] = self.now()

    def fail_next(
        self,
        method: str,
        path_prefix: str,
        status: int = 503,
        times: int = 1,
        *,
        details: str = "injected failure",
    ) -> None:
        """The next ``times`` requests matching answer ``status`` with an ``errors`` body.

        ``path_prefix`` is matched against the path below ``/api/v2`` (a leading
        ``/api/v2`` is accepted too), e.g. ``("PUT", "/tickets/5/", 503, 2)``.
        """
        prefix = _strip_prefix(path_prefix if path_prefix.startswith("/") else "/" + path_prefix)
        self._failures.append(_Failure(method.upper(), prefix, status, times, details))

    def clear_failures(self) -> None:
        """Forget every injected failure that has not fired yet."""
        self._failures.clear()

    def set_down(self, down: bool, *, mode: Literal["503", "disconnect"] = "503") -> None:
        """While down every request answers 503, or (``disconnect``) the connection drops."""
        self._down = mode if down else None

    def pause(self) -> None:
        """Hold every answer (requests are still recorded on arrival) until :meth:`resume`."""
        if self._gate is None:
            self._gate = asyncio.Event()

    def resume(self) -> None:
        """Answer the held requests and stop holding new ones."""
        gate, self._gate = self._gate, None
        if gate is not None:
            gate.set()

    async def set_offline(self, offline: bool) -> None:
        """Stop (or resume) listening: new connections are refused, open ones dropped."""
        if offline == self._server.offline:
            return
        self._server.offline = offline
        runner = self._server.runner
        if runner is None:
            raise RuntimeError("the fake is not started")
        if offline:
            if self._server.site is not None:
                await self._server.site.stop()
                self._server.site = None
            return
        site = web.TCPSite(runner, "127.0.0.1", self._server.port)
        await site.start()
        self._server.site = site

    # ------------------------------------------------------------------ inspection

    def now(self) -> str:
        """The portal's current time as the API writes it (``YYYY-MM-DD HH:MM:SS``)."""
        return datetime.fromtimestamp(self._clock(), self._tz).strftime(_DATE)

    def _post_now(self) -> str:
        return datetime.fromtimestamp(self._clock(), self._tz).strftime(_POST_DATE)

    def requests_to(self, method: str, path: str) -> list[HdeRequest]:
        """Requests with this method and exactly this path (trailing slash ignored)."""
        wanted = path.rstrip("/")
        return [
            r for r in self.requests if r.method == method.upper() and r.path.rstrip("/") == wanted
        ]

    @property
    def rate_limit_remaining(self) -> int:
        """Requests left in the current minute (what ``X-Rate-Limit-Remaining`` says)."""
        minute = int(self._clock() // 60)
        used = self._window.used if self._window.minute == minute else 0
        return max(0, self.rate_limit - used)

    # ------------------------------------------------------------------ HTTP

    def _authorized(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic" or not encoded:
            return False
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        email, _, key = decoded.partition(":")
        expected = f"{self.email}:{self.api_key}".encode()
        return hmac.compare_digest(f"{email}:{key}".encode(), expected)

    async def _body(self, request: web.Request) -> Any:
        raw = await request.read()
        if not raw:
            return None
        try:
            return json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = _strip_prefix(request.path)
        record = HdeRequest(
            method=request.method.upper(),
            path=path,
            query=dict(request.query),
            body=await self._body(request),
            at=self._clock(),
            authorized=self._authorized(request),
        )
        index = len(self.requests)
        self.requests.append(record)
        if self._gate is not None:
            await self._gate.wait()
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        if self._server.offline or self._down == "disconnect":
            # Drop the connection without an answer: the client sees a network error.
            if request.transport is not None:
                request.transport.abort()
            # Hand aiohttp something to write into the closed transport (it is discarded).
            return web.Response(status=503)
        response = self._answer(request, record)
        remaining = self._rate_headers(response)
        self.requests[index] = dataclasses.replace(
            record, status=response.status, remaining=remaining
        )
        return response

    def _answer(self, request: web.Request, record: HdeRequest) -> web.Response:
        if self._down == "503":
            return _errors(503, "Service Unavailable", "the portal is down")
        if not request.path.startswith(API_PREFIX + "/"):
            return _errors(404, "Not found", f"no such endpoint: {request.path}")
        if not record.authorized:
            return _errors(401, "Unauthorized", "wrong e-mail or API key")
        if not self._count_request():
            return _errors(429, "Too Many Requests", "API access is blocked for this portal")
        failure = self._take_failure(record.method, record.path)
        if failure is not None:
            return _errors(failure.status, _reason(failure.status), failure.details)
        return self._route(record)

    def _count_request(self) -> bool:
        minute = int(self._clock() // 60)
        if self._window.minute != minute:
            self._window = _Window(minute=minute)
        self._window.used += 1
        return self._window.used <= self.rate_limit

    def _rate_headers(self, response: web.Response) -> int:
        remaining = self.rate_limit_remaining
        response.headers["X-Rate-Limit"] = str(self.rate_limit)
        response.headers["X-Rate-Limit-Remaining"] = str(remaining)
        return remaining

    def _take_failure(self, method: str, path: str) -> _Failure | None:
        for failure in self._failures:
            if failure.method == method and path.startswith(failure.path_prefix):
                failure.times -= 1
                if failure.times <= 0:
                    self._failures.remove(failure)
                return failure
        return None

    def _route(self, record: HdeRequest) -> web.Response:
        path = record.path.rstrip("/") or "/"
        method = record.method
        if path == "/tickets" and method == "GET":
            return self._list_tickets(record.query)
        dictionaries = {
            "/departments": self.departments,
            "/priorities": self.priorities,
            "/types": self.types,
        }
        if path in dictionaries and method == "GET":
            return web.json_response({"data": dictionaries[path]})
        routes: list[tuple[re.Pattern[str], dict[str, Callable[[int, HdeRequest], web.Response]]]]
        routes = [
            (_TICKET, {"GET": self._get_ticket, "PUT": self._put_ticket}),
            (_POSTS, {"GET": self._get_posts}),
            (_COMMENTS, {"GET": self._get_comments, "POST": self._post_comment}),
            (_USER, {"GET": self._get_user}),
        ]
        for pattern, handlers in routes:
            match = pattern.match(path)
            if match is None:
                continue
            handler = handlers.get(method)
            if handler is None:
                return _errors(405, "Method not allowed", f"{method} {record.path}")
            number = _int_or_none(match["id"])
            if number is None:
                return _errors(400, "Bad request", f"invalid id {match['id']!r}")
            return handler(number, record)
        return _errors(404, "Not found", f"no such endpoint: {record.path}")

    def _ticket_or_404(self, ticket_id: int) -> Json | web.Response:
        ticket = self.tickets.get(ticket_id)
        if ticket is None:
            return _errors(404, "Not found", f"ticket {ticket_id} not found")
        return ticket

    def _get_ticket(self, ticket_id: int, record: HdeRequest) -> web.Response:
        ticket = self._ticket_or_404(ticket_id)
        if isinstance(ticket, web.Response):
            return ticket
        return web.json_response({"data": ticket})

    def _put_ticket(self, ticket_id: int, record: HdeRequest) -> web.Response:
        ticket = self._ticket_or_404(ticket_id)
        if isinstance(ticket, web.Response):
            return ticket
        body = record.body
        if not isinstance(body, dict):
            return _errors(400, "Bad request", "expected a JSON object")
        changes = {key: value for key, value in body.items() if key in _PUT_FIELDS}
        for key in ("owner_id", "department_id", "priority_id", "type_id", "user_id"):
            if key in changes and _int_or_none(changes[key]) is None:
                return _errors(400, "Bad request", f"{key} must be a number")
        if "status_id" in changes and not isinstance(changes["status_id"], str):
            return _errors(400, "Bad request", "status_id must be a string")
        owner = changes.pop("owner_id", None)
        for key, value in changes.items():
            numeric = key.endswith("_id") and key != "status_id"
            ticket[key] = _int_or_none(value) if numeric else value
        if owner is not None:
            self.set_owner(ticket_id, _int_or_none(owner))
        ticket["date_updated"] = self.now()
        return web.json_response({"data": ticket})

    def _get_posts(self, ticket_id: int, record: HdeRequest) -> web.Response:
        ticket = self._ticket_or_404(ticket_id)
        if isinstance(ticket, web.Response):
            return ticket
        newest_first = list(reversed(self.posts.get(ticket_id, [])))
        page = _page_number(record.query)
        start = (page - 1) * PER_PAGE
        return web.json_response(
            {
                "data": newest_first[start : start + PER_PAGE],
                "pagination": _pagination(len(newest_first), page),
            }
        )

    def _get_comments(self, ticket_id: int, record: HdeRequest) -> web.Response:
        ticket = self._ticket_or_404(ticket_id)
        if isinstance(ticket, web.Response):
            return ticket
        mine = [c for c in reversed(self.comments) if c["ticket_id"] == ticket_id]
        page = _page_number(record.query)
        start = (page - 1) * PER_PAGE
        return web.json_response(
            {"data": mine[start : start + PER_PAGE], "pagination": _pagination(len(mine), page)}
        )

    def _post_comment(self, ticket_id: int, record: HdeRequest) -> web.Response:
        ticket = self._ticket_or_404(ticket_id)
        if isinstance(ticket, web.Response):
            return ticket
        body = record.body
        text = body.get("text") if isinstance(body, dict) else None
        if not isinstance(text, str) or not text.strip():
            return _errors(400, "Bad request", "text is required")
        self._next_comment_id += 1
        stamp = self._post_now()
        comment: Json = {
            "ticket_id": ticket_id,
            "id": self._next_comment_id,
            "user_id": _int_or_none(body.get("user_id")) if isinstance(body, dict) else None,
            "text": text,
            "date_created": stamp,
            "visible": "staff",
            "files": [],
        }
        self.comments.append(comment)
        return web.json_response({"data": comment})

    def _get_user(self, user_id: int, record: HdeRequest) -> web.Response:
        user = self.users.get(user_id)
        if user is None:
            return _errors(404, "Not found", f"user {user_id} not found")
        return web.json_response({"data": user})

    def _list_tickets(self, query: dict[str, str]) -> web.Response:
        tickets = list(self.tickets.values())
        since = query.get("from_date_updated")
        if since:
            try:
                datetime.strptime(since, _DATE)
            except ValueError:
                return _errors(400, "Bad request", "from_date_updated: YYYY-MM-DD HH:MM:SS")
            # The API's own format sorts as text.
            tickets = [t for t in tickets if str(t["date_updated"]) >= since]
        for name, key in (("status_list", "status_id"), ("owner_list", "owner_id")):
            if query.get(name):
                wanted = {part.strip() for part in query[name].split(",")}
                tickets = [t for t in tickets if str(t[key]) in wanted]
        order = _ORDER.match(query.get("order_by", "date_created{desc}"))
        if order is None or order["field"] not in {"date_created", "date_updated", "id"}:
            return _errors(400, "Bad request", f"unsupported order_by {query.get('order_by')!r}")
        descending = order["dir"] != "asc"
        field = order["field"]
        tickets.sort(
            key=lambda t: (t["id"] if field == "id" else str(t[field]), t["id"]),
            reverse=descending,
        )
        page = _page_number(query)
        start = (page - 1) * PER_PAGE
        chosen = tickets[start : start + PER_PAGE]
        return web.json_response(
            {
                "data": {str(t["id"]): t for t in chosen},
                "pagination": _pagination(len(tickets), page),
            }
        )


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
