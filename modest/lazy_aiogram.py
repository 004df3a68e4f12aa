"""Import aiogram with its pydantic models built on first use instead of at import.

``import aiogram`` ends with a loop that calls ``model_rebuild()`` on every one of its
~300 Telegram types, and its ~180 API methods are built as they are defined. That costs
about 100 MiB of memory and a second of CPU per process, although Modest only ever
validates a handful of them (``Update`` and the methods it calls). The types already ask
pydantic to ``defer_build``; only that loop defeats it.

``import_aiogram`` runs the import with the loop's rebuild turned into a no-op that hands
each model the namespace the loop would have used, so that pydantic's own lazy path (the
first validation rebuilds the model) resolves the same forward references. Nothing else
in aiogram changes. ``warm_up`` then builds the models the service needs before it takes
traffic, so no request pays for a build.

``defer_aiogram`` does the same, but only when something first imports aiogram (an
import hook), so that commands that never touch Telegram (``modest --help``,
``modest check-config``) do not import it at all.

If aiogram was imported already, or pydantic's ``model_rebuild`` no longer takes the
arguments relied on here, the import happens the normal (eager) way: slower and larger,
never wrong.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import inspect
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any

from pydantic import BaseModel

_REBUILD_ARGS = {"force", "raise_errors", "_parent_namespace_depth", "_types_namespace"}


def import_aiogram() -> bool:
    """Import aiogram, deferring its model builds; True when the builds were deferred."""
    if "aiogram" in sys.modules or not _rebuild_signature_known():
        import aiogram

        return False
    with _rebuild_deferred() as deferred:
        import aiogram  # noqa: F401
    _share_namespace(deferred)
    return True


def defer_aiogram() -> bool:
    """Make the first import of aiogram, wherever it happens, the deferred one.

    True when the hook is in place (or aiogram was imported the deferred way already);
    False when aiogram is imported already, or pydantic is not the one relied on here.
    """
    if "aiogram" in sys.modules or not _rebuild_signature_known():
        return False
    if not any(isinstance(finder, _DeferringFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _DeferringFinder())
    return True


class _DeferringFinder(importlib.abc.MetaPathFinder):
    """Finds aiogram as usual, then has it executed with its model builds deferred."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        if fullname != "aiogram":
            return None
        sys.meta_path.remove(self)  # once: every later import is the plain one
        spec = importlib.util.find_spec(fullname)
        if spec is not None and spec.loader is not None:
            spec.loader = _DeferringLoader(spec.loader)
        return spec


class _DeferringLoader(importlib.abc.Loader):
    """aiogram's own loader, run inside ``_rebuild_deferred``; everything else passes."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self._loader = loader

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        with _rebuild_deferred() as deferred:
            self._loader.exec_module(module)
        _share_namespace(deferred)

    def __getattr__(self, name: str) -> Any:
        # Resource readers and the like are the real loader's.
        return getattr(self._loader, name)


def _share_namespace(deferred: list[dict[str, Any]]) -> None:
    """Hand every aiogram model the names its deferred build will need."""
    namespace = _types_namespace(deferred)
    # Every aiogram model, built or not, generic (``Response[T]``) or not: a model built
    # later, or parametrised with a type built later, resolves its names from here.
    for model in _aiogram_models():
        own = dict(model.__pydantic_parent_namespace__ or {})
        model.__pydantic_parent_namespace__ = {**namespace, **own}
        # A model outside aiogram that nests an unbuilt aiogram type (a TypeAdapter, a
        # payload model) resolves that type's names from the type's module instead; the
        # names a module imports only for type checking are added there, nothing replaced.
        module = vars(sys.modules[model.__module__])
        for name, value in namespace.items():
            module.setdefault(name, value)


def warm_up(models: Iterable[type[BaseModel]]) -> None:
    """Build these models now, so that the first update or call does not pay for it."""
    for model in models:
        if not model.__pydantic_complete__:
            model.model_rebuild()


def _rebuild_signature_known() -> bool:
    parameters = inspect.signature(BaseModel.model_rebuild).parameters
    return set(parameters) >= _REBUILD_ARGS


@contextmanager
def _rebuild_deferred() -> Iterator[list[dict[str, Any]]]:
    """Within the block, aiogram's bulk ``model_rebuild(_types_namespace=...)`` is skipped.

    Yields the namespaces those calls carried (aiogram passes the same one every time).
    """
    original = BaseModel.__dict__["model_rebuild"]
    namespaces: list[dict[str, Any]] = []

    def model_rebuild(cls: type[BaseModel], **kwargs: Any) -> bool | None:
        namespace = kwargs.get("_types_namespace")
        if namespace is not None and cls.__module__.startswith("aiogram."):
            if not namespaces:
                namespaces.append(dict(namespace))
            cls.__pydantic_parent_namespace__ = namespaces[0]
            return None
        depth = kwargs.pop("_parent_namespace_depth", 2)
        # One frame more than the caller expects: this wrapper's.
        result: bool | None = original.__func__(cls, _parent_namespace_depth=depth + 1, **kwargs)
        return result

    BaseModel.model_rebuild = classmethod(model_rebuild)  # type: ignore[assignment,method-assign,arg-type]
    try:
        yield namespaces
    finally:
        BaseModel.model_rebuild = original  # type: ignore[method-assign]


def _types_namespace(deferred: list[dict[str, Any]]) -> dict[str, Any]:
    if deferred:
        return deferred[0]
    from aiogram import types

    return {name: getattr(types, name) for name in types.__all__}


def _aiogram_models() -> Iterator[type[BaseModel]]:
    """Every pydantic model class defined in aiogram (types, methods and their bases)."""
    seen: set[type[BaseModel]] = set()
    pending = list(BaseModel.__subclasses__())
    while pending:
        model = pending.pop()
        if model in seen:
            continue
        seen.add(model)
        pending.extend(model.__subclasses__())
        if model.__module__.startswith("aiogram."):
            yield model
