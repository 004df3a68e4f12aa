"""The cabinet's texts: every text of its pages and messages is in both catalogs."""

from __future__ import annotations

import re
import string

import pytest

from cabinet.guard import _ERRORS
from cabinet.i18n import LANGUAGES, PageTexts, load_catalog
from cabinet.ticket_pages import (
    MOMENT_LABELS,
    PRIORITY_LABELS,
    SLA_STATES,
    SLA_TARGETS,
    STAGE_LABELS,
)
from tests.support.paths import REPO

ROOT = REPO
CABINET = ROOT / "cabinet"
_LITERAL = r'"((?:[^"\\]|\\.)*)"'


def used_msgids() -> set[str]:
    """Every text the templates and the cabinet's code show, and the refusals they pass on."""
    ids: set[str] = set()
    for template in (CABINET / "templates").glob("*.html"):
        ids.update(re.findall(r"\bt\(\s*" + _LITERAL, template.read_text("utf-8")))
    for module in CABINET.glob("*.py"):
        source = module.read_text("utf-8")
        ids.update(re.findall(r"(?:texts\(request\)|\bt)\(\s*" + _LITERAL, source))
        ids.update(re.findall(r"PortalError\(\s*" + _LITERAL, source))
        ids.update(re.findall(r"message = " + _LITERAL, source))
    for module in (ROOT / "dispatch" / "portal").glob("*.py"):
        source = module.read_text("utf-8")
        # Refusals written for people end with a full stop (ids like "not allowed" do not).
        ids.update(
            m for m in re.findall(r"PortalError\(\s*" + _LITERAL, source) if m.endswith(".")
        )
        ids.update(m for m in re.findall(r"return " + _LITERAL, source) if m.endswith("."))
    for labels in (_ERRORS, STAGE_LABELS, MOMENT_LABELS, PRIORITY_LABELS, SLA_TARGETS, SLA_STATES):
        ids.update(labels.values())
    return ids


def test_the_scan_finds_the_cabinet_texts() -> None:
    found = used_msgids()
    assert len(found) >= 100
    assert "The password needs at least 10 characters." in found


@pytest.mark.parametrize("language", ["ru"])
def test_every_text_of_the_cabinet_is_translated(language: str) -> None:
    missing = sorted(used_msgids() - load_catalog(language).keys())
    assert missing == [], f"untranslated in {language}: {missing}"


def test_catalogs_list_the_same_texts_with_the_same_placeholders() -> None:
    def ids(language: str) -> set[str]:
        path = CABINET / "locales" / language / "LC_MESSAGES" / "cabinet.po"
        return {m for m in re.findall(r'^msgid "(.*)"$', path.read_text("utf-8"), re.M) if m}

    def names(text: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}

    assert ids("en") == ids("ru")
    for msgid, translation in load_catalog("ru").items():
        assert names(msgid) == names(translation), msgid
    assert set(LANGUAGES) == {"ru", "en"}
    assert PageTexts("ru")("Tickets found: {count}", count=3) == "Найдено заявок: 3"
    with pytest.raises(ValueError, match="unsupported language"):
        PageTexts("de")
