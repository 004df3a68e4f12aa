"""The cabinet's middleware: session, CSRF, security headers, error pages.

Every POST carries a CSRF token: the session's, or before sign-in the one in the
``modest_csrf`` cookie. The new-request form streams its files and checks the
token itself, from the form's first field, before it reads any file.
"""

from __future__ import annotations

import hmac

import structlog
from aiohttp import web
from aiohttp.typedefs import Handler

from cabinet.pages import (
    ANON_CSRF,
    COOKIE_PATH,
    CSRF_COOKIE,
    SESSION,
    SESSION_COOKIE,
    NeedLogin,
    current,
    render,
    services,
    site,
)

log = structlog.get_logger(__name__)

#: No scripts, no frames, no outside hosts: only our stylesheet and forms to ourselves.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
#: Routes that read their own (multipart) body and check the CSRF token there.
STREAMING_ROUTES = frozenset({"request_new_post"})
_ERRORS = {
    400: "The request could not be understood.",
    403: "This form has expired. Go back, reload the page and try again.",
    404: "There is no such page.",
    405: "There is no such page.",
    413: "The file is too large.",
    415: "This type of file cannot be attached.",
}


def csrf_matches(expected: str | None, given: str | None) -> bool:
    """Whether the form's token is the one expected (compared in constant time)."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def expected_csrf(request: web.Request) -> str | None:
    """The token a POST of this request must carry."""
    session = current(request)
    return session.csrf if session is not None else request.cookies.get(CSRF_COOKIE)


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Load the session, check CSRF, render errors, add the security headers."""
    token = request.cookies.get(SESSION_COOKIE)
    request[SESSION] = await services(request).accounts.current(token) if token else None
    try:
        if request.method == "POST" and request.match_info.route.name not in STREAMING_ROUTES:
            form = await request.post()
            given = form.get("csrf")
            if not csrf_matches(expected_csrf(request), given if isinstance(given, str) else None):
                log.warning("portal.csrf_refused", path=request.path)
                raise web.HTTPForbidden
        response = await handler(request)
    except NeedLogin:
        response = web.Response(status=303, headers={"Location": "/portal/login"})
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        response = error_page(request, exc.status)
    _secure(request, response)
    return response


def error_page(request: web.Request, status: int) -> web.Response:
    """The error page for a status, in the visitor's language."""
    message = _ERRORS.get(status, "Something went wrong.")
    return render(request, "error.html", status=status, message=message)


def _secure(request: web.Request, response: web.StreamResponse) -> None:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers["X-Frame-Options"] = "DENY"
    headers["X-Content-Type-Options"] = "nosniff"
    # Invitation links carry their token in the path: never send it on as a referrer.
    headers["Referrer-Policy"] = "no-referrer"
    headers.setdefault("Cache-Control", "no-store")
    anon = request.get(ANON_CSRF)
    if anon and current(request) is None and not response.prepared:
        response.set_cookie(
            CSRF_COOKIE,
            anon,
            path=COOKIE_PATH,
            httponly=True,
            samesite="Lax",
            secure=site(request).secure,
        )
