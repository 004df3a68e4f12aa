"""Client accounts: invitations, passwords, locked sign-in, sessions, "forgot password"."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select
from structlog.testing import capture_logs

from bot.i18n import Texts
from bot.portal_renderers import PortalNoticeRenderer
from dispatch.events import Actor, Source
from dispatch.portal.accounts import PortalAccounts
from dispatch.portal.credentials import Passwords
from storage.portal_models import PortalAttemptRow, PortalUserRow
from storage.types import utcnow
from tests.support.buttons import wait_message
from tests.support.portal import (
    BASE_URL,
    CHEAP_HASHER,
    DMITRY,
    PASSWORD,
    Browser,
    browser,
    invite,
    running_portal,
    signed_in,
)
from tests.support.telegram_emulator import TelegramEmulator


async def test_an_invitation_sets_a_password_once_and_signs_in(
    tg: TelegramEmulator, sqlite_url: str
) -> None:
    async with running_portal(tg, sqlite_url) as h, browser(h) as user:
        invitation = await invite(h, "acme", " Boss@Acme.Example ")
        assert invitation.link.startswith(f"{BASE_URL}/portal/invite/")
        assert invitation.email == "boss@acme.example"
        sent = await wait_message(tg, DMITRY, "Client cabinet: Acme Ltd")
        assert invitation.link in sent.text
        assert "Boris Orlov" in sent.text
        path = invitation.link.removeprefix(BASE_URL)
        page = await user.get(path)
        assert "Welcome, Boris Orlov! Choose a password for boss@acme.example." in page.text
        short = await user.form(path, {"password": "short", "password2": "short"})
        assert short.status_code == 400
        assert "at least 10 characters" in short.text
        mismatch = await user.form(path, {"password": PASSWORD, "password2": PASSWORD + "!"})
        assert "The passwords do not match." in mismatch.text
        accepted = await user.accept(invitation)
        assert accepted.status_code == 303
        assert accepted.headers["Location"] == "/portal/tickets"
        assert (await user.get("/portal/tickets")).status_code == 200
        assert (await user.get(path)).status_code == 410  # used up
        async with h.service.database.unit_of_work() as uow:
            row = await uow.portal.user_by_email(email="boss@acme.example")
        assert row is not None
        assert row.password_hash is not None
        assert row.password_hash.startswith("$argon2id$")
        assert PASSWORD not in row.password_hash


async def test_an_expired_invitation_is_refused_and_a_new_one_replaces_the_old(
    tg: TelegramEmulator, sqlite_url: str
) -> None:
    async with running_portal(tg, sqlite_url) as h, browser(h) as user:
        eight_days_ago = utcnow() - timedelta(days=8)
        past = PortalAccounts(
            h.service.database,
            h.service.routing,
            PortalNoticeRenderer(Texts("en")),
            base_url=BASE_URL,
            passwords=Passwords(CHEAP_HASHER),
            clock=lambda: eight_days_ago,
        )
        old = await past.invite(
            client_key="acme",
            email="boss@acme.example",
            name="Boris",
            actor=Actor.system(Source.CLI),
        )
        path = old.link.removeprefix(BASE_URL)
        expired = await user.get(path)
        assert expired.status_code == 410
        assert "This link has expired or was already used." in expired.text
        form = {"password": PASSWORD, "password2": PASSWORD}
        assert (await user.form(path, form, page="/portal/login")).status_code == 410
        assert (await user.login("boss@acme.example")).status_code == 401
        first = await invite(h, "acme", "boss@acme.example")
        second = await invite(h, "acme", "boss@acme.example")
        assert (await user.get(first.link.removeprefix(BASE_URL))).status_code == 410
        assert (await user.accept(second)).status_code == 303


async def test_five_failures_lock_the_account_and_the_address_for_ten_minutes(
    tg: TelegramEmulator, sqlite_url: str
) -> None:
    async with running_portal(tg, sqlite_url) as h:
        for email in ("boss@acme.example", "cfo@acme.example"):
            await (await signed_in(h, "acme", email)).aclose()
        async with browser(h) as attacker:
            with capture_logs() as logs:
                for attempt in range(5):
                    wrong = await attacker.login("boss@acme.example", f"guess-{attempt}-secret")
                    assert wrong.status_code == 401
                    assert "Wrong e-mail or password." in wrong.text
                locked = await attacker.login("boss@acme.example", PASSWORD)
                assert locked.status_code == 429
                assert "Too many failed attempts. Try again in 10 minutes." in locked.text
                # The address is locked too: another account from it, right password or not.
                assert (await attacker.login("cfo@acme.example", PASSWORD)).status_code == 429
            text = repr(logs)
            assert "guess-" not in text
            assert PASSWORD not in text
            outcomes = [e.get("outcome") for e in logs if e["event"] == "portal.login"]
            assert outcomes == ["failed"] * 5
            assert [e["event"] for e in logs].count("portal.login_locked") == 2
        async with h.service.database.unit_of_work() as uow:
            rows = (await uow.session.execute(select(PortalAttemptRow))).scalars().all()
        assert [r.outcome for r in rows if r.email == "boss@acme.example"][-6:] == [
            "failed",
            "failed",
            "failed",
            "failed",
            "failed",
            "locked",
        ]
        # Ten minutes later the lock is over: a service whose clock is ahead lets the owner in.
        later = PortalAccounts(
            h.service.database,
            h.service.routing,
            PortalNoticeRenderer(Texts("en")),
            base_url=BASE_URL,
            passwords=Passwords(CHEAP_HASHER),
            clock=lambda: utcnow() + timedelta(minutes=11),
        )
        signed = await later.login(
            "boss@acme.example", PASSWORD, address="127.0.0.1", user_agent="t", replaces=None
        )
        assert signed.user.email == "boss@acme.example"


async def test_sign_in_starts_a_new_session_whatever_cookie_the_browser_brought(
    tg: TelegramEmulator, sqlite_url: str
) -> None:
    async with running_portal(tg, sqlite_url) as h:
        attacker = await signed_in(h, "acme", "mallory@acme.example")
        planted = attacker.http.cookies.get("modest_session")
        assert planted
        victim = await signed_in(h, "acme", "boss@acme.example")
        await victim.aclose()
        async with browser(h) as user:
            user.http.cookies.set("modest_session", planted, domain="127.0.0.1", path="/portal")
            fixed = "fixed-by-attacker"
            user.http.cookies.set("modest_session", fixed, path="/portal")
            answer = await user.login("boss@acme.example")
            assert answer.status_code == 303
            issued = answer.cookies.get("modest_session")
            assert issued
            assert issued not in (planted, fixed)
            assert "HttpOnly" in answer.headers["Set-Cookie"]
            assert "SameSite=Lax" in answer.headers["Set-Cookie"]
            assert "Secure" not in answer.headers["Set-Cookie"]  # http: base URL
        async with browser(h) as replay:
            replay.http.cookies.set("modest_session", fixed, path="/portal")
            assert (await replay.get("/portal/tickets")).status_code == 303
        await attacker.aclose()


async def test_sessions_are_listed_and_signing_out_everywhere_ends_them(
    tg: TelegramEmulator, sqlite_url: str
) -> None:
    async with running_portal(tg, sqlite_url) as h:
        phone = await signed_in(h, "acme", "boss@acme.example")
        async with browser(h) as laptop:
            assert (await laptop.login("boss@acme.example")).status_code == 303
            page = await laptop.get("/portal/account")
            assert page.text.count("<tr>") == 3  # the head row and two sessions
            assert "(this one)" in page.text
            out = await laptop.form("/portal/account/sessions", {}, page="/portal/account")
            assert out.status_code == 303
            assert out.headers["Location"] == "/portal/login"
            assert (await laptop.get("/portal/tickets")).status_code == 303
        assert (await phone.get("/portal/tickets")).status_code == 303
        again = Browser(h)
        assert (await again.login("boss@acme.example")).status_code == 303
        bye = await again.form("/portal/logout", {}, page="/portal/tickets")
        assert bye.status_code == 303
        assert (await again.get("/portal/tickets")).status_code == 303
        await again.aclose()
        await phone.aclose()


async def test_changing_the_password_ends_the_other_sessions(
    tg: TelegramEmulator, sqlite_url: str
) -> None:
    async with running_portal(tg, sqlite_url) as h:
        here = await signed_in(h, "acme", "boss@acme.example")
        async with browser(h) as elsewhere:
            assert (await elsewhere.login("boss@acme.example")).status_code == 303
            new = "a brand new passphrase"
            wrong = await here.form(
                "/portal/account/password",
                {"current": "not it at all", "new": new, "new2": new},
                page="/portal/account",
            )
            assert wrong.status_code == 400
            assert "The current password is wrong." in wrong.text
            done = await here.form(
                "/portal/account/password",
                {"current": PASSWORD, "new": new, "new2": new},
                page="/portal/account",
            )
            assert done.status_code == 200
            assert "The password is changed." in done.text
            assert (await here.get("/portal/tickets")).status_code == 200
            assert (await elsewhere.get("/portal/tickets")).status_code == 303
            assert (await elsewhere.login("boss@acme.example")).status_code == 401
            assert (await elsewhere.login("boss@acme.example", new)).status_code == 303
        await here.aclose()


async def test_the_user_chooses_the_language_and_the_name(
    tg: TelegramEmulator, sqlite_url: str
) -> None:
    async with running_portal(tg, sqlite_url) as h:
        user = await signed_in(h, "acme", "boss@acme.example")
        assert "Tickets" in (await user.get("/portal/tickets")).text
        saved = await user.form(
            "/portal/account", {"name": "Борис Орлов", "language": "ru"}, page="/portal/account"
        )
        assert saved.status_code == 303
        page = await user.get("/portal/account?saved=1")
        assert "Сохранено." in page.text
        assert "Борис Орлов" in page.text
        assert "Выйти на всех устройствах" in page.text
        assert ">Заявки<" in (await user.get("/portal/tickets")).text
        await user.aclose()
        async with browser(h) as anonymous:
            assert "Забыли пароль?" in (await anonymous.get("/portal/login?lang=ru")).text


async def test_a_forgotten_password_asks_the_manager_and_tells_nothing_of_unknown_addresses(
    tg: TelegramEmulator, sqlite_url: str
) -> None:
    async with running_portal(tg, sqlite_url) as h:
        await (await signed_in(h, "acme", "boss@acme.example")).aclose()
        async with browser(h) as user:
            known = await user.form("/portal/forgot", {"email": "boss@acme.example"})
            unknown = await user.form("/portal/forgot", {"email": "nobody@acme.example"})
            again = await user.form("/portal/forgot", {"email": "boss@acme.example"})
            for answer in (known, unknown, again):
                assert answer.status_code == 200
                assert "If this address has an account" in answer.text
        asked = await wait_message(tg, DMITRY, "forgot the cabinet password")
        assert "Boris Orlov (boss@acme.example)" in asked.text
        assert "/invite acme boss@acme.example" in asked.text
        forgot = [m for m in tg.messages(DMITRY) if "forgot the cabinet password" in m.text]
        assert len(forgot) == 1  # once an hour per account
        async with h.service.database.unit_of_work() as uow:
            users = (await uow.session.execute(select(PortalUserRow))).scalars().all()
        assert [u.email for u in users] == ["boss@acme.example"]
