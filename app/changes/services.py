"""Profile fields that need no review (contact person, phone, e-mail, address; a professional's other basic
information, 完善个人信息): they change at once.

Reviewed fields change only through the processes in :mod:`app.changes.workflow_hooks`.
Services take the actor explicitly, flush and never commit.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from app.accounts.actor import Actor
from app.accounts.models import Organisation, Role
from app.audit import services as audit
from app.core.errors import NotFound, PermissionDenied, ValidationFailed
from app.core.i18n import sentence
from app.core.validators import mobile_error
from app.extensions import db
from app.people import fields as person_fields
from app.people.models import Person
from app.registration.models import OrganisationProfile

from .workflow_hooks import ORG_FIELDS, PERSON_FIELDS

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}(-\d{1,6})?$")
_INVALID = "提交的内容有误，请按提示修改"
#: Fields that take a mobile number or a landline with its area code, and what a wrong one is told.
_TELEPHONES = {"contact_phone": "联系电话应为11位手机号码或带区号的固定电话（如0591-87654321）",
               "phone": "单位电话应为11位手机号码或带区号的固定电话（如0591-87654321）"}

#: Immediate fields of a professional (on their user account): name -> (label, max length).
PERSON_CONTACT = {"mobile": ("手机号码", 20), "email": ("电子邮箱", 200)}
#: Immediate fields of an organisation.
ORG_CONTACT = {"contact_person": ("联系人", 100), "contact_phone": ("联系电话", 20),
               "contact_email": ("电子邮箱", 200), "address": ("通讯地址", 300)}
#: Registration details (单位资料) its administrator keeps up without review, kept with the registration.
ORG_REGISTERED = {"principal": ("负责人", 100), "phone": ("单位电话", 30), "postcode": ("邮政编码", 6),
                  "functions": ("单位职能简介", 500)}


TOO_LONG = sentence("%(label)s最多%(n)s个字符")


def _refused(name: str) -> str:
    """Why a field sent to a no-review profile call is not taken."""
    return "该项需通过信息变更申请审核后修改" if name in {**PERSON_FIELDS, **ORG_FIELDS} else "不能修改此项"


def _clean(fields: dict[str, tuple[str, int]], raw: dict[str, Any]) -> dict[str, str | None]:
    """Validate the submitted immediate fields; unknown or reviewed fields are refused by name."""
    errors: dict[str, str] = {}
    out: dict[str, str | None] = {}
    for name, value in raw.items():
        if name not in fields:
            errors[name] = _refused(name)
            continue
        label, max_len = fields[name]
        if value is not None and not isinstance(value, str):
            errors[name] = "请输入文字"
            continue
        value = (value or "").replace("\r\n", "\n").strip() or None  # a text area sends a line break as CR LF
        if value is None:
            if name == "mobile":
                errors[name] = "此项为必填项"
            out[name] = None
            continue
        if name == "postcode":
            if not (value.isascii() and value.isdigit() and len(value) == 6):
                errors[name] = "邮政编码应为6位数字"
        elif len(value) > max_len:
            errors[name] = TOO_LONG % {"label": label, "n": max_len}
        elif name == "mobile" and mobile_error(value):
            errors[name] = mobile_error(value) or ""
        elif name in _TELEPHONES and mobile_error(value) and not _LANDLINE.match(value):
            errors[name] = _TELEPHONES[name]
        elif name in ("email", "contact_email") and not _EMAIL.match(value):
            errors[name] = "电子邮箱格式不正确"
        out[name] = value
    if errors:
        raise ValidationFailed(_INVALID, errors)
    return out


# --------------------------------------------------------------------------- a professional's own profile


def own_person(actor: Actor) -> Person:
    person = actor.person
    if person is None:
        raise NotFound("您没有专业技术人员档案")
    return person


def person_profile(actor: Actor) -> dict[str, Any]:
    """The actor's own profile: contact details (every user has them) and, for a professional, the reviewed
    fields of their record and the details they keep up themselves."""
    person = actor.person

    def values(names: Any) -> dict[str, Any]:
        if person is None:
            return {}
        return {name: (getattr(person, name).isoformat() if hasattr(getattr(person, name), "isoformat")
                       else getattr(person, name)) for name in names}

    return {
        "name": person.name if person else actor.user.name,
        "id_number": person.id_number if person else actor.user.id_number,
        "unit": person.unit.name if person and person.unit else None,
        "mobile": actor.user.mobile,
        "email": actor.user.email,
        "reviewed": values(PERSON_FIELDS),
        "details": values(PERSON_DETAILS),
    }


def update_person_contact(actor: Actor, raw: dict[str, Any]) -> dict[str, Any]:
    """Contact details need no review: they change at once, for any user. A professional may send the fields
    of :data:`PERSON_DETAILS` in the same call (their other basic information); all are checked first, and
    nothing changes unless every field is accepted."""
    details = {k: raw[k] for k in PERSON_DETAILS if k in raw}
    contact_raw = {k: v for k, v in raw.items() if k not in PERSON_DETAILS}
    errors: dict[str, str] = {}
    try:
        contact = _clean(PERSON_CONTACT, contact_raw)
    except ValidationFailed as exc:
        contact, errors = {}, dict(exc.fields)
    checked: dict[str, Any] = {}
    if details:
        try:
            checked = _checked_details(actor, details)
        except ValidationFailed as exc:
            errors.update(exc.fields)
    if errors:
        raise ValidationFailed(_INVALID, errors)
    for name, value in contact.items():
        setattr(actor.user, name, value)
    _set_details(actor, checked)
    db.session.flush()
    return person_profile(actor)


#: A professional's basic information they keep up themselves, without review (manual 004 §1.10.1: 人员可完善
#: 其他基本信息); what identifies them, their unit and the reviewed fields (:data:`PERSON_FIELDS`) are not here.
PERSON_DETAILS = ("ethnicity", "native_place", "degree", "school", "graduation_date", "qualification_date",
                  "address")


def _checked_details(actor: Actor, raw: dict[str, Any]) -> dict[str, Any]:
    if actor.person is None:
        raise ValidationFailed(_INVALID, dict.fromkeys(raw, "只有专业技术人员本人可以完善个人信息"))
    texts = {k: "" if v is None else v for k, v in raw.items()}
    values, errors = person_fields.check({k: v for k, v in texts.items() if isinstance(v, str)}, partial=True)
    errors.update({k: "请输入文字" for k, v in texts.items() if not isinstance(v, str)})
    if errors:
        raise ValidationFailed(_INVALID, errors)
    return values


def _set_details(actor: Actor, values: dict[str, Any]) -> None:
    person = actor.person
    changed = sorted(name for name, value in values.items() if getattr(person, name) != value)
    for name, value in values.items():
        setattr(person, name, value)
    if changed:
        audit.record("person.self_update", actor=actor, obj=person, org_id=person.unit_id,
                     details={"changed": changed})


def update_person_details(actor: Actor, raw: dict[str, Any]) -> dict[str, Any]:
    """完善个人信息: the professional's fields of :data:`PERSON_DETAILS`, at once (a field left out is kept; an
    empty one is cleared). Any other field is refused by name."""
    unknown = {k: _refused(k) for k in raw if k not in PERSON_DETAILS}
    if unknown:
        raise ValidationFailed(_INVALID, unknown)
    _set_details(actor, _checked_details(actor, raw))
    db.session.flush()
    return person_profile(actor)


# --------------------------------------------------------------------------- an organisation's profile


def visible_organisation(org_id: int, actor: Actor) -> Organisation:
    """An organisation in the actor's scope (their own or below one they administer); else 404."""
    org = db.session.get(Organisation, org_id)
    if org is None or not (actor.in_scope(org) or any(m.organisation_id == org_id for m in actor.memberships)):
        raise NotFound("单位不存在或您无权查看")
    return org


def registration_details(org_ids: list[int]) -> dict[int, OrganisationProfile]:
    """The registration details (单位性质, 负责人, 单位电话) of these organisations, by id (those that have them)."""
    if not org_ids:
        return {}
    return {p.organisation_id: p for p in db.session.scalars(
        select(OrganisationProfile).where(OrganisationProfile.organisation_id.in_(org_ids)))}


def organisation_profile(org: Organisation) -> dict[str, Any]:
    details = registration_details([org.id]).get(org.id)
    return {
        "id": org.id, "name": org.name, "kind": str(org.kind), "uscc": org.uscc,
        "parent": {"id": org.parent.id, "name": org.parent.name} if org.parent else None,
        **{name: getattr(org, name) for name in ORG_CONTACT},
        **{name: getattr(details, name) if details else None for name in ORG_REGISTERED},
        "nature": details.nature if details else None, "industry": org.industry, "region": org.region,
    }


def update_organisation_contact(org_id: int, actor: Actor, raw: dict[str, Any]) -> Organisation:
    """Only the organisation's own administrator edits its contact details (superiors only see them)."""
    org = visible_organisation(org_id, actor)
    if not any(m.organisation_id == org.id and m.role == Role.ADMIN for m in actor.memberships):
        raise PermissionDenied("只有本单位管理员可以修改单位联系信息")
    values = _clean({**ORG_CONTACT, **ORG_REGISTERED}, raw)
    for name, value in values.items():
        if name in ORG_CONTACT:
            setattr(org, name, value)
    registered = {k: v for k, v in values.items() if k in ORG_REGISTERED}
    if registered:
        details = registration_details([org.id]).get(org.id)
        if details is None:
            details = OrganisationProfile(organisation_id=org.id)
            db.session.add(details)
        changed = sorted(k for k, v in registered.items() if getattr(details, k) != v)
        for name, value in registered.items():
            setattr(details, name, value)
        if changed:
            audit.record("org.profile_update", actor=actor, obj=org, org_id=org.id, details={"changed": changed})
    db.session.flush()
    return org
