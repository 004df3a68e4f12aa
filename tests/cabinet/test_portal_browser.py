"""The cabinet in a real browser: Playwright drives Debian's Chromium through a client's day.

Invite (in the bot) → set a password → sign out and in → filter the tickets → open one →
open a report's PDF → ask to change the tariff (the manager's Telegram message is
checked in the emulator) → send a new request with a file (its card is checked in the
dispatch chat). Every page is photographed at desktop and phone width into
``$MODEST_SCREENSHOTS`` (default ``build/screenshots/portal``); ``docs/portal/`` holds a set.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, async_playwright

from dispatch.reports import ClientReport
from storage.db import UnitOfWork
from storage.models import TimeEntryRow
from tests.support.buttons import wait_message
from tests.support.harness import Harness
from tests.support.paths import REPO
from tests.support.portal import BASE_URL, DMITRY, PASSWORD, running_portal, seed_tickets
from tests.support.telegram_emulator import TelegramEmulator

pytestmark = pytest.mark.asyncio(loop_scope="module")

CHROMIUM = "/usr/bin/chromium"
ROOT = REPO
SHOTS = Path(os.environ.get("MODEST_SCREENSHOTS") or ROOT / "build" / "screenshots" / "portal")
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def chromium_path() -> str:
    """Debian's Chromium (``.ci/run`` installs it); skipped without it, except in CI."""
    if not Path(CHROMIUM).exists():
        reason = f"{CHROMIUM} is missing: apt-get install -y chromium"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    SHOTS.mkdir(parents=True, exist_ok=True)
    return CHROMIUM


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def chromium(chromium_path: str) -> AsyncIterator[Browser]:
    """One headless Chromium for the module (no browser download)."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium_path)
        yield browser
        await browser.close()


@pytest_asyncio.fixture(loop_scope="module")
async def emulator() -> AsyncIterator[TelegramEmulator]:
    """The Bot API emulator, on the module's event loop."""
    async with TelegramEmulator() as tg:
        yield tg


async def shoot(page: Page, name: str) -> None:
    """The page at desktop and at phone width."""
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        await page.set_viewport_size(size)
        await page.screenshot(path=SHOTS / f"{name}-{label}.png", full_page=True)
    await page.set_viewport_size(DESKTOP)


async def prepare(h: Harness) -> None:
    """Tickets of two clients, time on one, and Acme's October report issued."""
    await seed_tickets(h)
    async with h.service.database.unit_of_work() as uow:
        uow.session.add(
            TimeEntryRow(
                ticket_id=2,
                person_key="olga",
                minutes=75,
                client_key="acme",
                closed_on=date(2026, 10, 20),
                month="2026-10",
            )
        )
        await uow.commit()

    async def keep(_: UnitOfWork, __: ClientReport) -> None:
        return None

    acme = h.service.routing.client("acme")
    assert acme is not None
    await h.service.domain.reports.issue(month="2026-10", deliver=keep, clients=[acme])


async def rows(page: Page) -> list[str]:
    """The ticket numbers listed, in order."""
    cells = page.locator("table.tickets tbody tr td:first-child")
    return [text.strip() for text in await cells.all_inner_texts()]


async def test_a_client_s_whole_day_in_the_cabinet(
    chromium: Browser, emulator: TelegramEmulator, sqlite_url: str, tmp_path: Path
) -> None:
    tg = emulator
    async with running_portal(tg, sqlite_url) as h:
        await prepare(h)
        base = str(h.http.base_url).rstrip("/")
        context = await chromium.new_context(viewport=DESKTOP, locale="en-US")
        page = await context.new_page()
        errors: list[str] = []
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

        # The manager invites Boris from Telegram; the link arrives in the manager's chat.
        tg.send_text(DMITRY, DMITRY, "/invite acme boss@acme.example Boris Orlov")
        invitation = await wait_message(tg, DMITRY, "Client cabinet: Acme Ltd")
        found = re.search(re.escape(BASE_URL) + r"(/portal/invite/\S+)", invitation.text)
        assert found, invitation.text
        await page.goto(base + found.group(1))
        assert await page.locator("h1").inner_text() == "Set a password"
        await shoot(page, "01-set-password")
        await page.fill("#password", PASSWORD)
        await page.fill("#password2", PASSWORD)
        await page.click("button[type=submit]")
        await page.wait_for_url("**/portal/tickets")

        await page.click("text=Sign out")
        await page.wait_for_url("**/portal/login")
        await shoot(page, "02-login")
        await page.fill("#email", "boss@acme.example")
        await page.fill("#password", "not the password")
        await page.click("form.card button[type=submit]")
        assert "Wrong e-mail or password." in await page.locator(".error").inner_text()
        await page.fill("#password", PASSWORD)
        await page.click("form.card button[type=submit]")
        await page.wait_for_url("**/portal/tickets")
        assert await rows(page) == ["A-2", "A-1"]
        await shoot(page, "03-tickets")

        await page.select_option("#status", "closed")
        await page.click("form.filters button")
        await page.wait_for_url("**status=closed**")
        assert await rows(page) == ["A-2"]
        await page.select_option("#status", "")
        await page.fill("#q", "printer")
        await page.click("form.filters button")
        await page.wait_for_url("**q=printer**")
        assert await rows(page) == ["A-1"]
        await shoot(page, "04-tickets-filtered")

        await page.click("text=Printer on fire")
        await page.wait_for_url("**/portal/tickets/A-1")
        assert "Flames everywhere." in await page.locator(".body").inner_text()
        assert "Request received" in await page.locator("ol.history").inner_text()
        await shoot(page, "05-ticket")

        await page.click("nav >> text=Reports")
        await page.wait_for_url("**/portal/reports")
        await shoot(page, "06-reports")
        async with (
            context.expect_event(
                "response", lambda response: response.url.endswith("/2026-10.pdf")
            ) as answered,
            context.expect_page() as opened,
        ):
            await page.click("text=PDF")
        response = await answered.value
        assert response.status == 200
        assert response.headers["content-type"] == "application/pdf"
        assert response.headers["content-disposition"].startswith("inline;")
        pdf_page = await opened.value
        assert pdf_page.url.endswith("/portal/reports/2026-10.pdf")
        await pdf_page.close()

        await page.click("nav >> text=Contract")
        await page.wait_for_url("**/portal/contract")
        facts = await page.locator("dl.facts").first.inner_text()
        assert "Standard" in facts
        assert "No. 12/2026" in facts
        await shoot(page, "07-contract")
        await page.fill("#text", "We would like 40 hours a month from January.")
        await page.click("text=Send to the manager")
        await page.wait_for_selector(".notice")
        await shoot(page, "08-tariff-sent")
        asked = await wait_message(tg, DMITRY, "asks to change the tariff")
        assert "We would like 40 hours a month from January." in asked.text
        assert "Boris Orlov (boss@acme.example)" in asked.text

        await page.click("nav >> text=New request")
        await page.wait_for_url("**/portal/requests/new")
        await shoot(page, "09-new-request")
        attachment = tmp_path / "error.txt"
        attachment.write_bytes(b"Export failed: timeout after 30 s\n")
        await page.fill("#subject", "Nightly export fails")
        await page.fill("#description", "Since Monday the export stops with a timeout.")
        await page.select_option("#priority", "urgent")
        await page.set_input_files("#files", str(attachment))
        await page.click("text=Send the request")
        await page.wait_for_url("**/portal/tickets/W-*")
        notice = await page.locator(".notice").inner_text()
        number = notice.rsplit("#", 1)[1].rstrip(".")
        assert "error.txt" in await page.locator("main").inner_text()
        await shoot(page, "10-request-registered")
        card = await wait_message(tg, h.chat_id, number)
        assert "Nightly export fails" in card.text
        assert "urgent" in card.text
        assert [label for label, _, _ in tg.buttons(h.chat_id, card.message_id)] == [
            "Support",
            "Development",
            "🙋 Take it myself",  # its dispatchers are specialists too (issue 17.10)
        ]

        await page.click("nav >> text=Account")
        await page.wait_for_url("**/portal/account")
        assert "(this one)" in await page.locator("table").inner_text()
        await shoot(page, "11-account")
        # Only the refused sign-in's 401; no policy violation, no missing resource.
        assert [e for e in errors if "401" not in e] == []
        await context.close()
