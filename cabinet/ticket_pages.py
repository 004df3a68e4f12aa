"""The tickets page, a ticket's page and its files."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from aiohttp import web

from cabinet.pages import disposition, render, services, user
from dispatch.portal.models import Stage, TicketFilter

STAGE_LABELS = {
    Stage.RECEIVED: "Received",
    Stage.IN_WORK: "In work",
    Stage.WAITING: "Waiting for you",
    Stage.CLOSED: "Closed",
}
MOMENT_LABELS = {
    "created": "Request received",
    "taken": "Taken into work",
    "waiting": "Waiting for your reply",
    "answered": "Answered",
    "closed": "Closed",
    "reopened": "Reopened",
}
PRIORITY_LABELS = {"low": "Low", "normal": "Normal", "high": "High", "urgent": "Urgent"}
SLA_TARGETS = {"first_response": "First response", "resolution": "Resolution"}
#: How a target stands; ``{time}`` is when it falls (or fell) due.
SLA_STATES = {
    "running": "by {time}",
    "overdue": "overdue since {time}",
    "paused": "paused while we wait for your reply",
    "met": "met the agreed time",
    "missed": "later than the agreed time",
}


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _filter(query: web.Request) -> TicketFilter:
    params = query.query
    stage = params.get("status", "")
    try:
        page = int(params.get("page", "1"))
    except ValueError:
        page = 1
    return TicketFilter(
        stage=Stage(stage) if stage in Stage.__members__.values() else None,
        created_from=_date(params.get("from", "")),
        created_to=_date(params.get("to", "")),
        requester=params.get("requester", "")[:254] or None,
        search=params.get("q", "")[:200],
        page=min(max(page, 1), 10_000),
    )


async def tickets(request: web.Request) -> web.Response:
    """``/portal/tickets``: every ticket of the client, newest first, with filters."""
    client_key = user(request).client_key
    wanted = _filter(request)
    found = await services(request).tickets.page(client_key, wanted)
    requesters = await services(request).tickets.requesters(client_key)
    kept = {k: v for k, v in request.query.items() if k != "page" and v}
    return render(
        request,
        "tickets.html",
        found=found,
        wanted=wanted,
        params=request.query,
        requesters=requesters,
        stages=STAGE_LABELS,
        page_link=lambda page: "?" + urlencode({**kept, "page": page}),
    )


async def ticket(request: web.Request) -> web.Response:
    """``/portal/tickets/{number}``: the text, the client-safe history, the time spent and,
    with SLA, when each target falls due or how it went."""
    detail = await services(request).tickets.detail(
        user(request).client_key, request.match_info["number"]
    )
    if detail is None:
        raise web.HTTPNotFound
    return render(
        request,
        "ticket.html",
        ticket=detail,
        stages=STAGE_LABELS,
        moments=MOMENT_LABELS,
        priorities=PRIORITY_LABELS,
        sla_targets=SLA_TARGETS,
        sla_states=SLA_STATES,
        created=request.query.get("created") == "1",
    )


async def ticket_file(request: web.Request) -> web.Response:
    """A file attached to the client's ticket, always as a download."""
    try:
        file_id = int(request.match_info["file_id"])
    except ValueError:
        raise web.HTTPNotFound from None
    found = await services(request).tickets.attachment(
        user(request).client_key, request.match_info["number"], file_id
    )
    if found is None:
        raise web.HTTPNotFound
    return web.Response(
        body=found.data,
        content_type=found.content_type,
        headers={"Content-Disposition": disposition("attachment", found.filename)},
    )
