"""Finding people within the actor's scope: the list, its filters and pages (also what exports read)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Select, func, or_, select

from app.accounts.actor import Actor
from app.accounts.models import Organisation
from app.core.paging import Page as BasePage
from app.core.sorting import Sort, order_clauses, parse_sort
from app.core.validators import whole_number
from app.extensions import db

from . import services
from .fields import parse_date
from .models import Person, department_table


@dataclass
class Filters:
    #: Name (contained) or ID number (prefix).
    q: str = ""
    name: str = ""
    id_number: str = ""
    title_level: str = ""
    education: str = ""
    gender: str = ""
    work_start_from: date | None = None
    work_start_to: date | None = None
    unit_id: int | None = None
    department_id: int | None = None

    @classmethod
    def of(cls, args: dict[str, Any]) -> Filters:
        """From query arguments or a JSON object: unknown keys and unreadable values are ignored."""
        def text(key: str) -> str:
            return str(args.get(key) or "").strip()

        def number(key: str) -> int | None:
            return whole_number(text(key))  # digits that could name a row, else no filter

        def day(key: str) -> date | None:
            try:
                return parse_date(text(key)) if text(key) else None
            except ValueError:
                return None

        return cls(q=text("q"), name=text("name"), id_number=text("id_number").upper(),
                   title_level=text("title_level"), education=text("education"), gender=text("gender"),
                   work_start_from=day("work_start_from"), work_start_to=day("work_start_to"),
                   unit_id=number("unit_id"), department_id=number("department_id"))

    def to_dict(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in self.__dict__.items()
                if v not in (None, "")}


@dataclass
class Row:
    person: Person
    unit_name: str | None
    department_name: str | None


@dataclass
class Page(BasePage):
    filters: Filters = field(default_factory=Filters)


def statement(actor: Actor, f: Filters) -> Select:
    dept = department_table
    stmt = (select(Person, Organisation.name, dept.c.name)
            .join(Organisation, Organisation.id == Person.unit_id)
            .join(dept, dept.c.id == Person.department_id, isouter=True)
            .where(services.scope_condition(actor)))
    if f.q:
        stmt = stmt.where(or_(Person.name.contains(f.q, autoescape=True),
                              Person.id_number.startswith(f.q.upper(), autoescape=True)))
    if f.name:
        stmt = stmt.where(Person.name.contains(f.name, autoescape=True))
    if f.id_number:
        stmt = stmt.where(Person.id_number.startswith(f.id_number, autoescape=True))
    for column, value in ((Person.title_level, f.title_level), (Person.education, f.education),
                          (Person.gender, f.gender), (Person.unit_id, f.unit_id),
                          (Person.department_id, f.department_id)):
        if value not in (None, ""):
            stmt = stmt.where(column == value)
    if f.work_start_from:
        stmt = stmt.where(Person.work_start_date >= f.work_start_from)
    if f.work_start_to:
        stmt = stmt.where(Person.work_start_date <= f.work_start_to)
    return stmt


#: The people list's sortable columns (``?sort=``); the default is the order people were added in.
SORTS = {"name": Person.name, "id_number": Person.id_number, "gender": Person.gender, "unit": Organisation.name,
         "department": department_table.c.name, "title_level": Person.title_level, "education": Person.education,
         "added": Person.id}
DEFAULT_SORT = "added"


def search(actor: Actor, f: Filters, page: int = 1, per_page: int = 20, sort: Sort | None = None) -> Page:
    sort = sort or parse_sort(None, SORTS, DEFAULT_SORT)
    stmt = statement(actor, f)
    total = db.session.scalar(select(func.count()).select_from(stmt.with_only_columns(Person.id).subquery()))
    page = max(1, page)
    rows = db.session.execute(stmt.order_by(*order_clauses(sort, SORTS, [Person.id]))
                              .offset((page - 1) * per_page).limit(per_page)).all()
    return Page([Row(p, u, d) for p, u, d in rows], total or 0, page, per_page, f)


def each(actor: Actor, f: Filters, batch: int = 1000) -> Iterator[Row]:
    """Every row, streamed from one query ``batch`` rows at a time (a server-side cursor on PostgreSQL): an
    export of a province neither holds it in memory nor runs a query per batch (which, filtered, would scan
    the table again each time). The session must not commit while this runs."""
    stmt = statement(actor, f).order_by(Person.id).execution_options(yield_per=batch)
    for p, u, d in db.session.execute(stmt):
        yield Row(p, u, d)
