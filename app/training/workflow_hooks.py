"""The training workspace's processes, as the workflow sees them.

* ``training_plan_approval``: an institution submits its annual training plan (培训计划申报);
* ``annual_report_approval``: it declares its annual report or work summary (年审报告 / 年度工作总结);
* ``course_plan_approval``: a unit sends its professional-course plan (专业课计划申报, Guangdong) to its industry
  department (lane ``industry_department``, :func:`app.training.course_plans.industry_department`), or to the
  HR bureau above it where it has none.

The applicant's organisation is the institution (the ``unit`` relation of the lanes), so the supervisory
department above it reviews, or the HR bureau where it has none (gateways on ``lanes[...]`` in the diagrams).
Reviewers hold 培训管理. The start form carries a snapshot of the plan or report; at the start the row is tied
to its case (``on_data``), so a start through the generic API behaves as one from the training pages.
"""

from __future__ import annotations

from typing import Any

from app.accounts.actor import Actor
from app.core.models import utcnow
from app.extensions import db
from app.training import course_plans, plans, reports
from app.training.access import PERMISSION, can_use
from app.training.models import AnnualReport, CoursePlan, TrainingPlan
from app.workflow import attachments
from app.workflow.registry import ProcessHooks, StartContext, register_process


def _start(row: Any, extra_lanes: dict[str, Any] | None = None) -> StartContext:
    from app.accounts.models import Organisation

    unit = db.session.get(Organisation, row.organisation_id)
    return StartContext(subject_person=None, subject_unit=unit, started_for_org=unit, applicant_name=unit.name,
                        year=row.year, title=row.name, extra_lanes=extra_lanes or {})


def _start_course_plan(data: dict[str, Any], actor: Actor) -> StartContext:
    plan = course_plans.for_start(data, actor)
    from app.accounts.models import Organisation

    unit = db.session.get(Organisation, plan.organisation_id)
    return _start(plan, {"industry_department": course_plans.industry_department(unit)})


def _tie(model: type, id_field: str) -> Any:
    def on_data(instance: Any, data: dict[str, Any], writes: Any) -> None:
        if writes is None:  # a resubmission: the row is already the case's
            return
        row = db.session.get(model, data.get(id_field))
        if row is None:
            return
        row.instance_id, row.submitted_at = instance.id, utcnow()
        attachments.link(data.get("attachments") or [], instance, actor=_starter(instance))
    return on_data


def _starter(instance: Any) -> Actor:
    from app.accounts.models import User

    return Actor.of(db.session.get(User, instance.started_by_id))


def _summary(data: dict[str, Any]) -> dict[str, Any]:
    return {"title": data.get("name"), "year": data.get("year")}


#: The generic start page points to the training pages, where a plan or a report is written and submitted.
START_TEMPLATE = "training/start.html"

PLAN_HOOKS = ProcessHooks(
    key=plans.KEY, permission=PERMISSION,
    prepare_start=lambda data, actor: _start(plans.for_start(data, actor)),
    can_start=can_use, summarise=_summary, on_data=_tie(TrainingPlan, "plan_id"), start_template=START_TEMPLATE,
    start_denied="只有培训机构（或自主培训单位）的培训管理员可以提交培训计划",
    started_message="培训计划已提交，等待审核")

REPORT_HOOKS = ProcessHooks(
    key=reports.KEY, permission=PERMISSION,
    prepare_start=lambda data, actor: _start(reports.for_start(data, actor)),
    can_start=can_use, summarise=_summary, on_data=_tie(AnnualReport, "report_id"), start_template=START_TEMPLATE,
    start_denied="只有培训机构（或自主培训单位）的培训管理员可以申报年度报告",
    started_message="年度报告已申报，等待审核")


COURSE_PLAN_HOOKS = ProcessHooks(
    key=course_plans.KEY, permission=PERMISSION, prepare_start=_start_course_plan,
    can_start=can_use, summarise=_summary, on_data=_tie(CoursePlan, "plan_id"), start_template=START_TEMPLATE,
    lanes={"industry_department": "行业主管部门"},
    start_denied="只有单位（或培训机构）的培训管理员可以申报专业课计划",
    started_message="专业课计划已送审，等待审核", submitted="送审")


def register() -> None:
    register_process(PLAN_HOOKS)
    register_process(REPORT_HOOKS)
    register_process(COURSE_PLAN_HOOKS)
