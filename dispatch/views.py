"""What the adapters render: a ticket as people see it, names resolved."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from config.routing import Department, Person, RoutingConfig
from dispatch.crm.views import CrmCard
from dispatch.lines.views import HandoverNote, LineMessages, uses_lines
from dispatch.sla.views import SlaMessages, SlaNote, SlaNotice
from storage.models import TicketRow

#: A Telegram call's parameters (text, reply_markup, ...), stored in the outbox.
Payload = dict[str, Any]


@dataclass(frozen=True, slots=True)
class TicketView:
    """A ticket with its people and departments resolved to names."""

    id: int
    number: str
    subject: str
    body: str
    priority: str
    type: str
    client_name: str
    client_email: str
    client_company: str
    url: str | None
    created_at: datetime | None
    state: str
    department_name: str | None
    assignee_name: str | None
    assigned_by_name: str | None
    assigned_at: datetime | None
    writeback: str
    writeback_error: str | None
    #: Where the helpdesk files the ticket (department, RT queue), by name where known.
    helpdesk_department: str | None = None
    #: (used, package) minutes this month when the client is over its hour package.
    over_package: tuple[int, int] | None = None
    #: Who wrote, from which company, under which contract (when a CRM is set and answered).
    crm: CrmCard | None = None
    #: The stage of the status model (``config.sla.Stage``), "" when not known yet.
    stage: str = ""
    #: The support line, when the routing file uses lines (else None).
    line: int | None = None
    #: The nearest SLA target, when the ticket has clocks.
    sla: SlaNote | None = None
    #: How the ticket came to this line, when it was passed on.
    handover: HandoverNote | None = None

    @classmethod
    def of(cls, row: TicketRow, routing: RoutingConfig) -> TicketView:
        """Resolve a stored ticket against the routing file."""
        assert row.id is not None
        department = routing.department(row.department_key) if row.department_key else None
        assignee = routing.person(row.assignee_key) if row.assignee_key else None
        return cls(
            id=row.id,
            number=row.number,
            subject=row.subject,
            body=row.body,
            priority=row.priority,
            type=row.type,
            client_name=row.client_name,
            client_email=row.client_email,
            client_company=row.client_company,
            url=row.url,
            created_at=row.created_at,
            state=row.state,
            department_name=department.name if department else None,
            assignee_name=_name(routing, row.assignee_key, row.helpdesk_assignee, assignee),
            assigned_by_name=_actor_name(routing, row.assigned_by),
            assigned_at=row.assigned_at,
            writeback=row.writeback,
            writeback_error=row.writeback_error,
            helpdesk_department=_filed_under(routing, row.helpdesk_department),
            stage=row.stage,
            line=row.line if uses_lines(routing) else None,
        )


def _name(
    routing: RoutingConfig, key: str | None, helpdesk_ref: str | None, person: Person | None
) -> str | None:
    if person is not None:
        return person.name
    if key:
        return key
    return f"#{helpdesk_ref}" if helpdesk_ref else None


def _filed_under(routing: RoutingConfig, ref: str | None) -> str | None:
    if not ref:
        return None
    department = routing.department_by_helpdesk_id(ref)
    return department.name if department else ref


def _actor_name(routing: RoutingConfig, actor: str | None) -> str | None:
    if not actor:
        return None
    person = routing.person(actor)
    return person.name if person else actor


@dataclass(frozen=True, slots=True)
class ReminderNote:
    """Shown on a reminder: how many times the ticket was raised and how long it waits."""

    count: int
    waiting: timedelta


@dataclass(frozen=True, slots=True)
class WaitingTicket:
    """One line of a digest or a list: a ticket and how long it has waited."""

    ticket_id: int
    number: str
    subject: str
    waiting: timedelta
    assignee_name: str | None = None
    #: The nearest SLA target (``/queue``, ``/mine``).
    sla: SlaNote | None = None
    #: The stage of the status model (``/mine``).
    stage: str = ""


@dataclass(frozen=True, slots=True)
class TimePromptView:
    """A "how much time did it take?" prompt about one close of a ticket."""

    prompt_id: int
    ticket: TicketView
    round: int
    client_name: str | None


@dataclass(frozen=True, slots=True)
class PackageAlert:
    """A client's month passing a share of its hour package."""

    client_name: str
    month: str
    threshold: int
    used_minutes: int
    package_minutes: int


@dataclass(frozen=True, slots=True)
class MissingTime:
    """A closed ticket still without its time, for ``/missing``."""

    person_name: str
    number: str
    subject: str
    closed_at: datetime


@dataclass(frozen=True, slots=True)
class DevTaskView:
    """A developer task linked to a ticket, as the bot shows it."""

    task_id: int
    ticket: TicketView
    url: str | None
    developer_name: str | None
    statement: str
    closed: bool


class CardMessages(Protocol):
    """The dispatch card and the assignee's copy (implemented by the bot adapter)."""

    def card(
        self,
        ticket: TicketView,
        *,
        departments: Sequence[Department],
        browsing: Department | None = None,
        members: Sequence[Person] = (),
        reminder: ReminderNote | None = None,
        alert: SlaNotice | None = None,
    ) -> Payload:
        """The dispatch card in its current state (a reminder when ``reminder`` is given,
        headed by an SLA warning or breach when ``alert`` is)."""

    def assignee_message(
        self, ticket: TicketView, *, dev_task: bool = False, next_line: int | None = None
    ) -> Payload:
        """The private message that hands a ticket to its assignee (with a "pass to line
        ``next_line``" button when there is a next line)."""


class ReminderMessages(Protocol):
    """What reminders post besides the card's own reminder."""

    def digest(self, tickets: Sequence[WaitingTicket], total: int) -> Payload:
        """One message listing waiting tickets, a button per ticket to bring up its card."""

    def escalation(self, tickets: Sequence[WaitingTicket], reminders: int) -> Payload:
        """A lead's private message about tickets nobody took after several reminders."""


class ListMessages(Protocol):
    """``/queue`` and ``/mine``."""

    def ticket_list(self, tickets: Sequence[WaitingTicket], *, mine: bool) -> Payload:
        """``/queue`` (waiting tickets) or ``/mine`` (my open tickets)."""


class TimeMessages(Protocol):
    """Time prompts, package alerts and ``/missing``."""

    def time_prompt(self, prompt: TimePromptView) -> Payload:
        """Ask the assignee how long a closed ticket took, with quick answers."""

    def time_recorded(self, prompt: TimePromptView, *, minutes: int, billable: bool) -> Payload:
        """The prompt once answered: the recorded value and a "change" button."""

    def time_question(self, *, refused: str | None) -> Payload:
        """Ask for a typed value (after "other…"), saying why the last one was refused."""

    def package_alert(self, alert: PackageAlert) -> Payload:
        """The account manager's message about a client's hour package."""

    def missing_time(self, rows: Sequence[MissingTime]) -> Payload:
        """``/missing``: closed tickets without time, by person."""


class DevTaskMessages(Protocol):
    """Developer tasks in the specialists' and developers' private chats."""

    def dev_question(self, ticket: TicketView, *, question_id: int) -> Payload:
        """Ask the specialist what the developer should do (reply, or use the ticket text)."""

    def dev_pick(self, ticket: TicketView, developers: Sequence[Person], *, draft: int) -> Payload:
        """Choose the developer for a new task."""

    def dev_created(self, task: DevTaskView, *, for_developer: bool) -> Payload:
        """A task was created: to the specialist, or handed to the developer."""

    def dev_comment(self, task: DevTaskView, *, author: str, text: str) -> Payload:
        """A developer's comment, with a button to reply into the task."""

    def dev_state(self, task: DevTaskView) -> Payload:
        """The task was completed ("answer the client") or reopened."""

    def dev_reply_question(self, task: DevTaskView) -> Payload:
        """Ask for the text of a reply into the task."""

    def dev_task_list(self, tasks: Sequence[DevTaskView]) -> Payload:
        """``/tasks``: my developer tasks and their states."""


class Renderer(
    CardMessages,
    ReminderMessages,
    ListMessages,
    TimeMessages,
    DevTaskMessages,
    SlaMessages,
    LineMessages,
    Protocol,
):
    """Every Telegram message of the features above: what the composition root hands out.

    Each service takes only its own feature's protocol.
    """
