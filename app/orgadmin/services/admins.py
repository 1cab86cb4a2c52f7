"""Administrators: part of the orgadmin services (see the package docstring)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select

from app.accounts.actor import Actor
from app.accounts.models import (
    Membership,
    PasswordChangeRequired,
    Role,
    User,
)
from app.accounts.passwords import (
    generate_password,
    password_error,
)
from app.accounts.services import check_password, hash_password, revoke_tokens
from app.audit import services as audit
from app.core.errors import InvalidState, NotFound, ValidationFailed
from app.core.models import utcnow
from app.core.validators import id_number_error, mobile_error, normalise_id_number
from app.extensions import db
from app.orgadmin.models import AdminRole
from app.people.models import Person

from .scope import INVALID, _require_super_admin, is_super_admin, supervised_org


@dataclass
class AdminRow:
    membership: Membership
    user: User
    role_name: str | None
    must_change_password: bool


def list_admins(actor: Actor, org_id: int) -> list[AdminRow]:
    """The administrators of ``org_id``: the actor's own organisation (super admin) or a subordinate."""
    if not is_super_admin(actor, org_id):
        supervised_org(actor, org_id)
    ms = list(db.session.scalars(select(Membership).where(
        Membership.organisation_id == org_id, Membership.role.in_([Role.ADMIN, Role.SUB_ADMIN]))
        .order_by(Membership.role, Membership.id)))
    roles = {r.id: r.name for r in db.session.scalars(select(AdminRole).where(
        AdminRole.id.in_([m.admin_role_id for m in ms if m.admin_role_id])))}
    forced = set(db.session.scalars(select(PasswordChangeRequired.user_id).where(
        PasswordChangeRequired.user_id.in_([m.user_id for m in ms]))))
    return [AdminRow(m, m.user, roles.get(m.admin_role_id) if m.admin_role_id else None, m.user_id in forced)
            for m in ms]


def members_without_admin_role(actor: Actor, org_id: int) -> list[User]:
    """Way a): registered people of the organisation who could become sub-admins."""
    _require_super_admin(actor, org_id)
    return list(db.session.scalars(select(User).join(Membership, Membership.user_id == User.id).where(
        Membership.organisation_id == org_id, Membership.role == Role.MEMBER).order_by(User.name)))


def _role_for(org_id: int, role_id: int | None) -> AdminRole | None:
    if role_id in (None, ""):
        return None
    role = db.session.get(AdminRole, int(role_id))
    if role is None or role.organisation_id != org_id:
        raise ValidationFailed(INVALID, {"role_id": "请选择本单位的角色"})
    return role


def _admin_details(m: Membership, **extra: object) -> dict:
    """What an audit entry about an administrator says: who, and which role and modules they hold now."""
    return {"user_id": m.user_id, "login": m.user.login, "role": m.role.value, "admin_role_id": m.admin_role_id,
            "modules": list(m.permissions or []), **extra}


def _make_sub_admin(membership: Membership, role: AdminRole | None) -> Membership:
    membership.role = Role.SUB_ADMIN
    membership.admin_role_id = role.id if role else None
    membership.permissions = list(role.modules) if role else []
    db.session.flush()
    return membership


def add_member_as_sub_admin(actor: Actor, org_id: int, user_id: int, role_id: int | None) -> Membership:
    """a) 选择成为管理员: a registered member of the organisation becomes a sub-admin."""
    _require_super_admin(actor, org_id)
    membership = db.session.scalar(select(Membership).where(
        Membership.organisation_id == org_id, Membership.user_id == user_id))
    if membership is None:
        raise ValidationFailed(INVALID, {"user_id": "请选择本单位已注册的人员"})
    if membership.role != Role.MEMBER:
        raise ValidationFailed(INVALID, {"user_id": "该人员已是本单位管理员"})
    _make_sub_admin(membership, _role_for(org_id, role_id))
    audit.record("admin.add", actor=actor, obj=membership, details=_admin_details(membership, way="member"))
    return membership


def register_sub_admin(actor: Actor, org_id: int, *, login: str, name: str, id_number: str,
                       password: str, mobile: str = "", role_id: int | None = None) -> Membership:
    """b) 注册成为管理员: a person not yet registered gets an account and becomes a sub-admin."""
    _require_super_admin(actor, org_id)
    login, name, mobile = (login or "").strip(), (name or "").strip(), (mobile or "").strip()
    id_number = normalise_id_number(id_number)
    errors: dict[str, str] = {}
    if not login:
        errors["login"] = "请填写登录名"
    elif len(login) > 64:
        errors["login"] = "登录名不能超过64个字符"
    elif db.session.scalar(select(User.id).where(User.login == login)):
        errors["login"] = "该登录名已被使用"
    if not name:
        errors["name"] = "请填写姓名"
    if err := id_number_error(id_number):
        errors["id_number"] = err
    elif db.session.scalar(select(User.id).where(User.id_number == id_number)):
        errors["id_number"] = "该身份证号码已注册，请用“添加已注册用户”的方式"
    if mobile and (err := mobile_error(mobile)):
        errors["mobile"] = err
    if err := password_error(password):
        errors["password"] = err
    try:
        role = _role_for(org_id, role_id)
    except ValidationFailed as exc:
        errors.update(exc.fields)
    if errors:
        raise ValidationFailed(INVALID, errors)
    user = User(login=login, name=name, id_number=id_number, mobile=mobile or None,
                password_hash=hash_password(password), status="active")
    db.session.add(user)
    db.session.flush()
    membership = Membership(user_id=user.id, organisation_id=org_id, role=Role.MEMBER, permissions=[])
    db.session.add(membership)
    _make_sub_admin(membership, role)
    audit.record("admin.add", actor=actor, obj=membership, details=_admin_details(membership, way="register"))
    return membership


def add_registered_user_as_sub_admin(actor: Actor, org_id: int, *, login: str, password: str,
                                     role_id: int | None = None) -> Membership:
    """c) 添加成为管理员: a user registered elsewhere (login name or ID number) joins as a sub-admin
    after their own password is confirmed."""
    _require_super_admin(actor, org_id)
    login = (login or "").strip()
    user = db.session.scalar(select(User).where(or_(User.login == login,
                                                    User.id_number == normalise_id_number(login)))) if login else None
    if user is None:
        raise ValidationFailed(INVALID, {"login": "未找到该用户，请用“注册成为管理员”的方式"})
    check_password(user, password, field="password", message=INVALID, wrong="密码与该用户的注册密码不一致")
    if user.status != "active":
        raise ValidationFailed(INVALID, {"login": "该用户帐号未启用"})
    role = _role_for(org_id, role_id)
    membership = db.session.scalar(select(Membership).where(
        Membership.organisation_id == org_id, Membership.user_id == user.id))
    if membership is not None and membership.role != Role.MEMBER:
        raise ValidationFailed(INVALID, {"login": "该用户已是本单位管理员"})
    if membership is None:
        membership = Membership(user_id=user.id, organisation_id=org_id, role=Role.MEMBER, permissions=[])
        db.session.add(membership)
    _make_sub_admin(membership, role)
    audit.record("admin.add", actor=actor, obj=membership, details=_admin_details(membership, way="existing"))
    return membership


def _admin_membership(actor: Actor, membership_id: int, *, own_org_only: bool) -> Membership:
    """An administrator membership the actor may act on: in an organisation where the actor is super
    admin, or (unless ``own_org_only``) in an organisation below one the actor supervises."""
    m = db.session.get(Membership, membership_id)
    if m is None or m.role not in (Role.ADMIN, Role.SUB_ADMIN):
        raise NotFound("管理员不存在或您无权管理")
    if is_super_admin(actor, m.organisation_id):
        return m
    if not own_org_only:
        try:
            supervised_org(actor, m.organisation_id)
            return m
        except NotFound:
            pass
    raise NotFound("管理员不存在或您无权管理")


def assign_role(actor: Actor, membership_id: int, role_id: int | None) -> Membership:
    m = _admin_membership(actor, membership_id, own_org_only=True)
    if m.role != Role.SUB_ADMIN:
        raise InvalidState("超级管理员拥有全部权限，无需分配角色")
    _make_sub_admin(m, _role_for(m.organisation_id, role_id))
    audit.record("admin.assign_role", actor=actor, obj=m, details=_admin_details(m))
    return m


def transfer_super_admin(actor: Actor, membership_id: int) -> Membership:
    """设为超级管理员: the sub-admin becomes the super admin; the old super admin loses every
    administrator function (stays a plain member, so their history and own applications remain)."""
    target = _admin_membership(actor, membership_id, own_org_only=True)
    if target.role != Role.SUB_ADMIN:
        raise InvalidState("只能将子管理员设为超级管理员")
    for old in db.session.scalars(select(Membership).where(
            Membership.organisation_id == target.organisation_id, Membership.role == Role.ADMIN)):
        old.role, old.admin_role_id, old.permissions = Role.MEMBER, None, []
    target.role, target.admin_role_id, target.permissions = Role.ADMIN, None, []
    db.session.flush()
    audit.record("admin.transfer", actor=actor, obj=target, details=_admin_details(target))
    return target


def remove_sub_admin(actor: Actor, membership_id: int) -> None:
    """删除: the person loses the administrator role here. Their account, their applications and the
    audit trail stay; if they are staff of the organisation they remain a member of it."""
    m = _admin_membership(actor, membership_id, own_org_only=True)
    if m.role != Role.SUB_ADMIN:
        raise InvalidState("不能删除超级管理员，请先将超级管理员转给其他管理员")
    audit.record("admin.remove", actor=actor, obj=m, details=_admin_details(m))
    staff = db.session.scalar(select(Person.id).where(Person.user_id == m.user_id,
                                                      Person.unit_id == m.organisation_id))
    if staff:
        m.role, m.admin_role_id, m.permissions = Role.MEMBER, None, []
    else:
        db.session.delete(m)
    db.session.flush()


def _check_user_in_reach(actor: Actor, user: User) -> None:
    if user.id == actor.id:
        raise InvalidState("不能对自己的帐号执行此操作")
    for other in user.memberships:
        if other.role in (Role.ADMIN, Role.SUB_ADMIN) and not (
                is_super_admin(actor, other.organisation_id) or actor.in_scope(other.organisation)):
            raise InvalidState("该用户还是其他机构的管理员，请联系其所在机构或上级处理")


def set_admin_active(actor: Actor, membership_id: int, active: bool) -> User:
    """禁用 / 启用 an administrator's account: a disabled user cannot sign in or use a token."""
    m = _admin_membership(actor, membership_id, own_org_only=False)
    user = m.user
    _check_user_in_reach(actor, user)
    if active:
        user.status = "active"
    else:
        user.status = "disabled"
    db.session.flush()
    audit.record("admin.enable" if active else "admin.disable", actor=actor, obj=m, details=_admin_details(m))
    return user


def reset_admin_password(actor: Actor, membership_id: int) -> tuple[User, str]:
    """重置密码: a generated temporary password (returned once, never stored in clear) replaces the
    old one, unlocks the account, and must be changed at the next web sign-in."""
    m = _admin_membership(actor, membership_id, own_org_only=False)
    user = m.user
    _check_user_in_reach(actor, user)
    password = generate_password()
    user.password_hash = hash_password(password)
    user.failed_logins, user.locked_until = 0, None
    mark = db.session.get(PasswordChangeRequired, user.id)
    if mark is None:
        db.session.add(PasswordChangeRequired(user_id=user.id, reset_by_id=actor.id, reset_at=utcnow()))
    else:
        mark.reset_by_id, mark.reset_at = actor.id, utcnow()
    # the old password is void, and so is every API token issued with it
    revoke_tokens(user)
    db.session.flush()
    audit.record("admin.reset_password", actor=actor, obj=m, details=_admin_details(m))
    return user, password

