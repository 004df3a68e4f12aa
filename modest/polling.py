"""Long polling under a database lease: one instance polls Telegram at a time.

Telegram allows one ``getUpdates`` consumer per bot; a second would make both
fail with 409. The lease moves to another instance when its holder stops
renewing it (crash, network split); webhook mode needs no lease. The holder renews
it every third of its ``ttl`` and a standby tries to take it as often, so after the
holder dies another instance polls within 4/3 of the ``ttl``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

import structlog
from aiogram import Bot, Dispatcher

from storage.db import Database
from storage.types import utcnow

log = structlog.get_logger(__name__)

LEASE_NAME = "telegram.polling"
#: The longest wait before polling is tried again after a failure. Short, because the
#: first answer after a Bot API outage is what releases the outbox's backed-off cards.
MAX_RETRY_DELAY = 5.0


def instance_id() -> str:
    """A name for this process that no other instance shares."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class PollingLease:
    """Take, renew and give up the polling lease."""

    def __init__(
        self,
        database: Database,
        *,
        holder: str,
        ttl: float = 20.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = database
        self.holder = holder
        self.ttl = ttl
        self._clock = clock

    async def acquire(self) -> bool:
        """Take or renew the lease; False while another instance holds it."""
        now = self._clock()
        async with self._db.unit_of_work() as uow:
            held = await uow.leases.acquire(
                name=LEASE_NAME,
                holder=self.holder,
                now=now,
                until=now + timedelta(seconds=self.ttl),
            )
            await uow.commit()
        return held

    async def release(self) -> None:
        """Give the lease up so another instance can poll at once."""
        async with self._db.unit_of_work() as uow:
            await uow.leases.release(name=LEASE_NAME, holder=self.holder)
            await uow.commit()


async def poll_while_leased(
    dispatcher: Dispatcher,
    bot: Bot,
    lease: PollingLease,
    stopped: asyncio.Event,
    *,
    allowed_updates: list[str],
) -> None:
    """Poll whenever this instance holds the lease, until ``stopped`` is set."""
    delay = 1.0
    while not stopped.is_set():
        try:
            if not await lease.acquire():
                await _sleep(stopped, lease.ttl / 3)
                continue
            log.info("telegram.polling_lease_taken", holder=lease.holder)
            keeper = asyncio.create_task(_keep(lease, dispatcher, stopped))
            try:
                await dispatcher.start_polling(
                    bot,
                    handle_signals=False,
                    close_bot_session=False,
                    allowed_updates=allowed_updates,
                    polling_timeout=10,
                )
            finally:
                keeper.cancel()
            delay = 1.0
        except Exception as exc:
            # Telegram or the database down at start: delay polling, never end it.
            log.warning("telegram.polling_failed", error=repr(exc), retry_in=delay)
            await _sleep(stopped, delay)
            delay = min(delay * 2, MAX_RETRY_DELAY)
    with contextlib.suppress(Exception):
        await lease.release()


async def _keep(lease: PollingLease, dispatcher: Dispatcher, stopped: asyncio.Event) -> None:
    while not stopped.is_set():
        await _sleep(stopped, lease.ttl / 3)
        try:
            held = await lease.acquire()
        except Exception as exc:
            log.warning("telegram.polling_lease_renew_failed", error=repr(exc))
            held = False
        if not held or stopped.is_set():
            if not held:
                log.warning("telegram.polling_lease_lost", holder=lease.holder)
            with contextlib.suppress(RuntimeError):  # polling may not have started yet
                await dispatcher.stop_polling()
            return


async def _sleep(stopped: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stopped.wait(), timeout=seconds)
