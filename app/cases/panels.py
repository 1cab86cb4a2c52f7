"""Panels other domains add to the case page and the task page (e.g. 失信信息 beside a credit-hour case).

``app.cases`` knows no domain: a domain registers a *panel source*, a function of (instance, actor) that
answers a :class:`Panel` (a template and its context) or None when it has nothing to show this actor; the
pages render the panels in the order the sources were registered. Sources read tables, never the workflow."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.accounts.actor import Actor
    from app.workflow.models import ProcessInstance


@dataclass(frozen=True)
class Panel:
    #: The heading (Chinese; the page translates it).
    title: str
    #: The template that renders the panel's body, given ``panel`` and ``context``.
    template: str
    context: dict[str, Any] = field(default_factory=dict)
    #: A Bootstrap colour for the panel's border (``danger`` draws the eye), or "".
    tone: str = ""
    #: What the JSON API shows of the panel (``panels`` of a task's detail): JSON-able; None keeps the panel to
    #: the pages.
    data: Any = None


PanelSource = Callable[["ProcessInstance", "Actor"], Panel | None]

_SOURCES: dict[str, PanelSource] = {}


def register_panel(name: str, source: PanelSource) -> None:
    """Add (or replace) the source called ``name``."""
    _SOURCES[name] = source


def unregister_panel(name: str) -> None:
    _SOURCES.pop(name, None)


def panels_for(instance: ProcessInstance, actor: Actor) -> list[Panel]:
    return [p for source in _SOURCES.values() if (p := source(instance, actor)) is not None]


def panel_answers(instance: ProcessInstance, actor: Actor) -> list[dict[str, Any]]:
    """The panels of the JSON API: ``{name, title, data}`` of each panel with data (the title in the
    request's language)."""
    from app.core.i18n import translate

    return [{"name": name, "title": translate(p.title), "data": p.data} for name, source in _SOURCES.items()
            if (p := source(instance, actor)) is not None and p.data is not None]
