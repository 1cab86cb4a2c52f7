"""Personnel management (人员信息维护): add, edit, view, reset the password of and unbind the professionals
of a unit, or of the units below a supervisory department or bureau. Services take the actor and never
commit.

Who: an administrator of the unit (or of an organisation above it), or a sub-administrator whose role holds
人员管理 (``people``). Anyone else, and anything outside that subtree, answers NotFound."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import or_, select

from app.accounts.actor import Actor
from app.accounts.models import Membership, Organisation, OrgKind, PasswordChangeRequired, Role, User
from app.accounts.passwords import generate_password
from app.accounts.services import hash_password, revoke_tokens
from app.audit import services as audit
from app.core.errors import NotFound, ValidationFailed
from app.core.models import utcnow
from app.extensions import db

from . import fields
from .models import Person, department_table

MODULE = "people"
#: Organisations that employ professionals: units, and supervisory departments for their own staff (a
#: department declares their hours itself, Shandong 001 §5.2).
STAFF_KINDS = (OrgKind.EMPLOYER_UNIT, OrgKind.SUPERVISORY_DEPARTMENT)
INVALID = "提交的内容有误，请按提示修改"
NOT_FOUND = "人员不存在或不在您的管理范围内"


# --------------------------------------------------------------------------- scope


def roots(actor: Actor) -> list[Organisation]:
    """The organisations whose staff (theirs and their subtree's) the actor manages."""
    return [m.organisation for m in actor.memberships if m.role in (Role.ADMIN, Role.SUB_ADMIN) and m.can(MODULE)]


def may_manage(actor: Actor) -> bool:
    return bool(roots(actor))


def scope_condition(actor: Actor):
    """SQL: persons employed by a unit at or below one of :func:`roots` (false when there is none)."""
    tops = roots(actor)
    if not tops:
        return Person.id.is_(None)  # nobody
    sub = select(Organisation.id).where(or_(*[Organisation.path.startswith(o.path) for o in tops]))
    return Person.unit_id.in_(sub)


def in_scope(actor: Actor, org: Organisation | None) -> bool:
    return org is not None and any(org.path.startswith(root.path) for root in roots(actor))


def visible(actor: Actor, person_id: int) -> Person:
    person = db.session.get(Person, person_id)
    if person is None or not in_scope(actor, person.unit):
        raise NotFound(NOT_FOUND)
    return person


def units(actor: Actor) -> list[Organisation]:
    """Units a person can be added to: the actor's own, and those below a department or bureau (a supervisory
    department's own staff included)."""
    tops = roots(actor)
    if not tops:
        return []
    return list(db.session.scalars(select(Organisation).where(
        Organisation.kind.in_(STAFF_KINDS),
        or_(*[Organisation.path.startswith(o.path) for o in tops])).order_by(Organisation.name).limit(500)))


def unit_in_scope(actor: Actor, unit_id: int | None) -> Organisation:
    org = db.session.get(Organisation, unit_id) if unit_id else None
    if org is None or org.kind not in STAFF_KINDS or not in_scope(actor, org):
        raise NotFound("单位不存在或不在您的管理范围内")
    return org


def departments_of(unit_id: int | None) -> list[Any]:
    """The unit's active departments: rows with ``id`` and ``name``."""
    if unit_id is None:
        return []
    d = department_table.c
    return list(db.session.execute(select(d.id, d.name).where(d.organisation_id == unit_id, d.status == "active")
                                   .order_by(d.name)).all())


def department_name(department_id: int | None) -> str | None:
    if department_id is None:
        return None
    return db.session.scalar(select(department_table.c.name).where(department_table.c.id == department_id))


def _department(unit_id: int, raw: Any, errors: dict[str, str]) -> int | None:
    if raw in (None, ""):
        return None
    d = department_table.c
    found = db.session.scalar(select(d.id).where(d.id == int(raw), d.organisation_id == unit_id)) \
        if str(raw).isdigit() else None
    if found is None:
        errors["department_id"] = _("请选择本单位的部门")
    return found


# --------------------------------------------------------------------------- add, edit


def add(actor: Actor, unit_id: int | None, data: dict[str, Any]) -> Person:
    """新增人员: a professional of ``unit_id``. Someone already on the platform is refused: if they work
    elsewhere, or nowhere, they ask to bind to the unit themselves (binding confirmation)."""
    unit = unit_in_scope(actor, unit_id)
    values, errors = fields.check(data)
    department_id = _department(unit.id, data.get("department_id"), errors)
    if not errors and (clash := existing_person(values["id_number"])) is not None:
        errors["id_number"] = (_("该人员已在本单位登记") if clash.unit_id == unit.id
                               else _("该人员已在平台登记，请由本人申请绑定到本单位"))
    if errors:
        raise ValidationFailed(INVALID, errors)
    person = create(unit.id, values, department_id)
    audit.record("person.add", actor=actor, obj=person, org_id=unit.id,
                 details={"id_number": person.id_number, "name": person.name})
    return person


def existing_person(id_number: str) -> Person | None:
    return db.session.scalar(select(Person).where(Person.id_number == id_number))


def create(unit_id: int, values: dict[str, Any], department_id: int | None = None) -> Person:
    """The person row (values already checked); linked to a user account with that ID number if there is one."""
    user_id = db.session.scalar(select(User.id).where(User.id_number == values["id_number"]))
    person = Person(unit_id=unit_id, department_id=department_id, user_id=user_id, **values)
    db.session.add(person)
    db.session.flush()
    if user_id is not None:
        join_unit(user_id, unit_id)
    return person


def update(actor: Actor, person_id: int, data: dict[str, Any]) -> Person:
    """修改: the fields present in ``data``; the ID number of a person never changes here."""
    person = visible(actor, person_id)
    data = {k: v for k, v in data.items() if k != "id_number"}
    values, errors = fields.check({**data, "id_number": person.id_number}, partial=True)
    values.pop("id_number", None)
    if "department_id" in data:
        values["department_id"] = _department(person.unit_id, data.get("department_id"), errors)
    if errors:
        raise ValidationFailed(INVALID, errors)
    changed = {k: str(v) for k, v in values.items() if getattr(person, k) != v}
    for key, value in values.items():
        setattr(person, key, value)
    if person.user is not None and "name" in changed:
        person.user.name = person.name
    db.session.flush()
    audit.record("person.update", actor=actor, obj=person, org_id=person.unit_id,
                 details={"id_number": person.id_number, "changed": changed})
    return person


# --------------------------------------------------------------------------- password, unbind


def reset_password(actor: Actor, person_id: int) -> tuple[User, str]:
    """重置密码: a temporary password, shown once, that the person must change at the next sign-in. A person
    added by the unit without an account gets one (login: their ID number)."""
    person = visible(actor, person_id)
    password = generate_password()
    user = person.user
    if user is None:
        login = person.id_number
        if db.session.scalar(select(User.id).where(User.login == login)) is not None:
            raise ValidationFailed(INVALID, {"id_number": _("已有用户以该公民身份号码为登录名，无法开通帐号")})
        user = User(login=login, name=person.name, id_number=person.id_number, mobile=person.phone,
                    email=person.email, password_hash=hash_password(password))
        db.session.add(user)
        db.session.flush()
        person.user_id = user.id
        join_unit(user.id, person.unit_id)
    else:
        user.password_hash = hash_password(password)
        user.failed_logins, user.locked_until = 0, None
        revoke_tokens(user)
    mark = db.session.get(PasswordChangeRequired, user.id)
    if mark is None:
        db.session.add(PasswordChangeRequired(user_id=user.id, reset_by_id=actor.id, reset_at=utcnow()))
    else:
        mark.reset_by_id, mark.reset_at = actor.id, utcnow()
    db.session.flush()
    audit.record("person.reset_password", actor=actor, obj=person, org_id=person.unit_id,
                 details={"id_number": person.id_number, "login": user.login})
    return user, password


def unbind(actor: Actor, person_id: int) -> Person:
    """解除绑定: the person leaves the unit (and its department); their archive stays with them."""
    person = visible(actor, person_id)
    unit_id = person.unit_id
    if person.user_id is not None:
        membership = db.session.scalar(select(Membership).where(
            Membership.user_id == person.user_id, Membership.organisation_id == unit_id))
        if membership is not None and membership.role == Role.MEMBER:
            db.session.delete(membership)
    person.unit_id, person.department_id = None, None
    db.session.flush()
    audit.record("person.unbind", actor=actor, obj=person, org_id=unit_id,
                 details={"id_number": person.id_number, "unit_id": unit_id})
    return person


def join_unit(user_id: int, unit_id: int | None) -> None:
    """The user becomes a member of the unit (if not already something there)."""
    if unit_id is None:
        return
    exists = db.session.scalar(select(Membership.id).where(Membership.user_id == user_id,
                                                           Membership.organisation_id == unit_id))
    if exists is None:
        db.session.add(Membership(user_id=user_id, organisation_id=unit_id, role=Role.MEMBER, permissions=[]))


def move_person(person: Person, unit_id: int) -> None:
    """The person now works for ``unit_id`` (人员调转, app.transfers): their member role in the old unit ends,
    they leave its internal department and join the new unit. Their archive and certificates follow the
    person record. No scope check: the caller decided (an approved transfer)."""
    old = person.unit_id
    if person.user_id is not None and old is not None and old != unit_id:
        membership = db.session.scalar(select(Membership).where(
            Membership.user_id == person.user_id, Membership.organisation_id == old))
        if membership is not None and membership.role == Role.MEMBER:
            db.session.delete(membership)
    person.unit_id, person.department_id = unit_id, None
    if person.user_id is not None:
        join_unit(person.user_id, unit_id)
    db.session.flush()
