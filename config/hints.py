"""Hints for a routing-file problem: "did you mean", and the keys a section accepts."""

from __future__ import annotations

import difflib
import types
from collections.abc import Iterable
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel

from config.yaml_lines import Loc

#: How alike a word must be to a known one to be suggested (difflib's ratio).
_CUTOFF = 0.6


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'olga'?"`` when one of ``choices`` is close to ``word``, else ``""``."""
    close = difflib.get_close_matches(word, sorted(set(choices)), n=1, cutoff=_CUTOFF)
    return f"; did you mean {close[0]!r}?" if close else ""


def accepted_keys(model: type[BaseModel], loc: Loc) -> list[str]:
    """The keys the mapping at ``loc`` accepts (its model's fields); empty when unknown."""
    target: Any = model
    for part in loc:
        target = _step(target, part)
        if target is None:
            return []
    found = _model(target)
    return list(found.model_fields) if found is not None else []


def _step(annotation: Any, part: str | int) -> Any:
    """The annotation of ``part`` inside ``annotation`` (a field, or a list's items)."""
    for candidate in _alternatives(annotation):
        model = _model(candidate)
        if model is not None and isinstance(part, str) and part in model.model_fields:
            return model.model_fields[part].annotation
        origin = get_origin(candidate)
        if isinstance(part, int) and origin in (tuple, list, frozenset, set):
            return get_args(candidate)[0]
    return None


def _alternatives(annotation: Any) -> list[Any]:
    """``X | None`` and ``Annotated[X, ...]`` unwrapped to the types they may hold."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _alternatives(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return [alt for arg in get_args(annotation) for alt in _alternatives(arg)]
    return [annotation]


def _model(annotation: Any) -> type[BaseModel] | None:
    for candidate in _alternatives(annotation):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None
