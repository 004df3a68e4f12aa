"""Modest: the composition root, the HTTP intake and the ``modest`` command.

aiogram is imported here, before any module of the service can import it, so that its
pydantic models are built on first use rather than all at import (about 100 MiB and a
second of CPU saved per process; see ``modest.lazy_aiogram``).
"""

from modest.lazy_aiogram import import_aiogram

import_aiogram()
