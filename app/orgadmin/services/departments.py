"""Departments: part of the orgadmin services (see the package docstring)."""

from __future__ import annotations

from sqlalchemy import select

from app.accounts.actor import Actor
from app.core.errors import NotFound, ValidationFailed
from app.extensions import db
from app.orgadmin.models import Department

from .scope import INVALID, can_manage_departments


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

