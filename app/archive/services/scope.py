"""Scope: part of the archive services (see the package docstring)."""

from __future__ import annotations

from sqlalchemy import or_, select

from app.accounts.actor import Actor
from app.accounts.models import Organisation
from app.archive.models import AnnualVerification, CreditRecord
from app.core.errors import NotFound, ValidationFailed
from app.core.validators import id_number_error, normalise_id_number
from app.extensions import db
from app.people.models import Person

from .verification import YearSummary, year_summary


def person_scope_condition(actor: Actor):
    """SQL condition: persons the actor may see (themself, or staff of units in their subtree)."""
    conds = [Person.user_id == actor.id]
    roots = actor.staff_roots
    if roots:
        sub = select(Organisation.id).where(or_(*[Organisation.path.startswith(o.path) for o in roots]))
        conds.append(Person.unit_id.in_(sub))
    return or_(*conds)


def can_see_person(actor: Actor, person: Person) -> bool:
    return person.user_id == actor.id or actor.sees_staff_of(person.unit)


def visible_person(actor: Actor, id_number: str | None) -> Person:
    """The person with that ID number if the actor may see them; the actor's own profile when
    no ID number is given; otherwise 404."""
    if not id_number:
        person = actor.person
        if person is None:
            raise ValidationFailed("请求参数有误", {"person_id_number": "请填写人员的公民身份号码"})
    else:
        if err := id_number_error(id_number.strip()):  # say which rule failed (design §4), not "not found"
            raise ValidationFailed("请求参数有误", {"person_id_number": err})
        person = db.session.scalar(select(Person).where(Person.id_number == normalise_id_number(id_number)))
    if person is None or not can_see_person(actor, person):
        raise NotFound("未找到该人员的培训档案，或您无权查看")
    return person


def archive_for(actor: Actor, id_number: str | None, year: int, page: tuple[int, int] | None = None) -> YearSummary:
    return year_summary(visible_person(actor, id_number), year, page)


def years_of(person: Person) -> list[int]:
    """Years with recognised records or a stored verification, newest first."""
    years = set(db.session.scalars(select(CreditRecord.year).where(CreditRecord.person_id == person.id).distinct()))
    years |= set(db.session.scalars(select(AnnualVerification.year)
                                    .where(AnnualVerification.person_id == person.id)))
    return sorted(years, reverse=True)

