"""Where things are, for tests in any folder of ``tests/``."""

from __future__ import annotations

import os
from pathlib import Path

#: The repository's root.
REPO = Path(__file__).resolve().parents[2]
#: Recorded answers of outside systems.
FIXTURES = REPO / "tests" / "fixtures"
#: ``../shared/services`` beside the checkout: the real RT and Redmine
#: (``MODEST_SERVICES`` names another place, for a checkout kept elsewhere).
SERVICES = Path(os.environ.get("MODEST_SERVICES") or REPO.parent / "shared" / "services")
