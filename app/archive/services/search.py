"""Search (units, departments, bureaus): part of the archive services (see the package docstring)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cached_property

from sqlalchemy import and_, false, func, or_, select

from app.accounts.actor import Actor
from app.accounts.models import Organisation
from app.archive.models import AnnualVerification
from app.core.paging import Page
from app.core.sorting import Sort, order_clauses, parse_sort
from app.extensions import db
from app.people.models import Person

from .rule import ZERO, requirement_for
from .scope import person_scope_condition
from .verification import shortfall, verdict


@dataclass
class ArchiveRow:
    person: Person
    unit_name: str | None
    region: str | None
    year: int
    verification: AnnualVerification | None

    @property
    def verified(self) -> bool:
        return bool(self.verification and self.verification.verified)

    @property
    def status(self) -> str:
        return self._verdict[0]

    @property
    def result_label(self) -> str:
        return self._verdict[1]

    @cached_property
    def _verdict(self) -> tuple[str, str]:
        v = self.verification
        need = None
        if not self.verified and self.year >= date.today().year:  # only the current year says what is left
            hours = {"public": v.public_hours, "professional": v.professional_hours, "elective": v.elective_hours,
                     "total": v.total_hours} if v is not None else dict.fromkeys(("public", "professional",
                                                                                  "elective", "total"), ZERO)
            need = shortfall(hours, requirement_for(self.person, self.year))
        return verdict(self.person, self.year, self.verified, v is not None and v.total_hours > 0, need)

    @property
    def total_hours(self) -> Decimal:
        return self.verification.total_hours if self.verification else ZERO

    @property
    def missing(self) -> list[str]:
        if self.status == "not_due":
            return []
        if self.verification is None:
            return ["本年度没有已认定的学时记录"]
        return list(self.verification.missing or [])


@dataclass
class ArchivePage(Page):
    #: Pass as ``after`` to get the next page by key (None on the last page).
    next_after: int | None = None


#: The archive search's sortable columns (``?sort=``); the default is the order people were added in.
SORTS = {"name": Person.name, "id_number": Person.id_number, "gender": Person.gender,
         "title_level": Person.title_level, "unit": Organisation.name, "region": Organisation.region,
         "hours": AnnualVerification.total_hours, "result": AnnualVerification.verified, "added": Person.id}
DEFAULT_SORT = "added"


def search(actor: Actor, *, year: int, name: str | None = None, id_number: str | None = None,
           region: str | None = None, title_level: str | None = None, verified: bool | None = None,
           gender: str | None = None, page: int = 1, per_page: int = 20,
           after: int | None = None, org_id: int | None = None, title_series: str | None = None,
           sort: Sort | None = None) -> ArchivePage:
    """Archives of the persons in the actor's scope for one year, with the stored verification.

    Ordered by ``sort`` (default: person id); ``after`` (the last person id of the previous page) pages by key,
    which stays fast on deep pages, instead of ``page`` (then always by person id). ``org_id`` keeps the staff
    of that organisation and those below it (the drill-down of the statistics)."""
    av = AnnualVerification
    stmt = (select(Person, Organisation, av)
            .join(Organisation, Organisation.id == Person.unit_id, isouter=True)
            .join(av, and_(av.person_id == Person.id, av.year == year), isouter=True)
            .where(person_scope_condition(actor)))
    if name:
        stmt = stmt.where(Person.name.contains(name.strip(), autoescape=True))
    if id_number:
        stmt = stmt.where(Person.id_number.startswith(id_number.strip().upper(), autoescape=True))
    if region:
        stmt = stmt.where(Organisation.region.startswith(region.strip(), autoescape=True))
    if title_level:
        stmt = stmt.where(Person.title_level == title_level)
    if title_series:
        stmt = stmt.where(Person.title_series == title_series)
    if org_id is not None:
        below = db.session.scalar(select(Organisation.path).where(Organisation.id == org_id))
        stmt = stmt.where(Organisation.path.startswith(below) if below else false())
    if gender:
        stmt = stmt.where(Person.gender == gender)
    if verified is True:
        stmt = stmt.where(av.verified.is_(True))
    elif verified is False:
        stmt = stmt.where(or_(av.id.is_(None), av.verified.is_(False)))
    total = db.session.scalar(select(func.count()).select_from(stmt.with_only_columns(Person.id).subquery()))
    page = max(1, page)
    sort = sort or parse_sort(None, SORTS, DEFAULT_SORT)
    if after is not None:
        stmt = stmt.where(Person.id > after).order_by(Person.id)
    else:
        stmt = stmt.offset((page - 1) * per_page).order_by(*order_clauses(sort, SORTS, [Person.id]))
    rows = db.session.execute(stmt.limit(per_page)).all()
    items = [ArchiveRow(person=p, unit_name=o.name if o else None, region=o.region if o else None, year=year,
                        verification=v) for p, o, v in rows]
    by_key = after is not None or sort.param == DEFAULT_SORT  # next_after continues the default order only
    return ArchivePage(items, total or 0, page, per_page,
                       next_after=items[-1].person.id if by_key and len(items) == per_page else None)

