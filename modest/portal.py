"""Wires the client cabinet: its services over the domain, its pages, its CLI command."""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import structlog
from aiohttp import web
from argon2 import PasswordHasher
from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.i18n import Texts
from bot.portal_renderers import PortalNoticeRenderer
from cabinet.app import build_portal_app
from cabinet.pages import PortalServices, PortalSite
from config.routing import RoutingConfig, load_routing
from connectors.base import HelpdeskConnector
from dispatch.events import Actor, Source
from dispatch.portal.accounts import PortalAccounts
from dispatch.portal.client_index import ClientIndex
from dispatch.portal.contract import PortalContract
from dispatch.portal.credentials import Passwords
from dispatch.portal.models import Invitation, PortalError
from dispatch.portal.requests import PortalRequests
from dispatch.portal.tickets import PortalTickets
from modest.domain import Domain
from scheduler.housekeeping import PeriodicJob
from storage.db import Database
from storage.migrate import upgrade


@dataclass(frozen=True, slots=True)
class Portal:
    """The cabinet's services, its aiohttp app (mounted at ``/portal``) and its jobs."""

    services: PortalServices
    app: web.Application
    jobs: list[PeriodicJob]


def portal_accounts(
    database: Database,
    routing: RoutingConfig,
    base_url: str,
    *,
    hasher: PasswordHasher | None = None,
) -> PortalAccounts:
    """The accounts service, whose notices are the bot's texts."""
    notices = PortalNoticeRenderer(Texts(routing.language))
    return PortalAccounts(
        database, routing, notices, base_url=base_url, passwords=Passwords(hasher)
    )


def build_portal(
    base_url: str,
    routing: RoutingConfig,
    database: Database,
    helpdesk: HelpdeskConnector,
    domain: Domain,
    *,
    hasher: PasswordHasher | None = None,
) -> Portal:
    """The cabinet over the same domain services the bot uses; its index follows the log."""
    index = ClientIndex(database, routing)
    index.subscribe(domain.events)
    notices = PortalNoticeRenderer(Texts(routing.language))
    documents = {language: Texts(language) for language in ("ru", "en")}
    services = PortalServices(
        accounts=portal_accounts(database, routing, base_url, hasher=hasher),
        tickets=PortalTickets(database, routing),
        contract=PortalContract(
            database, routing, notices, domain.reports, lambda language: documents[language]
        ),
        requests=PortalRequests(database, routing, helpdesk, domain.intake, index),
        index=index,
    )
    site = PortalSite(base_url=base_url, tz=routing.tz, language=routing.language)
    prune = PeriodicJob("portal.prune", services.accounts.prune, timedelta(hours=1))
    return Portal(services, build_portal_app(services, site), [prune])


class _InviteSettings(BaseSettings):
    """What ``modest portal invite`` needs: no bot token, the cabinet's address."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", env_ignore_empty=True)
    modest_config: Path = Path("config/routing.yaml")
    database_url: str = "sqlite+aiosqlite:///./modest.db"
    portal_base_url: str | None = None

    @field_validator("portal_base_url")
    @classmethod
    def _strip(cls, value: str | None) -> str | None:
        return value.strip().rstrip("/") if value else None


def run_portal_command(args: argparse.Namespace) -> int:
    """Run a ``modest portal`` command; the invitation link is the last line printed."""
    # The output is for the operator (the link last); log lines go to stderr.
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    env = _InviteSettings()
    if not env.portal_base_url:
        print("modest: set PORTAL_BASE_URL to make invitation links", file=sys.stderr)
        return 1
    routing = load_routing(env.modest_config)
    try:
        invitation = asyncio.run(_invite(env, routing, args))
    except PortalError as exc:
        print(f"modest: cannot invite: {exc.reason}", file=sys.stderr)
        return 1
    sent = (
        "sent to the client's manager in Telegram"
        if invitation.manager_chat
        else ("the client has no manager with a Telegram id: pass it on yourself")
    )
    print(
        f"invitation for {invitation.name} <{invitation.email}> ({invitation.client_key}), {sent}"
    )
    print(f"valid until {invitation.expires_at:%Y-%m-%d %H:%M} UTC")
    print(invitation.link)
    return 0


async def _invite(
    env: _InviteSettings, routing: RoutingConfig, args: argparse.Namespace
) -> Invitation:
    database = Database(env.database_url)
    try:
        await upgrade(database)
        assert env.portal_base_url is not None
        accounts = portal_accounts(database, routing, env.portal_base_url)
        return await accounts.invite(
            client_key=args.client,
            email=args.email,
            name=args.name,
            actor=Actor.system(Source.CLI),
        )
    finally:
        await database.dispose()
