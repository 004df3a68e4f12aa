"""Callback data: one class per button family; buttons carry only ids and keys."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

from dispatch.stats.command import Section


class DispatchAction(StrEnum):
    """What a dispatch button does."""

    DEPARTMENT = "d"
    BACK = "b"
    ASSIGN = "a"
    RETRY = "r"
    #: An assigned ticket: show the departments (``dept`` empty) or a department's people.
    REASSIGN = "m"
    #: Reassign to ``person`` of ``dept``.
    MOVE = "v"
    #: Leave reassigning: the card as it was.
    CANCEL = "c"
    #: A dispatcher who is also a specialist takes the ticket.
    TAKE = "t"


class DispatchCb(CallbackData, prefix="dp"):
    """A dispatch card button: ``dp:<action>:<ticket id>:<department key>:<person key>``.

    Keys are at most 20 characters (config enforces it), so the packed value
    stays well under Telegram's 64 bytes.
    """

    action: DispatchAction
    ticket: int
    dept: str = ""
    person: str = ""


class HandAction(StrEnum):
    """What a button on the assignee's private message does."""

    #: Give the ticket back to dispatch.
    BACK = "b"


class HandCb(CallbackData, prefix="hb"):
    """A button on the assignee's private message: ``hb:<action>:<ticket id>``."""

    action: HandAction
    ticket: int


class NagAction(StrEnum):
    """What a reminder-list button does."""

    SHOW = "s"


class NagCb(CallbackData, prefix="ng"):
    """A digest or ``/queue`` button: ``ng:<action>:<ticket id>``."""

    action: NagAction
    ticket: int


class FetchAction(StrEnum):
    """What a button on a notice about an unreadable ticket does."""

    RETRY = "r"


class FetchCb(CallbackData, prefix="fx"):
    """ "Read again": ``fx:<action>:<failed job id>:<notice message row id>``."""

    action: FetchAction
    job: int
    notice: int


class TimeAction(StrEnum):
    """What a time-prompt button does."""

    SET = "s"
    OTHER = "o"
    #: "no charge": ask how long it took all the same; the answer is recorded unbilled.
    FREE = "f"
    CHANGE = "c"


class TimeCb(CallbackData, prefix="tm"):
    """A time-prompt button: ``tm:<action>:<prompt id>:<minutes>``."""

    action: TimeAction
    prompt: int
    minutes: int = 0


class DevAction(StrEnum):
    """What a developer-task button does."""

    START = "s"
    TEXT = "t"
    PICK = "p"
    REPLY = "r"


class DevCb(CallbackData, prefix="dv"):
    """A developer-task button: ``dv:<action>:<id>:<person key>``.

    ``ref`` is the ticket (START), the question message (TEXT, PICK) or the task (REPLY).
    """

    action: DevAction
    ref: int
    person: str = ""


class StatsCb(CallbackData, prefix="st"):
    """A ``/stats`` section button: ``st:<section>:<first day>:<last day>`` (days as YYYYMMDD).

    The period rides along, so a press days later still shows the same period.
    """

    section: Section
    first: int
    last: int


class SlaAction(StrEnum):
    """What an SLA button does."""

    SHOW = "s"


class SlaCb(CallbackData, prefix="sl"):
    """An ``/sla`` or SLA digest button: ``sl:<action>:<ticket id>``."""

    action: SlaAction
    ticket: int


class LineAction(StrEnum):
    """What a support-line button does."""

    START = "s"
    PICK = "p"


class LineCb(CallbackData, prefix="ln"):
    """A support-line button: ``ln:<action>:<id>:<department key>``.

    ``ref`` is the ticket (START) or the hand-over (PICK).
    """

    action: LineAction
    ref: int
    dept: str = ""
