"""Client users: invitations, passwords, sign-in with throttling, sessions.

Five failed sign-ins for one account or from one address within ten minutes lock
that account or address for ten minutes. Every sign-in, failure and lock is logged
(never the password) and kept in ``portal_attempt``. A session is created only by a
successful sign-in, with a new random id: whatever id the browser brought is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta

import structlog

from config.clients import Client
from config.routing import Role, RoutingConfig
from dispatch.events import Actor, ActorKind, Source
from dispatch.portal.credentials import Passwords, digest, new_token, password_problem
from dispatch.portal.models import (
    CurrentSession,
    InvalidInvite,
    Invitation,
    LoginFailed,
    LoginLocked,
    NotAllowed,
    PortalError,
    PortalUser,
    SessionInfo,
    SignedIn,
)
from dispatch.portal.notices import PortalNotices, manager_chat, tell_manager
from storage.db import Database, UnitOfWork
from storage.portal_models import PortalInviteRow, PortalSessionRow, PortalUserRow
from storage.types import utcnow

log = structlog.get_logger(__name__)

INVITE_TTL = timedelta(days=7)
SESSION_TTL = timedelta(days=14)
LOCK_AFTER = 5
LOCK_WINDOW = timedelta(minutes=10)
LOCK_FOR = timedelta(minutes=10)
#: A forgotten password bothers the manager at most this often per account.
RESET_EVERY = timedelta(hours=1)
#: ``last_seen`` is written at most this often, not on every page.
TOUCH_EVERY = timedelta(minutes=5)
ATTEMPT_RETENTION = timedelta(days=90)
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
_LANGUAGES = ("ru", "en")


def normal_email(email: str) -> str:
    """An address as accounts are keyed: trimmed and lower-cased."""
    return email.strip().lower()


class PortalAccounts:
    """Invites, signs in and out, and keeps the accounts of client users."""

    def __init__(
        self,
        database: Database,
        routing: RoutingConfig,
        notices: PortalNotices,
        *,
        base_url: str,
        passwords: Passwords | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db = database
        self._routing = routing
        self._notices = notices
        self._base_url = base_url.rstrip("/")
        self._passwords = passwords or Passwords()
        self._clock = clock

    # Invitations

    async def invite(self, *, client_key: str, email: str, name: str, actor: Actor) -> Invitation:
        """Make (or renew) a user's one-time link and send it to the client's manager."""
        client = self._routing.client(client_key)
        if client is None:
            raise PortalError("unknown client")
        self._check_may_invite(actor, client)
        email = normal_email(email)
        if len(email) > 254 or not _EMAIL.match(email):
            raise PortalError("invalid e-mail")
        name = " ".join(name.split())[:200] or email.partition("@")[0]
        token, now = new_token(), self._clock()
        link = f"{self._base_url}/portal/invite/{token}"
        async with self._db.unit_of_work() as uow:
            user = await uow.portal.user_by_email(email=email)
            if user is not None and user.client_key != client.key:
                raise PortalError("e-mail of another client's user")
            if user is None:
                user = PortalUserRow(client_key=client.key, email=email, name=name)
                await uow.portal.add(user)
            else:
                user.name, user.active = name, True
            assert user.id is not None
            await uow.portal.expire_invites(user_id=user.id, now=now)
            invite = PortalInviteRow(
                user_id=user.id,
                token_hash=digest(token),
                created_at=now,
                expires_at=now + INVITE_TTL,
                created_by=actor.ref or actor.via.value,
            )
            await uow.portal.add(invite)
            chat = manager_chat(self._routing, client)
            if chat is not None:
                payload = self._notices.invitation(
                    client=client.name, name=name, email=email, link=link
                )
                uow.outbox.enqueue_plain(chat_id=chat, payload=payload)
            await uow.commit()
        log.info("portal.invited", client=client.key, email=email, by=invite.created_by)
        return Invitation(email, name, client.key, link, invite.expires_at, chat)

    def _check_may_invite(self, actor: Actor, client: Client) -> None:
        if actor.kind == ActorKind.SYSTEM and actor.via == Source.CLI:
            return  # whoever runs the command runs the server
        person = self._routing.person(actor.person_key) if actor.person_key else None
        if person is not None and (
            person.has_role(Role.ADMIN)
            or (person.has_role(Role.MANAGER) and client.manager == person.key)
        ):
            return
        raise NotAllowed("not allowed")

    async def invited(self, token: str) -> PortalUser:
        """Whose link this is; InvalidInvite when it is unknown, used or expired."""
        async with self._db.unit_of_work() as uow:
            _, user = await self._usable_invite(uow, token)
            return PortalUser.of(user, self._routing.language)

    async def accept_invite(
        self, token: str, password: str, *, address: str, user_agent: str
    ) -> SignedIn:
        """Set the password through the link (used up) and sign the user in."""
        problem = password_problem(password)
        if problem:
            raise PortalError(problem)
        hashed = await self._passwords.hash(password)
        async with self._db.unit_of_work() as uow:
            invite, user = await self._usable_invite(uow, token)
            invite.used_at = self._clock()
            user.password_hash, user.password_changed_at = hashed, invite.used_at
            assert user.id is not None
            await uow.portal.end_sessions(user_id=user.id)
            signed = self._start_session(uow, user, address, user_agent)
            await uow.commit()
        log.info("portal.password_set", email=user.email, address=address)
        return signed

    async def _usable_invite(
        self, uow: UnitOfWork, token: str
    ) -> tuple[PortalInviteRow, PortalUserRow]:
        invite = await uow.portal.invite(token_hash=digest(token))
        if invite is None or invite.used_at is not None or invite.expires_at <= self._clock():
            raise InvalidInvite("invalid invite")
        user = await uow.portal.user(user_id=invite.user_id)
        if user is None or not user.active:
            raise InvalidInvite("invalid invite")
        return invite, user

    # Signing in and out

    async def login(
        self, email: str, password: str, *, address: str, user_agent: str, replaces: str | None
    ) -> SignedIn:
        """A new session for the right password; ``replaces`` (the old cookie) is ended."""
        email, now = normal_email(email)[:254], self._clock()
        async with self._db.unit_of_work() as uow:
            keys = [f"account:{email}", f"address:{address}"]
            until = await uow.portal.locked_until(keys=keys, now=now)
            if until is not None:
                uow.portal.add_attempt(email=email, address=address, outcome="locked", at=now)
                await uow.commit()
                log.warning("portal.login_locked", email=email, address=address)
                raise LoginLocked(until)
            user = await uow.portal.user_by_email(email=email)
        usable = user is not None and user.active
        stored = user.password_hash if user is not None and usable else None
        if not await self._passwords.verify(stored, password) or user is None:
            await self._failed(email, address, now)
            raise LoginFailed("failed")
        async with self._db.unit_of_work() as uow:
            if replaces:
                await uow.portal.end_session(session_id=digest(replaces))
            fresh = await uow.portal.user(user_id=user.id or 0)
            assert fresh is not None
            signed = self._start_session(uow, fresh, address, user_agent)
            uow.portal.add_attempt(email=email, address=address, outcome="ok", at=now)
            await uow.commit()
        log.info("portal.login", email=email, address=address, outcome="ok")
        return signed

    async def _failed(self, email: str, address: str, now: datetime) -> None:
        async with self._db.unit_of_work() as uow:
            uow.portal.add_attempt(email=email, address=address, outcome="failed", at=now)
            since = now - LOCK_WINDOW
            locked = []
            for key, by in (("account", {"email": email}), ("address", {"address": address})):
                if (
                    await uow.portal.count_attempts(outcome="failed", since=since, **by)
                    >= LOCK_AFTER
                ):
                    await uow.portal.lock(
                        key=f"{key}:{next(iter(by.values()))}", until=now + LOCK_FOR
                    )
                    locked.append(key)
            await uow.commit()
        log.warning("portal.login", email=email, address=address, outcome="failed", locked=locked)

    def _start_session(
        self, uow: UnitOfWork, user: PortalUserRow, address: str, user_agent: str
    ) -> SignedIn:
        token, csrf, now = new_token(), new_token(), self._clock()
        assert user.id is not None
        row = PortalSessionRow(
            id=digest(token),
            user_id=user.id,
            csrf_token=csrf,
            created_at=now,
            last_seen_at=now,
            expires_at=now + SESSION_TTL,
            address=address[:64],
            user_agent=user_agent[:200],
        )
        uow.portal.add_session(row)
        return SignedIn(token, csrf, PortalUser.of(user, self._routing.language), row.expires_at)

    async def current(self, token: str) -> CurrentSession | None:
        """The session behind a cookie, if it is still valid."""
        now = self._clock()
        async with self._db.unit_of_work() as uow:
            row = await uow.portal.session(session_id=digest(token))
            if row is None or row.expires_at <= now:
                return None
            user = await uow.portal.user(user_id=row.user_id)
            if user is None or not user.active:
                return None
            if now - row.last_seen_at >= TOUCH_EVERY:
                row.last_seen_at = now
                await uow.commit()
            return CurrentSession(
                row.id, row.csrf_token, PortalUser.of(user, self._routing.language)
            )

    async def logout(self, session: CurrentSession) -> None:
        """End this session."""
        async with self._db.unit_of_work() as uow:
            await uow.portal.end_session(session_id=session.id)
            await uow.commit()
        log.info("portal.logout", email=session.user.email)

    async def sessions(self, session: CurrentSession) -> list[SessionInfo]:
        """The user's open sessions, the newest first."""
        async with self._db.unit_of_work() as uow:
            rows = await uow.portal.sessions_of(user_id=session.user.id, now=self._clock())
        return [
            SessionInfo(r.created_at, r.last_seen_at, r.address, r.user_agent, r.id == session.id)
            for r in rows
        ]

    async def sign_out_everywhere(self, session: CurrentSession) -> int:
        """End every session of the user, this one too."""
        async with self._db.unit_of_work() as uow:
            ended = await uow.portal.end_sessions(user_id=session.user.id)
            await uow.commit()
        log.info("portal.signed_out_everywhere", email=session.user.email, sessions=ended)
        return ended

    # The account

    async def change_password(self, session: CurrentSession, current: str, new: str) -> None:
        """Replace the password; the user's other sessions end."""
        problem = password_problem(new)
        if problem:
            raise PortalError(problem)
        async with self._db.unit_of_work() as uow:
            user = await uow.portal.user(user_id=session.user.id)
        if user is None or not await self._passwords.verify(user.password_hash, current):
            raise PortalError("The current password is wrong.")
        hashed = await self._passwords.hash(new)
        async with self._db.unit_of_work() as uow:
            user = await uow.portal.user(user_id=session.user.id)
            assert user is not None
            user.password_hash, user.password_changed_at = hashed, self._clock()
            await uow.portal.end_sessions(user_id=session.user.id, keep=session.id)
            await uow.commit()
        log.info("portal.password_changed", email=session.user.email)

    async def update_profile(self, session: CurrentSession, *, name: str, language: str) -> None:
        """Change the user's name and language."""
        name = " ".join(name.split())[:200]
        if not name or language not in _LANGUAGES:
            raise PortalError("Give a name and a language.")
        async with self._db.unit_of_work() as uow:
            user = await uow.portal.user(user_id=session.user.id)
            assert user is not None
            user.name, user.language = name, language
            await uow.commit()

    async def forgot_password(self, email: str, *, address: str) -> None:
        """Ask the client's manager for a new link; silent about unknown addresses."""
        email, now = normal_email(email)[:254], self._clock()
        async with self._db.unit_of_work() as uow:
            user = await uow.portal.user_by_email(email=email)
            client = self._routing.client(user.client_key) if user is not None else None
            recent = await uow.portal.count_attempts(
                outcome="reset", since=now - RESET_EVERY, email=email
            )
            uow.portal.add_attempt(email=email, address=address, outcome="reset", at=now)
            if user is not None and client is not None and user.active and not recent:
                payload = self._notices.password_request(
                    client=client.name, client_key=client.key, name=user.name, email=email
                )
                tell_manager(uow, self._routing, client, payload)
            await uow.commit()
        log.info("portal.password_requested", email=email, address=address, known=user is not None)

    async def prune(self) -> int:
        """Forget expired sessions, locks and links, and attempts older than 90 days."""
        now = self._clock()
        async with self._db.unit_of_work() as uow:
            removed = await uow.portal.prune(now=now, attempts_before=now - ATTEMPT_RETENTION)
            await uow.commit()
        return removed
