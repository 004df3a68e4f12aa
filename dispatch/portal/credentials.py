"""Passwords (Argon2id) and the random tokens of links and sessions."""

from __future__ import annotations

import asyncio
import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

#: The shortest password the cabinet accepts.
MIN_PASSWORD = 10
#: The longest: Argon2 takes any length, but a megabyte "password" is only load.
MAX_PASSWORD = 256


def new_token() -> str:
    """A random URL-safe token (256 bits)."""
    return secrets.token_urlsafe(32)


def digest(token: str) -> str:
    """What the database keeps of a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


class Passwords:
    """Hashes and checks passwords off the event loop (Argon2id costs tens of ms)."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        # argon2-cffi's defaults are Argon2id with RFC 9106's low-memory profile.
        self._hasher = hasher or PasswordHasher()
        self._dummy: str | None = None

    async def hash(self, password: str) -> str:
        """The Argon2id hash of ``password``."""
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, stored: str | None, password: str) -> bool:
        """Whether ``password`` matches ``stored``; no hash still costs the same time."""
        if stored is None:
            # An unknown account answers as slowly as a known one: no guessing who exists.
            if self._dummy is None:
                self._dummy = await self.hash(new_token())
            stored = self._dummy
            await asyncio.to_thread(self._check, stored, password)
            return False
        return await asyncio.to_thread(self._check, stored, password)

    def _check(self, stored: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


def password_problem(password: str) -> str | None:
    """Why a new password is refused (a message id), or None."""
    if len(password) < MIN_PASSWORD:
        return "The password needs at least 10 characters."
    if len(password) > MAX_PASSWORD:
        return "The password is too long."
    return None
