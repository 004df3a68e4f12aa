"""Helpers shared by the connector tests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from structlog.testing import capture_logs

from connectors.base import PermanentError, TransientError


class Closable(Protocol):
    async def aclose(self) -> None: ...


async def failures_and_logs(
    connector: Closable, calls: Sequence[Callable[[], Awaitable[object]]]
) -> tuple[list[str], list[dict[str, Any]]]:
    """Run calls that must fail; every error's text (with its causes) and every log line.

    Closes the connector. The texts are what a secret must never appear in.
    """
    errors: list[str] = []
    try:
        with capture_logs() as logs:
            for call in calls:
                try:
                    await call()
                except (PermanentError, TransientError) as exc:
                    errors.append(f"{exc!s} {exc!r} {exc.__cause__!r} {exc.__context__!r}")
    finally:
        await connector.aclose()
    return errors, logs
