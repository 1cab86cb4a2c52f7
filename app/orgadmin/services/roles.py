"""Roles: part of the orgadmin services (see the package docstring)."""

from __future__ import annotations

from flask_babel import gettext
from sqlalchemy import func, select

from app.accounts.actor import Actor
from app.accounts.models import (
    PERMISSION_MODULES,
    Membership,
)
from app.audit import services as audit
from app.core.errors import InvalidState, NotFound, ValidationFailed
from app.extensions import db
from app.orgadmin.models import AdminRole

from .scope import INVALID, _require_super_admin, is_super_admin


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

