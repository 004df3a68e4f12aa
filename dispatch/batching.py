"""Group work that arrives at the same moment into one call (one transaction).

A caller ``submit``s an item and waits for its own result. The first item starts a
worker task; every item submitted before the worker gets the event loop, and every
item that arrives while a batch is being applied, joins the next batch. So a lone
item waits for nothing (no timer) and takes ``apply_one``, and under load the batches
grow by themselves, up to ``max_items``. Each caller is answered only after its batch's
call returned (for intake: after the commit).

When the batch call raises, the items are applied one by one with ``apply_one``, so
a bad item fails alone and a race (two instances creating the same ticket) is
settled by the single path's own retry; that is the error path only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

import structlog

T = TypeVar("T")
R = TypeVar("R")

log = structlog.get_logger(__name__)

#: A webhook burst larger than this is applied in several transactions.
MAX_ITEMS = 64


class Batcher(Generic[T, R]):
    """Collects concurrently submitted items and applies them together."""

    def __init__(
        self,
        apply_many: Callable[[Sequence[T]], Awaitable[list[R]]],
        apply_one: Callable[[T], Awaitable[R]],
        *,
        max_items: int = MAX_ITEMS,
    ) -> None:
        self._apply_many = apply_many
        self._apply_one = apply_one
        self._max_items = max_items
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._worker: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        """Apply ``item`` with the others waiting now; its result once that is done."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._waiting.append((item, future))
        if self._worker is None or self._worker.done():
            self._worker = loop.create_task(self._run())
        return await future

    async def _run(self) -> None:
        while self._waiting:
            batch = self._waiting[: self._max_items]
            del self._waiting[: self._max_items]
            try:
                await self._apply(batch)
            except BaseException as error:  # cancelled (shut down): nobody waits forever
                stranded, self._waiting = batch + self._waiting, []
                for _, future in stranded:
                    if not future.done():
                        future.set_exception(error)
                raise

    async def _apply(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        if len(batch) == 1:  # alone: the single path is the cheaper one
            await self._settle_one(*batch[0])
            return
        items = [item for item, _ in batch]
        try:
            results = await self._apply_many(items)
        except Exception as error:  # the error path: each item on its own
            log.info("batch.fallback", items=len(items), error=type(error).__name__)
            for item, future in batch:
                await self._settle_one(item, future)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)

    async def _settle_one(self, item: T, future: asyncio.Future[R]) -> None:
        try:
            result = await self._apply_one(item)
        except Exception as error:
            if not future.done():
                future.set_exception(error)
        else:
            if not future.done():
                future.set_result(result)
