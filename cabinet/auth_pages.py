"""Signing in and out, the invitation link, and "forgot password"."""

from __future__ import annotations

from aiohttp import web

from cabinet.pages import (
    SESSION_COOKIE,
    address,
    current,
    drop_session_cookie,
    redirect,
    render,
    services,
    set_session_cookie,
    texts,
)
from dispatch.portal.models import InvalidInvite, LoginFailed, LoginLocked, PortalError, SignedIn


def _field(form: object, name: str, limit: int = 1000) -> str:
    value = form.get(name) if hasattr(form, "get") else None
    return value[:limit] if isinstance(value, str) else ""


async def home(request: web.Request) -> web.Response:
    """``/portal/``: the tickets, or the login page."""
    return redirect("/portal/tickets" if current(request) else "/portal/login")


async def login_page(request: web.Request) -> web.Response:
    """The login form."""
    if current(request) is not None:
        return redirect("/portal/tickets")
    return render(request, "login.html", email="", error=None)


async def login(request: web.Request) -> web.Response:
    """Check the password; a new session (and a new id) on success."""
    form = await request.post()
    email, password = _field(form, "email", 254), _field(form, "password", 1000)
    accounts = services(request).accounts
    try:
        signed = await accounts.login(
            email,
            password,
            address=address(request),
            user_agent=request.headers.get("User-Agent", ""),
            replaces=request.cookies.get(SESSION_COOKIE),
        )
    except LoginLocked:
        error = texts(request)("Too many failed attempts. Try again in 10 minutes.")
        return render(request, "login.html", status=429, email=email, error=error)
    except LoginFailed:
        error = texts(request)("Wrong e-mail or password.")
        return render(request, "login.html", status=401, email=email, error=error)
    return _signed_in(request, signed)


def _signed_in(request: web.Request, signed: SignedIn) -> web.Response:
    response = redirect("/portal/tickets")
    set_session_cookie(request, response, signed.token)
    return response


async def logout(request: web.Request) -> web.Response:
    """End this session."""
    session = current(request)
    if session is not None:
        await services(request).accounts.logout(session)
    response = redirect("/portal/login")
    drop_session_cookie(response)
    return response


async def invite_page(request: web.Request) -> web.Response:
    """The page that sets a password through a one-time link."""
    try:
        invited = await services(request).accounts.invited(request.match_info["token"])
    except InvalidInvite:
        return _invalid_invite(request)
    return render(request, "invite.html", invited=invited, error=None)


async def accept_invite(request: web.Request) -> web.Response:
    """Set the password (typed twice) and sign in."""
    token = request.match_info["token"]
    form = await request.post()
    password, again = _field(form, "password"), _field(form, "password2")
    accounts = services(request).accounts
    try:
        invited = await accounts.invited(token)
        if password != again:
            raise PortalError("The passwords do not match.")
        signed = await accounts.accept_invite(
            token,
            password,
            address=address(request),
            user_agent=request.headers.get("User-Agent", ""),
        )
    except InvalidInvite:
        return _invalid_invite(request)
    except PortalError as exc:
        error = texts(request)(exc.reason)
        return render(request, "invite.html", status=400, invited=invited, error=error)
    return _signed_in(request, signed)


def _invalid_invite(request: web.Request) -> web.Response:
    message = "This link has expired or was already used. Ask your manager for a new one."
    return render(request, "error.html", status=410, message=message)


async def forgot_page(request: web.Request) -> web.Response:
    """The "forgot password" form."""
    return render(request, "forgot.html", sent=False)


async def forgot(request: web.Request) -> web.Response:
    """Ask the manager for a new link; the answer never tells whether the address exists."""
    form = await request.post()
    await services(request).accounts.forgot_password(
        _field(form, "email", 254), address=address(request)
    )
    return render(request, "forgot.html", sent=True)


async def not_found(request: web.Request) -> web.Response:
    """Any other path under ``/portal``."""
    raise web.HTTPNotFound
