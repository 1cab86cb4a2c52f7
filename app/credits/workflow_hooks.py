"""The credit-hour declaration (学时申报) as the workflow sees it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from app.accounts.actor import Actor
from app.accounts.models import Membership, Organisation, OrgKind, Role
from app.archive.models import CreditRecord
from app.core.errors import ValidationFailed
from app.extensions import db
from app.people.models import Person
from app.people.services import STAFF_KINDS
from app.workflow.lanes import N_
from app.workflow.registry import (
    OperationContext,
    ProcessHooks,
    StartContext,
    register_inbox_group,
    register_operation,
    register_process,
)

PROCESS_KEY = "credit_hour_approval"
PERMISSION = "credit_review"
#: The inbox filter 学时学分审批: credit-hour declarations, and what other domains review beside them.
INBOX_GROUP = "credit_hours"


NOT_FOUND = "未找到该人员，或该人员不属于您管理的单位"


def _declares(m: Membership) -> bool:
    return m.role in (Role.ADMIN, Role.SUB_ADMIN) and (m.can("people") or m.can(PERMISSION))


def declaring_institution(actor: Actor) -> Organisation | None:
    """The training institution the actor submits students' hours for (Henan 003 学时学分审批), if any."""
    return next((m.organisation for m in actor.memberships
                 if m.organisation.kind == OrgKind.TRAINING_INSTITUTION and m.role in (Role.ADMIN, Role.SUB_ADMIN)
                 and m.can(PERMISSION)), None)


#: Is the person a student of the training institution (enrolled in one of its classes)? Set by the training
#: classes domain (``students_checked_by``); until then an institution declares for no one.
_is_student: Callable[[Organisation, Person], bool] = lambda institution, person: False  # noqa: E731


def students_checked_by(check: Callable[[Organisation, Person], bool]) -> None:
    global _is_student
    _is_student = check


def can_declare_for(actor: Actor, person: Person) -> bool:
    """The person themself, or an administrator of their unit (a unit, or a supervisory department, declares
    for its own staff)."""
    if person.user_id == actor.id:
        return True
    return person.unit_id is not None and any(
        m.organisation_id == person.unit_id and _declares(m) for m in actor.memberships)


def prepare_start(data: dict[str, Any], actor: Actor) -> StartContext:
    """Who the declaration is for, and who declares it:

    * a professional for themself (their unit reviews first);
    * the unit, or the supervisory department, for its own staff (its own review step is skipped:
      ``declared_by_unit``);
    * a training institution for a student (a person enrolled in one of its classes), named by the full ID
      number: the declaration goes to the
      student's unit, which reviews it first like a professional's own (the institution is the
      ``institution`` lane, so its administrators follow the case)."""
    id_number = (data.get("person_id_number") or "").strip().upper()
    institution = None
    if id_number:
        person = db.session.scalar(select(Person).where(Person.id_number == id_number))
        if person is None or not can_declare_for(actor, person):
            institution = declaring_institution(actor)
            if (person is None or institution is None or person.user_id == actor.id
                    or not _is_student(institution, person)):
                raise ValidationFailed("提交的内容有误，请按提示修改", {"person_id_number": NOT_FOUND})
    else:
        person = actor.person
        if person is None:
            raise ValidationFailed("提交的内容有误，请按提示修改",
                                   {"person_id_number": "请填写申报人员的公民身份号码"})
    if person.unit is None or person.unit.kind not in STAFF_KINDS:
        raise ValidationFailed("提交的内容有误，请按提示修改", {"person_id_number": NOT_FOUND if institution else
                                                                   "该人员没有所属用人单位，无法申报"})
    declared_by_unit = institution is None and person.user_id != actor.id
    data["person_id_number"] = person.id_number
    return StartContext(
        subject_person=person,
        subject_unit=person.unit,
        started_for_org=person.unit if declared_by_unit else institution,
        applicant_name=person.name,
        applicant_id_number=person.id_number,
        year=int(data["year"]),
        title=data.get("course_name"),
        data={"declared_by_unit": declared_by_unit, "applicant_name": person.name},
        extra_lanes={"institution": institution},
    )


def summarise(data: dict[str, Any]) -> dict[str, Any]:
    return {"year": int(data["year"]), "title": data.get("course_name")}


def can_start(actor: Actor) -> bool:
    """A professional; an administrator of a unit or a supervisory department (their staff; a sub-administrator
    with 人员管理 or 学时审核); a training institution's administrator with 学时审核 (their students)."""
    if actor.person is not None:
        return True
    return any(m.organisation.kind in STAFF_KINDS and _declares(m)
               for m in actor.memberships) or declaring_institution(actor) is not None


def _date(value: Any) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) and value else None


def record_credit_hours(params: dict[str, Any], data: dict[str, Any], ctx: OperationContext) -> dict:
    """Service task `record_credit_hours`: the approved hours go into the person's archive, and the stored
    annual verification of the year is brought up to date (both with the approval's own writes)."""
    from app.archive.services import RuleUnavailable, add_record

    instance = ctx.instance
    recognised = data.get("recognised_hours")
    declared = Decimal(str(data["hours"]))
    hr = (instance.lane_orgs or {}).get("hr_bureau") or {}
    record = CreditRecord(
        person_id=instance.subject_person_id,
        year=int(data["year"]),
        subject_type=data["subject_type"],
        course_name=data["course_name"],
        learning_form=data.get("learning_form"),
        declared_hours=declared,
        recognised_hours=Decimal(str(recognised)) if recognised is not None else declared,
        start_date=_date(data.get("start_date")),
        end_date=_date(data.get("end_date")),
        days=Decimal(str(data["days"])) if data.get("days") not in (None, "") else None,
        institution_name=data.get("institution_name"),
        source="declaration",
        source_id=instance.id,
        recognised_by_org_id=hr.get("id"),
    )
    try:  # same transaction as the approval
        add_record(record, ctx.writes)
    except RuleUnavailable:  # a broken rule table must not block approvals (the record is stored); a recount
        logging.getLogger(__name__).exception("annual verification skipped for declaration %s", instance.id)
    return {"recognised_hours": float(record.recognised_hours)}


def register() -> None:
    from app.archive.records import record_declaration

    register_operation("record_credit_hours", record_credit_hours)
    register_inbox_group(INBOX_GROUP, N_("学时学分审批"))
    register_process(ProcessHooks(
        key=PROCESS_KEY, permission=PERMISSION, prepare_start=prepare_start,
        summarise=summarise, can_start=can_start, on_data=record_declaration,
        lanes={"institution": N_("培训机构")},
        start_template="credits/declare.html", start_defaults=lambda actor: {"year": str(date.today().year)},
        start_denied="您无权申报学时：只有专业技术人员本人、用人单位或主管部门管理员、培训机构管理员可以申报",
        started_message="申报已提交，等待审核",
        inbox_group=INBOX_GROUP,
    ))
