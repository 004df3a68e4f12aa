"""Translation catalogs (gettext ``.po`` files under ``bot/locales``).

Message ids are the English templates with ``{named}`` placeholders; the
catalog of the configured language supplies the translation. A missing
translation falls back to the English template, so a gap shows English
rather than breaking a message (the test suite checks there are no gaps).

Texts that depend on a number (``1 ticket``, ``5 tickets``; Russian has three
forms) are ``msgid``/``msgid_plural`` entries, chosen by the catalog's
``Plural-Forms`` formula (:meth:`Texts.plural`).
"""

from __future__ import annotations

import gettext
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).parent / "locales"
DOMAIN = "modest"
LANGUAGES = ("ru", "en")


def load_catalog(language: str, locales_dir: Path = LOCALES_DIR) -> dict[str, str]:
    """The translations of one language, msgid to msgstr (untranslated ids left out)."""
    with _po_path(language, locales_dir).open("rb") as handle:
        catalog = read_po(handle, locale=language)
    return {
        str(message.id): str(message.string)
        for message in catalog
        if message.id and isinstance(message.id, str) and message.string
    }


@dataclass(frozen=True, slots=True)
class PluralCatalog:
    """The plural entries of one language: singular msgid to its forms, and the formula."""

    forms: dict[str, tuple[str, ...]]
    number_of_forms: int
    choose: Callable[[int], int]


def _po_path(language: str, locales_dir: Path) -> Path:
    return locales_dir / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def load_plurals(language: str, locales_dir: Path = LOCALES_DIR) -> PluralCatalog:
    """The ``msgid_plural`` entries of one language (untranslated ones left out)."""
    with _po_path(language, locales_dir).open("rb") as handle:
        catalog = read_po(handle, locale=language)
    forms = {
        str(message.id[0]): tuple(str(form) for form in message.string)
        for message in catalog
        if isinstance(message.id, tuple)
        and isinstance(message.string, tuple)
        and all(message.string)
    }
    return PluralCatalog(forms, catalog.num_plurals, gettext.c2py(catalog.plural_expr))


class Texts:
    """Translates and fills templates for one language."""

    def __init__(self, language: str, locales_dir: Path = LOCALES_DIR) -> None:
        if language not in LANGUAGES:
            raise ValueError(f"unsupported language {language!r}; use one of {LANGUAGES}")
        self.language = language
        self._catalog = load_catalog(language, locales_dir)
        self._plurals = load_plurals(language, locales_dir)

    def __call__(self, template: str, /, **values: Any) -> str:
        """Translate ``template`` and fill its ``{placeholders}``."""
        translated = self._catalog.get(template, template)
        return translated.format(**values) if values else translated

    def plural(self, singular: str, plural: str, count: int, /, **values: Any) -> str:
        """The form of a text for ``count`` (``{count}`` is filled in with the rest)."""
        forms = self._plurals.forms.get(singular)
        if forms is None:
            forms = (singular, plural)
            index = 0 if count == 1 else 1
        else:
            index = min(self._plurals.choose(count), len(forms) - 1)
        return forms[index].format(count=count, **values)
