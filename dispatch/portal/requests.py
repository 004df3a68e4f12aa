"""New requests from the cabinet: opened in the helpdesk, then dispatched like any ticket.

A helpdesk that can create tickets (HelpDeskEddy ``POST /tickets/``) gets the
request with the user's e-mail, and its answer is applied through intake; for
the generic helpdesk Modest keeps the ticket itself. Either way the ticket then
flows through dispatch (card, reminders, assignment) like any other, is pinned to
the user's client, and keeps the attached files for the cabinet.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime
from pathlib import PurePosixPath

import structlog

from config.routing import RoutingConfig
from connectors.base import HelpdeskConnector
from connectors.types import Attachment, NewTicket
from dispatch.events import Source
from dispatch.intake import IntakeService
from dispatch.models import Client, HelpdeskEvent, TicketData, TicketEventKind
from dispatch.portal.client_index import ClientIndex
from dispatch.portal.models import NewRequest, PortalError, PortalUser
from storage.db import Database
from storage.portal_models import TicketAttachmentRow
from storage.types import utcnow

log = structlog.get_logger(__name__)

MAX_FILES = 5
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_SUBJECT = 200
MAX_DESCRIPTION = 20_000
PRIORITIES = ("low", "normal", "high", "urgent")
#: The files a client may attach, by extension; the type sent on is ours, not the browser's.
FILE_TYPES = {
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".txt": "text/plain",
    ".log": "text/plain",
    ".csv": "text/csv",
    ".doc": "application/msword",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xls": "application/vnd.ms-excel",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
    ".zip": "application/zip",
}


def file_type(filename: str) -> str | None:
    """The content type of an allowed file, None for a type the cabinet refuses."""
    return FILE_TYPES.get(PurePosixPath(filename.lower()).suffix)


def safe_filename(filename: str) -> str:
    """The last part of a browser-given name, without control characters, at most 120."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '"<>')
    return name[-120:] or "file"


class PortalRequests:
    """Opens the tickets clients ask for."""

    def __init__(
        self,
        database: Database,
        routing: RoutingConfig,
        helpdesk: HelpdeskConnector,
        intake: IntakeService,
        index: ClientIndex,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = database
        self._routing = routing
        self._helpdesk = helpdesk
        self._intake = intake
        self._index = index
        self._clock = clock

    def check(self, request: NewRequest) -> None:
        """Refuse a request that is incomplete or too large (a message id)."""
        if not request.subject.strip() or not request.description.strip():
            raise PortalError("Give a subject and a description.")
        if len(request.subject) > MAX_SUBJECT or len(request.description) > MAX_DESCRIPTION:
            raise PortalError("The text is too long.")
        if request.priority not in PRIORITIES:
            raise PortalError("Choose a priority.")
        if len(request.uploads) > MAX_FILES:
            raise PortalError("At most 5 files.")

    async def submit(self, user: PortalUser, request: NewRequest) -> str:
        """Open the ticket; its number."""
        self.check(request)
        client = self._routing.client(user.client_key)
        if client is None:
            raise PortalError("unknown client")
        subject = " ".join(request.subject.split())
        if self._helpdesk.capabilities.creates_tickets:
            new = NewTicket(
                subject=subject,
                description=request.description,
                requester_email=user.email,
                requester_name=user.name,
                priority=request.priority,
                attachments=tuple(
                    Attachment(u.filename, u.content_type, u.data) for u in request.uploads
                ),
            )
            data = await self._helpdesk.create_ticket(new)
            await self._intake.apply_fetched(
                source=self._helpdesk.slug,
                kind=TicketEventKind.CREATED,
                data=data,
                via=Source.PORTAL,
            )
        else:
            data = self._own_ticket(user, client.name, subject, request)
            event = HelpdeskEvent(
                source=self._helpdesk.slug,
                kind=TicketEventKind.CREATED,
                delivery_key=f"portal:{data.external_id}",
                ticket=data,
            )
            await self._intake.accept_event(event, via=Source.PORTAL)
        await self._keep(user, data, request)
        log.info(
            "portal.request",
            client=client.key,
            email=user.email,
            number=data.number,
            files=len(request.uploads),
        )
        return data.number

    def _own_ticket(
        self, user: PortalUser, company: str, subject: str, request: NewRequest
    ) -> TicketData:
        code = secrets.token_hex(4).upper()
        return TicketData(
            external_id=f"portal-{code.lower()}",
            number=f"W-{code}",
            subject=subject,
            body=request.description,
            priority=request.priority,
            client=Client(name=user.name, email=user.email, company=company),
            created_at=self._clock(),
            channel="portal",
        )

    async def _keep(self, user: PortalUser, data: TicketData, request: NewRequest) -> None:
        async with self._db.unit_of_work() as uow:
            ticket = await uow.tickets.get_by_external(
                source=self._helpdesk.slug, external_id=data.external_id
            )
            if ticket is None or ticket.id is None:
                raise PortalError("the ticket was not stored")
            await self._index.pin(uow, ticket_id=ticket.id, client_key=user.client_key)
            for upload in request.uploads:
                await uow.portal.add(
                    TicketAttachmentRow(
                        ticket_id=ticket.id,
                        filename=upload.filename,
                        content_type=upload.content_type,
                        size=len(upload.data),
                        data=upload.data,
                    )
                )
            await uow.commit()
