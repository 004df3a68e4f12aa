"""Tables. Every state change and the Telegram messages it causes live here.

Telegram chat ids exceed 32 bits (``-100…`` supergroups), so they are BigInteger.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, UniqueConstraint
from sqlalchemy.orm import relationship
from sqlmodel import Field, Relationship, SQLModel

from storage.types import UTCDateTime, utcnow


class MessageKind(StrEnum):
    """Which Telegram message of a ticket a row stands for."""

    CARD = "card"
    ASSIGNEE = "assignee"
    REMINDER = "reminder"
    DIGEST = "digest"
    #: A card taken out of the outbox before it went out: a burst digest lists the ticket.
    WITHDRAWN = "withdrawn"
    ESCALATION = "escalation"
    TIME_PROMPT = "time_prompt"
    TIME_QUESTION = "time_question"
    #: The typed-answer question of a "no charge" time (the answer is not billed).
    TIME_QUESTION_FREE = "time_q_free"
    NOTICE = "notice"
    STATS = "stats"


class OutboxOp(StrEnum):
    """What the sender does with an outbox row."""

    SEND = "send"
    EDIT = "edit"
    DELETE = "delete"


class OutboxStatus(StrEnum):
    """Lifecycle of an outbox row."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    SUPERSEDED = "superseded"
    FAILED = "failed"
    BLOCKED = "blocked"


class JobStatus(StrEnum):
    """Lifecycle of a background job (helpdesk fetch, write-back)."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class TicketRow(SQLModel, table=True):
    """A helpdesk ticket as Modest tracks it."""

    __tablename__ = "ticket"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_ticket_source_external"),
        # Statistics count the tickets open at a moment from the index alone.
        Index("ix_ticket_state_closed_at", "state", "closed_at", "received_at", "assigned_at"),
        # /queue and /mine read their first tickets in order, whatever the table holds.
        Index("ix_ticket_state_received_at", "state", "received_at"),
        Index("ix_ticket_assignee_state_received_at", "assignee_key", "state", "received_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=32)
    external_id: str = Field(max_length=64)
    number: str = Field(max_length=64)
    subject: str
    body: str = ""
    status: str = Field(default="", max_length=64)
    priority: str = Field(default="", max_length=64)
    type: str = Field(default="", max_length=64)
    client_name: str = ""
    client_email: str = ""
    client_company: str = ""
    url: str | None = None
    helpdesk_department: str | None = Field(default=None, max_length=64)
    helpdesk_assignee: str | None = Field(default=None, max_length=64)
    created_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    state: str = Field(default="unassigned", max_length=16)
    department_key: str | None = Field(default=None, max_length=32)
    assignee_key: str | None = Field(default=None, max_length=32)
    assigned_by: str | None = Field(default=None, max_length=64)
    assigned_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: When the helpdesk last changed the ticket, as of the newest snapshot applied.
    helpdesk_updated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    writeback: str = Field(default="none", max_length=16)
    writeback_error: str | None = None
    version: int = 0
    #: Where the ticket came in (email, web, phone, chat, ...), when the helpdesk says.
    channel: str = Field(default="", max_length=32)
    #: The stage of the status model its helpdesk status maps to (``config.sla.Stage``).
    stage: str = Field(default="", max_length=16)
    #: The support line working on it (1, 2, 3): its department's, or the one it was passed to.
    line: int = 1


class TelegramMessageRow(SQLModel, table=True):
    """A Telegram message that belongs to a ticket (its card, the assignee's copy).

    ``message_id`` is filled in when the sender has delivered the first send,
    so edits queued before that still find their message.
    """

    __tablename__ = "telegram_message"
    __table_args__ = (Index("ix_telegram_message_chat_message", "chat_id", "message_id"),)

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    kind: str = Field(max_length=16)
    chat_id: int = Field(sa_type=BigInteger)
    message_id: int | None = Field(default=None, sa_type=BigInteger)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class OutboxRow(SQLModel, table=True):
    """One Telegram call to make after the transaction that caused it commits."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_chat_id", "status", "chat_id", "id"),
        # The oldest undelivered row (/healthz) and the prune of delivered ones.
        Index("ix_outbox_status_created_at", "status", "created_at"),
        # When the first pending row may go: a pass looks for heads only then.
        Index("ix_outbox_status_not_before", "status", "not_before"),
    )

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(sa_type=BigInteger)
    op: str = Field(max_length=8)
    target_id: int | None = Field(default=None, foreign_key="telegram_message.id", index=True)
    #: The message a send answers (Telegram's reply), by our row id: its Telegram id is
    #: known only once that message was delivered.
    reply_to_id: int | None = Field(default=None, foreign_key="telegram_message.id")
    ticket_id: int | None = None
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    status: str = Field(default=OutboxStatus.PENDING, max_length=16)
    #: Network errors and 5xx in a row; a 429 (Telegram answered) sets it back to 0.
    attempts: int = 0
    not_before: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = None
    #: The message of ``target_id``, set only when the row is queued with a message not
    #: yet flushed: the flush then inserts both and fills ``target_id``, so queueing a
    #: card costs no flush of its own. Never loaded (``noload``): read ``target_id``.
    target: TelegramMessageRow | None = Relationship(
        sa_relationship=relationship(
            "TelegramMessageRow", foreign_keys="[OutboxRow.target_id]", lazy="noload"
        )
    )


class BlockedChatRow(SQLModel, table=True):
    """A chat where Telegram refuses our messages (bot blocked, kicked, deleted)."""

    __tablename__ = "blocked_chat"

    chat_id: int = Field(sa_type=BigInteger, primary_key=True)
    reason: str
    blocked_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WebhookDeliveryRow(SQLModel, table=True):
    """A webhook delivery already accepted: the same key again is a duplicate."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (UniqueConstraint("source", "delivery_key", name="uq_delivery_source_key"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=32)
    delivery_key: str = Field(max_length=128)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


class JobRow(SQLModel, table=True):
    """Work to do after commit that talks to a helpdesk: fetch a ticket, write back."""

    __tablename__ = "job"
    __table_args__ = (
        Index("ix_job_status_not_before", "status", "not_before"),
        Index("ix_job_status_created_at", "status", "created_at"),  # the prune of done jobs
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)
    ticket_id: int | None = None
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    status: str = Field(default=JobStatus.PENDING, max_length=16)
    attempts: int = 0
    not_before: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_error: str | None = None


class NagRow(SQLModel, table=True):
    """Reminder state of an unassigned ticket: when it is raised next, how often it was."""

    __tablename__ = "nag"
    __table_args__ = (Index("ix_nag_active_next_at", "active", "next_at"),)

    ticket_id: int = Field(foreign_key="ticket.id", primary_key=True)
    active: bool = True
    next_at: datetime = Field(sa_type=UTCDateTime)
    count: int = 0
    escalations: int = 0
    last_message_id: int | None = Field(default=None, foreign_key="telegram_message.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SyncStateRow(SQLModel, table=True):
    """Small named values that background work keeps between runs (watermarks)."""

    __tablename__ = "sync_state"

    key: str = Field(primary_key=True, max_length=64)
    value: str
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class LeaseRow(SQLModel, table=True):
    """A named lease: which instance may do a singleton job (e.g. poll Telegram) until when."""

    __tablename__ = "lease"

    name: str = Field(primary_key=True, max_length=64)
    holder: str = Field(max_length=64)
    expires_at: datetime = Field(sa_type=UTCDateTime)


class TimePromptRow(SQLModel, table=True):
    """ "How much time did it take?" asked of a ticket's assignee after a close.

    ``round`` counts the closes of the ticket: a reopened and closed-again ticket
    is asked again, and its entries add up.
    """

    __tablename__ = "time_prompt"
    __table_args__ = (
        UniqueConstraint("ticket_id", "round", name="uq_time_prompt_ticket_round"),
        Index("ix_time_prompt_state_next", "state", "next_ask_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id")
    round: int = 1
    person_key: str = Field(max_length=32)
    chat_id: int = Field(sa_type=BigInteger)
    state: str = Field(default="asked", max_length=16)
    message_id: int | None = Field(default=None, foreign_key="telegram_message.id")
    question_id: int | None = Field(default=None, foreign_key="telegram_message.id")
    asked_count: int = 1
    next_ask_at: datetime = Field(sa_type=UTCDateTime)
    closed_at: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class TimeEntryRow(SQLModel, table=True):
    """Time spent on a ticket by a person, for one close of it."""

    __tablename__ = "time_entry"
    __table_args__ = (
        UniqueConstraint("ticket_id", "round", name="uq_time_entry_ticket_round"),
        Index("ix_time_entry_client_month", "client_key", "month"),
        # A period's time per person, read from the index alone.
        Index("ix_time_entry_closed_on", "closed_on", "person_key", "billable", "minutes"),
    )

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id")
    round: int = 1
    person_key: str = Field(max_length=32)
    minutes: int
    billable: bool = True
    client_key: str | None = Field(default=None, max_length=32)
    closed_on: date
    month: str = Field(max_length=7)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class MonthLockRow(SQLModel, table=True):
    """A client's month whose report was issued: its time entries can no longer change."""

    __tablename__ = "month_lock"

    client_key: str = Field(primary_key=True, max_length=32)
    month: str = Field(primary_key=True, max_length=7)
    locked_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PackageAlertRow(SQLModel, table=True):
    """A package threshold (80, 100 %) already announced for a client's month."""

    __tablename__ = "package_alert"

    client_key: str = Field(primary_key=True, max_length=32)
    month: str = Field(primary_key=True, max_length=7)
    threshold: int = Field(primary_key=True)
    sent_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class DevTaskRow(SQLModel, table=True):
    """A developer task in a tracker (Bitrix24, Redmine) linked to a ticket."""

    __tablename__ = "dev_task"
    __table_args__ = (UniqueConstraint("tracker", "external_id", name="uq_dev_task_tracker_id"),)

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    tracker: str = Field(max_length=32)
    external_id: str = Field(max_length=64)
    url: str | None = None
    developer_key: str | None = Field(default=None, max_length=32)
    specialist_key: str | None = Field(default=None, max_length=32)
    statement: str = ""
    status: str = Field(default="", max_length=64)
    closed: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class DevTaskCommentRow(SQLModel, table=True):
    """A tracker comment already carried into the ticket (or written by Modest itself)."""

    __tablename__ = "dev_task_comment"
    __table_args__ = (
        UniqueConstraint("task_id", "external_id", name="uq_dev_task_comment_task_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="dev_task.id")
    external_id: str = Field(max_length=64)
    ours: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class TicketEventRow(SQLModel, table=True):
    """One entry of a ticket's history: append-only, never updated or deleted.

    ``actor_kind`` is ``person`` (``actor`` a routing-file person key),
    ``helpdesk`` (``actor`` the helpdesk's user id, if known) or ``system``;
    ``changes`` maps each changed field to ``[old, new]``; ``detail`` holds what
    else the kind tells (how an assignment was made, a task id, minutes).
    """

    __tablename__ = "ticket_event"
    __table_args__ = (
        Index("ix_ticket_event_ticket_id", "ticket_id", "id"),
        # ticket_id and the actor too: statistics read them for a period's events of a
        # kind from the index alone, without a lookup of each row.
        Index("ix_ticket_event_kind_at", "kind", "at", "ticket_id", "actor_kind", "actor"),
    )

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id")
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    kind: str = Field(max_length=32)
    actor_kind: str = Field(max_length=16)
    actor: str | None = Field(default=None, max_length=64)
    source: str = Field(max_length=16)
    changes: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class CrmCacheRow(SQLModel, table=True):
    """A CRM look-up (a requester, a company with its contract), reused for ``cache_ttl``.

    In the database rather than in memory: every instance reuses it, a restart keeps
    it, and the code that bills time reads a contract here without calling the CRM.
    """

    __tablename__ = "crm_cache"

    key: str = Field(primary_key=True, max_length=200)
    value: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    fetched_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class TicketCrmRow(SQLModel, table=True):
    """Who a ticket's requester is in the CRM, as found once the ticket came in."""

    __tablename__ = "ticket_crm"

    ticket_id: int = Field(foreign_key="ticket.id", primary_key=True)
    found: bool = False
    contact_id: str | None = Field(default=None, max_length=64)
    company_id: str | None = Field(default=None, max_length=64, index=True)
    #: The requester as the CRM knew them (name, position): what the card shows.
    requester: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    looked_up_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CrmNoteRow(SQLModel, table=True):
    """A note written to a company's CRM timeline for one close of a ticket."""

    __tablename__ = "crm_note"

    ticket_id: int = Field(foreign_key="ticket.id", primary_key=True)
    round: int = Field(primary_key=True)
    company_id: str = Field(max_length=64)
    note_id: str | None = Field(default=None, max_length=64)
    written_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WeeklyDigestRow(SQLModel, table=True):
    """A week whose statistics digest went to the leads (``week`` is its Monday).

    Inserting the row is the claim: of two instances, or a run after a restart,
    only the one whose insert went in sends the digest.
    """

    __tablename__ = "weekly_digest"

    week: date = Field(primary_key=True)
    sent_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SlaClockRow(SQLModel, table=True):
    """One SLA clock of a ticket (``first_response`` or ``resolution``).

    Time counted so far is ``used_s`` plus what the calendar counts from ``since``
    (None: paused or stopped; ``done_at`` set: stopped). The policy's target and
    calendar are copied in when it is chosen, so a later edit of the routing file
    does not move a running clock. ``due_at`` is when a running clock reaches its
    target; ``next_check_at`` when the scan next has something to say (the warning,
    then ``due_at`` for the breach), None when nothing is pending.
    """

    __tablename__ = "sla_clock"
    __table_args__ = (Index("ix_sla_clock_next_check_at", "next_check_at"),)

    ticket_id: int = Field(foreign_key="ticket.id", primary_key=True)
    target: str = Field(primary_key=True, max_length=16)
    policy: str = Field(max_length=32)
    calendar: str = Field(max_length=16)
    target_s: int
    used_s: int = 0
    since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    warned: bool = False
    breached: bool = False
    #: First response only: the assignment counts (the helpdesk tells no replies).
    by_assignment: bool = False
    started_at: datetime = Field(sa_type=UTCDateTime)
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    next_check_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class LineHandoverRow(SQLModel, table=True):
    """A ticket passed to the next support line, from the question to the hand-over."""

    __tablename__ = "line_handover"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    person_key: str = Field(max_length=32)
    from_line: int
    to_line: int
    question_id: int | None = Field(default=None, foreign_key="telegram_message.id")
    comment: str = ""
    department_key: str | None = Field(default=None, max_length=32)
    #: ``asked`` (the department is being chosen), ``done``.
    state: str = Field(default="asked", max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
