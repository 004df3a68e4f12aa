"""The outbox sender: delivers committed Telegram calls, in order per chat.

Guarantees:

* nothing is sent before the transaction that queued it commits;
* calls to one chat go one at a time, oldest first (an edit never overtakes
  the send it edits); other chats are not held up by a slow or limited one;
* Telegram's limits are kept (``TelegramRateLimiter``); a 429 holds only its
  chat for ``retry_after``;
* network errors and 5xx are retried with backoff until delivered, and at once
  when any Bot API call gets an answer again (``BotApiReachability``: the long
  poll, another send), in order per chat and within the limits; a 429's
  ``retry_after`` is always waited out; a chat that blocked the bot is marked and
  not retried; a bad request is logged as failed;
* a crash while sending loses nothing: the claim is a lease, and a row whose
  lease ran out is sent again (at-least-once).

Cost: a pass (one transaction) claims the first row of every chat that may go; the
transaction that records a call claims that chat's next row when it may go at once, so a
chat's queue drains with one transaction per call. Passes run when a commit queued
something, when a chat's call left a row waiting, or when a wait ends; never empty.
"""

from __future__ import annotations

import asyncio
import functools
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

import structlog

from bot.delivery.limits import TelegramRateLimiter
from bot.delivery.watch import BotApiReachability
from storage.db import Database, UnitOfWork
from storage.models import OutboxOp, OutboxRow, OutboxStatus
from storage.types import utcnow

log = structlog.get_logger(__name__)


class Outcome(StrEnum):
    """How one Telegram call ended."""

    DELIVERED = "delivered"
    RETRY_AFTER = "retry_after"
    TRANSIENT = "transient"
    BLOCKED = "blocked"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """What the transport reports back for one call."""

    outcome: Outcome
    message_id: int | None = None
    retry_after: float = 0.0
    error: str = ""


#: Outcomes after which a row is closed, so the chat's next row may follow it.
_DONE_WITH = frozenset({Outcome.DELIVERED, Outcome.BLOCKED, Outcome.FAILED})


class TelegramTransport(Protocol):
    """Makes one Telegram call; never raises for Telegram or network errors."""

    async def deliver(
        self, *, op: OutboxOp, chat_id: int, message_id: int | None, payload: dict[str, Any]
    ) -> DeliveryResult:
        """Send, edit or delete, and classify the result."""


class OutboxSender:
    """Background worker that drains the outbox."""

    def __init__(
        self,
        database: Database,
        transport: TelegramTransport,
        limiter: TelegramRateLimiter,
        *,
        poll_interval: float = 1.0,
        lease_seconds: float = 60.0,
        max_backoff: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        reachability: BotApiReachability | None = None,
    ) -> None:
        self._db = database
        self._transport = transport
        self._limiter = limiter
        self._poll = poll_interval
        self._lease = timedelta(seconds=lease_seconds)
        self._max_backoff = max_backoff
        self._clock = clock
        self._inflight: dict[int, asyncio.Task[None]] = {}
        #: Chats whose last call left a row that is not sent yet: the next pass is due
        #: once their call is done (the others need none: no empty passes).
        self._held: set[int] = set()
        self._blocked: set[int] | None = None
        self._stopping = asyncio.Event()
        self._reachability = reachability or BotApiReachability()
        self._release_backoff = False
        self._reachability.listen(self._on_bot_api_back)

    def _on_bot_api_back(self) -> None:
        # Runs inside whichever call got the answer: only note it and wake the pass.
        self._release_backoff = True
        self._db.outbox_wakeup.set()

    async def run(self) -> None:
        """Deliver until ``stop`` is called."""
        log.info("outbox.sender_started")
        while not self._stopping.is_set():
            # A pass sees every commit made before it starts: a wake-up from one of those
            # would only cause an empty pass.
            self._db.outbox_wakeup.clear()
            try:
                wait = await self.pass_once()
            except Exception:
                # The database may be restarting: log it and try again shortly.
                log.exception("outbox.pass_failed")
                wait = self._poll
            await self._db.outbox_wakeup.wait(wait)
        await self._wait_inflight()

    def stop(self) -> None:
        """Ask ``run`` to finish after the calls in flight."""
        self._stopping.set()
        self._db.outbox_wakeup.set()

    async def pass_once(self) -> float:
        """Start every call that may go now; return how long to sleep before the next pass.

        The rows that may go are claimed in the same transaction that found them.
        """
        now = utcnow()
        sleep = self._poll
        claimed: list[tuple[OutboxRow, int | None]] = []
        async with self._db.unit_of_work() as uow:
            released = await self._release(uow, now)
            # One index seek first: behind a backlog that waits out its backoffs (after an
            # outage) nothing may go, and finding every chat's head would find only that.
            due = await uow.outbox.first_due(now=now)
            if due is None or due > now:
                if released:
                    await uow.commit()
                return sleep if due is None else min(sleep, (due - now).total_seconds())
            # Blocks are read every pass: another instance may have unblocked a chat.
            heads, self._blocked = await uow.outbox.heads_and_blocked(limit=1000)
            for row in heads:
                if row.chat_id in self._inflight:
                    continue
                wait = self._time_until_allowed(row, now)
                if wait > 0:
                    sleep = min(sleep, wait)
                    continue
                claim = await self._claim(uow, row, now)
                if claim is not None:
                    claimed.append(claim)
            if claimed or released:
                await uow.commit()
        for row, message_id in claimed:
            task = asyncio.create_task(self._send(row, message_id))
            self._inflight[row.chat_id] = task
            task.add_done_callback(functools.partial(self._on_done, row.chat_id))
        return sleep

    async def _release(self, uow: UnitOfWork, now: datetime) -> int:
        """The Bot API is back: messages backing off after network errors may go now."""
        if not self._release_backoff:
            return 0
        self._release_backoff = False
        # Rows of every instance: the one that saw Telegram come back may not be theirs.
        released = await uow.outbox.release_backoff(now=now)
        log.info("outbox.bot_api_back", released=released)
        return released

    def _time_until_allowed(self, row: OutboxRow, now: datetime) -> float:
        if row.status == OutboxStatus.SENDING and row.locked_until and row.locked_until > now:
            # Another sender (or a crashed one) holds it until its lease ends.
            return max((row.locked_until - now).total_seconds(), 0.01)
        not_due = (row.not_before - now).total_seconds()
        if not_due > 0:
            return not_due
        if self._blocked and row.chat_id in self._blocked:
            return 0.0  # goes straight to "blocked" without a Telegram call
        # Only look here: the slot is taken right before the call (see _call), because
        # the claim transaction in between would otherwise eat the safety margin.
        return self._limiter.wait_time(row.chat_id)

    def _on_done(self, chat_id: int, task: asyncio.Task[None]) -> None:
        self._inflight.pop(chat_id, None)
        crashed = not task.cancelled() and task.exception() is not None
        if crashed:
            # The row stays claimed until its lease ends, then goes again.
            log.error("outbox.send_crashed", chat_id=chat_id, exc_info=task.exception())
        if crashed or chat_id in self._held:
            self._held.discard(chat_id)
            self._db.outbox_wakeup.set()

    async def _wait_inflight(self) -> None:
        if self._inflight:
            await asyncio.gather(*self._inflight.values(), return_exceptions=True)

    async def _deliver(self, row: OutboxRow) -> None:
        """Claim one row in a transaction of its own, then send it."""
        async with self._db.unit_of_work() as uow:
            claim = await self._claim(uow, row, utcnow())
            if claim is None:
                return
            await uow.commit()
        await self._send(*claim)

    async def _claim(
        self, uow: UnitOfWork, row: OutboxRow, now: datetime
    ) -> tuple[OutboxRow, int | None] | None:
        """Take the row and resolve its message ids; None if another sender holds it."""
        assert row.id is not None
        # The payload as committed now: an edit may have been folded into this send
        # since the pass read it.
        if not await uow.outbox.claim_row(row, now=now, lease_until=now + self._lease):
            return None
        message_id = None
        if row.target_id is not None and row.op != OutboxOp.SEND:
            message_id = await self._telegram_id(uow, row.target_id)
        if row.reply_to_id is not None:
            # A reply names the message it answers by our row id; Telegram wants its id.
            replied = await self._telegram_id(uow, row.reply_to_id)
            row.payload = {**row.payload, "reply_to_message_id": replied}
        return row, message_id

    async def _send(self, row: OutboxRow, message_id: int | None) -> None:
        """Deliver ``row``; then the chat's next row, claimed in the transaction that
        records this one, while each may go at once (one transaction per call, not a
        claim and a record, and no pass in between)."""
        claim: tuple[OutboxRow, int | None] | None = (row, message_id)
        while claim is not None:
            row, message_id = claim
            result, backoff = await self._attempt(row, message_id)
            claim = await self._record(row, result, backoff=backoff)

    async def _attempt(
        self, row: OutboxRow, message_id: int | None
    ) -> tuple[DeliveryResult, float | None]:
        """Make the call (or know it needs none); the result and a backoff to use."""
        backoff: float | None = None
        if self._blocked and row.chat_id in self._blocked:
            result = DeliveryResult(Outcome.BLOCKED, error="chat is marked blocked")
        elif row.op == OutboxOp.DELETE and message_id is None:
            result = DeliveryResult(Outcome.DELIVERED, error="never delivered: nothing to delete")
        elif row.op != OutboxOp.SEND and message_id is None:
            result = DeliveryResult(Outcome.FAILED, error="the message was never delivered")
        else:
            recoveries = self._reachability.recoveries
            result = await self._call(row, message_id)
            if self._reachability.recoveries != recoveries:
                # The Bot API came back while this call was under way: a failure of
                # this call must not wait out a backoff the recovery already ended.
                backoff = 0.0
        return result, backoff

    @staticmethod
    async def _telegram_id(uow: UnitOfWork, message_row_id: int) -> int | None:
        message = await uow.messages.get(message_row_id=message_row_id)
        return message.message_id if message else None

    async def _call(self, row: OutboxRow, message_id: int | None) -> DeliveryResult:
        while (wait := self._limiter.try_acquire(row.chat_id)) > 0:  # noqa: ASYNC110 - a rate wait
            await asyncio.sleep(wait)
        started = time.perf_counter()
        try:
            result = await self._transport.deliver(
                op=OutboxOp(row.op),
                chat_id=row.chat_id,
                message_id=message_id,
                payload=row.payload,
            )
        except Exception as exc:
            # A transport bug must not kill the sender; the row is retried.
            log.exception("outbox.transport_crashed", outbox_id=row.id)
            result = DeliveryResult(Outcome.TRANSIENT, error=repr(exc))
        log.info(
            "outbox.call",
            outbox_id=row.id,
            ticket_id=row.ticket_id,
            chat_id=row.chat_id,
            op=row.op,
            outcome=result.outcome.value,
            error=result.error or None,
            ms=round((time.perf_counter() - started) * 1000, 2),
        )
        return result

    async def _record(
        self, row: OutboxRow, result: DeliveryResult, *, backoff: float | None = None
    ) -> tuple[OutboxRow, int | None] | None:
        """Record how the call went; claim the chat's next row in the same transaction
        when this one is done with and the next may go now (None otherwise)."""
        assert row.id is not None
        follow: tuple[OutboxRow, int | None] | None = None
        async with self._db.unit_of_work() as uow:
            match result.outcome:
                case Outcome.DELIVERED:
                    await uow.outbox.finish(row_id=row.id, status=OutboxStatus.SENT)
                    if row.op == OutboxOp.SEND and row.target_id and result.message_id:
                        await uow.messages.set_message_id(
                            message_row_id=row.target_id, message_id=result.message_id
                        )
                case Outcome.RETRY_AFTER:
                    self._limiter.forget_last(row.chat_id)
                    self._limiter.penalize(row.chat_id, result.retry_after)
                    # Telegram answered, so no longer "backing off after network errors"
                    # (attempts 0): a recovery must not cut this wait short.
                    await uow.outbox.reschedule(
                        row_id=row.id,
                        attempts=0,
                        error=result.error,
                        not_before=utcnow() + timedelta(seconds=result.retry_after),
                    )
                case Outcome.TRANSIENT:
                    wait = self._backoff(row.attempts) if backoff is None else backoff
                    await uow.outbox.reschedule(
                        row_id=row.id,
                        attempts=row.attempts + 1,
                        error=result.error,
                        not_before=utcnow() + timedelta(seconds=wait),
                    )
                case Outcome.BLOCKED:
                    await uow.outbox.mark_blocked(chat_id=row.chat_id, reason=result.error)
                    await uow.outbox.finish(
                        row_id=row.id, status=OutboxStatus.BLOCKED, error=result.error
                    )
                    if self._blocked is not None:
                        self._blocked.add(row.chat_id)
                    log.warning("outbox.chat_blocked", chat_id=row.chat_id, error=result.error)
                case Outcome.FAILED:
                    await uow.outbox.finish(
                        row_id=row.id, status=OutboxStatus.FAILED, error=result.error
                    )
                    log.error("outbox.failed", outbox_id=row.id, error=result.error)
            if result.outcome not in _DONE_WITH:
                self._held.add(row.chat_id)  # rescheduled: a pass waits for it
            elif not self._stopping.is_set():
                follow = await self._claim_next(uow, row.chat_id)
            await uow.commit()
        return follow

    async def _claim_next(
        self, uow: UnitOfWork, chat_id: int
    ) -> tuple[OutboxRow, int | None] | None:
        """The chat's next row, claimed, if it may go now; else the passes take it later."""
        now = utcnow()
        head = await uow.outbox.chat_head(chat_id=chat_id)
        if head is None:
            return None
        if self._time_until_allowed(head, now) == 0:
            claim = await self._claim(uow, head, now)
            if claim is not None:
                return claim
        self._held.add(chat_id)  # it waits (or another sender has it): a pass takes it
        return None

    def _backoff(self, attempts: int) -> float:
        base = min(self._max_backoff, 0.5 * 2.0 ** min(attempts, 16))
        return base * random.uniform(0.8, 1.2)  # noqa: S311 - jitter, not crypto
