"""The credit-hour declaration (学时申报) as the workflow sees it."""

from __future__ import annotations

import logging
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from app.accounts.actor import Actor
from app.accounts.models import OrgKind, Role
from app.archive.models import CreditRecord
from app.core.errors import ValidationFailed
from app.extensions import db
from app.people.models import Person
from app.workflow.registry import (
    OperationContext,
    ProcessHooks,
    StartContext,
    register_operation,
    register_process,
)

PROCESS_KEY = "credit_hour_approval"
PERMISSION = "credit_review"


def can_declare_for(actor: Actor, person: Person) -> bool:
    """The person themself, or an administrator of their unit (a unit declares for its staff)."""
    if person.user_id == actor.id:
        return True
    return person.unit_id is not None and any(
        m.organisation_id == person.unit_id and m.role in (Role.ADMIN, Role.SUB_ADMIN)
        and (m.can("people") or m.can(PERMISSION))
        for m in actor.memberships
    )


def prepare_start(data: dict[str, Any], actor: Actor) -> StartContext:
    id_number = data.get("person_id_number")
    if id_number:
        person = db.session.scalar(select(Person).where(Person.id_number == id_number))
        if person is None or not can_declare_for(actor, person):
            raise ValidationFailed("提交的内容有误，请按提示修改",
                                   {"person_id_number": "未找到该人员，或该人员不属于您管理的单位"})
    else:
        person = actor.person
        if person is None:
            raise ValidationFailed("提交的内容有误，请按提示修改",
                                   {"person_id_number": "请填写申报人员的公民身份号码"})
    if person.unit is None or person.unit.kind != OrgKind.EMPLOYER_UNIT:
        raise ValidationFailed("提交的内容有误，请按提示修改",
                               {"person_id_number": "该人员没有所属用人单位，无法申报"})
    declared_by_unit = person.user_id != actor.id
    data["person_id_number"] = person.id_number
    return StartContext(
        subject_person=person,
        subject_unit=person.unit,
        started_for_org=person.unit if declared_by_unit else None,
        applicant_name=person.name,
        applicant_id_number=person.id_number,
        year=int(data["year"]),
        title=data.get("course_name"),
        data={"declared_by_unit": declared_by_unit, "applicant_name": person.name},
    )


def summarise(data: dict[str, Any]) -> dict[str, Any]:
    return {"year": int(data["year"]), "title": data.get("course_name")}


def can_start(actor: Actor) -> bool:
    if actor.person is not None:
        return True
    return any(m.organisation.kind == OrgKind.EMPLOYER_UNIT and m.role in (Role.ADMIN, Role.SUB_ADMIN)
               for m in actor.memberships)


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
    register_process(ProcessHooks(
        key=PROCESS_KEY, permission=PERMISSION, prepare_start=prepare_start,
        summarise=summarise, can_start=can_start, on_data=record_declaration,
        start_template="credits/declare.html", start_defaults=lambda actor: {"year": str(date.today().year)},
        start_denied="您无权申报学时：只有专业技术人员本人或用人单位管理员可以申报",
        started_message="申报已提交，等待审核",
    ))
