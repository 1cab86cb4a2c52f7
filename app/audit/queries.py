"""The read API of the audit log: who may read it, filters, and pages newest first (keyset on id)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from flask import current_app, has_app_context
from sqlalchemy import column, or_, select, table

from app.core.errors import NotFound, ValidationFailed
from app.extensions import db

from .models import AuditEntry
from .services import ACTIONS

if TYPE_CHECKING:
    from app.accounts.actor import Actor
    from app.accounts.models import Organisation

#: The organisation tree, read by name: the audit package imports no domain package (accounts records here).
_ORG = table("organisation", column("id"), column("name"), column("path"))

#: The permission module that opens the audit log to a sub-administrator (机构管理).
AUDIT_MODULE = "organisation"
INVALID = "请求参数有误"


def audit_roots(actor: Actor) -> list[Organisation]:
    """The organisations whose entries (theirs and those below) the actor may read: where they are super
    administrator, or sub-administrator holding 机构管理."""
    return [m.organisation for m in actor.memberships
            if m.role == "admin" or (m.role == "sub_admin" and m.can(AUDIT_MODULE))]


def can_read(actor: Actor) -> bool:
    return bool(audit_roots(actor))


def sees_all(actor: Actor) -> bool:
    """The province bureau's administrators read every entry, also those of no organisation (a sign-in with
    an unknown login name, a diagram changed on the server)."""
    return any(org.kind == "hr_bureau" and org.level == "province" for org in audit_roots(actor))


@dataclass(frozen=True)
class Filters:
    action: str | None = None
    #: login name (exact) or user id of the actor
    actor: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    object_type: str | None = None
    object_id: str | None = None
    before: int | None = None
    per_page: int = 50

    def args(self) -> dict[str, Any]:
        """The filters as query arguments (for links to the next page)."""
        out = {"action": self.action, "actor": self.actor, "object_type": self.object_type,
               "object_id": self.object_id, "per_page": self.per_page if self.per_page != 50 else None,
               "date_from": self.date_from.isoformat() if self.date_from else None,
               "date_to": self.date_to.isoformat() if self.date_to else None}
        return {k: v for k, v in out.items() if v}


def parse_filters(args: Mapping[str, str]) -> Filters:
    """Filters from query arguments; 422 with the fields at fault."""
    errors: dict[str, str] = {}

    def text(name: str) -> str | None:
        value = (args.get(name) or "").strip()
        if len(value) > 64:
            errors[name] = "不能超过64个字符"
        return value or None

    def day(name: str) -> date | None:
        value = (args.get(name) or "").strip()
        if not value:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            errors[name] = "请输入有效日期（YYYY-MM-DD）"
            return None

    def number(name: str, default: int | None, low: int, high: int, message: str) -> int | None:
        value = (args.get(name) or "").strip()
        if not value:
            return default
        if not value.isdigit() or not low <= int(value) <= high:
            errors[name] = message
            return default
        return int(value)

    action = text("action")
    if action and action not in ACTIONS and not any(code.startswith(action.rstrip(".") + ".") for code in ACTIONS):
        errors["action"] = "未知的操作类型"
    filters = Filters(
        action=action, actor=text("actor"), date_from=day("date_from"), date_to=day("date_to"),
        object_type=text("object_type"), object_id=text("object_id"),
        before=number("before", None, 1, 2**63 - 1, "应为上一页返回的 next_before"),
        per_page=number("per_page", 50, 1, 200, "每页条数应为 1 到 200") or 50)
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        errors["date_to"] = "结束日期不能早于开始日期"
    if errors:
        raise ValidationFailed(INVALID, errors)
    return filters


def _utc(day: date) -> datetime:
    """Midnight of ``day`` in the platform's zone (Beijing time), as the naive UTC time entries are stored in."""
    offset = current_app.config.get("DISPLAY_UTC_OFFSET_HOURS", 8) if has_app_context() else 8
    return datetime.combine(day, time()) - timedelta(hours=offset)


@dataclass
class Page:
    items: list[tuple[AuditEntry, str | None]]
    #: Pass as ``before`` for the next (older) page; None on the last page.
    next_before: int | None
    filters: Filters = field(default_factory=Filters)


def search(actor: Actor, filters: Filters) -> Page:
    """Entries the actor may read, newest first, with their organisation's name. 404 for non-administrators."""
    roots = audit_roots(actor)
    if not roots:
        raise NotFound("页面不存在")
    query = select(AuditEntry, _ORG.c.name).outerjoin(_ORG, _ORG.c.id == AuditEntry.organisation_id)
    if not sees_all(actor):
        query = query.where(or_(*(_ORG.c.path.startswith(root.path) for root in roots)))
    if filters.action in ACTIONS:
        query = query.where(AuditEntry.action == filters.action)
    elif filters.action:  # a group: "admin" or "admin." is every admin.* action
        query = query.where(AuditEntry.action.startswith(filters.action.rstrip(".") + "."))
    if filters.actor:
        who = AuditEntry.actor_login == filters.actor
        query = query.where(or_(who, AuditEntry.actor_user_id == int(filters.actor)) if filters.actor.isdigit()
                            else who)
    if filters.date_from:
        query = query.where(AuditEntry.at >= _utc(filters.date_from))
    if filters.date_to:
        query = query.where(AuditEntry.at < _utc(filters.date_to + timedelta(days=1)))
    if filters.object_type:
        query = query.where(AuditEntry.object_type == filters.object_type)
    if filters.object_id:
        query = query.where(AuditEntry.object_id == filters.object_id)
    if filters.before:
        query = query.where(AuditEntry.id < filters.before)
    rows = db.session.execute(query.order_by(AuditEntry.id.desc()).limit(filters.per_page + 1)).all()
    items = [(entry, name) for entry, name in rows[:filters.per_page]]
    more = len(rows) > filters.per_page
    return Page(items=items, next_before=items[-1][0].id if more and items else None, filters=filters)
