"""The quality check of staff replies: forbidden words and patterns.

Every staff reply the helpdesk shows arrives as a ``first_staff_reply`` or
``staff_replied`` event with its text. A reply holding a word of
``quality.forbidden_words`` or a match of ``quality.forbidden_patterns`` becomes
a ``forbidden_word`` event in the ticket's history (counted by ``/stats``), and
each lead gets one private message with the ticket, the author and the excerpt,
the words marked. Intake records each reply once, so each is checked once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

import structlog

from config.quality import QualitySection
from config.routing import Role, RoutingConfig
from dispatch.events import ActorKind, EventKind, TicketEvent, TicketLog
from dispatch.views import Payload
from storage.db import UnitOfWork
from storage.models import TicketRow

log = structlog.get_logger(__name__)

#: Characters shown around the first match.
CONTEXT = 60
#: The longest excerpt a lead is sent.
MAX_EXCERPT = 300


@dataclass(frozen=True, slots=True)
class Hit:
    """Where a forbidden term occurs in a text."""

    term: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Excerpt:
    """A piece of the reply: ``(text, marked)`` pieces, the matches marked."""

    pieces: tuple[tuple[str, bool], ...]

    @property
    def plain(self) -> str:
        """The excerpt as one line of text."""
        return "".join(text for text, _ in self.pieces)


@dataclass(frozen=True, slots=True)
class QualityAlert:
    """What a lead is told about one reply."""

    ticket_number: str
    subject: str
    url: str | None
    author: str
    terms: tuple[str, ...]
    excerpt: Excerpt


class QualityRenderer(Protocol):
    """Draws the leads' message (the bot's implementation lives in ``bot``)."""

    def forbidden_words(self, alert: QualityAlert) -> Payload:
        """One message about a reply that held forbidden words."""
        ...


class ForbiddenWords:
    """Finds the configured words (whole words, any case) and patterns in a text."""

    def __init__(self, section: QualitySection) -> None:
        self._terms = [(word, _word_regex(word)) for word in section.forbidden_words]
        self._terms += [
            (pattern, re.compile(pattern, re.IGNORECASE)) for pattern in section.forbidden_patterns
        ]

    def find(self, text: str) -> list[Hit]:
        """Every match, in text order; of overlapping matches the first one."""
        hits = sorted(
            (
                Hit(term, m.start(), m.end())
                for term, regex in self._terms
                for m in regex.finditer(text)
                if m.end() > m.start()
            ),
            key=lambda hit: (hit.start, -hit.end),
        )
        kept: list[Hit] = []
        for hit in hits:
            if not kept or hit.start >= kept[-1].end:
                kept.append(hit)
        return kept


def _word_regex(word: str) -> re.Pattern[str]:
    # \w is Unicode-aware: "бли" does not match inside "близко", nor "блин" inside "блинчик".
    body = r"\s+".join(re.escape(part) for part in word.split())
    return re.compile(rf"(?<!\w){body}(?!\w)", re.IGNORECASE)


def excerpt(text: str, hits: list[Hit]) -> Excerpt:
    """The text around the first hit, every hit inside it marked."""
    flat = re.sub(r"\s", " ", text)  # one character for one: the offsets stay right
    first = hits[0]
    start = max(0, first.start - CONTEXT)
    end = max(first.end, min(len(flat), first.end + CONTEXT, start + MAX_EXCERPT))
    pieces: list[tuple[str, bool]] = [("…", False)] if start > 0 else []
    position = start
    for hit in hits:
        if hit.start < position or hit.end > end:
            continue
        pieces += [(flat[position : hit.start], False), (flat[hit.start : hit.end], True)]
        position = hit.end
    pieces.append((flat[position:end], False))
    if end < len(flat):
        pieces.append(("…", False))
    return Excerpt(tuple(piece for piece in pieces if piece[0]))


class QualityCheck:
    """Subscribes to staff replies and reports the ones with forbidden words."""

    def __init__(self, routing: RoutingConfig, renderer: QualityRenderer) -> None:
        self._routing = routing
        self._renderer = renderer
        self._words = ForbiddenWords(routing.quality)
        self._log: TicketLog | None = None

    def subscribe(self, events: TicketLog) -> None:
        """Follow staff replies (nothing to do when ``quality`` lists nothing)."""
        if not self._routing.quality.enabled:
            return
        self._log = events
        events.subscribe([EventKind.FIRST_STAFF_REPLY, EventKind.STAFF_REPLIED], self._replied)

    async def _replied(self, uow: UnitOfWork, ticket: TicketRow, event: TicketEvent) -> None:
        text = event.detail.get("text")
        if not isinstance(text, str) or not text:
            return
        hits = self._words.find(text)
        if not hits:
            return
        assert self._log is not None
        terms = tuple(dict.fromkeys(hit.term for hit in hits))
        shown = excerpt(text, hits)
        await self._log.record(
            uow,
            ticket,
            EventKind.FORBIDDEN_WORD,
            event.actor,
            detail={
                "reply": event.detail.get("reply"),
                "words": list(terms),
                "excerpt": shown.plain,
            },
            at=event.at,
        )
        alert = QualityAlert(
            ticket.number, ticket.subject, ticket.url, self._author(event), terms, shown
        )
        payload = self._renderer.forbidden_words(alert)
        leads = [p for p in self._routing.people if p.has_role(Role.LEAD) and p.telegram_id]
        for lead in leads:
            assert lead.telegram_id is not None
            uow.outbox.enqueue_plain(chat_id=lead.telegram_id, payload=payload)
        log.info(
            "quality.forbidden_words", ticket_id=ticket.id, terms=len(terms), leads=len(leads)
        )

    def _author(self, event: TicketEvent) -> str:
        if event.actor.kind == ActorKind.PERSON and event.actor.ref:
            person = self._routing.person(event.actor.ref)
            if person is not None:
                return person.name
        named = event.detail.get("author")
        if isinstance(named, str) and named:
            return named
        return f"#{event.actor.ref}" if event.actor.ref else "?"
