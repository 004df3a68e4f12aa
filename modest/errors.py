"""Errors the ``modest`` command reports as one line, without a traceback."""

from __future__ import annotations


class StartupError(Exception):
    """Modest cannot start; the message is one line naming what to fix."""
