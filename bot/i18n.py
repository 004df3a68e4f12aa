"""Translation catalogs (gettext ``.po`` files under ``bot/locales``).

Message ids are the English templates with ``{named}`` placeholders; the
catalog of the configured language supplies the translation. A missing
translation falls back to the English template, so a gap shows English
rather than breaking a message (the test suite checks there are no gaps).

Counted texts (``Texts.plural``) have a ``msgid_plural`` and one ``msgstr[i]`` per
plural form of the language, chosen by the catalog's ``Plural-Forms`` header
(Russian has three: 1 заявка, 2 заявки, 5 заявок).
"""

from __future__ import annotations

import gettext
from collections.abc import Callable
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).parent / "locales"
DOMAIN = "modest"
LANGUAGES = ("ru", "en")


def _read(language: str, locales_dir: Path) -> Catalog:
    path = locales_dir / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as handle:
        return read_po(handle, locale=language)


def load_catalog(language: str, locales_dir: Path = LOCALES_DIR) -> dict[str, str]:
    """The translations of one language, msgid to msgstr (untranslated ids left out)."""
    return _singles(_read(language, locales_dir))


def load_plurals(language: str, locales_dir: Path = LOCALES_DIR) -> dict[str, tuple[str, ...]]:
    """The counted texts of one language: singular msgid to its translated forms."""
    return _plurals(_read(language, locales_dir))


def _singles(catalog: Catalog) -> dict[str, str]:
    return {
        str(message.id): str(message.string)
        for message in catalog
        if message.id and isinstance(message.id, str) and message.string
    }


def _plurals(catalog: Catalog) -> dict[str, tuple[str, ...]]:
    found: dict[str, tuple[str, ...]] = {}
    for message in catalog:
        forms = message.string
        if isinstance(message.id, tuple | list) and isinstance(forms, tuple | list) and all(forms):
            found[str(message.id[0])] = tuple(str(form) for form in forms)
    return found


class Texts:
    """Translates and fills templates for one language."""

    def __init__(self, language: str, locales_dir: Path = LOCALES_DIR) -> None:
        if language not in LANGUAGES:
            raise ValueError(f"unsupported language {language!r}; use one of {LANGUAGES}")
        self.language = language
        catalog = _read(language, locales_dir)
        self._catalog = _singles(catalog)
        self._plurals = _plurals(catalog)
        self._form: Callable[[int], int] = gettext.c2py(catalog.plural_expr)

    def __call__(self, template: str, /, **values: Any) -> str:
        """Translate ``template`` and fill its ``{placeholders}``."""
        translated = self._catalog.get(template, template)
        return translated.format(**values) if values else translated

    def plural(self, singular: str, plural: str, n: int, /, **values: Any) -> str:
        """The form of a counted text for ``n``, filled (``{n}`` is the count)."""
        forms = self._plurals.get(singular)
        if forms:
            template = forms[min(self._form(n), len(forms) - 1)]
        else:
            template = singular if n == 1 else plural
        return template.format(n=n, **values)
