"""Reads for the declaration page: the staff a unit may declare for, found by name or ID number."""

from __future__ import annotations

from sqlalchemy import or_, select

from app.accounts.actor import Actor
from app.accounts.models import Role
from app.credits.workflow_hooks import PERMISSION
from app.extensions import db
from app.people.models import Person


def declarable_units(actor: Actor) -> list[int]:
    """Units whose staff the actor may declare for (as :func:`~app.credits.workflow_hooks.can_declare_for`)."""
    return [m.organisation_id for m in actor.memberships
            if m.role in (Role.ADMIN, Role.SUB_ADMIN) and (m.can("people") or m.can(PERMISSION))]


def staff_matching(actor: Actor, q: str, limit: int = 10) -> list[Person]:
    """Staff of those units whose name or ID number starts with ``q`` (the type-ahead of 公民身份号码)."""
    units = declarable_units(actor)
    q = q.strip()
    if not units or not q:
        return []
    stmt = (select(Person).where(Person.unit_id.in_(units),
                                 or_(Person.name.startswith(q, autoescape=True),
                                     Person.id_number.startswith(q.upper(), autoescape=True)))
            .order_by(Person.name, Person.id).limit(limit))
    return list(db.session.scalars(stmt))
