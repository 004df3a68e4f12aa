"""SLA and support-line texts: plural forms in both catalogs, Russian cards, button sizes."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.callbacks import LineAction, LineCb, SlaAction, SlaCb
from bot.i18n import Texts, load_plurals
from bot.renderers import TelegramRenderer
from dispatch.lines.views import HandoverNote
from dispatch.sla.policies import SlaTarget
from dispatch.sla.views import AtRisk, SlaNote, SlaNotice
from dispatch.views import TicketView
from tests.support.paths import REPO

BOT_DIR = REPO / "bot"
BASE_VIEW = TicketView(
    id=1,
    number="A-1",
    subject="Принтер",
    body="Текст",
    priority="high",
    type="incident",
    client_name="Мария",
    client_email="",
    client_company="ООО Ромашка",
    url=None,
    created_at=datetime(2026, 11, 22, 7, 30, tzinfo=UTC),
    state="unassigned",
    department_name=None,
    assignee_name=None,
    assigned_by_name=None,
    assigned_at=None,
    writeback="none",
    writeback_error=None,
)
_PLURAL_CALL = re.compile(r'\.ngettext\(\s*"((?:[^"\\]|\\.)*)",\s*"((?:[^"\\]|\\.)*)"', re.S)
MOSCOW = ZoneInfo("Europe/Moscow")


def plural_calls() -> set[tuple[str, str]]:
    """Every (singular, plural) pair the bot passes to ``Texts.ngettext``."""
    return {
        pair for path in BOT_DIR.rglob("*.py") for pair in _PLURAL_CALL.findall(path.read_text())
    }


def test_every_plural_text_has_all_its_forms_in_both_catalogs() -> None:
    calls = plural_calls()
    assert len(calls) >= 2
    ru = load_plurals("ru")
    catalogs = {
        language: (BOT_DIR / "locales" / language / "LC_MESSAGES" / "modest.po").read_text()
        for language in ("ru", "en")
    }
    assert "nplurals=3;" in catalogs["ru"]
    assert "nplurals=2;" in catalogs["en"]
    for singular, plural in calls:
        assert len(ru[singular]) == 3, singular
        assert all("{n}" in form for form in ru[singular]), singular
        assert f'msgid_plural "{plural}"' in catalogs["en"], plural


@pytest.mark.parametrize(
    ("count", "word"),
    [(1, "заявка"), (3, "заявки"), (5, "заявок"), (11, "заявок"), (21, "заявка"), (22, "заявки")],
)
def test_russian_plural_forms(count: int, word: str) -> None:
    text = Texts("ru").ngettext(
        "<b>{n} ticket at risk or overdue</b>, most urgent first",
        "<b>{n} tickets at risk or overdue</b>, most urgent first",
        count,
    )
    assert text.startswith(f"<b>{count} {word} ")


def test_english_plural_forms() -> None:
    t = Texts("en")
    one, many = "{n} ticket at risk", "{n} tickets at risk"
    assert (t.ngettext(one, many, 1), t.ngettext(one, many, 2)) == (
        "1 ticket at risk",
        "2 tickets at risk",
    )


NOTE = SlaNote(
    SlaTarget.FIRST_RESPONSE,
    timedelta(minutes=12),
    due_at=datetime(2026, 11, 23, 7, 15, tzinfo=UTC),
    paused=False,
)


def renderer() -> TelegramRenderer:
    return TelegramRenderer(Texts("ru"), MOSCOW)


@pytest.mark.parametrize(
    ("note", "expected"),
    [
        (NOTE, "⏱ Первый ответ — в течение 12 мин (до 23.11 10:15)"),
        (
            dataclasses.replace(NOTE, target=SlaTarget.RESOLUTION, left=-timedelta(minutes=75)),
            "🔥 Решение просрочено на 1 ч 15 мин",
        ),
        (
            dataclasses.replace(NOTE, paused=True, due_at=None),
            "⏸ Срок на паузе, пока ждём клиента: осталось 12 мин",
        ),
        (
            dataclasses.replace(NOTE, by_assignment=True),
            "(первым ответом считается назначение: хелпдеск не сообщает об ответах)",
        ),
    ],
)
def test_a_russian_card_shows_the_stage_the_line_and_the_nearest_target(
    note: SlaNote, expected: str
) -> None:
    view = dataclasses.replace(BASE_VIEW, stage="waiting_client", line=2, sla=note)
    text = renderer().card(view, departments=())["text"]
    assert "этап: ждём клиента · линия 2" in text
    assert expected in text


def test_a_card_passed_on_says_from_where_by_whom_and_why() -> None:
    note = HandoverNote(1, "Ольга", "Эксперты", "Нужен специалист по принтерам")
    text = renderer().card(dataclasses.replace(BASE_VIEW, handover=note), departments=())["text"]
    assert "➡️ Передана с 1-й линии в отдел «Эксперты», передал Ольга" in text
    assert "💬 Нужен специалист по принтерам" in text


def test_warnings_breaches_and_the_sla_list_in_russian() -> None:
    warning = SlaNotice(
        1,
        "HD-4101",
        "Принтер",
        SlaTarget.FIRST_RESPONSE,
        False,
        timedelta(minutes=12),
        timedelta(minutes=15),
    )
    breach = dataclasses.replace(
        warning, breach=True, target=SlaTarget.RESOLUTION, target_time=timedelta(hours=4)
    )
    r = renderer()
    assert (
        "⏱ До первого ответа по #HD-4101 осталось 12 мин"
        in r.sla_warning(warning, url=None)["text"]
    )
    assert r.alert_line(breach) == "🔥 #HD-4101: не решена за 4 ч"
    listing = r.sla_list([AtRisk(1, "HD-4101", "Принтер", "Ольга", NOTE)])["text"]
    assert "1 заявка под угрозой или просрочена" in listing
    assert "первый ответ: ⏱ осталось 12 мин · Ольга" in listing


def test_new_callback_data_fits_64_bytes_with_the_longest_keys_and_ids() -> None:
    top = 2**31 - 1
    for data in (
        LineCb(action=LineAction.PICK, ref=top, dept="d" * 20),
        LineCb(action=LineAction.START, ref=top),
        SlaCb(action=SlaAction.SHOW, ticket=top),
    ):
        assert len(data.pack().encode()) <= 64
        assert type(data).unpack(data.pack()) == data
