"""The write side of transfers: start one for a person (the old unit's side). The reviews (调出审核, 调入审核)
are ordinary tasks of the inbox (app.cases); what a confirmation changes is ``move_person`` in
:mod:`.workflow_hooks`. Services take the actor, flush and never commit."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.accounts.actor import Actor
from app.core.errors import NotFound
from app.extensions import db
from app.people import services as people
from app.people.models import Person
from app.workflow import services as workflow
from app.workflow.models import ProcessInstance

from .queries import PROCESS_KEY

#: The fields of the start form an actor fills in (the rest the platform fills from the person).
FIELDS = ("to_unit_id", "transfer_date", "reason", "remarks")


def person_to_transfer(actor: Actor, *, person_id: int | None = None, id_number: str | None = None) -> Person:
    """A person of the actor's units (their details prefill the form); anyone else is not found."""
    person = None
    if person_id is not None:
        person = db.session.get(Person, person_id)
    elif id_number:
        person = db.session.scalar(select(Person).where(Person.id_number == id_number.strip().upper()))
    if person is None or not people.in_scope(actor, person.unit):
        raise NotFound(people.NOT_FOUND)
    return person


def start_transfer(actor: Actor, person: Person, values: dict[str, Any]) -> ProcessInstance:
    """Start ``personnel_transfer`` for ``person`` with the transfer details in ``values``."""
    raw = {name: values[name] for name in FIELDS if values.get(name) not in (None, "")}
    return workflow.start_process(PROCESS_KEY, {**raw, "person_id_number": person.id_number}, actor=actor)
