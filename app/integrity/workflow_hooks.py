"""How dishonesty records meet the approval chains: reviewers of a case about a professional see the
entries recorded against that person (a panel on the task page and the case page, app.cases.panels)."""

from __future__ import annotations

from app.accounts.actor import Actor
from app.cases.panels import Panel, register_panel
from app.workflow.models import ProcessInstance
from app.workflow.services import oversees_instance

from . import services
from .schemas import EntrySchema

_ENTRIES = EntrySchema(many=True)

PANEL = "integrity.dishonesty"


def dishonesty_panel(instance: ProcessInstance, actor: Actor) -> Panel | None:
    """The entries against the case's person, for those who see the case as one of its organisations: the
    reviewers, and the person's unit and those above it. Not the person, and not whoever merely started the
    case (a training institution declaring for its student sees the case, not the student's record of
    dishonesty). Nothing when there are none."""
    if instance.subject_person_id is None:
        return None
    person = actor.person
    if person is not None and person.id == instance.subject_person_id:
        return None
    if not oversees_instance(actor, instance, declarer_counts=False):
        return None
    entries = services.entries_of_person(instance.subject_person_id)
    if not entries:
        return None
    active = [e for e in entries if e.is_active]
    return Panel(
        title="失信信息",
        template="integrity/_panel.html",
        context={"entries": entries, "active": len(active)},
        tone="danger" if active else "",
        data={"active": len(active), "entries": _ENTRIES.dump(entries)},
    )


def register() -> None:
    register_panel(PANEL, dishonesty_panel)
