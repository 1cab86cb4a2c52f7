"""Administrators, roles, departments and subordinate organisations (issue 4 items 4–6).

Every function takes the actor explicitly and never commits. Who may do what:

* an organisation's **super administrator** (role ``admin``) adds, re-roles, transfers to and deletes
  its sub-administrators and manages its roles;
* departments: the super admin, or a sub-admin holding the ``organisation`` module (机构管理);
* subordinate organisations (everything strictly below the actor's organisation): the super admin of
  a supervisory department or HR bureau, or a sub-admin of one holding ``organisation``.

Anything outside that scope answers NotFound, never "forbidden", so nothing leaks its existence.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext
from sqlalchemy import func, or_, select

from app.accounts.actor import Actor
from app.accounts.models import (
    PERMISSION_MODULES,
    Membership,
    Organisation,
    OrgKind,
    OrgStatus,
    PasswordChangeRequired,
    Role,
    User,
)
from app.accounts.passwords import (  # noqa: F401  (must_change_password, password_changed: callers here)
    generate_password,
    must_change_password,
    password_changed,
    password_error,
)
from app.accounts.services import check_password, hash_password, revoke_tokens  # noqa: F401
from app.audit import services as audit
from app.core.errors import InvalidState, NotFound, ValidationFailed
from app.core.models import utcnow
from app.core.validators import id_number_error, mobile_error, normalise_id_number
from app.extensions import db
from app.people.models import Person

from .models import AdminRole, Department

ORG_MODULE = "organisation"
SUPERVISING_KINDS = (OrgKind.HR_BUREAU, OrgKind.SUPERVISORY_DEPARTMENT)
INVALID = "提交的内容有误，请按提示修改"


# --- scope helpers -------------------------------------------------------------------------------

def _membership_in(actor: Actor, org_id: int) -> Membership | None:
    return next((m for m in actor.memberships if m.organisation_id == org_id), None)


def managed_organisations(actor: Actor) -> list[Organisation]:
    """Organisations the actor administers (admin or sub-admin) and may open the /org pages for."""
    return [m.organisation for m in actor.memberships if m.role in (Role.ADMIN, Role.SUB_ADMIN)]


def current_org(actor: Actor, org_id: int | None = None) -> Organisation:
    """The organisation the actor is working in: ``org_id`` if they administer it, else their first."""
    orgs = managed_organisations(actor)
    if org_id is not None:
        orgs = [o for o in orgs if o.id == org_id]
    if not orgs:
        raise NotFound("机构不存在或您无权管理")
    return orgs[0]


def is_super_admin(actor: Actor, org_id: int) -> bool:
    m = _membership_in(actor, org_id)
    return m is not None and m.role == Role.ADMIN


def _require_super_admin(actor: Actor, org_id: int) -> Organisation:
    if not is_super_admin(actor, org_id):
        raise NotFound("机构不存在或您无权管理")
    return db.session.get(Organisation, org_id)


def can_manage_departments(actor: Actor, org_id: int) -> bool:
    m = _membership_in(actor, org_id)
    return m is not None and m.can(ORG_MODULE)


def can_supervise(actor: Actor, org_id: int) -> bool:
    """May the actor manage the organisations below ``org_id``?"""
    m = _membership_in(actor, org_id)
    return m is not None and m.organisation.kind in SUPERVISING_KINDS and m.can(ORG_MODULE)


def capabilities(actor: Actor, org_id: int) -> dict[str, bool]:
    """Which /org pages the actor may open for ``org_id`` (drives tabs and the navigation)."""
    return {"admins": is_super_admin(actor, org_id), "roles": is_super_admin(actor, org_id),
            "departments": can_manage_departments(actor, org_id), "subordinates": can_supervise(actor, org_id)}


def supervised_org(actor: Actor, org_id: int) -> Organisation:
    """A subordinate organisation: strictly below one the actor supervises; else NotFound."""
    org = db.session.get(Organisation, org_id)
    if org is not None:
        for m in actor.memberships:
            root = m.organisation
            if org.id != root.id and org.path.startswith(root.path) and can_supervise(actor, root.id):
                return org
    raise NotFound("机构不存在或不在您的管辖范围内")


# --- roles ---------------------------------------------------------------------------------------

def _clean_modules(modules: list[str] | None) -> list[str]:
    unknown = [m for m in modules or [] if m not in PERMISSION_MODULES]
    if unknown:
        raise ValidationFailed(INVALID, {"modules": gettext("未知的权限模块：%(names)s", names="、".join(unknown))})
    return [m for m in PERMISSION_MODULES if m in (modules or [])]


def list_roles(actor: Actor, org_id: int) -> list[AdminRole]:
    _require_super_admin(actor, org_id)
    return list(db.session.scalars(select(AdminRole).where(AdminRole.organisation_id == org_id)
                                   .order_by(AdminRole.id)))


def _role_name(org_id: int, name: str | None, role_id: int | None = None) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(INVALID, {"name": "请填写角色名称"})
    if len(name) > 64:
        raise ValidationFailed(INVALID, {"name": "角色名称不能超过64个字"})
    clash = db.session.scalar(select(AdminRole.id).where(AdminRole.organisation_id == org_id,
                                                         AdminRole.name == name))
    if clash is not None and clash != role_id:
        raise ValidationFailed(INVALID, {"name": "本单位已有同名角色"})
    return name


def create_role(actor: Actor, org_id: int, name: str, modules: list[str]) -> AdminRole:
    _require_super_admin(actor, org_id)
    role = AdminRole(organisation_id=org_id, name=_role_name(org_id, name), modules=_clean_modules(modules))
    db.session.add(role)
    db.session.flush()
    audit.record("role.create", actor=actor, obj=role, details={"name": role.name, "modules": role.modules})
    return role


def get_role(actor: Actor, role_id: int) -> AdminRole:
    role = db.session.get(AdminRole, role_id)
    if role is None or not is_super_admin(actor, role.organisation_id):
        raise NotFound("角色不存在或您无权管理")
    return role


def update_role(actor: Actor, role_id: int, name: str | None = None, modules: list[str] | None = None
                ) -> AdminRole:
    """Rename a role or change its modules; every sub-admin holding it gets the new modules at once."""
    role = get_role(actor, role_id)
    if name is not None:
        role.name = _role_name(role.organisation_id, name, role.id)
    if modules is not None:
        role.modules = _clean_modules(modules)
        for m in db.session.scalars(select(Membership).where(Membership.admin_role_id == role.id)):
            m.permissions = list(role.modules)
    db.session.flush()
    audit.record("role.update", actor=actor, obj=role, details={"name": role.name, "modules": role.modules})
    return role


def delete_role(actor: Actor, role_id: int) -> None:
    role = get_role(actor, role_id)
    used = db.session.scalar(select(func.count()).select_from(Membership)
                             .where(Membership.admin_role_id == role.id))
    if used:
        raise InvalidState(gettext("还有%(n)s名管理员持有该角色，请先为他们更换角色", n=used))
    audit.record("role.delete", actor=actor, obj=role, details={"name": role.name, "modules": role.modules})
    db.session.delete(role)
    db.session.flush()


def role_holders(role_ids: list[int]) -> dict[int, int]:
    if not role_ids:
        return {}
    rows = db.session.execute(select(Membership.admin_role_id, func.count()).where(
        Membership.admin_role_id.in_(role_ids)).group_by(Membership.admin_role_id))
    return {rid: n for rid, n in rows}


# --- administrators ------------------------------------------------------------------------------

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


# --- departments ---------------------------------------------------------------------------------

def list_departments(actor: Actor, org_id: int) -> list[tuple[Department, int]]:
    """The organisation's departments as a tree in display order: (department, depth)."""
    if not can_manage_departments(actor, org_id):
        raise NotFound("机构不存在或您无权管理")
    rows = list(db.session.scalars(select(Department).where(Department.organisation_id == org_id)
                                   .order_by(Department.name, Department.id)))
    children: dict[int | None, list[Department]] = {}
    for d in rows:
        children.setdefault(d.parent_id, []).append(d)
    out: list[tuple[Department, int]] = []

    def walk(parent: int | None, depth: int) -> None:
        for d in children.get(parent, []):
            out.append((d, depth))
            walk(d.id, depth + 1)

    walk(None, 0)
    return out


def get_department(actor: Actor, dept_id: int) -> Department:
    dept = db.session.get(Department, dept_id)
    if dept is None or not can_manage_departments(actor, dept.organisation_id):
        raise NotFound("部门不存在或您无权管理")
    return dept


def _department_fields(org_id: int, name: str | None, parent_id: int | None, dept_id: int | None = None
                       ) -> tuple[str, int | None]:
    errors: dict[str, str] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = "请填写部门名称"
    elif len(name) > 100:
        errors["name"] = "部门名称不能超过100个字"
    parent = None
    if parent_id not in (None, ""):
        parent = db.session.get(Department, int(parent_id))
        if parent is None or parent.organisation_id != org_id:
            errors["parent_id"] = "请选择本单位的上级部门"
            parent = None
        elif dept_id is not None:
            node: Department | None = parent
            while node is not None:  # no cycles: the new parent must not be the department or below it
                if node.id == dept_id:
                    errors["parent_id"] = "上级部门不能是本部门或其下级部门"
                    break
                node = db.session.get(Department, node.parent_id) if node.parent_id else None
    if "name" not in errors:
        clash = db.session.scalar(select(Department.id).where(
            Department.organisation_id == org_id, Department.name == name,
            Department.parent_id.is_(None) if parent is None else Department.parent_id == parent.id))
        if clash is not None and clash != dept_id:
            errors["name"] = "同一上级部门下已有同名部门"
    if errors:
        raise ValidationFailed(INVALID, errors)
    return name, parent.id if parent else None


def create_department(actor: Actor, org_id: int, name: str, parent_id: int | None = None) -> Department:
    if not can_manage_departments(actor, org_id):
        raise NotFound("机构不存在或您无权管理")
    name, parent = _department_fields(org_id, name, parent_id)
    dept = Department(organisation_id=org_id, name=name, parent_id=parent, status="active")
    db.session.add(dept)
    db.session.flush()
    return dept


def update_department(actor: Actor, dept_id: int, *, name: str | None = None, parent_id: int | None = None,
                      move: bool = False, status: str | None = None) -> Department:
    """Rename, move (``move=True`` with ``parent_id``, None = top level), disable or re-enable."""
    dept = get_department(actor, dept_id)
    if name is not None or move:
        dept.name, dept.parent_id = _department_fields(
            dept.organisation_id, dept.name if name is None else name,
            parent_id if move else dept.parent_id, dept.id)
    if status is not None:
        if status not in ("active", "disabled"):
            raise ValidationFailed(INVALID, {"status": "状态只能是 active 或 disabled"})
        dept.status = status
    db.session.flush()
    return dept


# --- subordinate organisations -------------------------------------------------------------------

@dataclass
class SubordinateRow:
    org: Organisation
    admins: list[str]
    parent_name: str | None = None


def list_subordinates(actor: Actor, org_id: int, q: str | None = None, page: int = 1, per_page: int = 50
                      ) -> tuple[list[SubordinateRow], int]:
    """Organisations below ``org_id`` (the whole subtree), with their super admins' names."""
    if not can_supervise(actor, org_id):
        raise NotFound("机构不存在或您无权管理")
    root = db.session.get(Organisation, org_id)
    stmt = select(Organisation).where(Organisation.path.startswith(root.path, autoescape=True),
                                      Organisation.id != root.id)
    if q:
        stmt = stmt.where(Organisation.name.contains(q.strip(), autoescape=True))
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
    orgs = list(db.session.scalars(stmt.order_by(Organisation.path).limit(per_page)
                                   .offset((page - 1) * per_page)))
    names: dict[int, list[str]] = {}
    parents: dict[int, str] = {}
    if orgs:
        parents = {i: n for i, n in db.session.execute(select(Organisation.id, Organisation.name).where(
            Organisation.id.in_({o.parent_id for o in orgs if o.parent_id})))}
    if orgs:
        rows = db.session.execute(select(Membership.organisation_id, User.name).join(User).where(
            Membership.organisation_id.in_([o.id for o in orgs]), Membership.role == Role.ADMIN))
        for oid, name in rows:
            names.setdefault(oid, []).append(name)
    return [SubordinateRow(o, names.get(o.id, []), parents.get(o.parent_id)) for o in orgs], total


def set_org_status(actor: Actor, org_id: int, active: bool) -> Organisation:
    """禁用 / 启用 a subordinate organisation: while disabled its administrators cannot act."""
    org = supervised_org(actor, org_id)
    org.status = OrgStatus.ACTIVE if active else OrgStatus.DISABLED
    db.session.flush()
    audit.record("org.enable" if active else "org.disable", actor=actor, obj=org)
    return org


def set_review_enabled(actor: Actor, org_id: int, enabled: bool) -> Organisation:
    """关闭 / 开启审核权限: while off, approval chains started afterwards skip this organisation's
    review step (the process reads ``lanes[...]``, see app.workflow.lanes.lane_flags)."""
    org = supervised_org(actor, org_id)
    org.review_enabled = bool(enabled)
    db.session.flush()
    audit.record("org.review_on" if enabled else "org.review_off", actor=actor, obj=org)
    return org


def module_labels(modules: list[str] | None) -> list[str]:
    return [PERMISSION_MODULES[m] for m in modules or [] if m in PERMISSION_MODULES]
