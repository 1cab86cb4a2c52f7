"""Kinds of import: each domain declares its template columns and how one row is applied, and registers it
here (``personnel``; ``courses`` and ``teachers`` of a training workspace; the class kinds as that work lands)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.core.errors import NotFound

if TYPE_CHECKING:
    from app.accounts.actor import Actor
    from app.accounts.models import Organisation

#: Modules whose import registers their kinds (loaded on first use: no import of a domain from here).
KIND_MODULES = (
    "app.imports.personnel",
    "app.training.imports",
    "app.classes.imports",
    "app.training.online_results",
)


@dataclass(frozen=True)
class Column:
    header: str
    #: The key the row's values are given under.
    name: str
    example: str = ""
    choices: tuple[str, ...] | None = None
    #: Kept as text in templates and result files (ID numbers, codes, phone numbers).
    text: bool = True


@dataclass
class Batch:
    """Rows handed to a kind at once, within one transaction: ``(row number, {name: raw value})``."""

    rows: list[tuple[int, dict[str, Any]]]
    organisation: Organisation | None
    actor: Actor


#: Applies a batch of rows (flush, never commit); returns {row number: reason} for the rows refused.
ApplyBatch = Callable[[Batch], dict[int, str]]


@dataclass(frozen=True)
class ImportKind:
    key: str
    label: str
    columns: tuple[Column, ...]
    apply: ApplyBatch
    #: The organisation rows go into, for this actor and the requested id (NotFound when out of scope).
    target: Callable[[Actor, int | None], Organisation | None]
    #: May the actor import this kind at all?
    allowed: Callable[[Actor], bool]
    sheet: str = "数据"
    #: The organisations the actor may import into (a choice on the page), when more than the default one.
    targets: Callable[[Actor], list[Organisation]] | None = None

    @property
    def example(self) -> list[str]:
        return [c.example for c in self.columns]


_KINDS: dict[str, ImportKind] = {}


def register(kind: ImportKind) -> None:
    _KINDS[kind.key] = kind


def _load() -> None:
    for name in KIND_MODULES:
        importlib.import_module(name)


def kinds() -> dict[str, ImportKind]:
    _load()
    return dict(_KINDS)


def get(key: str | None) -> ImportKind:
    _load()
    kind = _KINDS.get(key or "")
    if kind is None:
        raise NotFound("没有这种导入类型")
    return kind
