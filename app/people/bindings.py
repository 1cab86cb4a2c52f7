"""专业技术人员信息确认 (Guangdong): a person registered elsewhere, or without a unit, asks to be bound to a
unit; the unit answers 是 (the person joins it, leaving their old unit) or 否, one by one or in batch."""

from __future__ import annotations

from sqlalchemy import or_, select

from app.accounts.actor import Actor
from app.accounts.models import Membership, Organisation, OrgKind, OrgStatus, Role
from app.audit import services as audit
from app.core.errors import InvalidState, NotFound, ValidationFailed
from app.core.models import utcnow
from app.extensions import db

from . import services
from .models import BIND_APPROVED, BIND_PENDING, BIND_REJECTED, BindRequest

STATUS_LABELS = {BIND_PENDING: "待确认", BIND_APPROVED: "已确认", BIND_REJECTED: "已拒绝"}


def find_unit(unit_id: str | int | None, lookup: str | None = None) -> Organisation:
    """The active employer unit chosen (by id, or by exact name or USCC typed without JavaScript)."""
    org = None
    if unit_id not in (None, "") and str(unit_id).isdigit():
        org = db.session.get(Organisation, int(unit_id))
    elif lookup and lookup.strip():
        text = lookup.strip()
        found = list(db.session.scalars(select(Organisation).where(
            or_(Organisation.name == text, Organisation.uscc == text.upper())).limit(2)))
        org = found[0] if len(found) == 1 else None
    if org is None or org.kind != OrgKind.EMPLOYER_UNIT or org.status != OrgStatus.ACTIVE:
        raise ValidationFailed(services.INVALID, {"unit_id": "请选择要绑定的用人单位"})
    return org


def my_requests(actor: Actor) -> list[BindRequest]:
    person = actor.person
    if person is None:
        return []
    return list(db.session.scalars(select(BindRequest).where(BindRequest.person_id == person.id)
                                   .order_by(BindRequest.id.desc()).limit(20)))


def ask(actor: Actor, unit: Organisation) -> BindRequest:
    """The actor (a professional) asks to be bound to ``unit``."""
    person = actor.person
    if person is None:
        raise NotFound("您还没有专业技术人员档案，请先注册为专业技术人员")
    if person.unit_id == unit.id:
        raise ValidationFailed(services.INVALID, {"unit_id": "您已是该单位的人员"})
    pending = db.session.scalar(select(BindRequest).where(BindRequest.person_id == person.id,
                                                          BindRequest.status == BIND_PENDING))
    if pending is not None:
        raise InvalidState("您已有一条待确认的绑定申请，请等待单位确认")
    req = BindRequest(person_id=person.id, unit_id=unit.id, status=BIND_PENDING)
    db.session.add(req)
    db.session.flush()
    return req


def pending(actor: Actor, limit: int = 200) -> list[BindRequest]:
    """Requests waiting for a unit in the actor's scope."""
    tops = services.roots(actor)
    if not tops:
        return []
    units = select(Organisation.id).where(or_(*[Organisation.path.startswith(o.path) for o in tops]))
    return list(db.session.scalars(select(BindRequest).where(
        BindRequest.status == BIND_PENDING, BindRequest.unit_id.in_(units)).order_by(BindRequest.id).limit(limit)))


def decide(actor: Actor, request_ids: list[int], approve: bool) -> list[BindRequest]:
    """是 / 否 for each request (all in the actor's scope and still pending, else nothing changes)."""
    if not request_ids:
        raise ValidationFailed(services.INVALID, {"ids": "请至少选择一条申请"})
    reqs = list(db.session.scalars(select(BindRequest).where(BindRequest.id.in_(request_ids))
                                   .order_by(BindRequest.id).with_for_update()))
    if len(reqs) != len(set(request_ids)) or not all(services.in_scope(actor, r.unit) for r in reqs):
        raise NotFound("申请不存在或不在您的管理范围内")
    if any(r.status != BIND_PENDING for r in reqs):
        raise InvalidState("所选申请中有已处理的申请，请刷新后重试")
    for r in reqs:
        r.status, r.decided_by_id, r.decided_at = (BIND_APPROVED if approve else BIND_REJECTED), actor.id, utcnow()
        if approve:
            _move(r)
        audit.record("person.bind_approve" if approve else "person.bind_reject", actor=actor, obj=r,
                     org_id=r.unit_id, details={"id_number": r.person.id_number, "unit_id": r.unit_id})
    db.session.flush()
    return reqs


def _move(req: BindRequest) -> None:
    person = req.person
    old = person.unit_id
    if person.user_id is not None and old is not None:
        m = db.session.scalar(select(Membership).where(Membership.user_id == person.user_id,
                                                       Membership.organisation_id == old))
        if m is not None and m.role == Role.MEMBER:
            db.session.delete(m)
    person.unit_id, person.department_id = req.unit_id, None
    if person.user_id is not None:
        services.join_unit(person.user_id, req.unit_id)
