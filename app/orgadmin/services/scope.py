"""Scope helpers: part of the orgadmin services (see the package docstring)."""

from __future__ import annotations

from app.accounts.actor import Actor
from app.accounts.models import (
    Membership,
    Organisation,
    OrgKind,
    Role,
)
from app.core.errors import NotFound
from app.extensions import db

ORG_MODULE = "organisation"
SUPERVISING_KINDS = (OrgKind.HR_BUREAU, OrgKind.SUPERVISORY_DEPARTMENT)
INVALID = "提交的内容有误，请按提示修改"


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

