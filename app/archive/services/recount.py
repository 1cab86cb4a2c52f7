"""Recount: part of the archive services (see the package docstring)."""

from __future__ import annotations

from sqlalchemy import select

from app.accounts.actor import Actor
from app.extensions import db
from app.people.models import Person

from .scope import person_scope_condition
from .verification import verify_year


def recount(year: int, *, actor: Actor | None = None, person_ids: list[int] | None = None) -> int:
    """重新统计学时: re-verify ``year`` for the persons in the actor's scope (all persons when no
    actor is given, e.g. from the CLI) and store the results. Returns how many were verified."""
    stmt = select(Person)
    if actor is not None:
        stmt = stmt.where(person_scope_condition(actor))
    if person_ids is not None:
        stmt = stmt.where(Person.id.in_(person_ids))
    count = 0
    for person in db.session.scalars(stmt.order_by(Person.id)).all():
        verify_year(person, year)
        count += 1
    return count

