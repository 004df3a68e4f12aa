"""Errors and small helpers shared by the webhook parsers of every helpdesk."""

from __future__ import annotations

from connectors.types import TicketEventKind

#: Short event names a helpdesk automation rule may send instead of the full value.
_SHORT_EVENTS: dict[str, TicketEventKind] = {
    kind.value.removeprefix("ticket."): kind for kind in TicketEventKind
}


class PayloadError(ValueError):
    """A webhook body is missing a field or has an invalid one.

    ``field`` is the dotted path of the offending field (``ticket.subject``),
    or ``"$"`` when the body as a whole is unusable; ``message`` says why.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def parse_event_kind(value: str) -> TicketEventKind | None:
    """Map ``ticket.created`` or its short form ``created`` to the event kind.

    Case and surrounding whitespace are ignored; an unknown name gives None.
    """
    name = value.strip().lower()
    try:
        return TicketEventKind(name)
    except ValueError:
        return _SHORT_EVENTS.get(name)


def known_event_names() -> str:
    """The accepted event names, for error messages."""
    return ", ".join(kind.value for kind in TicketEventKind)
