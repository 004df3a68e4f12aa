"""The cabinet's texts (gettext ``.po`` catalogs under ``cabinet/locales``).

Message ids are the English texts with ``{named}`` placeholders, as in the bot's
catalogs; a missing translation shows the English text (a test checks there are none).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).parent / "locales"
DOMAIN = "cabinet"
LANGUAGES = ("ru", "en")


def load_catalog(language: str, locales_dir: Path = LOCALES_DIR) -> dict[str, str]:
    """The translations of one language, msgid to msgstr (untranslated ids left out)."""
    path = locales_dir / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    return {
        str(message.id): str(message.string)
        for message in catalog
        if message.id and isinstance(message.id, str) and message.string
    }


class PageTexts:
    """Translates and fills the page texts of one language."""

    def __init__(self, language: str, locales_dir: Path = LOCALES_DIR) -> None:
        if language not in LANGUAGES:
            raise ValueError(f"unsupported language {language!r}; use one of {LANGUAGES}")
        self.language = language
        self._catalog = load_catalog(language, locales_dir)

    def __call__(self, template: str, /, **values: Any) -> str:
        """Translate ``template`` and fill its ``{placeholders}``."""
        translated = self._catalog.get(template, template)
        return translated.format(**values) if values else translated
