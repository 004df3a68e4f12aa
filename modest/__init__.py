"""Modest: the composition root, the HTTP intake and the ``modest`` command.

The first import of aiogram, wherever it happens, builds its pydantic models on first
use rather than all at import (about 100 MiB and a second of CPU saved per process; see
``modest.lazy_aiogram``). Commands that never talk to Telegram do not import it at all.
"""

from modest.lazy_aiogram import defer_aiogram

defer_aiogram()
