"""HelpDeskEddy (REST API v2) connector: read tickets, write assignments and notes.

Facts this relies on (see the API reference): HTTP Basic auth with the user's
e-mail and API key; answers wrapped in ``{"data": ...}``; lists newest-first,
30 per page, sometimes keyed by id; ``status_id`` is a string; crossing the
portal's quota (300/min by default) locks the API out for 20 min to 48 h, so
a 429 is never retried here and every request goes through a budget.
"""

from __future__ import annotations

import dataclasses
import html
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import datetime, tzinfo
from typing import ClassVar

import httpx
import structlog

from connectors.base import (
    HelpdeskConnector,
    PermanentError,
    RateLimitedError,
    TransientError,
    client_error,
)
from connectors.helpdeskeddy_parse import (
    TicketContext,
    company_of,
    data_items,
    dictionary_names,
    earliest_post,
    error_summary,
    format_filter_datetime,
    html_to_text,
    normalise_base_url,
    parse_webhook,
    positive_id,
    replies_from_posts,
    require_ticket_id,
    single_item,
    ticket_from_hde,
    total_pages,
)
from connectors.http import retry_after, transient_retries, with_retries
from connectors.plugin import Capabilities
from connectors.ratelimit import RequestBudget
from connectors.types import NewTicket, Reply, TicketData

__all__ = [
    "MAX_REQUESTS_PER_MINUTE",
    "HelpDeskEddyConnector",
    "normalise_base_url",
    "parse_webhook",
]

log = structlog.get_logger(__name__)

#: Hard cap well below the 300/min default quota: crossing it locks the portal out.
MAX_REQUESTS_PER_MINUTE = 250
_MAX_ERROR_TEXT = 500
_USER_CACHE_SIZE = 1024
_USER_CACHE_TTL = 3600.0
_NOT_JSON = object()

JsonObject = dict[str, object]
#: Multipart files as httpx takes them: (field, (filename, bytes, content type)).
Files = Sequence[tuple[str, tuple[str, bytes, str]]]


class _CompanyCache:
    """LRU cache with a TTL: client user id → company name (never the user object)."""

    def __init__(self, maxsize: int, ttl: float, clock: Callable[[], float]) -> None:
        self._items: OrderedDict[int, tuple[float, str]] = OrderedDict()
        self._maxsize = maxsize
        self._ttl = ttl
        self._clock = clock

    def get(self, key: int) -> str | None:
        entry = self._items.get(key)
        if entry is None:
            return None
        stored_at, value = entry
        if self._clock() - stored_at > self._ttl:
            del self._items[key]
            return None
        self._items.move_to_end(key)
        return value

    def put(self, key: int, value: str) -> None:
        self._items[key] = (self._clock(), value)
        self._items.move_to_end(key)
        while len(self._items) > self._maxsize:
            self._items.popitem(last=False)


def _int_header(response: httpx.Response, name: str) -> int | None:
    try:
        return int(response.headers.get(name, "").strip())
    except ValueError:
        return None


def _decode(response: httpx.Response) -> object:
    if not response.content.strip():
        return {}
    try:
        return response.json()
    except ValueError:
        return _NOT_JSON


def _id_param(name: str, value: str) -> int:
    number = positive_id(value)
    if number is None:
        raise PermanentError(f"{name} must be a positive integer for HelpDeskEddy: {value!r}")
    return number


class HelpDeskEddyConnector(HelpdeskConnector):
    """A HelpDeskEddy portal reached through its REST API v2.

    ``budget`` (shared or injected for tests) replaces the one built from
    ``max_requests_per_minute``. Naive portal dates are read in ``portal_tz``
    (UTC when None). ``ticket_url_template`` may use ``{id}`` and ``{number}``;
    without it tickets carry no URL because the portal's page layout is not
    guaranteed.
    """

    slug: ClassVar[str] = "helpdeskeddy"
    title: ClassVar[str] = "HelpDeskEddy"
    capabilities: ClassVar[Capabilities] = Capabilities(
        writes_back=True,
        lists_changes=True,
        accepts_events=True,
        fetches_tickets=True,
        creates_tickets=True,
        tells_replies=True,
    )

    def __init__(
        self,
        *,
        base_url: str,
        email: str,
        api_key: str,
        ticket_url_template: str | None = None,
        max_requests_per_minute: int = 120,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        budget: RequestBudget | None = None,
        retry_attempts: int = 4,
        retry_wait: float = 0.5,
        closed_statuses: frozenset[str] = frozenset({"closed"}),
        portal_tz: tzinfo | None = None,
        fetch_company: bool = True,
        time_field_id: int | None = None,
        language: str = "ru",
    ) -> None:
        if not 1 <= max_requests_per_minute <= MAX_REQUESTS_PER_MINUTE:
            raise ValueError(
                f"max_requests_per_minute must be 1..{MAX_REQUESTS_PER_MINUTE} "
                f"(HelpDeskEddy locks the portal out above its quota), "
                f"got {max_requests_per_minute}"
            )
        if retry_attempts < 1:
            raise ValueError("retry_attempts must be at least 1")
        if not email or not api_key:
            raise ValueError("HelpDeskEddy email and api_key are required")
        self._context = TicketContext(
            closed_statuses=closed_statuses, portal_tz=portal_tz, url_template=ticket_url_template
        )
        self._budget = budget if budget is not None else RequestBudget(max_requests_per_minute)
        self._retry_attempts = retry_attempts
        self._retry_wait = retry_wait
        self._fetch_company = fetch_company
        self._time_field_id = time_field_id
        self._language = language
        self._clock: Callable[[], float] = time.monotonic
        self._companies = _CompanyCache(_USER_CACHE_SIZE, _USER_CACHE_TTL, self._clock)
        self._locked_until = 0.0
        self._client = httpx.AsyncClient(
            base_url=normalise_base_url(base_url),
            auth=httpx.BasicAuth(email, api_key),
            timeout=timeout,
            transport=transport,
            headers={"Accept": "application/json"},
        )

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()

    async def check_access(self) -> None:
        """``GET /departments/``: a short list every staff key may read."""
        await self._call("GET", "departments/")

    async def load_dictionaries(self) -> None:
        """Read the portal's priorities and ticket types, so tickets carry their names.

        A dictionary the portal does not serve (or refuses) leaves those values as ids.
        """
        names: dict[str, dict[str, str]] = {}
        for path in ("priorities/", "types/"):
            try:
                answer = await self._call("GET", path)
            except PermanentError as exc:
                log.warning("helpdeskeddy.dictionary_unreadable", path=path, reason=str(exc))
                continue
            names[path] = dictionary_names(answer.get("data"), self._language)
        self._context = dataclasses.replace(
            self._context,
            priority_names=names.get("priorities/", self._context.priority_names),
            type_names=names.get("types/", self._context.type_names),
        )
        log.info(
            "helpdeskeddy.dictionaries",
            priorities=len(self._context.priority_names),
            types=len(self._context.type_names),
        )

    async def fetch_ticket(self, external_id: str) -> TicketData:
        """Read a ticket, its first post (the body) and the client's company."""
        ticket_id = require_ticket_id(external_id)
        answer = await self._call("GET", f"tickets/{ticket_id}/")
        raw = single_item(answer.get("data"))
        if raw is None:
            raise PermanentError(f"HelpDeskEddy ticket {ticket_id}: answer holds no ticket")
        if positive_id(raw.get("id")) not in (None, ticket_id):
            raise PermanentError(f"HelpDeskEddy ticket {ticket_id}: answer is about another one")
        body, replies = await self._conversation(ticket_id, raw.get("user_id"))
        company = await self._company(raw.get("user_id"))
        return ticket_from_hde(
            raw,
            self._context,
            body=body,
            company=company,
            fallback_id=str(ticket_id),
            replies=replies,
        )

    async def assign(
        self, external_id: str, *, department_ref: str | None, assignee_ref: str | None
    ) -> None:
        """Set department and/or assignee; a None ref leaves that field unchanged."""
        ticket_id = require_ticket_id(external_id)
        payload: dict[str, object] = {}
        if department_ref is not None:
            payload["department_id"] = _id_param("department_ref", department_ref)
        if assignee_ref is not None:
            payload["owner_id"] = _id_param("assignee_ref", assignee_ref)
        if not payload:
            log.debug("helpdeskeddy.assign_nothing", ticket_id=ticket_id)
            return
        await self._call("PUT", f"tickets/{ticket_id}/", payload=payload)

    async def set_status(self, external_id: str, status: str) -> None:
        """Set ``status_id`` (a string key such as ``process``)."""
        ticket_id = require_ticket_id(external_id)
        await self._call("PUT", f"tickets/{ticket_id}/", payload={"status_id": status})

    async def record_time(self, external_id: str, *, minutes: int) -> None:
        """Put the ticket's total time, in minutes, into the configured custom field."""
        if self._time_field_id is None:
            return
        ticket_id = require_ticket_id(external_id)
        payload = {"custom_fields": {str(self._time_field_id): minutes}}
        await self._call("PUT", f"tickets/{ticket_id}/", payload=payload)

    async def add_internal_note(self, external_id: str, text: str) -> None:
        """Add a staff-only comment; ``text`` is plain text (escaped, newlines kept)."""
        ticket_id = require_ticket_id(external_id)
        if not text.strip():
            raise PermanentError("an internal note needs some text")
        # /comments/ is staff-only; /posts/ would be shown (and maybe mailed) to the client.
        note = html.escape(text).replace("\n", "<br>")
        await self._call("POST", f"tickets/{ticket_id}/comments/", payload={"text": note})

    async def create_ticket(self, ticket: NewTicket) -> TicketData:
        """``POST /tickets/`` as the requester (by e-mail), files as ``files[N]``.

        Tried once: a timeout may hide a ticket that was created, and a retry would
        open it twice; the caller tells the client to try again instead.
        """
        description = html.escape(ticket.description).replace("\n", "<br>")
        if ticket.priority:
            # Priority ids differ between portals: the choice travels in the text.
            description = f"Priority: {html.escape(ticket.priority)}<br><br>{description}"
        fields: dict[str, object] = {
            "title": ticket.subject,
            "description": description,
            "user_email": ticket.requester_email,
            "create_from_user": 1,
        }
        files = [
            (f"files[{index}]", (item.filename, item.data, item.content_type))
            for index, item in enumerate(ticket.attachments)
        ]
        answer = await self._call("POST", "tickets/", payload=fields, files=files, retry=False)
        raw = single_item(answer.get("data"))
        if raw is None:
            raise PermanentError("HelpDeskEddy POST tickets/: answer holds no ticket")
        return ticket_from_hde(raw, self._context, body=ticket.description)

    async def list_updated_since(self, since: datetime) -> AsyncIterator[TicketData]:
        """Tickets updated at or after ``since``, oldest update first, metadata only.

        Bodies are left empty and companies come from the cache only, so a
        reconciliation pass costs one request per 30 tickets.
        """
        params: dict[str, str | int] = {
            "from_date_updated": format_filter_datetime(since, self._context.portal_tz),
            "order_by": "date_updated{asc}",
        }
        page, pages = 1, 1
        while page <= pages:
            answer = await self._call("GET", "tickets/", params={**params, "page": page})
            pages = total_pages(answer)
            items = data_items(answer.get("data"))
            if not items:
                return
            for raw in items:
                user_id = positive_id(raw.get("user_id"))
                company = self._companies.get(user_id) if user_id is not None else None
                try:
                    yield ticket_from_hde(raw, self._context, company=company or "")
                except PermanentError:
                    log.warning("helpdeskeddy.list_item_skipped", page=page)
            page += 1

    async def _conversation(
        self, ticket_id: int, client_id: object
    ) -> tuple[str, tuple[Reply, ...]]:
        """The earliest post's plain text (the body), and the newest page's other posts
        as replies; ("", ()) if the posts are not readable."""
        path = f"tickets/{ticket_id}/posts/"
        try:
            first = await self._call("GET", path)
            newest = data_items(first.get("data"))
            pages = total_pages(first)
            post = None
            if pages > 1:
                # Newest first: the earliest post is on the last page.
                last = await self._call("GET", path, params={"page": pages})
                post = earliest_post(data_items(last.get("data")))
            if post is None:
                post = earliest_post(newest)
        except PermanentError:
            # A ticket without its body is still worth dispatching.
            log.warning("helpdeskeddy.posts_unreadable", ticket_id=ticket_id)
            return "", ()
        text = post.get("text") if post is not None else None
        replies = replies_from_posts(
            newest,
            client_id=client_id,
            first_post_id=positive_id(post.get("id")) if post is not None else None,
            portal_tz=self._context.portal_tz,
        )
        return (html_to_text(text) if isinstance(text, str) else ""), replies

    async def _company(self, user_id: object) -> str:
        """The client's organisation, cached per user id; "" when unknown."""
        uid = positive_id(user_id)
        if uid is None or not self._fetch_company:
            return ""
        cached = self._companies.get(uid)
        if cached is not None:
            return cached
        company = ""
        try:
            answer = await self._call("GET", f"users/{uid}/")
        except PermanentError:
            log.warning("helpdeskeddy.user_unreadable", user_id=uid)
        else:
            user = single_item(answer.get("data"))
            company = company_of(user) if user is not None else ""
        self._companies.put(uid, company)
        return company

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        payload: Mapping[str, object] | None = None,
        files: Files = (),
        retry: bool = True,
    ) -> JsonObject:
        """One API call with bounded retries of transient failures (never of 429)."""
        retrying = transient_retries(self._retry_attempts if retry else 1, self._retry_wait)
        return await with_retries(
            retrying, lambda number: self._send(method, path, params, payload, number, files)
        )

    async def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, str | int] | None,
        payload: Mapping[str, object] | None,
        attempt: int,
        files: Files = (),
    ) -> JsonObject:
        """One HTTP request through the budget, mapped to a JSON object or an error."""
        wait = self._locked_until - self._clock()
        if wait > 0:
            # The portal already said "too many": sending more risks a longer lock-out.
            raise RateLimitedError(f"HelpDeskEddy rate-limited, {wait:.0f}s left", wait)
        await self._budget.acquire()
        try:
            if files:
                # With files the fields travel as form parts beside them.
                form = {name: str(value) for name, value in (payload or {}).items()}
                response = await self._client.request(
                    method, path, params=params, data=form, files=list(files)
                )
            else:
                response = await self._client.request(method, path, params=params, json=payload)
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            reason = type(exc).__name__
            self._log_failure(method, path, None, attempt, reason)
            raise TransientError(f"HelpDeskEddy {method} {path}: {reason}") from exc
        except httpx.HTTPError as exc:
            reason = type(exc).__name__
            self._log_failure(method, path, None, attempt, reason)
            raise PermanentError(f"HelpDeskEddy {method} {path}: {reason}") from exc
        self._budget.observe_remaining(
            _int_header(response, "X-Rate-Limit-Remaining"), _int_header(response, "X-Rate-Limit")
        )
        return self._interpret(method, path, response, attempt)

    def _interpret(
        self, method: str, path: str, response: httpx.Response, attempt: int
    ) -> JsonObject:
        status = response.status_code
        where = f"HelpDeskEddy {method} {path}: HTTP {status}"
        if status == 429:
            wait = retry_after(response)
            self._locked_until = self._clock() + wait
            self._log_failure(method, path, status, attempt, f"retry after {wait:.0f}s")
            raise RateLimitedError(where, wait)
        if status >= 500:
            self._log_failure(method, path, status, attempt, "server error")
            raise TransientError(where)
        body = _decode(response)
        messages, success = error_summary(body)
        detail = "; ".join(messages)[:_MAX_ERROR_TEXT]
        # "Errors" whose codes all start with s- (s-204 after a delete) are successes.
        ok = success if messages else 200 <= status < 300
        if not ok:
            self._log_failure(method, path, status, attempt, detail)
            raise client_error(status, f"{where}: {detail}" if detail else where)
        if not isinstance(body, dict):
            self._log_failure(method, path, status, attempt, "answer is not a JSON object")
            raise PermanentError(f"{where}: answer is not a JSON object")
        return body

    @staticmethod
    def _log_failure(
        method: str, path: str, status: int | None, attempt: int, reason: str
    ) -> None:
        # Only the request line and the outcome: never headers, bodies or user objects.
        log.warning(
            "helpdeskeddy.request_failed",
            method=method,
            path=path,
            status=status,
            attempt=attempt,
            reason=reason,
        )
