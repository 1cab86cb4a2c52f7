"""The statistics summary tables (migration stats2_0001) stay equal to a recount from the rows while declarations
are approved, returned, rejected and withdrawn, verifications are recounted, people move between units and change
title; the statistics read them."""

from __future__ import annotations

from sqlalchemy import select

from app.archive.services import verification
from app.extensions import db
from app.people.models import Person
from app.statistics import queries, summary
from app.statistics.models import UnitPeopleSummary, UnitYearSummary
from app.workflow import services
from tests.conftest import actor
from tests.test_services_credit_chain import act

NO_DIFFERENCES = {"people": [], "years": [], "forms": [], "titles": [], "title_years": []}


def _person(name: str) -> Person:
    return db.session.scalar(select(Person).where(Person.name == name))


def _approve_all(inst) -> None:  # noqa: ANN001
    for login in ("hospital_admin", "health_admin", "hr_city"):
        act(inst, login, {"outcome": "approve"})


def test_summary_follows_approvals_returns_withdrawals_and_transfers(any_app, declaration):
    assert summary.differences() == NO_DIFFERENCES
    assert summary.stored()["people"], "the seeded people are summarised"
    chen = actor("chenshihui")
    hospital_id = _person("陈诗慧").unit_id
    before = db.session.get(UnitYearSummary, (hospital_id, 2026))
    hours_before = float(before.total_hours) if before else 0.0

    # returned, resubmitted, then approved all the way: a credit record and a stored verification
    inst = services.start_process("credit_hour_approval", declaration, actor=chen)
    db.session.commit()
    act(inst, "hospital_admin", {"outcome": "approve"})
    act(inst, "health_admin", {"outcome": "return", "comment": "请补充"})
    assert summary.differences() == NO_DIFFERENCES
    act(inst, "chenshihui", {**declaration, "action": "resubmit"})
    _approve_all(inst)
    assert summary.differences() == NO_DIFFERENCES
    after = db.session.get(UnitYearSummary, (hospital_id, 2026))
    db.session.refresh(after)
    assert float(after.total_hours) > hours_before

    # a second approval adds to the stored row (the write batch's UPDATE)
    second = services.start_process("credit_hour_approval", {**declaration, "course_name": "第二门课程"}, actor=chen)
    db.session.commit()
    _approve_all(second)
    assert summary.differences() == NO_DIFFERENCES

    # rejected and closed; withdrawn before any review: nothing changes
    third = services.start_process("credit_hour_approval", {**declaration, "course_name": "第三门课程"}, actor=chen)
    db.session.commit()
    act(third, "hospital_admin", {"outcome": "reject", "comment": "不符合"})
    fourth = services.start_process("credit_hour_approval", {**declaration, "course_name": "第四门课程"}, actor=chen)
    db.session.commit()
    services.withdraw_instance(fourth.id, actor=chen)
    db.session.commit()
    assert summary.differences() == NO_DIFFERENCES

    # a full recount of the year (verify_year) and the person moving to another unit with their archive
    person = _person("陈诗慧")
    verification.verify_year(person, 2026)
    db.session.commit()
    assert summary.differences() == NO_DIFFERENCES
    tech = _person("王立平").unit_id
    person.unit_id = tech
    db.session.commit()
    assert summary.differences() == NO_DIFFERENCES
    moved = db.session.get(UnitYearSummary, (tech, 2026))
    assert moved is not None and moved.verifications >= 1

    # a new title
    person.title_series, person.title_level = "工程系列", "正高级"
    db.session.commit()
    assert summary.differences() == NO_DIFFERENCES

    # a person leaving every unit, and a new one
    person.unit_id = None
    db.session.add(Person(name="新人", id_number="110101199001011234", unit_id=hospital_id))
    db.session.commit()
    assert summary.differences() == NO_DIFFERENCES


def test_rebuild_repairs_a_summary_that_drifted(any_app):
    row = db.session.scalar(select(UnitPeopleSummary).limit(1))
    row.people += 5
    db.session.commit()
    assert summary.differences()["people"] == [(row.unit_id,)]
    summary.rebuild()
    db.session.commit()
    assert summary.differences() == NO_DIFFERENCES


def test_statistics_read_the_summary(any_app):
    """The figures come from the summary tables: a drift there shows on the page (and the recount finds it)."""
    scope = queries.scope_of(actor("hr_province"))
    people = queries.totals(scope, 2026)["people"]
    row = db.session.scalar(select(UnitPeopleSummary).where(UnitPeopleSummary.people > 0).limit(1))
    row.people += 1
    db.session.flush()
    assert queries.totals(scope, 2026)["people"] == people + 1
    db.session.rollback()


def test_cli_checks_and_rebuilds(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["statistics", "check"]).exit_code == 0
    row = db.session.scalar(select(UnitPeopleSummary).limit(1))
    row.people += 2
    db.session.commit()
    result = runner.invoke(args=["statistics", "check"])
    assert result.exit_code == 1 and "people: 1 row(s) differ" in result.output
    assert runner.invoke(args=["statistics", "rebuild"]).exit_code == 0
    assert summary.differences() == NO_DIFFERENCES
