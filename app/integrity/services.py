"""Dishonesty records (失信信息录入, 单位失信信息查看): record, list, revoke. Services take the actor and
never commit.

Who: administrators of an organisation, and sub-administrators whose role holds 信用管理 (``integrity``).
An entry is recorded against a professional of a unit at or below one of the actor's organisations, or
against one of those organisations (a unit records for its staff or itself; a bureau for anything below
it). An entry is seen by the organisation it is recorded against and every organisation above it; anything
else answers NotFound. Entries are never edited: revoking keeps the entry with who revoked it and why."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from app.accounts.actor import Actor
from app.accounts.models import Organisation, OrgStatus, Role
from app.audit import services as audit
from app.core.errors import InvalidState, NotFound, ValidationFailed
from app.core.models import utcnow
from app.core.paging import Page
from app.core.sorting import Sort, order_clauses, parse_sort
from app.core.validators import id_number_error, normalise_id_number, text_error, whole_number
from app.extensions import db
from app.people.models import Person

from .models import ACTIVE, ORGANISATION, PERSON, REVOKED, SUBJECT_TYPES, DishonestyEntry

MODULE = "integrity"
INVALID = "提交的内容有误，请按提示修改"
NOT_FOUND = "失信信息不存在或不在您的管理范围内"
MAX_CONTENT = 2000


# --------------------------------------------------------------------------- scope


def roots(actor: Actor) -> list[Organisation]:
    """The organisations whose entries (theirs and their subtree's) the actor manages."""
    return [m.organisation for m in actor.memberships if m.role in (Role.ADMIN, Role.SUB_ADMIN) and m.can(MODULE)]


def may_manage(actor: Actor) -> bool:
    return bool(roots(actor))


def in_scope(actor: Actor, org: Organisation | None) -> bool:
    return org is not None and any(org.path.startswith(root.path) for root in roots(actor))


def _subtree(actor: Actor):  # noqa: ANN202
    tops = roots(actor)
    if not tops:
        return None
    return select(Organisation.id).where(or_(*[Organisation.path.startswith(o.path, autoescape=True) for o in tops]))


def visible(actor: Actor, entry_id: int) -> DishonestyEntry:
    entry = db.session.get(DishonestyEntry, entry_id)
    if entry is None or not in_scope(actor, entry.subject_org):
        raise NotFound(NOT_FOUND)
    return entry


def can_revoke(actor: Actor, entry: DishonestyEntry) -> bool:
    """The organisation that recorded it, or one above that: a unit cannot revoke what a bureau recorded."""
    return entry.is_active and in_scope(actor, entry.recorded_by_org)


def subject_organisations(actor: Actor, limit: int = 200) -> list[Organisation]:
    """Organisations an entry may be recorded against: the actor's own and those below (active ones)."""
    sub = _subtree(actor)
    if sub is None:
        return []
    return list(
        db.session.scalars(
            select(Organisation)
            .where(Organisation.id.in_(sub), Organisation.status == OrgStatus.ACTIVE)
            .order_by(Organisation.path)
            .limit(limit)
        )
    )


# --------------------------------------------------------------------------- record, revoke


def _content(raw: Any, errors: dict[str, str], field: str = "content", label: str = "失信内容") -> str:
    text = str(raw or "").strip()
    if not text:
        errors[field] = _("请填写%(label)s", label=_(label))
    elif len(text) > MAX_CONTENT:
        errors[field] = _("%(label)s不能超过%(n)s个字", label=_(label), n=MAX_CONTENT)
    elif err := text_error(text):
        errors[field] = err
    return text


def _recording_org(actor: Actor, subject_org: Organisation) -> Organisation:
    """The actor's organisation that records: the nearest of theirs at or above the subject."""
    mine = [o for o in roots(actor) if subject_org.path.startswith(o.path)]
    return max(mine, key=lambda o: len(o.path))


def record(actor: Actor, data: dict[str, Any]) -> DishonestyEntry:
    """失信信息录入: ``subject_type`` person (``person_id_number``) or organisation (``org_id``), and ``content``."""
    if not may_manage(actor):
        raise NotFound(NOT_FOUND)
    errors: dict[str, str] = {}
    kind = str(data.get("subject_type") or "").strip()
    content = _content(data.get("content"), errors)
    person: Person | None = None
    org: Organisation | None = None
    if kind == PERSON:
        raw = str(data.get("person_id_number") or "").strip()
        if not raw:
            errors["person_id_number"] = _("请填写失信人的公民身份号码")
        elif err := id_number_error(raw):
            errors["person_id_number"] = err
        else:
            person = db.session.scalar(select(Person).where(Person.id_number == normalise_id_number(raw)))
            if person is None or not in_scope(actor, person.unit):
                errors["person_id_number"] = _("未找到该人员，或该人员不属于您管理的单位")
                person = None
    elif kind == ORGANISATION:
        org_id = whole_number(str(data.get("org_id") or ""))
        org = db.session.get(Organisation, org_id) if org_id is not None else None
        if org is None or not in_scope(actor, org):
            errors["org_id"] = _("请选择本单位或下级单位")
            org = None
    else:
        errors["subject_type"] = _("请选择失信人类型")
    if errors:
        raise ValidationFailed(INVALID, errors)
    if person is not None:
        assert person.unit is not None
        subject_org, name = person.unit, person.name
    else:
        assert org is not None
        subject_org, name = org, org.name
    entry = DishonestyEntry(
        subject_type=kind,
        subject_name=name,
        person_id=person.id if person else None,
        subject_org_id=subject_org.id,
        content=content,
        recorded_by_org_id=_recording_org(actor, subject_org).id,
        recorded_by_id=actor.id,
        status=ACTIVE,
    )
    db.session.add(entry)
    db.session.flush()
    audit.record(
        "integrity.record",
        actor=actor,
        obj=entry,
        org_id=subject_org.id,
        details={"subject_type": kind, "subject_name": name},
    )
    return entry


def revoke(actor: Actor, entry_id: int, reason: Any) -> DishonestyEntry:
    """撤销: the entry stays, marked revoked with the reason; only its recorder (or above) may."""
    entry = visible(actor, entry_id)
    errors: dict[str, str] = {}
    text = _content(reason, errors, "reason", "撤销原因")
    if errors:
        raise ValidationFailed(INVALID, errors)
    if not entry.is_active:
        raise InvalidState(_("该失信信息已撤销"))
    if not can_revoke(actor, entry):
        raise InvalidState(_("只有录入该信息的单位或其上级可以撤销"))
    entry.status, entry.revoked_at, entry.revoked_by_id, entry.revoke_reason = REVOKED, utcnow(), actor.id, text
    db.session.flush()
    audit.record("integrity.revoke", actor=actor, obj=entry, org_id=entry.subject_org_id, details={"reason": text})
    return entry


# --------------------------------------------------------------------------- lists




#: The lists: every entry in scope (失信信息录入), or those against the actor's own organisations
#: (单位失信信息查看).
VIEWS = ("all", "unit")

#: The lists' sortable columns (``?sort=``); the default is the newest entry first.
SORTS = {
    "type": DishonestyEntry.subject_type,
    "name": DishonestyEntry.subject_name,
    "recorded": DishonestyEntry.created_at,
    "status": DishonestyEntry.status,
}
DEFAULT_SORT = "-recorded"


def search(
    actor: Actor,
    *,
    view: str = "all",
    subject_type: str = "",
    name: str = "",
    status: str = "",
    page: int = 1,
    per_page: int = 20,
    sort: Sort | None = None,
) -> Page:
    sub = _subtree(actor)
    if sub is None:
        return Page([], 0, page, per_page)
    e = DishonestyEntry
    if view == "unit":
        own = [o.id for o in roots(actor)]
        stmt = select(e).where(e.subject_type == ORGANISATION, e.subject_org_id.in_(own))
    else:
        stmt = select(e).where(e.subject_org_id.in_(sub))
    if subject_type in SUBJECT_TYPES:
        stmt = stmt.where(e.subject_type == subject_type)
    if name.strip():
        stmt = stmt.where(e.subject_name.contains(name.strip()[:100], autoescape=True))
    if status in (ACTIVE, REVOKED):
        stmt = stmt.where(e.status == status)
    total = db.session.scalar(select(func.count()).select_from(stmt.with_only_columns(e.id).subquery())) or 0
    page = max(1, page)
    rows = db.session.scalars(
        stmt.order_by(*order_clauses(sort or parse_sort(None, SORTS, DEFAULT_SORT), SORTS, [e.id]))
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return Page(list(rows), total, page, per_page)


def entries_of_person(person_id: int) -> list[DishonestyEntry]:
    """Every entry recorded against a professional, newest first (the case page's panel)."""
    e = DishonestyEntry
    return list(
        db.session.scalars(
            select(e).where(e.person_id == person_id).order_by(e.status, e.created_at.desc(), e.id.desc()).limit(50)
        )
    )
