"""Money, shares, months and dates as the routing file's language writes them (Babel, CLDR).

Russian groups thousands with a space and writes a decimal comma (``2 500,00 ₽``), names
the month in the nominative (``декабрь 2026``) and a day as ``03.12.2026``; English
writes ``RUB 2,500.00``, ``December 2026`` and ``Dec 3, 2026``. A report's PDF and its
CSV use the same forms. Babel's spaces in numbers are no-break spaces, as typography
wants: an amount never breaks over a line.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal, format_percent


def money(amount: Decimal, currency: str, language: str) -> str:
    """``2 500,00 ₽`` (ru), ``RUB 2,500.00`` (en): the currency as the language writes it."""
    text = format_currency(amount, currency, locale=language)
    if text.startswith(currency) and text[len(currency) : len(currency) + 1].isdigit():
        # CLDR glues a code to the number ("RUB2,500.00"); a symbol ("€2,500.00") stays.
        return f"{currency}\N{NO-BREAK SPACE}{text[len(currency) :]}"
    return text


def number(value: Decimal | int, language: str) -> str:
    """``2 500`` (ru), ``2,500`` (en); decimals as the language writes them."""
    return format_decimal(value, locale=language)


def share(part: int, whole: int, language: str) -> str:
    """``133 %`` (ru), ``133%`` (en): how much of ``whole`` ``part`` is, rounded."""
    return format_percent(Decimal(part) / Decimal(whole) if whole else 0, locale=language)


def month_name(month: str, language: str) -> str:
    """``декабрь 2026`` (ru), ``December 2026`` (en) for ``2026-12``."""
    year, number_ = (int(part) for part in month.split("-"))
    return format_date(date(year, number_, 1), "LLLL y", locale=language)


#: How each language writes a day in a document: ``03.12.2026``, ``Dec 3, 2026``.
_DAY = {"ru": "short", "en": "medium"}


def day(value: date, language: str) -> str:
    """``03.12.2026`` (ru), ``Dec 3, 2026`` (en): the same in the PDF and in the CSV."""
    return format_date(value, _DAY.get(language, "medium"), locale=language)
