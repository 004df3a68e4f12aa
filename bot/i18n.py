"""Translation catalogs (gettext ``.po`` files under ``bot/locales``).

Message ids are the English templates with ``{named}`` placeholders; the
catalog of the configured language supplies the translation. A missing
translation falls back to the English template, so a gap shows English
rather than breaking a message (the test suite checks there are no gaps).

Texts that depend on a number are plural entries (``msgid_plural``); which form a
number takes is the language's own rule from CLDR through Babel (Russian has three:
1 заявка, 2 заявки, 5 заявок), as gettext's ``ngettext`` would pick it.
"""

from __future__ import annotations

import functools
import gettext
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).parent / "locales"
DOMAIN = "modest"
LANGUAGES = ("ru", "en")


@dataclass(frozen=True, slots=True)
class Catalog:
    """One language's translations: plain texts, plural forms, and its plural rule."""

    texts: dict[str, str]
    #: Singular msgid to the translated forms, in the language's order.
    plurals: dict[str, tuple[str, ...]]
    #: The index of the form a number takes (gettext's ``plural=`` expression).
    plural_index: Callable[[int], int]


def read_catalog(language: str, locales_dir: Path = LOCALES_DIR) -> Catalog:
    """Read one language's catalog."""
    path = locales_dir / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    texts: dict[str, str] = {}
    plurals: dict[str, tuple[str, ...]] = {}
    for message in catalog:
        if not message.id or not message.string:
            continue
        if isinstance(message.id, str):
            texts[message.id] = str(message.string)
        elif all(message.string):
            plurals[str(message.id[0])] = tuple(str(form) for form in message.string)
    return Catalog(texts, plurals, gettext.c2py(catalog.plural_expr))


#: Each language's catalog is read once per process: parsing a ``.po`` file takes Babel
#: ~15 ms, and the bot makes a ``Texts`` for every language it sets a menu in.
_shared_catalog = functools.cache(read_catalog)


def load_catalog(language: str, locales_dir: Path = LOCALES_DIR) -> dict[str, str]:
    """The translations of one language, msgid to msgstr (untranslated ids left out)."""
    return read_catalog(language, locales_dir).texts


def load_plurals(language: str, locales_dir: Path = LOCALES_DIR) -> dict[str, tuple[str, ...]]:
    """The counted texts of one language: singular msgid to its translated forms."""
    return read_catalog(language, locales_dir).plurals


class Texts:
    """Translates and fills templates for one language."""

    def __init__(self, language: str, locales_dir: Path = LOCALES_DIR) -> None:
        if language not in LANGUAGES:
            raise ValueError(f"unsupported language {language!r}; use one of {LANGUAGES}")
        self.language = language
        catalog = _shared_catalog(language, locales_dir)
        self._catalog = catalog.texts
        self._plurals = catalog.plurals
        self._plural_index = catalog.plural_index

    def __call__(self, template: str, /, **values: Any) -> str:
        """Translate ``template`` and fill its ``{placeholders}``."""
        translated = self._catalog.get(template, template)
        return translated.format(**values) if values else translated

    def ngettext(self, singular: str, plural: str, n: int, /, **values: Any) -> str:
        """The form of a text for the number ``n`` (also given to it as ``{n}``), filled."""
        forms = self._plurals.get(singular)
        if forms is None:
            template = singular if n == 1 else plural
        else:
            template = forms[min(self._plural_index(n), len(forms) - 1)]
        return template.format(n=n, **values)
