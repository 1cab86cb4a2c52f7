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
from app.statistics.models import (
    UnitFormSummary,
    UnitPeopleSummary,
    UnitTitleSummary,
    UnitTitleYearSummary,
    UnitYearSummary,
)

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


def _titles_recount():
    series, level = func.coalesce(Person.title_series, ""), func.coalesce(Person.title_level, "")
    return (select(Person.unit_id, series, level, func.count(Person.id)).where(Person.unit_id.is_not(None))
            .group_by(Person.unit_id, series, level))


def _title_years_recount():
    av = AnnualVerification
    series, level = func.coalesce(Person.title_series, ""), func.coalesce(Person.title_level, "")
    return (select(Person.unit_id, av.year, series, level, func.count(av.id))
            .join(Person, Person.id == av.person_id).where(Person.unit_id.is_not(None), av.verified.is_(True))
            .group_by(Person.unit_id, av.year, series, level))


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
            "forms": _key(db.session.execute(_forms_recount()), 3),
            "titles": _key(db.session.execute(_titles_recount()), 3),
            "title_years": _key(db.session.execute(_title_years_recount()), 4)}


def stored() -> dict[str, dict[tuple, tuple]]:
    """What the summary tables hold, in the shape of :func:`recount`."""
    uy, uf, ut, uty = UnitYearSummary, UnitFormSummary, UnitTitleSummary, UnitTitleYearSummary
    return {"people": _key(db.session.execute(select(UnitPeopleSummary.unit_id, UnitPeopleSummary.people)), 1),
            "years": _key(db.session.execute(select(uy.unit_id, uy.year, uy.verifications, uy.completed,
                                                    *[getattr(uy, h) for h in HOURS])), 2),
            "forms": _key(db.session.execute(select(uf.unit_id, uf.year, uf.learning_form, uf.records, uf.hours)), 3),
            "titles": _key(db.session.execute(select(ut.unit_id, ut.title_series, ut.title_level, ut.people)), 3),
            "title_years": _key(db.session.execute(select(uty.unit_id, uty.year, uty.title_series, uty.title_level,
                                                          uty.completed)), 4)}


def differences() -> dict[str, list[tuple]]:
    """Per table, the keys where the stored summary and the recount disagree (empty when they agree)."""
    now, counted = stored(), recount()
    return {name: sorted({*now[name], *counted[name]} - {k for k in now[name] if now[name][k] == counted[name].get(k)},
                         key=str)
            for name in counted}


def rebuild() -> None:
    """Replace the summary tables by the recount (flushes, never commits)."""
    for model in (UnitFormSummary, UnitYearSummary, UnitPeopleSummary, UnitTitleSummary, UnitTitleYearSummary):
        db.session.execute(delete(model))
    uy = UnitYearSummary.__table__.c
    uf = UnitFormSummary.__table__.c
    db.session.execute(insert(UnitPeopleSummary).from_select(["unit_id", "people"], _people_recount()))
    db.session.execute(insert(UnitYearSummary).from_select(
        [uy.unit_id, uy.year, uy.verifications, uy.completed, *[uy[h] for h in HOURS]], _years_recount()))
    db.session.execute(insert(UnitFormSummary).from_select(
        [uf.unit_id, uf.year, uf.learning_form, uf.records, uf.hours], _forms_recount()))
    ut = UnitTitleSummary.__table__.c
    uty = UnitTitleYearSummary.__table__.c
    db.session.execute(insert(UnitTitleSummary).from_select(
        [ut.unit_id, ut.title_series, ut.title_level, ut.people], _titles_recount()))
    db.session.execute(insert(UnitTitleYearSummary).from_select(
        [uty.unit_id, uty.year, uty.title_series, uty.title_level, uty.completed], _title_years_recount()))
    db.session.flush()
