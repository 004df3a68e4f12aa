"""A ticket's view as the renderer gets it, for tests of what the bot draws."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

from dispatch.views import TicketView

BASE_VIEW = TicketView(
    id=1,
    number="A-1",
    subject="Принтер",
    body="Текст",
    priority="high",
    type="incident",
    client_name="Мария",
    client_email="",
    client_company="ООО Ромашка",
    url=None,
    created_at=datetime(2026, 11, 22, 7, 30, tzinfo=UTC),
    state="unassigned",
    department_name=None,
    assignee_name=None,
    assigned_by_name=None,
    assigned_at=None,
    writeback="none",
    writeback_error=None,
)


def view(**changes: Any) -> TicketView:
    """The base view (a Russian ticket, unassigned) with ``changes``."""
    return dataclasses.replace(BASE_VIEW, **changes)
