"""Reading Request Tracker 5's REST2 answers: plain values, linked records, message text.

Shared by the connector (``connectors/rt.py``) and its reading of correspondence
(``connectors/rt_replies.py``). RT serialises ids and numbers as strings, unset
dates as the epoch, and a linked record as ``{"id", "type", "_url"}`` plus the
fields a ``fields[Link]=...`` parameter asked for.
"""

from __future__ import annotations

from datetime import UTC, datetime

from connectors.helpdeskeddy_parse import html_to_text

__all__ = ["PER_PAGE", "JsonObject", "Params", "body_of", "items", "name", "parse_rt_datetime"]

PER_PAGE = 100  # the largest page REST2 serves
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

JsonObject = dict[str, object]
Params = tuple[tuple[str, str | int], ...]


def parse_rt_datetime(value: object) -> datetime | None:
    """An RT date as an aware UTC datetime; None when unset (the epoch) or unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: in UTC it falls off the calendar
        return None
    return None if moment <= _EPOCH else moment


def text(value: object) -> str:
    """A scalar as trimmed text; "" for null, booleans and containers."""
    if value is None or isinstance(value, bool):
        return ""
    return str(value).strip() if isinstance(value, str | int | float) else ""


def name(record: object) -> str:
    """A linked record's name: ``Name`` when expanded, else its id (a user's id is its name)."""
    if isinstance(record, dict):
        return text(record.get("Name")) or text(record.get("id"))
    return text(record)


def items(answer: object) -> list[JsonObject]:
    """The objects of a collection answer's ``items``; [] for anything else."""
    found = answer.get("items") if isinstance(answer, dict) else None
    return [item for item in found if isinstance(item, dict)] if isinstance(found, list) else []


def body_of(parts: list[JsonObject]) -> str:
    """A message's text: its first inline text/plain part, else its first text/html one."""
    inline = [p for p in parts if not text(p.get("Filename")) and text(p.get("Content"))]
    for wanted in ("text/plain", "text/html"):
        for part in inline:
            if text(part.get("ContentType")).lower().startswith(wanted):
                content = text(part.get("Content")).replace("\r\n", "\n")
                return html_to_text(content) if wanted == "text/html" else content
    return ""
