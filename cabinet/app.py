"""Builds the cabinet's aiohttp application, mounted at ``/portal`` on Modest's server."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp_jinja2
import jinja2
import structlog
from aiohttp import web

from cabinet import auth_pages, client_pages, request_pages, ticket_pages
from cabinet.guard import guard
from cabinet.i18n import LANGUAGES, PageTexts
from cabinet.pages import SERVICES, SITE, TEXTS, PortalServices, PortalSite

log = structlog.get_logger(__name__)

HERE = Path(__file__).parent
PREFIX = "/portal"


def build_portal_app(portal: PortalServices, where: PortalSite) -> web.Application:
    """The cabinet's pages, to mount with ``app.add_subapp(PREFIX, ...)``."""
    app = web.Application(middlewares=[guard])
    app[SERVICES] = portal
    app[SITE] = where
    app[TEXTS] = {language: PageTexts(language) for language in LANGUAGES}
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    static = {
        name: ((HERE / "static" / name).read_bytes(), kind)
        for name, kind in (("portal.css", "text/css"), ("icon.svg", "image/svg+xml"))
    }

    async def asset(request: web.Request) -> web.Response:
        found = static.get(request.match_info["name"])
        if found is None:
            raise web.HTTPNotFound
        body, kind = found
        return web.Response(
            body=body, content_type=kind, headers={"Cache-Control": "public, max-age=3600"}
        )

    add = app.router.add_route
    add("GET", "/", auth_pages.home)
    add("GET", "/static/{name}", asset)
    add("GET", "/login", auth_pages.login_page)
    add("POST", "/login", auth_pages.login)
    add("POST", "/logout", auth_pages.logout)
    add("GET", "/forgot", auth_pages.forgot_page)
    add("POST", "/forgot", auth_pages.forgot)
    add("GET", "/invite/{token}", auth_pages.invite_page)
    add("POST", "/invite/{token}", auth_pages.accept_invite)
    add("GET", "/tickets", ticket_pages.tickets)
    add("GET", "/tickets/{number}", ticket_pages.ticket)
    add("GET", "/tickets/{number}/files/{file_id}", ticket_pages.ticket_file)
    add("GET", "/reports", client_pages.reports)
    add("GET", "/reports/{name}", client_pages.report_file)
    add("GET", "/contract", client_pages.contract)
    add("POST", "/contract/tariff", client_pages.tariff)
    add("GET", "/requests/new", request_pages.new_request_page)
    add("POST", "/requests/new", request_pages.submit_request, name="request_new_post")
    add("GET", "/account", client_pages.account)
    add("POST", "/account", client_pages.profile)
    add("POST", "/account/password", client_pages.password)
    add("POST", "/account/sessions", client_pages.sign_out_everywhere)
    add("*", "/{tail:.*}", auth_pages.not_found)
    app.cleanup_ctx.append(_client_index(portal))
    return app


def _client_index(
    portal: PortalServices,
) -> Callable[[web.Application], AsyncIterator[None]]:
    """Works out the clients of tickets from before the cabinet, in the background."""

    async def run(_: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(_refresh(portal))
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return run


async def _refresh(portal: PortalServices) -> None:
    try:
        await portal.index.refresh()
    except Exception:
        # The pages still work for the tickets already known; the next start tries again.
        log.exception("portal.client_index_failed")
