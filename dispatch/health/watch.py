"""Whether each configured connector works: checked at start and every few minutes.

A wrong key must never be silent. Each connector's state is kept in the database
(``sync_state``, one key per connector kind), so every process reports the same in
``/healthz`` and one outage is announced once: the process whose compare-and-set
opens the outage tells the admins, the one that closes it tells them it works again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import ClassVar, Protocol

import structlog

from config.routing import Role, RoutingConfig
from connectors.base import AccessDenied, ConnectorError
from dispatch.views import ConnectorMessages, ConnectorStatus, Payload
from storage.db import Database, UnitOfWork
from storage.types import utcnow

log = structlog.get_logger(__name__)

#: How often every connector is asked again.
CHECK_EVERY = timedelta(minutes=2)
_OK = "ok"
_MAX_ERROR = 300


class Checked(Protocol):
    """What the watch needs of a connector: its names and one cheap authenticated call."""

    slug: ClassVar[str]
    title: ClassVar[str]

    async def check_access(self) -> None:
        """Raise a ConnectorError when the system refuses or does not answer."""


@dataclass(frozen=True, slots=True)
class Watched:
    """A configured connector, under its kind (``helpdesk``, ``tracker``)."""

    role: str
    connector: Checked
    #: Tickets stop coming in while it fails (the intake reads tickets from it).
    blocks_intake: bool = False


class ConnectorWatch:
    """Checks the connectors, keeps their state, and tells the admins about outages."""

    def __init__(
        self,
        database: Database,
        routing: RoutingConfig,
        renderer: ConnectorMessages,
        watched: Sequence[Watched],
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = database
        self._routing = routing
        self._renderer = renderer
        self._watched = {item.role: item for item in watched}
        self._clock = clock

    async def check_all(self) -> list[ConnectorStatus]:
        """Ask every connector once; record what each answered; return the states."""
        for item in self._watched.values():
            try:
                await item.connector.check_access()
            except ConnectorError as exc:
                await self.failed(item.role, exc)
            else:
                await self.working(item.role)
        return await self.statuses()

    async def failed(self, role: str, error: ConnectorError) -> None:
        """``role``'s connector failed: open an outage (admins told once) or update it."""
        item = self._watched.get(role)
        if item is None:
            return
        text = (str(error) or type(error).__name__)[:_MAX_ERROR]
        refused = isinstance(error, AccessDenied)
        async with self._db.unit_of_work() as uow:
            stored = await self._stored(uow, item)
            before = _parse(stored, _status(item))
            now = self._clock()
            after = replace(
                before, failing_since=before.failing_since or now, error=text, refused=refused
            )
            if not await uow.sync_state.replace(key=_key(item), old=stored, new=_dump(after)):
                return  # another process recorded it at the same moment
            if before.ok:
                self._tell_admins(uow, self._renderer.connector_down(after))
            await uow.commit()
        if before.ok:
            log.error("connector.failing", role=role, kind=item.connector.slug, error=text)

    async def working(self, role: str) -> None:
        """``role``'s connector answered: close its outage, if it had one."""
        item = self._watched.get(role)
        if item is None:
            return
        async with self._db.unit_of_work() as uow:
            stored = await self._stored(uow, item)
            before = _parse(stored, _status(item))
            if before.failing_since is None:
                return  # it was working
            if not await uow.sync_state.replace(key=_key(item), old=stored, new=_OK):
                return
            payload = self._renderer.connector_back(before, since=before.failing_since)
            self._tell_admins(uow, payload)
            await uow.commit()
        log.info("connector.working", role=role, kind=item.connector.slug)

    async def statuses(self) -> list[ConnectorStatus]:
        """The state of every watched connector, as last recorded."""
        async with self._db.unit_of_work() as uow:
            values = [
                (item, await uow.sync_state.get(key=_key(item))) for item in self._watched.values()
            ]
        return [_parse(stored or _OK, _status(item)) for item, stored in values]

    async def _stored(self, uow: UnitOfWork, item: Watched) -> str:
        await uow.sync_state.add_if_absent(key=_key(item), value=_OK)
        return await uow.sync_state.get(key=_key(item)) or _OK

    def _tell_admins(self, uow: UnitOfWork, payload: Payload) -> None:
        # With no admin who can be reached privately, the dispatchers' chat is told.
        chats = [
            p.telegram_id for p in self._routing.people if Role.ADMIN in p.roles and p.telegram_id
        ] or [self._routing.dispatch.chat_id]
        for chat_id in chats:
            uow.outbox.enqueue_plain(chat_id=chat_id, payload=payload)


def intake_blocked(statuses: Sequence[ConnectorStatus]) -> bool:
    """Whether a failing connector keeps tickets from coming in."""
    return any(not status.ok and status.blocks_intake for status in statuses)


def _key(item: Watched) -> str:
    # By kind too: the state of a connector replaced in the configuration is not inherited.
    return f"health:{item.role}:{item.connector.slug}"


def _status(item: Watched) -> ConnectorStatus:
    connector = item.connector
    return ConnectorStatus(
        role=item.role,
        kind=connector.slug,
        title=connector.title,
        blocks_intake=item.blocks_intake,
    )


def _dump(status: ConnectorStatus) -> str:
    since = status.failing_since.isoformat() if status.failing_since else None
    return json.dumps({"since": since, "error": status.error, "refused": status.refused})


def _parse(stored: str, base: ConnectorStatus) -> ConnectorStatus:
    """The stored state over ``base`` (names from the running configuration)."""
    if stored == _OK:
        return base
    try:
        data = json.loads(stored)
        since = datetime.fromisoformat(data["since"])
    except (ValueError, KeyError, TypeError):
        log.warning("connector.state_unreadable", role=base.role)
        return base
    return replace(
        base,
        failing_since=since,
        error=str(data.get("error") or ""),
        refused=bool(data.get("refused")),
    )
