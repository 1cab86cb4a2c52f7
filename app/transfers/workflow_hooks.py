"""人员调转 (``personnel_transfer``) as the workflow sees it.

The old unit, or an organisation above it that manages its staff (主管部门, 人社部门), starts a transfer-out of
one professional to a target unit. The applicant's organisation is the old unit, so the ``supervisory_department``
lane reviews the transfer-out (调出审核) where the chain has one; the target unit (the process's own
``target_unit`` lane) confirms the transfer-in (调入审核). The ``move_person`` operation then moves the person,
in the same transaction as the confirmation. A rejection at either step ends the case and nothing moves.

A person has at most one open transfer, and none while a case of theirs (a credit-hour declaration) is under
review: the old unit's reviewers would lose sight of it half-way.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import insert, select, update

from app.accounts.actor import Actor
from app.accounts.models import Organisation, OrgKind, OrgStatus
from app.archive.models import CreditDeclaration
from app.core.errors import InvalidState, ValidationFailed
from app.core.i18n import sentence
from app.core.models import utcnow
from app.extensions import db
from app.people import services as people
from app.people.models import Person
from app.workflow.models import RUNNING, ProcessInstance
from app.workflow.registry import (
    OperationContext,
    ProcessHooks,
    StartContext,
    register_operation,
    register_process,
)

from . import queries
from .models import PersonnelTransfer

PROCESS_KEY = queries.PROCESS_KEY
#: Reviewers on both sides hold 人员管理 (as do those who start a transfer).
PERMISSION = people.MODULE
CREDIT_PROCESS = "credit_hour_approval"
_INVALID = "提交的内容有误，请按提示修改"
OPEN_TRANSFER = sentence("该人员已有一项调转正在办理中（编号 %(id)s），不能重复发起")
PENDING_CASES = sentence("该人员有%(count)s项申报正在审核中：%(cases)s。审核结束后才能办理调转")
PENDING_CASE = sentence("%(process)s「%(title)s」（编号 %(id)s）")
TITLE = sentence("人员调转：%(from)s → %(to)s")


def _date(value: Any) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) and value else None


def _lock(person: Person) -> None:
    """Serialise concurrent transfers of one person (PostgreSQL row lock; SQLite has one writer)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(select(Person.id).where(Person.id == person.id).with_for_update())


def acting_org(actor: Actor, unit: Organisation) -> Organisation:
    """The organisation the actor starts the transfer for: the nearest one they manage staff in at or
    above the person's unit (the unit itself, or its supervisory department / bureau)."""
    roots = [o for o in people.roots(actor) if unit.path.startswith(o.path)]
    return max(roots, key=lambda o: len(o.path))


def check_transferable(person: Person) -> None:
    """Refuse while the person has an open transfer, or a case of theirs is under review (names it)."""
    open_transfer = queries.open_transfer_of(person.id)
    if open_transfer is not None:
        raise InvalidState(OPEN_TRANSFER % {"id": open_transfer})
    pending = queries.pending_cases_of(person.id)
    if pending:
        named = "；".join(
            PENDING_CASE % {"process": c.process_name, "title": c.title or "—", "id": c.id} for c in pending
        )
        raise InvalidState(PENDING_CASES % {"count": len(pending), "cases": named})


def target_unit(person: Person, to_unit_id: Any) -> Organisation:
    target = db.session.get(Organisation, to_unit_id) if isinstance(to_unit_id, int) else None
    if target is None or target.kind != OrgKind.EMPLOYER_UNIT or target.status != OrgStatus.ACTIVE:
        raise ValidationFailed(_INVALID, {"to_unit_id": "请选择调入的用人单位"})
    if target.id == person.unit_id:
        raise ValidationFailed(_INVALID, {"to_unit_id": "调入单位不能是该人员当前所在单位"})
    return target


def prepare_start(data: dict[str, Any], actor: Actor) -> StartContext:
    person = db.session.scalar(select(Person).where(Person.id_number == data.get("person_id_number")))
    if person is None or not people.in_scope(actor, person.unit):
        raise ValidationFailed(_INVALID, {"person_id_number": "未找到该人员，或该人员不属于您管理的单位"})
    unit = person.unit
    if unit is None or unit.kind != OrgKind.EMPLOYER_UNIT:
        raise ValidationFailed(_INVALID, {"person_id_number": "该人员没有所属用人单位，无法调转"})
    target = target_unit(person, data.get("to_unit_id"))
    _lock(person)
    check_transferable(person)
    data.update(
        person_id_number=person.id_number, person_name=person.name, from_unit_name=unit.name, to_unit_name=target.name
    )
    return StartContext(
        subject_person=person,
        subject_unit=unit,
        started_for_org=acting_org(actor, unit),
        applicant_name=person.name,
        applicant_id_number=person.id_number,
        title=(TITLE % {"from": unit.name, "to": target.name})[:200],
        data={"applicant_name": person.name, "person_id": person.id},
        extra_lanes={"target_unit": target},
    )


_INSERT = insert(PersonnelTransfer.__table__)


def record_transfer(instance: ProcessInstance, data: dict[str, Any], writes: Any) -> None:
    """ProcessHooks.on_data: the transfer's row goes with the instance's first writes; a resubmission brings
    the revised reason, date and remarks."""
    values = {
        "reason": data.get("reason") or "",
        "transfer_date": _date(data.get("transfer_date")),
        "remarks": data.get("remarks") or None,
    }
    if writes is not None:
        writes.add(
            _INSERT,
            {
                "instance_id": instance.id,
                "person_id": instance.subject_person_id,
                "from_unit_id": instance.subject_org_id,
                "to_unit_id": data["to_unit_id"],
                "created_at": instance.created_at,
                "moved_at": None,
                **values,
            },
        )
        return
    row = db.session.get(PersonnelTransfer, instance.id)
    if row is not None:
        for name, value in values.items():
            setattr(row, name, value)
        db.session.flush()


def move_person(params: dict[str, Any], data: dict[str, Any], ctx: OperationContext) -> dict[str, Any]:
    """Service task ``move_person``: the target unit confirmed. The person joins it; their decided credit-hour
    declarations (the records lists and the case pages follow ``subject_org_id``) go with them, and their
    archive and certificates, which belong to the person, follow. A declaration made while the transfer was
    under review stays with the chain it started on (its lanes were resolved then) until it is decided; the
    hours it brings go to the person, wherever they work by then."""
    instance = ctx.instance
    row = db.session.get(PersonnelTransfer, instance.id)
    person = db.session.get(Person, instance.subject_person_id)
    old = person.unit_id
    people.move_person(person, row.to_unit_id)
    db.session.execute(
        update(ProcessInstance)
        .where(
            ProcessInstance.subject_person_id == person.id,
            ProcessInstance.process_key == CREDIT_PROCESS,
            ProcessInstance.status != RUNNING,
        )
        .values(subject_org_id=row.to_unit_id)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(CreditDeclaration)
        .where(
            CreditDeclaration.person_id == person.id,
            CreditDeclaration.instance_id.in_(
                select(ProcessInstance.id).where(
                    ProcessInstance.subject_person_id == person.id, ProcessInstance.status != RUNNING
                )
            ),
        )
        .values(unit_id=row.to_unit_id)
        .execution_options(synchronize_session=False)
    )
    row.moved_at = utcnow()
    db.session.flush()
    return {"person_id": person.id, "from_unit_id": old, "to_unit_id": row.to_unit_id}


def register() -> None:
    register_operation("move_person", move_person)
    register_process(
        ProcessHooks(
            key=PROCESS_KEY,
            permission=PERMISSION,
            prepare_start=prepare_start,
            can_start=people.may_manage,
            on_data=record_transfer,
            lanes={"target_unit": "调入单位"},
            start_template="transfers/start.html",
            start_denied="只有人员所在单位或其主管部门的人员管理员可以办理人员调出",
            started_message="调出申请已提交，等待审核",
            noun="申请",
        )
    )
