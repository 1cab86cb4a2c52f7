"""The registration processes as the workflow sees them: who starts them, lanes, operations.

``person_registration``: the pending user is the applicant; lane ``unit`` is the chosen unit.
``organisation_registration``: the applying administrator is the applicant; lane ``parent``
is the organisation the new one registers under (superior unit, supervisory department or
HR bureau). Both can only be started by :mod:`app.registration.services`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.accounts.actor import Actor
from app.accounts.models import Membership, Organisation, OrgStatus, Role, User
from app.core.errors import ValidationFailed
from app.core.i18n import sentence
from app.extensions import db
from app.people.models import Person
from app.registration import services
from app.registration.models import OrganisationProfile
from app.workflow.registry import OperationContext, ProcessHooks, StartContext, register_operation, register_process

#: Sub-administrators need this permission module to review registrations.
PERMISSION = "registration_review"  # 注册审核


#: Title of an organisation's registration; pages translate it with |tr.
ORG_TITLE = sentence("%(kind)s注册：%(name)s")


def _prepare_person(data: dict[str, Any], actor: Actor) -> StartContext:
    unit = db.session.get(Organisation, int(data["unit_id"]))
    return StartContext(subject_person=None, subject_unit=unit, applicant_name=actor.user.name,
                        applicant_id_number=actor.user.id_number, title="专技人员注册")


def _prepare_org(data: dict[str, Any], actor: Actor) -> StartContext:
    org = db.session.get(Organisation, int(data["organisation_id"]))
    profile = db.session.get(OrganisationProfile, org.id) if org is not None else None
    if org is None or org.status != OrgStatus.PENDING or profile is None or profile.applicant_id != actor.id:
        raise ValidationFailed("提交的内容有误", {"organisation_id": "没有待审核的单位注册"})
    title = ORG_TITLE % {"kind": services.KIND_LABELS.get(org.kind.value, "单位"), "name": org.name}
    return StartContext(subject_person=None, subject_unit=org, applicant_name=actor.user.name,
                        applicant_id_number=actor.user.id_number, title=title[:200],
                        extra_lanes={"parent": org.parent})


def _user(ctx: OperationContext) -> User:
    return db.session.get(User, ctx.instance.started_by_id)


def _membership(user: User, org_id: int, role: Role) -> None:
    row = db.session.scalar(select(Membership).where(Membership.user_id == user.id,
                                                     Membership.organisation_id == org_id))
    if row is None:
        db.session.add(Membership(user_id=user.id, organisation_id=org_id, role=role, permissions=[]))
    elif role == Role.ADMIN:
        row.role = Role.ADMIN


def activate_account(params: dict[str, Any], data: dict[str, Any], ctx: OperationContext) -> dict:
    """Service task: the unit approved: the account becomes active and the person its staff."""
    user = _user(ctx)
    unit_id = int(data["unit_id"])
    user.status = "active"
    person = db.session.scalar(select(Person).where(Person.id_number == user.id_number))
    if person is None:
        gender = ("男" if int(user.id_number[16]) % 2 else "女") if user.id_number else None  # GB 11643
        person = Person(name=user.name, id_number=user.id_number, user=user, unit_id=unit_id, gender=gender)
        db.session.add(person)
    else:
        person.user, person.unit_id, person.name = user, unit_id, user.name   # user.person follows
    for name in ("title_series", "title_level", "education"):  # chosen at registration
        if data.get(name):
            setattr(person, name, data[name])
    _membership(user, unit_id, Role.MEMBER)
    db.session.flush()
    return {"user_id": user.id, "person_id": person.id}


def reject_account(params: dict[str, Any], data: dict[str, Any], ctx: OperationContext) -> dict:
    user = _user(ctx)
    if user.status == "pending":
        user.status = "rejected"
    db.session.flush()
    return {"user_id": user.id}


def activate_organisation(params: dict[str, Any], data: dict[str, Any], ctx: OperationContext) -> dict:
    """Service task: the parent approved: the organisation is active, the applicant its admin."""
    org = db.session.get(Organisation, int(data["organisation_id"]))
    org.status = OrgStatus.ACTIVE
    user = _user(ctx)
    if user.status == "pending":
        user.status = "active"
    _membership(user, org.id, Role.ADMIN)
    db.session.flush()
    return {"organisation_id": org.id, "admin_id": user.id}


def reject_organisation(params: dict[str, Any], data: dict[str, Any], ctx: OperationContext) -> dict:
    org = db.session.get(Organisation, int(data["organisation_id"]))
    org.status = OrgStatus.REJECTED
    user = _user(ctx)
    if data.get("new_account") and user.status == "pending":
        user.status = "rejected"
    db.session.flush()
    return {"organisation_id": org.id}


def _can_start(actor: Actor) -> bool:
    return services.starting()


def register() -> None:
    from app.accounts.services import explain_inactive_with

    explain_inactive_with(services.inactive_message)
    register_operation("activate_account", activate_account)
    register_operation("reject_account", reject_account)
    register_operation("activate_organisation", activate_organisation)
    register_operation("reject_organisation", reject_organisation)
    register_process(ProcessHooks(key=services.PERSON_PROCESS, permission=PERMISSION,
                                  prepare_start=_prepare_person, can_start=_can_start, noun="申请"))
    register_process(ProcessHooks(key=services.ORG_PROCESS, permission=PERMISSION,
                                  prepare_start=_prepare_org, can_start=_can_start, noun="申请"))
