"""The statistics summary tables (``app.statistics.models``: people per unit, verifications per unit and year,
credit records per unit, year and learning form) as a recount from the rows they summarise.

The tables are kept current by database triggers (migration ``stats2_0001``) in the transaction that changes a
person, a stored verification or a credit record, so nothing here runs on the way of a change: :func:`recount`
says what the tables should hold and :func:`rebuild` (``flask statistics rebuild``) writes it, after a bulk load
that went around the triggers; :func:`differences` (``flask statistics check``) compares."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import case, delete, func, insert, select

from app.archive.models import AnnualVerification, CreditRecord
from app.extensions import db
from app.people.models import Person
from app.statistics.models import UnitFormSummary, UnitPeopleSummary, UnitYearSummary

HOURS = ("public_hours", "professional_hours", "elective_hours", "total_hours")


def _people_recount():
    return (select(Person.unit_id, func.count(Person.id))
            .where(Person.unit_id.is_not(None)).group_by(Person.unit_id))


def _years_recount():
    av = AnnualVerification
    return (select(Person.unit_id, av.year, func.count(av.id), func.sum(case((av.verified.is_(True), 1), else_=0)),
                   *[func.sum(getattr(av, h)) for h in HOURS])
            .join(Person, Person.id == av.person_id).where(Person.unit_id.is_not(None))
            .group_by(Person.unit_id, av.year))


def _forms_recount():
    cr = CreditRecord
    form = func.coalesce(cr.learning_form, "other")
    return (select(Person.unit_id, cr.year, form, func.count(cr.id), func.sum(cr.recognised_hours))
            .join(Person, Person.id == cr.person_id).where(Person.unit_id.is_not(None))
            .group_by(Person.unit_id, cr.year, form))


def _key(rows: Any, width: int) -> dict[tuple, tuple]:
    """Rows as {key: values} with the values normalised (ints, hours to a tenth) and all-zero rows left out
    (a unit whose people all left keeps a row of zeros)."""
    out = {}
    for row in rows:
        values = tuple(round(Decimal(str(v)), 1) if isinstance(v, float | Decimal) else int(v or 0)
                       for v in row[width:])
        if any(values):
            out[tuple(row[:width])] = values
    return out


def recount() -> dict[str, dict[tuple, tuple]]:
    """What the summary tables should hold, counted from the rows."""
    return {"people": _key(db.session.execute(_people_recount()), 1),
            "years": _key(db.session.execute(_years_recount()), 2),
            "forms": _key(db.session.execute(_forms_recount()), 3)}


def stored() -> dict[str, dict[tuple, tuple]]:
    """What the summary tables hold, in the shape of :func:`recount`."""
    uy, uf = UnitYearSummary, UnitFormSummary
    return {"people": _key(db.session.execute(select(UnitPeopleSummary.unit_id, UnitPeopleSummary.people)), 1),
            "years": _key(db.session.execute(select(uy.unit_id, uy.year, uy.verifications, uy.completed,
                                                    *[getattr(uy, h) for h in HOURS])), 2),
            "forms": _key(db.session.execute(select(uf.unit_id, uf.year, uf.learning_form, uf.records, uf.hours)), 3)}


def differences() -> dict[str, list[tuple]]:
    """Per table, the keys where the stored summary and the recount disagree (empty when they agree)."""
    now, counted = stored(), recount()
    return {name: sorted({*now[name], *counted[name]} - {k for k in now[name] if now[name][k] == counted[name].get(k)},
                         key=str)
            for name in counted}


def rebuild() -> None:
    """Replace the summary tables by the recount (flushes, never commits)."""
    for model in (UnitFormSummary, UnitYearSummary, UnitPeopleSummary):
        db.session.execute(delete(model))
    uy = UnitYearSummary.__table__.c
    uf = UnitFormSummary.__table__.c
    db.session.execute(insert(UnitPeopleSummary).from_select(["unit_id", "people"], _people_recount()))
    db.session.execute(insert(UnitYearSummary).from_select(
        [uy.unit_id, uy.year, uy.verifications, uy.completed, *[uy[h] for h in HOURS]], _years_recount()))
    db.session.execute(insert(UnitFormSummary).from_select(
        [uf.unit_id, uf.year, uf.learning_form, uf.records, uf.hours], _forms_recount()))
    db.session.flush()
