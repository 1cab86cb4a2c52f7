"""The figures of 继教综合统计, 职称系列分布 and 审核时效: aggregate SQL over the actor's statistics scope.

Every figure is a GROUP BY in the database (never a loop over people). People (by the unit they work for
now), completion and hours (the stored annual verifications: the numbers the archive shows), hours by learning
form (the credit records) and the title-series distribution are summed from the summary tables of
``app.statistics.models`` (one row per unit, and per unit and year, …), which database triggers keep equal to
those rows in the transaction that changes them; review times come from ``workflow_task``, returns from
``approval_event``, training from the plans and the class credit records.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, literal, or_, select, union_all
from sqlalchemy.orm import aliased

from app.accounts.actor import Actor
from app.accounts.models import Organisation
from app.archive.models import CreditDeclaration, CreditRecord
from app.classes.models import CANCELLED, GRADE_RECORD_SOURCE, TrainingClass
from app.classes.models import RECORD_SOURCE as CLASS_RECORD_SOURCE
from app.core.errors import NotFound
from app.extensions import db
from app.people.models import Person
from app.statistics.models import (
    UnitFormSummary,
    UnitPeopleSummary,
    UnitTitleSummary,
    UnitTitleYearSummary,
    UnitYearSummary,
)
from app.training.models import TrainingPlan, TrainingPlanCourse
from app.workflow.models import ApprovalEvent, ProcessInstance, WorkflowTask

PERMISSION = "statistics"
SUBJECTS = ("public", "professional", "elective")
#: How many years the completion-by-year series shows (ending with the chosen year).
SERIES_YEARS = 5
DECISIONS = ("approve", "reject", "return")


@dataclass(frozen=True)
class Scope:
    """The organisations whose figures an actor reads: each root and everything below it."""

    roots: tuple[Organisation, ...]

    def condition(self):  # noqa: ANN201
        return or_(*[Organisation.path.startswith(root.path) for root in self.roots])

    def org_ids(self):
        return select(Organisation.id).where(self.condition()).scalar_subquery()

    @property
    def root_ids(self) -> list[int]:
        return [r.id for r in self.roots]


def scope_of(actor: Actor, org_id: int | None = None) -> Scope:
    """The actor's statistics scope: the organisations where they are administrator, or sub-administrator
    with 统计查询; narrowed to ``org_id`` (one of those or below) for a drill-down. 404 otherwise."""
    roots = [m.organisation for m in actor.memberships if m.can(PERMISSION)]
    roots = [r for r in roots if not any(o.id != r.id and r.path.startswith(o.path) for o in roots)]
    if not roots:
        raise NotFound("页面不存在")
    if org_id is not None:
        # no organisation has an id beyond the column's range (SQLite cannot even compare one: OverflowError)
        org = db.session.get(Organisation, org_id) if 0 < org_id < 2**31 else None
        if org is None or not any(org.path.startswith(r.path) for r in roots):
            raise NotFound("未找到该机构，或您无权查看")
        roots = [org]
    return Scope(tuple(sorted(roots, key=lambda o: o.path)))


def has_scope(actor: Actor) -> bool:
    return any(m.can(PERMISSION) for m in actor.memberships)


def _rate(done: int, people: int) -> float:
    return round(done * 100.0 / people, 1) if people else 0.0


def _num(value: Any) -> float:
    return float(value or 0)


# --------------------------------------------------------------------------- people and hours


def _per_unit(scope: Scope, year: int):
    """People, completed people and verified hours per unit in scope, for ``year`` (a subquery), read from the
    summary tables (one row per unit, and per unit and year) that the triggers of ``stats2_0001`` keep current."""
    up, uy = UnitPeopleSummary, UnitYearSummary
    return (select(up.unit_id.label("unit_id"), up.people.label("people"),
                   func.coalesce(uy.completed, 0).label("completed"),
                   func.coalesce(uy.public_hours, 0).label("public"),
                   func.coalesce(uy.professional_hours, 0).label("professional"),
                   func.coalesce(uy.elective_hours, 0).label("elective"),
                   func.coalesce(uy.total_hours, 0).label("total"))
            .select_from(up)
            .join(uy, and_(uy.unit_id == up.unit_id, uy.year == year), isouter=True)
            .where(up.unit_id.in_(scope.org_ids()), up.people > 0)
            .subquery("per_unit"))


def totals(scope: Scope, year: int) -> dict[str, Any]:
    pu = _per_unit(scope, year)
    row = db.session.execute(select(func.coalesce(func.sum(pu.c.people), 0),
                                    func.coalesce(func.sum(pu.c.completed), 0),
                                    *[func.coalesce(func.sum(pu.c[k]), 0) for k in (*SUBJECTS, "total")])).one()
    people, completed = int(row[0]), int(row[1])
    hours = dict(zip((*SUBJECTS, "total"), (_num(v) for v in row[2:]), strict=True))
    return {"year": year, "people": people, "completed": completed, "completion_rate": _rate(completed, people),
            "hours": hours}


def by_organisation(scope: Scope, year: int) -> list[dict[str, Any]]:
    """One row per organisation directly below a root (its whole subtree), plus each root's own staff.

    Two joins (units below a child of a root, by path prefix; a root's own staff, by id) in one UNION ALL:
    an OR of the two in one join condition made PostgreSQL compare every unit with every group."""
    pu = _per_unit(scope, year)
    unit, group = aliased(Organisation), aliased(Organisation)
    figures = [pu.c.people, pu.c.completed, *[pu.c[k] for k in (*SUBJECTS, "total")]]
    below = (select(group.id.label("gid"), *figures).select_from(pu).join(unit, unit.id == pu.c.unit_id)
             .join(group, and_(group.parent_id.in_(scope.root_ids), unit.path.startswith(group.path))))
    own = select(pu.c.unit_id.label("gid"), *figures).where(pu.c.unit_id.in_(scope.root_ids))
    both = union_all(below, own).subquery("grouped")
    rows = db.session.execute(
        select(Organisation.id, Organisation.name, Organisation.path, func.sum(both.c.people),
               func.sum(both.c.completed), *[func.sum(both.c[k]) for k in (*SUBJECTS, "total")])
        .join(both, both.c.gid == Organisation.id)
        .group_by(Organisation.id, Organisation.name, Organisation.path).order_by(Organisation.path)).all()
    return [{"organisation_id": row[0], "organisation": row[1], "people": int(row[3]), "completed": int(row[4]),
             "completion_rate": _rate(int(row[4]), int(row[3])), "hours": _num(row[8]),
             "subject_hours": dict(zip(SUBJECTS, (_num(v) for v in row[5:8]), strict=True))} for row in rows]


def _totals_of(groups: list[dict[str, Any]], year: int) -> dict[str, Any]:
    """The scope's totals as the sum of :func:`by_organisation` (its groups split the scope: each unit is a
    root or below exactly one organisation directly below a root), saving a second pass over the people."""
    people = sum(g["people"] for g in groups)
    completed = sum(g["completed"] for g in groups)
    hours = {k: round(sum(g["subject_hours"][k] for g in groups), 1) for k in SUBJECTS}
    hours["total"] = round(sum(g["hours"] for g in groups), 1)
    return {"year": year, "people": people, "completed": completed, "completion_rate": _rate(completed, people),
            "hours": hours}


def by_region(scope: Scope, year: int) -> list[dict[str, Any]]:
    pu = _per_unit(scope, year)
    rows = db.session.execute(
        select(Organisation.region, func.sum(pu.c.people), func.sum(pu.c.completed), func.sum(pu.c.total))
        .select_from(pu).join(Organisation, Organisation.id == pu.c.unit_id)
        .group_by(Organisation.region).order_by(Organisation.region)).all()
    return [{"region": region, "people": int(p), "completed": int(c), "completion_rate": _rate(int(c), int(p)),
             "hours": _num(h)} for region, p, c, h in rows]


def completion_by_year(scope: Scope, year: int, people: int) -> list[dict[str, Any]]:
    """Completed people in each of the last :data:`SERIES_YEARS` years, among the people in scope now (the
    summary per unit and year)."""
    uy = UnitYearSummary
    first = year - SERIES_YEARS + 1
    done = dict(db.session.execute(
        select(uy.year, func.sum(uy.completed))
        .where(uy.year.between(first, year), uy.unit_id.in_(scope.org_ids()))
        .group_by(uy.year)).all())
    return [{"year": y, "people": people, "completed": int(done.get(y) or 0),
             "completion_rate": _rate(int(done.get(y) or 0), people)} for y in range(first, year + 1)]


def hours_by_form(scope: Scope, year: int) -> list[dict[str, Any]]:
    """Recognised hours of the year's credit records by learning form (records of people in scope now; the
    summary per unit, year and form, ``other`` for a record without a form)."""
    uf = UnitFormSummary
    rows = db.session.execute(
        select(uf.learning_form, func.sum(uf.records), func.coalesce(func.sum(uf.hours), 0))
        .where(uf.year == year, uf.unit_id.in_(scope.org_ids()))
        .group_by(uf.learning_form).having(func.sum(uf.records) > 0).order_by(uf.learning_form)).all()
    return [{"learning_form": form, "records": int(n), "hours": _num(h)} for form, n, h in rows]


def title_distribution(scope: Scope, year: int) -> list[dict[str, Any]]:
    """People by title series and level, with how many completed ``year`` (the summaries per unit and title;
    a person without a title series or level shows as None)."""
    ut, uty = UnitTitleSummary, UnitTitleYearSummary
    people = (select(ut.title_series.label("series"), ut.title_level.label("level"), func.sum(ut.people).label("n"))
              .where(ut.unit_id.in_(scope.org_ids())).group_by(ut.title_series, ut.title_level)
              .having(func.sum(ut.people) > 0).subquery("title_people"))
    done = (select(uty.title_series.label("series"), uty.title_level.label("level"),
                   func.sum(uty.completed).label("c"))
            .where(uty.year == year, uty.unit_id.in_(scope.org_ids())).group_by(uty.title_series, uty.title_level)
            .subquery("title_done"))
    rows = db.session.execute(
        select(people.c.series, people.c.level, people.c.n, done.c.c)
        .join(done, and_(done.c.series == people.c.series, done.c.level == people.c.level), isouter=True)
        .order_by(people.c.series, people.c.level)).all()
    return [{"title_series": s or None, "title_level": lv or None, "people": int(n), "completed": int(c or 0)}
            for s, lv, n, c in rows]


def training_by_year(scope: Scope, year: int) -> list[dict[str, Any]]:
    """Training over the last :data:`SERIES_YEARS` years in scope: approved annual training plans of the
    organisations in scope, the distinct courses in them, their approved training classes (not cancelled), and
    participants (credit records from a training class or an approved grade declaration of people in scope).

    The chart and the table show every key this returns."""
    first = year - SERIES_YEARS + 1
    approved = (select(TrainingPlan.id, TrainingPlan.year)
                .join(ProcessInstance, ProcessInstance.id == TrainingPlan.instance_id)
                .where(TrainingPlan.organisation_id.in_(scope.org_ids()), TrainingPlan.year.between(first, year),
                       ProcessInstance.outcome == "approved")
                .subquery("approved_plans"))
    plans = dict(db.session.execute(select(approved.c.year, func.count(approved.c.id))
                                    .group_by(approved.c.year)).all())
    courses = dict(db.session.execute(
        select(approved.c.year, func.count(func.distinct(TrainingPlanCourse.course_id)))
        .join(TrainingPlanCourse, TrainingPlanCourse.plan_id == approved.c.id).group_by(approved.c.year)).all())
    cr = CreditRecord
    participants = dict(db.session.execute(
        select(cr.year, func.count(cr.id)).join(Person, Person.id == cr.person_id)
        .where(cr.source.in_((CLASS_RECORD_SOURCE, GRADE_RECORD_SOURCE)), cr.year.between(first, year),
               Person.unit_id.in_(scope.org_ids()))
        .group_by(cr.year)).all())
    tc = TrainingClass
    classes = dict(db.session.execute(
        select(tc.year, func.count(tc.id)).join(ProcessInstance, ProcessInstance.id == tc.instance_id)
        .where(tc.organisation_id.in_(scope.org_ids()), tc.year.between(first, year), tc.status != CANCELLED,
               ProcessInstance.outcome == "approved")
        .group_by(tc.year)).all())
    return [{"year": y, "classes": int(classes.get(y) or 0), "plans": int(plans.get(y) or 0),
             "courses": int(courses.get(y) or 0), "participants": int(participants.get(y) or 0)}
            for y in range(first, year + 1)]


def declared_people(scope: Scope, year: int) -> int:
    """People of units in scope with at least one credit-hour declaration for ``year`` (any status)."""
    d = CreditDeclaration
    return int(db.session.scalar(select(func.count(func.distinct(d.person_id)))
                                 .where(d.year == year, d.unit_id.in_(scope.org_ids()))) or 0)


def overview(actor: Actor, year: int, org_id: int | None = None) -> dict[str, Any]:
    """``GET /api/v1/statistics/overview``: the year's people, completion and hours over the actor's scope."""
    scope = scope_of(actor, org_id)
    groups = by_organisation(scope, year)
    return {**_totals_of(groups, year), "by_organisation": groups}


def comprehensive(actor: Actor, year: int, org_id: int | None = None) -> dict[str, Any]:
    """Everything the statistics page shows."""
    scope = scope_of(actor, org_id)
    groups = by_organisation(scope, year)
    head = _totals_of(groups, year)
    return {**head, "by_organisation": groups, "by_region": by_region(scope, year),
            "by_year": completion_by_year(scope, year, head["people"]),
            "by_learning_form": hours_by_form(scope, year), "titles": title_distribution(scope, year),
            "training": training_by_year(scope, year),
            "scope": [{"id": r.id, "name": r.name} for r in scope.roots]}


# --------------------------------------------------------------------------- review performance


def _hours_between(start, end):  # noqa: ANN001, ANN202
    if db.engine.dialect.name == "postgresql":
        return func.extract("epoch", end - start) / 3600.0
    return (func.julianday(end) - func.julianday(start)) * 24.0


def _percentile(values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (PostgreSQL's percentile_cont)."""
    if not values:
        return None
    values = sorted(values)
    pos = (len(values) - 1) * q
    low = int(pos)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (pos - low)


def _year_range(column, year: int | None):  # noqa: ANN001, ANN202
    if year is None:
        return literal(True)
    return and_(column >= datetime(year, 1, 1), column < datetime(year + 1, 1, 1))


def review_times(actor: Actor, *, process: str | None = None, year: int | None = None,
                 org_id: int | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """``GET /api/v1/statistics/review-times``: per reviewing organisation in scope, the open review tasks
    (now), the tasks decided in ``year`` (by decision time), the median and 90th-percentile hours from a
    task's arrival to its decision, the oldest open task and returns per 100 decisions. With ``limit``, only
    the organisations with the most open tasks (a province has tens of thousands of reviewing organisations)."""
    scope = scope_of(actor, org_id)
    t = WorkflowTask
    base = [t.candidate_org_id.in_(scope.org_ids()), t.candidate_user_id.is_(None)]
    if process:
        base.append(t.process_key == process)
    is_open = t.completed_at.is_(None)
    decided = and_(t.completed_at.is_not(None), t.cancelled.is_(False), _year_range(t.completed_at, year))
    wait = _hours_between(t.created_at, t.completed_at)
    cols = [t.candidate_org_id, func.sum(case((is_open, 1), else_=0)), func.sum(case((decided, 1), else_=0)),
            func.min(case((is_open, t.created_at)))]
    pg = db.engine.dialect.name == "postgresql"
    if pg:
        decided_wait = case((decided, wait))
        cols += [func.percentile_cont(0.5).within_group(decided_wait),
                 func.percentile_cont(0.9).within_group(decided_wait)]
    stmt = select(*cols).where(*base, or_(is_open, decided)).group_by(t.candidate_org_id)
    if limit is not None:
        stmt = stmt.order_by(func.sum(case((is_open, 1), else_=0)).desc(), t.candidate_org_id).limit(limit)
    rows = db.session.execute(stmt).all()
    waits: dict[int, list[float]] = {}
    if not pg:  # the embedded database has no percentile function: the decided waits of each organisation
        for oid, hours in db.session.execute(select(t.candidate_org_id, wait).where(
                *base, decided, t.candidate_org_id.in_([r[0] for r in rows]))):
            waits.setdefault(oid, []).append(float(hours))
    e = ApprovalEvent
    ev_where = [e.organisation_id.in_([r[0] for r in rows]) if limit is not None
                else e.organisation_id.in_(scope.org_ids()), e.outcome.in_(DECISIONS), _year_range(e.at, year)]
    if process:
        ev_where.append(e.instance_id.in_(select(ProcessInstance.id).where(ProcessInstance.process_key == process)))
    returns = {oid: (int(n), int(r)) for oid, n, r in db.session.execute(
        select(e.organisation_id, func.count(e.id), func.sum(case((e.outcome == "return", 1), else_=0)))
        .where(*ev_where).group_by(e.organisation_id))}
    # the names: of the few organisations shown, or of the whole scope in one range scan (never a parameter per
    # row: a province has 50,000 reviewing organisations)
    shown = [r[0] for r in rows] if limit is not None else None
    names = dict(db.session.execute(select(Organisation.id, Organisation.name).where(
        Organisation.id.in_(shown) if shown is not None else scope.condition())).all())
    out = []
    for row in rows:
        oid, n_open, n_decided, oldest = row[0], int(row[1] or 0), int(row[2] or 0), row[3]
        if pg:
            median, p90 = row[4], row[5]
        else:
            median, p90 = _percentile(waits.get(oid, []), 0.5), _percentile(waits.get(oid, []), 0.9)
        n_events, n_returns = returns.get(oid, (0, 0))
        if isinstance(oldest, str):  # SQLite answers MIN over a CASE as text
            oldest = datetime.fromisoformat(oldest)
        out.append({"organisation_id": oid, "organisation": names.get(oid), "open": n_open, "decided": n_decided,
                    "median_hours": None if median is None else round(float(median), 1),
                    "p90_hours": None if p90 is None else round(float(p90), 1),
                    "oldest_open_at": oldest, "returns": n_returns,
                    "returns_per_100": round(n_returns * 100.0 / n_events, 1) if n_events else None})
    return sorted(out, key=lambda r: (-r["open"], r["organisation"] or ""))
