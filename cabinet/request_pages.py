"""The new-request form: fields and up to five files, read as a stream.

Each file is measured while it is read: the 10 MB limit stops the upload there
(413) before anything is stored or sent, and a type outside the list is refused
(415) by its name's extension. The CSRF token is the form's first field and is
checked before any file is read.
"""

from __future__ import annotations

from aiohttp import BodyPartReader, web

from cabinet.guard import csrf_matches, expected_csrf
from cabinet.pages import redirect, render, services, texts, user
from cabinet.ticket_pages import PRIORITY_LABELS
from connectors.base import ConnectorError
from dispatch.portal.models import NewRequest, PortalError, Upload
from dispatch.portal.requests import (
    MAX_DESCRIPTION,
    MAX_FILE_BYTES,
    MAX_FILES,
    file_type,
    safe_filename,
)

_FIELDS = ("subject", "description", "priority")
_FIELD_BYTES = MAX_DESCRIPTION * 4 + 1024
#: The whole body: the files at their largest plus the text fields.
MAX_BODY = MAX_FILES * (MAX_FILE_BYTES + 4096) + 3 * _FIELD_BYTES


async def new_request_page(request: web.Request) -> web.Response:
    """``/portal/requests/new``."""
    user(request)
    return _form(request, {"priority": "normal"}, error=None)


def _form(
    request: web.Request, values: dict[str, str], *, error: str | None, status: int = 200
) -> web.Response:
    return render(
        request,
        "request_new.html",
        status=status,
        values=values,
        error=error,
        priorities=PRIORITY_LABELS,
        max_files=MAX_FILES,
    )


async def submit_request(request: web.Request) -> web.Response:
    """Read the form, open the ticket, show it."""
    me = user(request)
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_BODY, actual_size=request.content_length)
    if not request.content_type.startswith("multipart/"):
        raise web.HTTPBadRequest
    values, uploads = await read_form(request)
    wanted = NewRequest(
        subject=values.get("subject", ""),
        description=values.get("description", ""),
        priority=values.get("priority", ""),
        uploads=uploads,
    )
    portal_requests = services(request).requests
    try:
        number = await portal_requests.submit(me, wanted)
    except PortalError as exc:
        return _form(request, values, error=texts(request)(exc.reason), status=400)
    except ConnectorError:
        message = texts(request)("The helpdesk did not answer. Please try again in a minute.")
        return _form(request, values, error=message, status=502)
    return redirect(f"/portal/tickets/{number}?created=1")


async def read_form(request: web.Request) -> tuple[dict[str, str], list[Upload]]:
    """The text fields and the files; 403, 413 or 415 before anything is kept."""
    reader = await request.multipart()
    first = await reader.next()
    if not isinstance(first, BodyPartReader) or first.name != "csrf":
        raise web.HTTPForbidden
    token = (await _read_limited(first, 256)).decode("utf-8", "replace")
    if not csrf_matches(expected_csrf(request), token):
        raise web.HTTPForbidden
    values: dict[str, str] = {}
    uploads: list[Upload] = []
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            raise web.HTTPBadRequest
        if part.filename is None:
            if part.name in _FIELDS:
                data = await _read_limited(part, _FIELD_BYTES)
                values[part.name] = data.decode("utf-8", "replace")
            continue
        upload = await _read_file(part)
        if upload is not None:
            if len(uploads) >= MAX_FILES:
                raise web.HTTPRequestEntityTooLarge(max_size=MAX_FILES, actual_size=MAX_FILES + 1)
            uploads.append(upload)
    return values, uploads


async def _read_file(part: BodyPartReader) -> Upload | None:
    filename = safe_filename(part.filename or "")
    if not part.filename:
        await part.release()  # an empty file input
        return None
    content_type = file_type(filename)
    if content_type is None:
        raise web.HTTPUnsupportedMediaType
    data = await _read_limited(part, MAX_FILE_BYTES)
    if not data:
        return None
    return Upload(filename=filename, content_type=content_type, data=data)


async def _read_limited(part: BodyPartReader, limit: int) -> bytes:
    """A part's bytes, stopping with 413 as soon as they pass ``limit``."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await part.read_chunk(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=size)
        chunks.append(chunk)
    return b"".join(chunks)
