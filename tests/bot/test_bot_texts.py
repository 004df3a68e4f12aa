"""Texts: every bot text is in both catalogs; buttons stay within Telegram's limits."""

from __future__ import annotations

import re
import string
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.callbacks import DispatchAction, DispatchCb
from bot.i18n import LANGUAGES, Texts, load_catalog, read_catalog
from bot.renderers import TelegramRenderer, cut
from config.routing import RoutingConfig, load_routing_text
from tests.support.paths import REPO
from tests.support.routing import ROUTING_YAML
from tests.support.views import view

BOT_DIR = REPO / "bot"
# A call's first argument: one string literal, or several concatenated implicitly.
_CALL = re.compile(r'(?:self\._t|\bt|\b_d|texts)\(\s*((?:"(?:[^"\\]|\\.)*"\s*)+)', re.S)
_PIECE = re.compile(r'"((?:[^"\\]|\\.)*)"')


def used_msgids() -> set[str]:
    """Every template the bot code passes to the translator."""
    ids: set[str] = set()
    for path in [
        *BOT_DIR.rglob("*.py"),
        BOT_DIR.parent / "dispatch" / "report_files.py",
        BOT_DIR.parent / "dispatch" / "report_pdf.py",
        BOT_DIR.parent / "dispatch" / "report_delivery.py",
        BOT_DIR.parent / "dispatch" / "helpdesk_notes.py",
        BOT_DIR.parent / "dispatch" / "crm" / "timeline.py",
    ]:
        for literal in _CALL.findall(path.read_text(encoding="utf-8")):
            ids.add("".join(_PIECE.findall(literal)))
    return ids


_PLURAL_CALL = re.compile(
    r'ngettext\(\s*((?:"(?:[^"\\]|\\.)*"\s*)+),\s*((?:"(?:[^"\\]|\\.)*"\s*)+),', re.S
)


def used_plurals() -> set[tuple[str, str]]:
    """Every (singular, plural) pair the bot code passes to ``ngettext``."""
    pairs: set[tuple[str, str]] = set()
    for path in BOT_DIR.rglob("*.py"):
        for one, many in _PLURAL_CALL.findall(path.read_text(encoding="utf-8")):
            pairs.add(("".join(_PIECE.findall(one)), "".join(_PIECE.findall(many))))
    return pairs


def test_every_plural_text_has_the_forms_of_both_languages() -> None:
    pairs = used_plurals()
    assert len(pairs) >= 3
    ru = read_catalog("ru")
    for singular, plural in pairs:
        forms = ru.plurals.get(singular)
        assert forms is not None, f"ru does not translate {singular!r}"
        assert len(forms) == 3, f"ru lacks the 3 forms of {singular!r}"
        for form in forms:
            assert placeholders(form) <= placeholders(plural) | {"n"}, form
        assert singular in _po_ids("en"), f"en does not list {singular!r}"
    assert [ru.plural_index(n) for n in (1, 2, 5, 11, 21, 22, 25, 111)] == [0, 1, 2, 2, 0, 1, 2, 2]


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_the_scan_finds_the_bot_texts() -> None:
    assert len(used_msgids()) >= 20


@pytest.mark.parametrize("language", ["ru"])
def test_every_text_the_bot_uses_is_translated(language: str) -> None:
    catalog = load_catalog(language)
    missing = sorted(used_msgids() - catalog.keys())
    assert missing == [], f"untranslated in {language}: {missing}"


def test_catalogs_list_the_same_texts_with_the_same_placeholders() -> None:
    ru = load_catalog("ru")
    for msgid, translation in ru.items():
        assert placeholders(msgid) == placeholders(translation), msgid
    en_ids = set(_po_ids("en"))
    assert en_ids == set(_po_ids("ru")), "en and ru catalogs list different texts"
    assert used_msgids() <= en_ids


def _po_ids(language: str) -> list[str]:
    text = (BOT_DIR / "locales" / language / "LC_MESSAGES" / "modest.po").read_text("utf-8")
    return [m for m in re.findall(r'^msgid "(.*)"$', text, re.M) if m]


def test_languages_are_ru_and_en() -> None:
    assert set(LANGUAGES) == {"ru", "en"}
    with pytest.raises(ValueError, match="unsupported language"):
        Texts("de")


def test_callback_data_fits_64_bytes_with_the_longest_keys_and_ids() -> None:
    # Ticket ids are 32-bit (INTEGER primary key); keys are at most 20 characters.
    longest = DispatchCb(
        action=DispatchAction.ASSIGN, ticket=2**31 - 1, dept="d" * 20, person="p" * 20
    )
    assert len(longest.pack().encode()) <= 64
    assert DispatchCb.unpack(longest.pack()) == longest


@pytest.fixture
def ru_routing() -> RoutingConfig:
    return load_routing_text(ROUTING_YAML.replace("language: en", "language: ru"))


def test_a_russian_card_has_russian_texts_and_department_buttons(
    ru_routing: RoutingConfig,
) -> None:
    renderer = TelegramRenderer(Texts("ru"), ZoneInfo("Europe/Moscow"))
    payload = renderer.card(view(), departments=ru_routing.departments)
    assert "Не назначена. Выберите отдел:" in payload["text"]
    assert "22.11.2026 10:30" in payload["text"]
    rows = payload["reply_markup"]["inline_keyboard"]
    assert [b["text"] for row in rows for b in row] == ["Support", "Development"]


def test_assigned_card_in_russian_names_who_and_when(ru_routing: RoutingConfig) -> None:
    renderer = TelegramRenderer(Texts("ru"), ZoneInfo("Europe/Moscow"))
    assigned = view(
        state="assigned",
        assignee_name="Ольга",
        department_name="Поддержка",
        assigned_by_name="Иван",
        assigned_at=datetime(2026, 11, 22, 9, 5, tzinfo=UTC),
    )
    payload = renderer.card(assigned, departments=ru_routing.departments)
    # Attribution that fits any gender (issue 17.17): no "назначил".
    assert "✅ Назначено: Ольга (Поддержка) · Иван, 12:05" in payload["text"]
    # An assigned card keeps one button: "Reassign" (issue 17.10).
    rows = payload["reply_markup"]["inline_keyboard"]
    assert [b["text"] for row in rows for b in row] == ["↪️ Переназначить"]


def test_cut_keeps_short_text_and_cuts_long_text_at_a_word() -> None:
    assert cut("short text", 20) == "short text"
    cut_text = cut("word " * 200, 50)
    assert len(cut_text) <= 50
    assert cut_text.endswith("word…")
