"""The cabinet's doors: every route, one client's data only, CSRF, escaping, headers."""

from __future__ import annotations

import re

from dispatch.reports import ClientReport
from storage.db import UnitOfWork
from tests.support.harness import Harness, ticket_body
from tests.support.portal import (
    Browser,
    browser,
    client_of,
    csrf_of,
    invite,
    new_request,
    running_portal,
    seed_tickets,
    signed_in,
)
from tests.support.telegram_emulator import TelegramEmulator

PAGES = [
    "/portal/tickets",
    "/portal/tickets/A-1",
    "/portal/reports",
    "/portal/contract",
    "/portal/requests/new",
    "/portal/account",
]
POSTS = {
    "/portal/logout": {},
    "/portal/contract/tariff": {"text": "More hours, please"},
    "/portal/account": {"name": "Mallory", "language": "ru"},
    "/portal/account/password": {"current": "x", "new": "y" * 12, "new2": "y" * 12},
    "/portal/account/sessions": {},
}


async def _issue(h: Harness, month: str) -> None:
    async def keep(_: UnitOfWork, __: ClientReport) -> None:
        return None

    acme = h.service.routing.client("acme")
    assert acme is not None
    await h.service.domain.reports.issue(month=month, deliver=keep, clients=[acme])


async def _acme_file(acme: Browser) -> str:
    answer = await new_request(acme, files=[("files", ("log.txt", b"boom", "text/plain"))])
    assert answer.status_code == 303, answer.text
    ticket = await acme.get(answer.headers["Location"])
    link = re.search(r'href="(/portal/tickets/[^"]+/files/\d+)"', ticket.text)
    assert link, ticket.text
    return link.group(1)


async def test_another_client_s_user_gets_404_on_every_ticket_file_and_report(
    tg: TelegramEmulator, db_url: str
) -> None:
    async with running_portal(tg, db_url) as h:
        await seed_tickets(h)
        await _issue(h, "2026-11")
        acme = await signed_in(h, "acme", "boss@acme.example")
        beta = await signed_in(h, "beta", "v@beta.example")
        file_path = await _acme_file(acme)
        number = file_path.split("/")[3]
        acme_only = [
            "/portal/tickets/A-1",
            "/portal/tickets/A-2",
            f"/portal/tickets/{number}",
            file_path,
            "/portal/reports/2026-11.pdf",
            "/portal/reports/2026-11.csv",
        ]
        for path in acme_only:
            assert (await acme.get(path)).status_code == 200, path
            refused = await beta.get(path)
            assert refused.status_code == 404, path
            assert "There is no such page." in refused.text
        listing = (await beta.get("/portal/tickets")).text
        assert "Beta&#39;s own" in listing
        assert "A-1" not in listing
        assert "Invoice question" not in listing
        assert "2026-11" not in (await beta.get("/portal/reports")).text
        assert "Beta Group" in (await beta.get("/portal/contract")).text
        mine = (await acme.get("/portal/tickets")).text
        assert "A-1" in mine
        assert "A-2" in mine
        assert "B-1" not in mine
        assert (await beta.get("/portal/tickets/B-1")).status_code == 200
        await acme.aclose()
        await beta.aclose()


async def test_every_page_answers_and_needs_a_signed_in_user(
    tg: TelegramEmulator, sqlite_url: str
) -> None:
    async with running_portal(tg, sqlite_url) as h:
        await seed_tickets(h)
        async with browser(h) as anonymous:
            for path in [*PAGES, "/portal/reports/2026-11.pdf", "/portal/tickets/A-1/files/1"]:
                answer = await anonymous.get(path)
                assert answer.status_code == 303, path
                assert answer.headers["Location"] == "/portal/login"
            for path in ["/portal/login", "/portal/forgot"]:
                assert (await anonymous.get(path)).status_code == 200, path
            assert (await anonymous.get("/portal/nowhere")).status_code == 404
            assert (await anonymous.get("/portal/invite/not-a-token")).status_code == 410
        user = await signed_in(h, "acme", "boss@acme.example")
        for path in PAGES:
            answer = await user.get(path)
            assert answer.status_code == 200, path
            assert answer.headers["Content-Type"].startswith("text/html")
        assert (await user.get("/portal/")).headers["Location"] == "/portal/tickets"
        assert (await user.get("/portal/login")).headers["Location"] == "/portal/tickets"
        assert (await user.get("/portal/static/portal.css")).status_code == 200
        await user.aclose()


async def test_a_form_without_its_csrf_token_is_refused_with_403_and_changes_nothing(
    tg: TelegramEmulator, sqlite_url: str
) -> None:
    async with running_portal(tg, sqlite_url) as h:
        await seed_tickets(h)
        user = await signed_in(h, "acme", "boss@acme.example")
        for path, data in POSTS.items():
            for token in ({}, {"csrf": "forged"}):
                answer = await user.http.post(path, data={**data, **token})
                assert answer.status_code == 403, path
                assert "This form has expired" in answer.text
        refused = await new_request(user, csrf="forged")
        assert refused.status_code == 403
        # Still signed in, name unchanged, nothing sent, no ticket made.
        account = await user.get("/portal/account")
        assert account.status_code == 200
        assert "Boris Orlov" in account.text
        assert len(await h.tickets()) == 3
        assert all("change the tariff" not in m.text for m in tg.messages(1005))
        async with browser(h) as anonymous:
            for path, data in {
                "/portal/login": {"email": "boss@acme.example", "password": "whatever"},
                "/portal/forgot": {"email": "boss@acme.example"},
            }.items():
                assert (await anonymous.http.post(path, data=data)).status_code == 403, path
            link = (await invite(h, "acme", "new@acme.example")).link
            path = link.removeprefix("http://portal.test")
            form = {"password": "x" * 12, "password2": "x" * 12}
            assert (await anonymous.http.post(path, data=form)).status_code == 403
            assert (await anonymous.get(path)).status_code == 200  # the link still works
        await user.aclose()


async def test_a_script_in_a_ticket_subject_is_shown_as_text(
    tg: TelegramEmulator, sqlite_url: str
) -> None:
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    async with running_portal(tg, sqlite_url) as h:
        body = ticket_body(
            "9", subject=evil, body=evil, client=client_of("boss@acme.example", evil)
        )
        assert (await h.post_generic(body)).status_code == 200
        user = await signed_in(h, "acme", "boss@acme.example")
        for path in ["/portal/tickets", "/portal/tickets/A-9", f"/portal/tickets?q={evil}"]:
            page = await user.get(path)
            assert page.status_code == 200, path
            assert "<script>" not in page.text, path
            assert "<img src=x" not in page.text, path
            assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page.text, path
        await user.aclose()


async def test_pages_carry_a_strict_content_security_policy_and_refuse_framing(
    tg: TelegramEmulator, sqlite_url: str
) -> None:
    async with running_portal(tg, sqlite_url) as h, browser(h) as anonymous:
        page = await anonymous.get("/portal/login")
        policy = page.headers["Content-Security-Policy"]
        assert "default-src 'none'" in policy
        assert "script-src" not in policy
        assert "frame-ancestors 'none'" in policy
        assert page.headers["X-Frame-Options"] == "DENY"
        assert page.headers["X-Content-Type-Options"] == "nosniff"
        assert page.headers["Referrer-Policy"] == "no-referrer"
        assert "<script" not in page.text
        assert " style=" not in page.text
        cookie = page.headers["Set-Cookie"]
        assert "HttpOnly" in cookie
        assert "SameSite=Lax" in cookie
        assert "Path=/portal" in cookie
        assert csrf_of(page.text) in cookie
        missing = await anonymous.get("/portal/no/such/page")
        assert missing.status_code == 404
        assert "X-Frame-Options" in missing.headers
