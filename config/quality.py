"""The ``quality`` section: words and patterns in staff replies that the leads hear about.

::

    quality:
      forbidden_words: [блин, "не моя проблема"]
      forbidden_patterns: ['дебил\\w*']

Words match case-insensitively as whole words (Cyrillic included); a phrase's words
may be separated by any whitespace. Patterns are Python regular expressions, matched
case-insensitively anywhere in the reply.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

from config.sections import Section, invalid, null_as

#: Longer patterns are refused: a reply is checked against every one of them.
MAX_PATTERN = 200


def _check_word(value: str) -> str:
    if not re.search(r"\w", value):
        raise invalid(f"{value!r} has no letters or digits to match")
    return value


def _check_pattern(value: str) -> str:
    if len(value) > MAX_PATTERN:
        raise invalid(f"longer than {MAX_PATTERN} characters")
    try:
        compiled = re.compile(value, re.IGNORECASE)
    except re.error as exc:
        raise invalid(f"invalid regular expression: {exc}") from None
    if compiled.search("") is not None:
        raise invalid("matches empty text, so it would match every reply")
    return value


ForbiddenWord = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1), AfterValidator(_check_word)
]
ForbiddenPattern = Annotated[str, StringConstraints(min_length=1), AfterValidator(_check_pattern)]


class QualitySection(Section):
    """What the check of staff replies looks for (nothing: no check)."""

    forbidden_words: Annotated[tuple[ForbiddenWord, ...], null_as(())] = ()
    forbidden_patterns: Annotated[tuple[ForbiddenPattern, ...], null_as(())] = ()

    @property
    def enabled(self) -> bool:
        """Whether there is anything to look for."""
        return bool(self.forbidden_words or self.forbidden_patterns)
