"""structlog setup: one JSON line per event on stdout, secrets never included."""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

_SECRET_KEYS = ("token", "secret", "password", "api_key", "authorization")


def _drop_secrets(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> Any:
    # Belt and braces: a secret passed by mistake as a field never reaches the log.
    for key in list(event):
        if any(marker in key.lower() for marker in _SECRET_KEYS):
            event[key] = "***"
    return event


class _MigrationsBelowInfo(logging.Filter):
    """Alembic's INFO lines (every revision, the DDL mode) count as DEBUG.

    Modest says in one line of its own which migrations ran (``storage.migrated``).
    """

    def __init__(self, level: str) -> None:
        super().__init__()
        self._shown = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.split(".")[0] == "alembic" and record.levelno == logging.INFO:
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return self._shown <= logging.DEBUG
        return True


def configure_logging(
    level: str = "INFO", fmt: str = "json", stream: TextIO | None = None
) -> None:
    """Route structlog and stdlib logging to ``stream`` (stdout) in the chosen format."""
    out = stream or sys.stdout
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _drop_secrets,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
        ),
        # Without a stream, whatever sys.stdout is when a line is written: a logger
        # cached on first use must not hold on to the stdout of that moment.
        logger_factory=structlog.PrintLoggerFactory(stream),
        cache_logger_on_first_use=True,
    )
    _route_stdlib_logging(level, renderer, out)


def _route_stdlib_logging(level: str, renderer: Any, out: TextIO) -> None:
    # Libraries (aiogram, alembic, apscheduler) log through stdlib logging: render
    # their records the same way, so every line of the service is one JSON object.
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processor=renderer,
            foreign_pre_chain=[
                structlog.stdlib.add_logger_name,
                structlog.processors.add_log_level,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
            ],
        )
    )
    handler.addFilter(_MigrationsBelowInfo(level))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    # Chatty at INFO about things our own lines already say.
    # httpx logs every request URL at INFO, and a Bitrix24 webhook URL holds its secret.
    for name in ("aiogram.event", "aiogram.dispatcher", "apscheduler", "httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
