"""New requests from the cabinet (limits, both helpdesk kinds) and the tariff request."""

from __future__ import annotations

from sqlmodel import func, select

from connectors.fake import FakeHelpdesk
from dispatch.portal.requests import MAX_FILE_BYTES
from storage.models import OutboxRow, TicketRow
from storage.portal_models import ClientTicketRow, TicketAttachmentRow
from tests.support.buttons import wait_message
from tests.support.harness import Harness
from tests.support.portal import DMITRY, new_request, running_portal, signed_in
from tests.support.telegram_emulator import TelegramEmulator

PDF = b"%PDF-1.4\n%fake but small\n"


async def _stored(h: Harness) -> tuple[int, int, int]:
    async with h.service.database.unit_of_work() as uow:
        counts = []
        for table in (TicketRow, TicketAttachmentRow, OutboxRow):
            statement = select(func.count()).select_from(table)
            counts.append(int((await uow.session.execute(statement)).scalar_one()))
    return counts[0], counts[1], counts[2]


async def test_a_file_over_10_mb_is_refused_with_413_and_nothing_is_stored(
    tg: TelegramEmulator, sqlite_url: str
) -> None:
    helpdesk = FakeHelpdesk()
    async with running_portal(tg, sqlite_url, helpdesk=helpdesk) as h:
        user = await signed_in(h, "acme", "boss@acme.example")
        before = await _stored(h)
        big = b"x" * (MAX_FILE_BYTES + 1)
        files = [
            ("files", ("ok.pdf", PDF, "application/pdf")),
            ("files", ("big.log", big, "text/plain")),
        ]
        answer = await new_request(user, files=files)
        assert answer.status_code == 413
        assert "The file is too large." in answer.text
        six = [("files", (f"f{i}.txt", b"data", "text/plain")) for i in range(6)]
        assert (await new_request(user, files=six)).status_code == 413
        script = [("files", ("page.html", b"<script>", "text/html"))]
        refused = await new_request(user, files=script)
        assert refused.status_code == 415
        assert "This type of file cannot be attached." in refused.text
        assert await _stored(h) == before
        assert helpdesk.created == []
        exactly = [("files", ("max.txt", b"y" * MAX_FILE_BYTES, "text/plain"))]
        assert (await new_request(user, files=exactly)).status_code == 303
        await user.aclose()


async def test_a_request_without_a_helpdesk_api_is_kept_by_modest_and_dispatched(
    tg: TelegramEmulator, sqlite_url: str
) -> None:
    async with running_portal(tg, sqlite_url) as h:
        # The requester's address matches no client rule: the ticket is pinned to acme.
        user = await signed_in(h, "acme", "boss@partner.example")
        files = [
            ("files", ("screen.png", b"\x89PNG\r\n", "image/png")),
            ("files", ("отчёт.pdf", PDF, "application/octet-stream")),
        ]
        empty = await new_request(user, subject=" ")
        assert empty.status_code == 400
        assert "Give a subject and a description." in empty.text
        answer = await new_request(user, subject="Export is <b>broken</b>", files=files)
        assert answer.status_code == 303
        location = answer.headers["Location"]
        assert location.startswith("/portal/tickets/W-")
        assert location.endswith("?created=1")
        number = location.split("/")[3].split("?")[0]
        card = await wait_message(tg, h.chat_id, number)
        assert "Export is <b>broken</b>" in card.text  # shown as typed, not as markup
        assert "high" in card.text
        assert any(label == "Support" for label, _, _ in tg.buttons(h.chat_id, card.message_id))
        page = await user.get(location)
        assert f"Your request is registered as #{number}." in page.text
        assert "screen.png" in page.text
        assert "отчёт.pdf" in page.text
        [ticket] = await h.tickets()
        assert ticket.channel == "portal"
        assert ticket.client_email == "boss@partner.example"
        async with h.service.database.unit_of_work() as uow:
            pin = await uow.session.get(ClientTicketRow, ticket.id)
            rows = (await uow.session.execute(select(TicketAttachmentRow))).scalars().all()
        assert pin is not None
        assert (pin.client_key, pin.pinned) == ("acme", True)
        assert [(r.filename, r.content_type) for r in rows] == [
            ("screen.png", "image/png"),
            ("отчёт.pdf", "application/pdf"),
        ]
        download = await user.get(f"/portal/tickets/{number}/files/{rows[1].id}")
        assert download.content == PDF
        assert download.headers["Content-Disposition"].startswith("attachment;")
        assert download.headers["X-Content-Type-Options"] == "nosniff"
        await user.aclose()


async def test_a_request_goes_to_a_helpdesk_that_can_create_tickets(
    tg: TelegramEmulator, sqlite_url: str
) -> None:
    helpdesk = FakeHelpdesk()
    async with running_portal(tg, sqlite_url, helpdesk=helpdesk) as h:
        user = await signed_in(h, "acme", "boss@acme.example")
        files = [("files", ("log.txt", b"trace", "text/plain"))]
        answer = await new_request(user, files=files)
        assert answer.status_code == 303
        assert answer.headers["Location"].startswith("/portal/tickets/F-9001")
        [created] = helpdesk.created
        assert created.requester_email == "boss@acme.example"
        assert created.priority == "high"
        assert [(a.filename, a.content_type, a.data) for a in created.attachments] == [
            ("log.txt", "text/plain", b"trace")
        ]
        card = await wait_message(tg, h.chat_id, "F-9001")
        assert "Export is broken" in card.text
        [ticket] = await h.tickets()
        assert (ticket.source, ticket.external_id) == ("fake", "9001")
        async with h.service.database.unit_of_work() as uow:
            events = await uow.events.for_ticket(ticket_id=ticket.id or 0)
        assert [(e.kind, e.source) for e in events] == [("created", "portal")]
        assert "Export is broken" in (await user.get("/portal/tickets")).text
        await user.aclose()


async def test_a_tariff_request_reaches_the_manager_in_telegram(
    tg: TelegramEmulator, sqlite_url: str
) -> None:
    async with running_portal(tg, sqlite_url) as h:
        user = await signed_in(h, "acme", "boss@acme.example")
        empty = await user.form("/portal/contract/tariff", {"text": "  "}, page="/portal/contract")
        assert empty.status_code == 400
        assert "Write what you would like to change." in empty.text
        sent = await user.form(
            "/portal/contract/tariff",
            {"text": "We need 40 hours <b>from</b> January"},
            page="/portal/contract",
        )
        assert sent.status_code == 200
        assert "Your request has been sent to your manager" in sent.text
        message = await wait_message(tg, DMITRY, "asks to change the tariff")
        assert "<b>Acme Ltd</b> asks to change the tariff" in message.html
        assert "From: Boris Orlov (boss@acme.example)" in message.text
        assert "We need 40 hours &lt;b&gt;from&lt;/b&gt; January" in message.html
        await user.aclose()
