"""Subordinate organisations: part of the orgadmin services (see the package docstring)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from app.accounts.actor import Actor
from app.accounts.models import (
    PERMISSION_MODULES,
    Membership,
    Organisation,
    OrgStatus,
    Role,
    User,
)
from app.audit import services as audit
from app.core.errors import NotFound
from app.extensions import db

from .scope import can_supervise, supervised_org


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
