"""Request budgets shared by the connectors that call the same outside system.

An outside system may count every request from this host in one bucket, whichever
connector sends it (a Bitrix24 portal serves both the tracker and the CRM). The
composition root makes one :class:`SharedBudgets` and hands it to every connector
through its settings (``ConnectorSettings.budgets``); each connector takes its
system's budget by key, so two connectors calling one system wait for one budget.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

B = TypeVar("B")


class SharedBudgets:
    """One budget per key (a system and its address), made on first request."""

    def __init__(self) -> None:
        self._budgets: dict[str, object] = {}

    def get(self, key: str, kind: type[B], make: Callable[[], B]) -> B:
        """The budget under ``key``, made with ``make`` the first time it is asked for."""
        budget = self._budgets.get(key)
        if budget is None:
            budget = self._budgets[key] = make()
        if not isinstance(budget, kind):
            raise TypeError(
                f"the budget {key!r} is a {type(budget).__name__}, not {kind.__name__}"
            )
        return budget

    def items(self) -> list[tuple[str, object]]:
        """Every budget handed out so far, by key (sorted)."""
        return sorted(self._budgets.items())

    def keys(self) -> list[str]:
        """The keys handed out so far, sorted."""
        return sorted(self._budgets)
