"""What the adapters render: a ticket as people see it, names resolved."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
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
    #: The time recorded on a closed ticket, over all its closes (None: none yet).
    time_spent: int | None = None
    #: An unassigned ticket its last assignee handed back to dispatch: who, and when.
    handed_back: Release | None = None
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
class Release:
    """An assignee let go of a ticket: handed it back (``to`` None) or it was reassigned."""

    #: Who did it: the assignee handing it back, or whoever reassigned it (None: the
    #: helpdesk).
    by: str | None
    at: datetime
    #: The new assignee, when reassigned.
    to: str | None = None


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
    #: The Telegram message of its card in the dispatch chat, once delivered.
    card_message_id: int | None = None
    #: Who wrote (the company, else the person): shown in burst digests.
    client: str = ""
    priority: str = ""
    #: A priority that is raised even outside working hours (``always_nag_priorities``).
    urgent: bool = False
    #: The nearest SLA target (``/queue``, ``/mine``).
    sla: SlaNote | None = None
    #: The stage of the status model (``/mine``).
    stage: str = ""


class DigestKind(StrEnum):
    """Why a digest lists its tickets."""

    #: Tickets due a reminder, too many for one reminder each.
    REMINDER = "reminder"
    #: New tickets whose cards would wait too long for Telegram's limits.
    BURST = "burst"


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


@dataclass(frozen=True, slots=True)
class ConnectorStatus:
    """Whether one configured connector works, as ``/healthz`` and the admins see it."""

    #: Which kind it is (``helpdesk``, ``tracker``).
    role: str
    #: Its slug (``helpdeskeddy``) and its name as people know it (``HelpDeskEddy``).
    kind: str
    title: str
    failing_since: datetime | None = None
    error: str | None = None
    #: The last failure was a refusal of the credentials (a wrong key), not an outage.
    refused: bool = False
    #: Tickets stop coming in while it fails (the intake reads tickets from it).
    blocks_intake: bool = False

    @property
    def ok(self) -> bool:
        """Whether it answered the last check."""
        return self.failing_since is None


class FetchProblem(StrEnum):
    """Why a ticket a webhook named could not be read."""

    #: The helpdesk refuses the credentials (a wrong or revoked key).
    REFUSED = "refused"
    #: The credentials lack the rights to read this ticket.
    FORBIDDEN = "forbidden"
    #: The helpdesk did not answer after every retry, or something else went wrong.
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class UnreadableTicket:
    """A ticket a webhook named that could not be read, shown in the dispatch chat."""

    external_id: str
    helpdesk: str
    problem: FetchProblem
    detail: str
    #: The failed fetch (the retry button reads its order) and the notice's message row.
    job_id: int
    notice_id: int


class ConnectorMessages(Protocol):
    """Connectors that stop working, and the tickets that could not be read meanwhile."""

    def connector_down(self, status: ConnectorStatus) -> Payload:
        """An admin's private message: a connector stopped working (one per outage)."""

    def connector_back(self, status: ConnectorStatus, *, since: datetime) -> Payload:
        """An admin's private message: the connector works again."""

    def unreadable_ticket(self, ticket: UnreadableTicket) -> Payload:
        """The dispatch chat's notice about a ticket that could not be read, with a retry."""

    def rereading_ticket(self, ticket: UnreadableTicket) -> Payload:
        """The notice while the ticket is read again."""

    def ticket_read(self, ticket: UnreadableTicket) -> Payload:
        """The notice once the ticket was read (its card follows)."""


class CardMessages(Protocol):
    """The dispatch card and the assignee's copy (implemented by the bot adapter)."""

    def card(
        self,
        ticket: TicketView,
        *,
        departments: Sequence[Department],
        browsing: Department | None = None,
        members: Sequence[Person] = (),
        load: Mapping[str, int] | None = None,
        reminder: ReminderNote | None = None,
        reassigning: bool = False,
        take: bool = False,
        alert: SlaNotice | None = None,
    ) -> Payload:
        """The dispatch card in its current state (a reminder when ``reminder`` is given,
        headed by an SLA warning or breach when ``alert`` is).

        ``load``: each member's open tickets by person key, shown on their button.

        ``reassigning``: an assigned ticket's card shows the departments (or, with
        ``browsing``, its people) to reassign it to. ``take``: an unassigned card offers
        "take it myself" to dispatchers who are also specialists.
        """

    def assignee_message(
        self, ticket: TicketView, *, dev_task: bool = False, next_line: int | None = None
    ) -> Payload:
        """The private message that hands a ticket to its assignee ("hand back" on it, and
        a "pass to line ``next_line``" button when there is a next line)."""

    def assignee_released(self, ticket: TicketView, release: Release) -> Payload:
        """The former assignee's message: the ticket was reassigned, or handed back."""


class DigestMessages(Protocol):
    """Digests in the dispatch chat (``dispatch.digests``), of reminders and of bursts."""

    def digest(
        self,
        tickets: Sequence[WaitingTicket],
        total: int,
        *,
        kind: DigestKind = DigestKind.REMINDER,
    ) -> Payload:
        """One message listing waiting tickets, a button per ticket to bring up its card.

        A burst digest lists each of its tickets (at most ``BURST_PAGE``, with client and
        priority); a reminder digest the first ones of ``total`` and how many more.
        """


class ReminderMessages(DigestMessages, Protocol):
    """What reminders post besides the card's own reminder."""

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

    def time_prompt_free(self, prompt: TimePromptView) -> Payload:
        """After "no charge": how long it took all the same, recorded unbilled."""

    def time_question(self, *, refused: str | None, free: bool = False) -> Payload:
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
    ConnectorMessages,
    SlaMessages,
    LineMessages,
    Protocol,
):
    """Every Telegram message of the features above: what the composition root hands out.

    Each service takes only its own feature's protocol.
    """
