"""What every page shares: the services, the signed-in user, texts, CSRF tokens, rendering."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import aiohttp_jinja2
from aiohttp import web

from cabinet.i18n import LANGUAGES, PageTexts
from dispatch.durations import format_minutes as hours
from dispatch.formats import money
from dispatch.portal.accounts import SESSION_TTL, PortalAccounts
from dispatch.portal.client_index import ClientIndex
from dispatch.portal.contract import PortalContract
from dispatch.portal.models import CurrentSession, PortalUser
from dispatch.portal.requests import PortalRequests
from dispatch.portal.tickets import PortalTickets

SESSION_COOKIE = "modest_session"
CSRF_COOKIE = "modest_csrf"
COOKIE_PATH = "/portal"


@dataclass(frozen=True, slots=True)
class PortalServices:
    """The ``dispatch.portal`` services the pages call."""

    accounts: PortalAccounts
    tickets: PortalTickets
    contract: PortalContract
    requests: PortalRequests
    index: ClientIndex


@dataclass(frozen=True, slots=True)
class PortalSite:
    """Where the cabinet lives and how it speaks by default."""

    base_url: str
    tz: tzinfo
    language: str

    @property
    def secure(self) -> bool:
        """Whether cookies are ``Secure`` (the cabinet is reached over https)."""
        return self.base_url.startswith("https://")


SERVICES = web.AppKey("portal_services", PortalServices)
SITE = web.AppKey("portal_site", PortalSite)
TEXTS = web.AppKey("portal_texts", dict)
SESSION = web.RequestKey("portal_session", object)
ANON_CSRF = web.RequestKey("portal_anon_csrf", str)


class NeedLogin(Exception):
    """The page needs a signed-in user: the guard sends the browser to the login page."""


def services(request: web.Request) -> PortalServices:
    """The services of this cabinet."""
    return request.config_dict[SERVICES]


def site(request: web.Request) -> PortalSite:
    """The cabinet's address, time zone and default language."""
    return request.config_dict[SITE]


def current(request: web.Request) -> CurrentSession | None:
    """The session the request carries, if any."""
    session = request.get(SESSION)
    return session if isinstance(session, CurrentSession) else None


def signed_in(request: web.Request) -> CurrentSession:
    """The session, or off to the login page."""
    session = current(request)
    if session is None:
        raise NeedLogin
    return session


def user(request: web.Request) -> PortalUser:
    """The signed-in user (the page needs one)."""
    return signed_in(request).user


def language(request: web.Request) -> str:
    """The user's language; before sign-in ``?lang=`` or the deployment's."""
    session = current(request)
    if session is not None:
        return session.user.language
    wanted = request.query.get("lang", "")
    return wanted if wanted in LANGUAGES else site(request).language


def texts(request: web.Request) -> PageTexts:
    """The translator for this request's language."""
    catalogs: dict[str, PageTexts] = request.config_dict[TEXTS]
    return catalogs[language(request)]


def csrf_token(request: web.Request) -> str:
    """The token every form of this page carries."""
    session = current(request)
    if session is not None:
        return session.csrf
    token = request.get(ANON_CSRF) or request.cookies.get(CSRF_COOKIE)
    if not token:
        # A visitor without a session: a random token in a cookie and in the form.
        token = secrets.token_urlsafe(32)
        request[ANON_CSRF] = token
    return token


def address(request: web.Request) -> str:
    """The peer's address (a reverse proxy's own, when behind one)."""
    return (request.remote or "")[:64]


def _when(request: web.Request, value: datetime | None) -> str:
    if value is None:
        return "—"
    local = value.astimezone(site(request).tz)
    return local.strftime("%d.%m.%Y %H:%M" if language(request) == "ru" else "%Y-%m-%d %H:%M")


def _day(request: web.Request, value: date | None) -> str:
    if value is None:
        return "—"
    return value.strftime("%d.%m.%Y" if language(request) == "ru" else "%Y-%m-%d")


def _amount(request: web.Request, value: Decimal | None, currency: str) -> str:
    return "—" if value is None else money(value, currency, language(request))


def _size(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB" if size >= 1024 * 1024 else f"{max(size // 1024, 1)} KB"


def render(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    """A page: the template with the texts, the user, the CSRF token and formatters."""
    session = current(request)
    t = texts(request)
    return aiohttp_jinja2.render_template(
        template,
        request,
        {
            "t": t,
            "lang": t.language,
            "user": session.user if session else None,
            "csrf": csrf_token(request),
            "path": request.path,
            "when": lambda value: _when(request, value),
            "day": lambda value: _day(request, value),
            "hours": lambda minutes: hours(max(minutes, 0)),
            "amount": lambda value, currency: _amount(request, value, currency),
            "size": _size,
            **context,
        },
        status=status,
    )


def redirect(location: str) -> web.Response:
    """See other: after a form, the browser loads ``location``."""
    return web.Response(status=303, headers={"Location": location})


def set_session_cookie(request: web.Request, response: web.StreamResponse, token: str) -> None:
    """The session cookie: HttpOnly, SameSite=Lax, Secure over https."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        path=COOKIE_PATH,
        max_age=int(SESSION_TTL.total_seconds()),
        httponly=True,
        samesite="Lax",
        secure=site(request).secure,
    )


def drop_session_cookie(response: web.StreamResponse) -> None:
    """Forget the session in the browser."""
    response.del_cookie(SESSION_COOKIE, path=COOKIE_PATH)


def disposition(kind: str, filename: str) -> str:
    """``Content-Disposition`` (``inline`` or ``attachment``) with a UTF-8 file name."""
    plain = filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return f"{kind}; filename=\"{plain}\"; filename*=UTF-8''{quote(filename)}"
