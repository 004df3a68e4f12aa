"""The webhook intake queue: deliveries are group-committed, then applied in batches.

A webhook is answered as soon as its delivery is durably queued: ``submit`` hands it to
a writer that commits every delivery waiting at that moment in one transaction (group
commit: a burst of webhooks costs a few statements, not a transaction each), skipping
keys seen before. The applier then takes queued events in order, in batches, applies
each to its ticket (cards, reminders, jobs) and deletes them from the queue in that same
transaction, so an event is applied exactly once even across a crash.

An event whose batch fails is retried alone; one that keeps failing is set aside as
failed (logged, counted by ``/healthz``) so that the events behind it still flow.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import structlog

from dispatch.intake import FETCH_JOB, Intake, IntakeService
from dispatch.models import Client, HelpdeskEvent, TicketData, TicketEventKind
from storage.db import Database, UnitOfWork
from storage.models import IntakeEventRow

log = structlog.get_logger(__name__)


@dataclasses.dataclass(slots=True)
class _Delivery:
    source: str
    delivery_key: str
    payload: dict[str, Any]
    answer: asyncio.Future[Intake]


class IntakeQueue:
    """Group-commits webhook deliveries and applies them, in order, after commit."""

    def __init__(
        self,
        database: Database,
        intake: IntakeService,
        *,
        batch_size: int = 200,
        max_attempts: int = 5,
        idle_poll: float = 5.0,
    ) -> None:
        self._db = database
        self._intake = intake
        self._batch_size = batch_size
        self._max_attempts = max_attempts
        self._idle_poll = idle_poll
        self._waiting: list[_Delivery] = []
        self._writer: asyncio.Task[None] | None = None
        self._running = True

    async def submit_event(self, event: HelpdeskEvent) -> Intake:
        """Queue a delivery that carries the whole ticket; answers after commit."""
        payload = {"kind": event.kind.value, "ticket": ticket_to_json(event.ticket)}
        return await self._submit(event.source, event.delivery_key, payload)

    async def submit_fetch(
        self, *, source: str, kind: TicketEventKind, external_id: str, delivery_key: str
    ) -> Intake:
        """Queue a delivery that only names a ticket; applying it queues a fetch job."""
        payload = {"kind": kind.value, "fetch": external_id}
        return await self._submit(source, delivery_key, payload)

    async def _submit(self, source: str, delivery_key: str, payload: dict[str, Any]) -> Intake:
        answer: asyncio.Future[Intake] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Delivery(source, delivery_key, payload, answer))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())
        # The writer owns the commit: a caller that goes away must not cancel it.
        return await asyncio.shield(answer)

    async def _write(self) -> None:
        """Commit what waits, again and again, until nothing does."""
        while self._waiting:
            batch = self._waiting[: self._batch_size]
            del self._waiting[: len(batch)]
            try:
                new = await self._commit(batch)
            except Exception as exc:  # every caller gets the error: each answers 500
                for delivery in batch:
                    delivery.answer.set_exception(exc)
                continue
            for delivery in batch:
                key = (delivery.source, delivery.delivery_key)
                delivery.answer.set_result(Intake.ACCEPTED if key in new else Intake.DUPLICATE)
                new.discard(key)  # the same key twice in one batch: the second is a duplicate

    async def _commit(self, batch: Sequence[_Delivery]) -> set[tuple[str, str]]:
        unique: dict[tuple[str, str], _Delivery] = {}
        for delivery in batch:
            unique.setdefault((delivery.source, delivery.delivery_key), delivery)
        async with self._db.unit_of_work() as uow:
            new = await uow.intake.accept([(s, k, d.payload) for (s, k), d in unique.items()])
            await uow.commit()
        return new

    async def run(self) -> None:
        """Apply queued events until ``stop``; woken by every commit that queues some."""
        while self._running:
            try:
                applied = await self.apply_batch()
            except Exception:
                log.exception("intake.queue_failed")
                applied = 0
            if not applied and self._running:
                await self._db.intake_wakeup.wait(self._idle_poll)

    def stop(self) -> None:
        """Let ``run`` return after the batch in hand."""
        self._running = False
        self._db.intake_wakeup.set()

    async def apply_batch(self) -> int:
        """Apply the oldest queued events in one transaction; how many were taken."""
        async with self._db.unit_of_work() as uow:
            rows = await uow.intake.claim(limit=self._batch_size)
            if not rows:
                return 0
            ids = [row.id for row in rows if row.id is not None]
            try:
                for row in rows:
                    await self._apply(uow, row)
                await uow.intake.done(ids)
                await uow.commit()
                return len(rows)
            except Exception as exc:
                await uow.rollback()
                log.warning("intake.batch_failed", events=len(ids), error=repr(exc))
        # Something in the batch failed: apply each alone to find it; the rest go through.
        for event_id in ids:
            await self._apply_alone(event_id)
        return len(ids)

    async def _apply_alone(self, event_id: int) -> None:
        try:
            async with self._db.unit_of_work() as uow:
                row = await uow.session.get(IntakeEventRow, event_id)
                if row is None or row.failed:
                    return
                await self._apply(uow, row)
                await uow.intake.done([event_id])
                await uow.commit()
        except Exception as exc:
            async with self._db.unit_of_work() as uow:
                failed = await uow.intake.failed_attempt(
                    event_id=event_id, error=repr(exc), max_attempts=self._max_attempts
                )
                await uow.commit()
            if failed:
                log.error("intake.event_failed", event_id=event_id, error=repr(exc))
            else:
                log.warning("intake.event_retry", event_id=event_id, error=repr(exc))

    async def _apply(self, uow: UnitOfWork, row: IntakeEventRow) -> None:
        kind = TicketEventKind(row.payload["kind"])
        if "fetch" in row.payload:
            uow.jobs.enqueue(
                kind=FETCH_JOB,
                payload={
                    "source": row.source,
                    "kind": kind.value,
                    "external_id": row.payload["fetch"],
                },
                ticket_id=None,
            )
            log.info("intake.fetch_queued", source=row.source, external_id=row.payload["fetch"])
            return
        data = ticket_from_json(row.payload["ticket"])
        await self._intake.apply_in(uow, source=row.source, kind=kind, data=data)

    async def settled(self) -> None:
        """Wait until every event queued so far has been applied (or has failed).

        Callers bound the wait themselves (``asyncio.timeout``).
        """
        while True:
            async with self._db.unit_of_work() as uow:
                waiting, _ = await uow.intake.backlog()
            if not waiting and not self._waiting:
                return
            await asyncio.sleep(0.01)

    async def aclose(self) -> None:
        """Finish the commits in flight (shutdown)."""
        if self._writer is not None:
            with contextlib.suppress(Exception):
                await self._writer


def ticket_to_json(data: TicketData) -> dict[str, Any]:
    """A ticket snapshot as JSON-ready values (datetimes as ISO 8601)."""
    values = dataclasses.asdict(data)
    for name in ("created_at", "updated_at"):
        moment = values[name]
        values[name] = moment.isoformat() if moment is not None else None
    return values


def ticket_from_json(values: dict[str, Any]) -> TicketData:
    """The snapshot ``ticket_to_json`` wrote."""
    fields = dict(values)
    fields["client"] = Client(**fields["client"])
    for name in ("created_at", "updated_at"):
        moment = fields.get(name)
        fields[name] = datetime.fromisoformat(moment) if moment else None
    return TicketData(**fields)
