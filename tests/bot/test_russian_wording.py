"""Russian that reads as written by a native speaker: units on the time buttons,
attribution that fits anyone, whoever assigned the ticket."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.i18n import Texts, read_catalog
from bot.renderers import TelegramRenderer
from bot.replies import tap_reply
from dispatch.assignment import TapOutcome, TapResult
from dispatch.views import PackageAlert, Release, TimePromptView
from tests.support.views import view

MOSCOW = ZoneInfo("Europe/Moscow")


def prompt_labels(language: str) -> tuple[list[str], str]:
    renderer = TelegramRenderer(Texts(language), MOSCOW)
    prompt = TimePromptView(prompt_id=3, ticket=view(), round=1, client_name=None)
    rows = renderer.time_prompt(prompt)["reply_markup"]["inline_keyboard"]
    placeholder = renderer.time_question(refused=None)["reply_markup"]["input_field_placeholder"]
    return [button["text"] for row in rows for button in row], placeholder


def test_time_buttons_in_russian_units() -> None:
    labels, placeholder = prompt_labels("ru")
    assert labels[:7] == ["15 мин", "30 мин", "45 мин", "1 ч", "1 ч 30 мин", "2 ч", "3 ч"]
    assert placeholder == "1 ч 30 мин"
    question = TelegramRenderer(Texts("ru"), MOSCOW).time_question(refused=None)["text"]
    assert question == (
        "Сколько времени заняло? Ответьте на это сообщение, например: 1 ч 30 мин, 90 или 1:30."
    )


def test_english_time_buttons_stay_short() -> None:
    labels, placeholder = prompt_labels("en")
    assert labels[:7] == ["15m", "30m", "45m", "1h", "1h30", "2h", "3h"]
    assert placeholder == "1h 30m"


def test_attribution_fits_any_gender() -> None:
    texts = Texts("ru")
    taken = TapResult(
        TapOutcome.ALREADY_TAKEN,
        taken_by="Ольга Смирнова",
        taken_at=datetime(2026, 12, 3, 13, 34, tzinfo=UTC),
        assignee="Иван Петров",
    )
    assert tap_reply(taken, texts, MOSCOW) == (
        "Уже назначена: Иван Петров · Ольга Смирнова, 16:34.",
        True,
    )
    renderer = TelegramRenderer(texts, MOSCOW)
    private = renderer.assignee_message(view(assigned_by_name="Ольга Смирнова"))["text"]
    assert "Назначено диспетчером: Ольга Смирнова" in private.splitlines()
    card = renderer.card(
        view(
            state="assigned",
            assignee_name="Ольга Смирнова",
            department_name="Сопровождение",
            assigned_by_name="Иван Петров",
            assigned_at=datetime(2026, 12, 3, 13, 34, tzinfo=UTC),
        ),
        departments=(),
    )
    assert (
        "✅ Назначено: Ольга Смирнова (Сопровождение) · Иван Петров, 16:34"
        in card["text"].splitlines()
    )
    in_helpdesk = renderer.card(
        view(
            state="assigned",
            assignee_name="Ольга Смирнова",
            department_name="Сопровождение",
            assigned_by_name="helpdesk",
            assigned_at=datetime(2026, 12, 3, 13, 34, tzinfo=UTC),
        ),
        departments=(),
    )
    assert (
        "✅ Назначено в хелпдеске: Ольга Смирнова (Сопровождение), 16:34"
        in in_helpdesk["text"].splitlines()
    )


def test_no_russian_text_needs_the_reader_s_gender() -> None:
    """Past-tense verbs of a named person would say "he" or "she": none are left
    ("никто не взял" is about nobody, and stays)."""
    gendered = re.compile(
        r"(?<!никто не )\b(назначил|взял|вернул|закрыл|начал|забыл|ответил|создал)(а|\(а\))?\b"
    )
    catalog = read_catalog("ru")
    texts = [
        *catalog.texts.values(),
        *(form for forms in catalog.plurals.values() for form in forms),
    ]
    assert [text for text in texts if gendered.search(text)] == []


def test_reassign_hand_back_and_take_read_in_russian() -> None:
    renderer = TelegramRenderer(Texts("ru"), MOSCOW)
    assigned = view(
        state="assigned",
        assignee_name="Ольга Смирнова",
        department_name="Сопровождение",
        assigned_by_name="Иван Петров",
        assigned_at=datetime(2026, 12, 3, 13, 34, tzinfo=UTC),
    )
    card = renderer.card(assigned, departments=())
    assert [b["text"] for row in card["reply_markup"]["inline_keyboard"] for b in row] == [
        "↪️ Переназначить"
    ]
    private = renderer.assignee_message(assigned)
    labels = [b["text"] for row in private["reply_markup"]["inline_keyboard"] for b in row]
    assert labels == ["↩️ Вернуть диспетчерам"]
    at = datetime(2026, 12, 3, 13, 40, tzinfo=UTC)
    moved = renderer.assignee_released(
        assigned, Release(by="Иван Петров", at=at, to="Пётр Иванов")
    )
    assert moved["text"].splitlines()[-1] == "↪️ Переназначено: Пётр Иванов · Иван Петров, 16:40"
    back = renderer.assignee_released(assigned, Release(by="Ольга Смирнова", at=at))
    assert back["text"].splitlines()[-1] == "↩️ Возвращено диспетчерам, 16:40"
    handed = view(handed_back=Release(by="Ольга Смирнова", at=at))
    card = renderer.card(handed, departments=(), take=True)
    assert "↩️ Возвращено диспетчерам: Ольга Смирнова, 16:40" in card["text"].splitlines()
    assert [b["text"] for row in card["reply_markup"]["inline_keyboard"] for b in row] == [
        "🙋 Взять себе"
    ]


def test_a_package_alert_names_the_month_the_share_and_the_overage() -> None:
    renderer = TelegramRenderer(Texts("ru"), MOSCOW)
    over = renderer.package_alert(PackageAlert("ООО «Акме»", "2026-12", 100, 160, 120))
    assert over["text"] == (
        "📦 <b>ООО «Акме»</b> · декабрь 2026: использовано 2:40 из 2:00 ч, перерасход 0:40"
        " (133\N{NO-BREAK SPACE}%)"
    )
    near = renderer.package_alert(PackageAlert("ООО «Акме»", "2026-12", 80, 100, 120))
    assert near["text"] == (
        "📦 <b>ООО «Акме»</b> · декабрь 2026: использовано 1:40 из 2:00 ч"
        " (83\N{NO-BREAK SPACE}%), осталось 0:20 ч"
    )
