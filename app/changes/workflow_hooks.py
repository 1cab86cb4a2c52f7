"""Info changes through approval (issue 4 item 7), as the workflow sees them.

* ``person_info_change``: a professional changes reviewed fields of their profile; their unit reviews.
* ``organisation_info_change``: an organisation changes its name or USCC; its parent reviews.
* ``change_of_superior``: an organisation moves under a new superior; the old and the new superior
  review in parallel and both must approve.

The start form holds the new values. A service task (``describe_*``) stores the ``changes`` list
``[{field, label, old, new}]`` in the instance data, so reviewers see old → new per field; the
``apply_*`` / ``move_organisation`` operations make the change once the reviews approve.
Only one open change per subject (person or organisation) at a time.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from sqlalchemy import func, or_, select, update

from app.accounts.actor import Actor
from app.accounts.models import Organisation, OrgKind, OrgStatus, Role
from app.core.errors import InvalidState, ValidationFailed
from app.core.i18n import sentence
from app.extensions import db
from app.people.models import Person
from app.workflow.models import RUNNING, ProcessInstance, ProcessVersion, WorkflowTask
from app.workflow.registry import (
    OperationContext,
    ProcessHooks,
    StartContext,
    register_operation,
    register_process,
)

PERSON_CHANGE = "person_info_change"
ORG_CHANGE = "organisation_info_change"
SUPERIOR_CHANGE = "change_of_superior"
PROCESS_KEYS = (PERSON_CHANGE, ORG_CHANGE, SUPERIOR_CHANGE)
#: An organisation has at most one open change of either kind: a name change reviewed by the
#: parent must not race a move to another parent.
ORG_PROCESSES = (ORG_CHANGE, SUPERIOR_CHANGE)

#: Reviewers of a person's change hold the unit's people module; organisation changes are
#: reviewed by the parent's administrators (a module no sub-admin holds unless granted).
PERSON_PERMISSION = "change_review"  # 信息变更审核
ORG_PERMISSION = "change_review"

#: Reviewed fields of a professional's profile: name on the form -> label.
PERSON_FIELDS = {
    "title_series": "职称系列",
    "title_level": "专业技术职务等级",
    "education": "最高学历",
    "major": "所学专业",
    "work_start_date": "参加工作时间",
}
ORG_FIELDS = {"name": "单位名称", "uscc": "统一社会信用代码"}

#: Which kinds of organisation may be the superior of an organisation of a given kind.
SUPERIOR_KINDS = {
    OrgKind.EMPLOYER_UNIT: (OrgKind.EMPLOYER_UNIT, OrgKind.SUPERVISORY_DEPARTMENT, OrgKind.HR_BUREAU),
    OrgKind.SUPERVISORY_DEPARTMENT: (OrgKind.HR_BUREAU,),
    OrgKind.TRAINING_INSTITUTION: (OrgKind.SUPERVISORY_DEPARTMENT, OrgKind.HR_BUREAU),
}

_INVALID = "提交的内容有误，请按提示修改"
#: Why a USCC or superior change is refused (Henan 003): how many cases, of which processes, waiting where.
PENDING_CASES = sentence("本单位及本单位人员有%(count)s项业务正在审核中（%(kinds)s），正在等待%(orgs)s审核，"
                         "全部审核结束后才能%(what)s")


# --------------------------------------------------------------------------- helpers



def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _open_change(keys: tuple[str, ...], *, person_id: int | None = None, org_id: int | None = None
                 ) -> ProcessInstance | None:
    stmt = select(ProcessInstance).where(ProcessInstance.process_key.in_(keys), ProcessInstance.status == RUNNING)
    if person_id is not None:
        stmt = stmt.where(ProcessInstance.subject_person_id == person_id)
    else:
        stmt = stmt.where(ProcessInstance.subject_org_id == org_id, ProcessInstance.subject_person_id.is_(None))
    return db.session.scalar(stmt.limit(1))


def _lock(model: type, row_id: int) -> None:
    """Serialise concurrent starts for one subject (PostgreSQL row lock; SQLite has one writer)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(select(model.id).where(model.id == row_id).with_for_update())


def pending_cases(org: Organisation) -> tuple[int, list[tuple[str, int]], list[str]]:
    """The cases under review about ``org`` or its people: (how many, [(process name, count)], the names of
    the organisations they wait at)."""
    about = or_(ProcessInstance.subject_org_id == org.id,
                ProcessInstance.subject_person_id.in_(select(Person.id).where(Person.unit_id == org.id)))
    running = select(ProcessInstance.id).where(ProcessInstance.status == RUNNING, about)
    by_process = [(name, n) for name, n in db.session.execute(
        select(ProcessVersion.name, func.count(ProcessInstance.id))
        .join(ProcessVersion, ProcessVersion.id == ProcessInstance.process_version_id)
        .where(ProcessInstance.id.in_(running)).group_by(ProcessVersion.name).order_by(ProcessVersion.name))]
    waiting_at = list(db.session.scalars(
        select(Organisation.name).where(Organisation.id.in_(
            select(WorkflowTask.candidate_org_id).where(WorkflowTask.instance_id.in_(running),
                                                        WorkflowTask.completed_at.is_(None))))
        .order_by(Organisation.name)))
    return sum(n for _name, n in by_process), by_process, waiting_at


def refuse_while_pending(org: Organisation, what: str) -> None:
    """Henan 003: the USCC or the superior changes only when nothing of the organisation or its people is
    under review (the cases' chains were resolved with the old data). The message says how many and where."""
    total, by_process, waiting_at = pending_cases(org)
    if not total:
        return
    kinds = "、".join(f"{name}{n}项" for name, n in by_process)
    raise InvalidState(PENDING_CASES % {"count": total, "kinds": kinds, "orgs": "、".join(waiting_at) or "申请人",
                                        "what": what})


def _diff(fields: dict[str, str], current: dict[str, Any], data: dict[str, Any]) -> list[dict[str, Any]]:
    """``[{field, label, old, new}]`` for the submitted fields whose value differs from the current one."""
    out = []
    for name, label in fields.items():
        new = _text(data.get(name))
        if new is None:
            continue  # left empty: unchanged
        old = _text(current.get(name))
        if new != old:
            out.append({"field": name, "label": label, "old": old, "new": new})
    return out


def managed_organisations(actor: Actor) -> list[Organisation]:
    """Organisations the actor administers (role admin): those whose changes they may request."""
    return [m.organisation for m in actor.memberships if m.role == Role.ADMIN]


def _subject_org(data: dict[str, Any], actor: Actor) -> Organisation:
    orgs = managed_organisations(actor)
    org_id = data.get("organisation_id")
    if org_id is not None:
        org = next((o for o in orgs if o.id == org_id), None)
        if org is None:
            raise ValidationFailed(_INVALID, {"organisation_id": "您不是该单位的管理员"})
        return org
    if len(orgs) == 1:
        return orgs[0]
    raise ValidationFailed(_INVALID, {"organisation_id": "请选择申请变更的单位" if orgs else "您不是任何单位的管理员"})


def _org_summary(org: Organisation) -> dict[str, Any]:
    return {"id": org.id, "name": org.name}


# --------------------------------------------------------------------------- person_info_change


def person_changes(person: Person, data: dict[str, Any]) -> list[dict[str, Any]]:
    current = {name: getattr(person, name) for name in PERSON_FIELDS}
    return _diff(PERSON_FIELDS, current, data)


def prepare_person_change(data: dict[str, Any], actor: Actor) -> StartContext:
    person = actor.person
    if person is None:
        raise ValidationFailed(_INVALID, {"_form": "只有专业技术人员本人可以申请信息变更"})
    if person.unit is None:
        raise ValidationFailed(_INVALID, {"_form": "您没有所属用人单位，无法申请信息变更"})
    _lock(Person, person.id)
    if _open_change((PERSON_CHANGE,), person_id=person.id) is not None:
        raise InvalidState("您已有一项信息变更正在审核中，请等待审核结束或撤回后再申请")
    changes = person_changes(person, data)
    if not changes:
        raise ValidationFailed(_INVALID, {"_form": "没有修改任何需要审核的信息"})
    return StartContext(
        subject_person=person, subject_unit=person.unit, applicant_name=person.name,
        applicant_id_number=person.id_number, title="信息变更：" + "、".join(c["label"] for c in changes),
        data={"applicant_name": person.name, "person_id": person.id},
    )


def describe_person_change(params: dict[str, Any], data: dict[str, Any], ctx: OperationContext) -> list:
    person = db.session.get(Person, ctx.instance.subject_person_id)
    changes = person_changes(person, data)
    ctx.instance.title = "信息变更：" + "、".join(c["label"] for c in changes) if changes else "信息变更"
    return changes


def apply_person_change(params: dict[str, Any], data: dict[str, Any], ctx: OperationContext) -> dict:
    person = db.session.get(Person, ctx.instance.subject_person_id)
    applied = []
    for change in person_changes(person, data):
        value = change["new"]
        setattr(person, change["field"],
                date.fromisoformat(value) if change["field"] == "work_start_date" else value)
        applied.append(change["field"])
    db.session.flush()
    if "title_level" in applied:
        _reverify_this_year(person)
    return {"applied": applied}


def _reverify_this_year(person: Person) -> None:
    """The title level picks the annual rule (annual_verification.dmn): this year's stored result is
    recomputed under the new level. Earlier years keep the result of the level held then."""
    from app.archive.services import RuleUnavailable, stored_verification, verify_year

    year = date.today().year
    if stored_verification(person, year) is None:
        return  # nothing stored yet: the archive computes it when it is first needed
    try:
        verify_year(person, year)
    except RuleUnavailable:  # a broken rule table must not block the change; a recount catches up
        logging.getLogger(__name__).exception("annual verification skipped for person %s", person.id)


# --------------------------------------------------------------------------- organisation_info_change


def organisation_changes(org: Organisation, data: dict[str, Any]) -> list[dict[str, Any]]:
    current = {name: getattr(org, name) for name in ORG_FIELDS}
    if data.get("uscc"):
        data = {**data, "uscc": str(data["uscc"]).strip().upper()}
    return _diff(ORG_FIELDS, current, data)


def _check_uscc_free(org: Organisation, changes: list[dict[str, Any]]) -> None:
    new = next((c["new"] for c in changes if c["field"] == "uscc"), None)
    if new and db.session.scalar(select(Organisation.id).where(Organisation.uscc == new,
                                                               Organisation.id != org.id)):
        raise ValidationFailed(_INVALID, {"uscc": "该统一社会信用代码已被其他单位使用"})


def prepare_organisation_change(data: dict[str, Any], actor: Actor) -> StartContext:
    org = _subject_org(data, actor)
    if org.parent_id is None:
        raise ValidationFailed(_INVALID, {"_form": "该单位没有上级单位，无法提交审核"})
    _lock(Organisation, org.id)
    if _open_change(ORG_PROCESSES, org_id=org.id) is not None:
        raise InvalidState("该单位已有一项变更申请正在审核中，请等待审核结束或撤回后再申请")
    changes = organisation_changes(org, data)
    if not changes:
        raise ValidationFailed(_INVALID, {"_form": "没有修改任何需要审核的信息"})
    _check_uscc_free(org, changes)
    if any(c["field"] == "uscc" for c in changes):
        refuse_while_pending(org, "变更统一社会信用代码")
    data["organisation_id"] = org.id
    return StartContext(
        subject_person=None, subject_unit=org, started_for_org=org, applicant_name=org.name,
        title="单位信息变更：" + "、".join(c["label"] for c in changes),
        data={"applicant_name": org.name},
    )


def describe_organisation_change(params: dict[str, Any], data: dict[str, Any], ctx: OperationContext) -> list:
    org = db.session.get(Organisation, ctx.instance.subject_org_id)
    changes = organisation_changes(org, data)
    ctx.instance.title = "单位信息变更：" + "、".join(c["label"] for c in changes) if changes else "单位信息变更"
    return changes


def apply_organisation_change(params: dict[str, Any], data: dict[str, Any], ctx: OperationContext) -> dict:
    org = db.session.get(Organisation, ctx.instance.subject_org_id)
    changes = organisation_changes(org, data)
    _check_uscc_free(org, changes)
    for change in changes:
        setattr(org, change["field"], change["new"])
    db.session.flush()
    return {"applied": [c["field"] for c in changes]}


# --------------------------------------------------------------------------- change_of_superior


def superior_candidates(org: Organisation) -> list[Organisation]:
    """Active organisations ``org`` may move under: a fitting kind, not itself or below it."""
    kinds = SUPERIOR_KINDS.get(org.kind, ())
    if not kinds:
        return []
    return list(db.session.scalars(
        select(Organisation).where(Organisation.kind.in_(kinds), Organisation.status == OrgStatus.ACTIVE,
                                   ~Organisation.path.startswith(org.path, autoescape=True),
                                   Organisation.id != (org.parent_id or -1))
        .order_by(Organisation.path)))


def _new_superior(org: Organisation, data: dict[str, Any]) -> Organisation:
    target = db.session.get(Organisation, data.get("new_superior_id") or -1)
    if target is None:
        raise ValidationFailed(_INVALID, {"new_superior_id": "请选择新的上级单位"})
    if target.id == org.parent_id:
        raise ValidationFailed(_INVALID, {"new_superior_id": "新上级单位与当前上级单位相同"})
    if target.path.startswith(org.path):
        raise ValidationFailed(_INVALID, {"new_superior_id": "不能选择本单位或本单位的下属单位作为上级单位"})
    if target.kind not in SUPERIOR_KINDS.get(org.kind, ()) or target.status != OrgStatus.ACTIVE:
        raise ValidationFailed(_INVALID, {"new_superior_id": "该单位不能作为本单位的上级单位"})
    return target


def superior_changes(org: Organisation, target: Organisation) -> list[dict[str, Any]]:
    old = org.parent.name if org.parent is not None else None
    return [{"field": "parent", "label": "上级单位", "old": old, "new": target.name}]


def prepare_superior_change(data: dict[str, Any], actor: Actor) -> StartContext:
    org = _subject_org(data, actor)
    if org.kind not in SUPERIOR_KINDS:
        raise ValidationFailed(_INVALID, {"_form": "人社部门的上级单位不能通过申请变更"})
    if org.parent is None:
        raise ValidationFailed(_INVALID, {"_form": "该单位没有上级单位，无法提交审核"})
    _lock(Organisation, org.id)
    if _open_change(ORG_PROCESSES, org_id=org.id) is not None:
        raise InvalidState("该单位已有一项变更申请正在审核中，请等待审核结束或撤回后再申请")
    target = _new_superior(org, data)
    refuse_while_pending(org, "变更本单位的上级单位")
    data["organisation_id"] = org.id
    return StartContext(
        subject_person=None, subject_unit=org, started_for_org=org, applicant_name=org.name,
        title=f"变更上级单位：{org.parent.name} → {target.name}",
        data={"applicant_name": org.name},
        extra_lanes={"old_superior": org.parent, "new_superior": target},
    )


def describe_superior_change(params: dict[str, Any], data: dict[str, Any], ctx: OperationContext) -> list:
    """Also re-resolves the ``new_superior`` lane: the applicant may pick another one when revising."""
    from app.workflow.lanes import lane_flags

    instance = ctx.instance
    org = db.session.get(Organisation, instance.subject_org_id)
    target = _new_superior(org, data)
    lane_orgs = dict(instance.lane_orgs or {})
    if (lane_orgs.get("new_superior") or {}).get("id") != target.id:
        lane_orgs["new_superior"] = _org_summary(target)
        instance.lane_orgs = lane_orgs
        flags = data.get("lanes")
        if isinstance(flags, dict):
            flags.update(lane_flags({"new_superior": target.id}))
    instance.title = f"变更上级单位：{org.parent.name if org.parent else ''} → {target.name}"
    return superior_changes(org, target)


def move_organisation(params: dict[str, Any], data: dict[str, Any], ctx: OperationContext) -> dict:
    """Move the organisation under its new superior and rewrite the materialised path of its subtree."""
    org = db.session.get(Organisation, ctx.instance.subject_org_id)
    target = _new_superior(org, data)
    old_prefix = org.path
    new_prefix = f"{target.path}{org.id}/"
    subtree = Organisation.path.startswith(old_prefix, autoescape=True)
    db.session.execute(
        update(Organisation).where(subtree)
        .values(path=new_prefix + db.func.substr(Organisation.path, len(old_prefix) + 1))
        .execution_options(synchronize_session=False))
    db.session.execute(update(Organisation).where(Organisation.id == org.id).values(parent_id=target.id)
                       .execution_options(synchronize_session=False))
    db.session.flush()
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, Organisation):
            db.session.expire(obj, ["path", "parent_id", "parent"])
    return {"organisation_id": org.id, "old_path": old_prefix, "new_path": new_prefix}


# --------------------------------------------------------------------------- registration


def superior_choices(org: Organisation) -> dict[str, list[tuple[int, str]]]:
    """The web form's options for the new superior (a static form file cannot list them)."""
    return {"new_superior_id": [(o.id, o.name) for o in superior_candidates(org)]}


def _superior_choices_for_task(actor: Actor, instance: ProcessInstance | None) -> dict:
    org = db.session.get(Organisation, instance.subject_org_id) if instance is not None else None
    return superior_choices(org) if org is not None else {}


def can_start_person_change(actor: Actor) -> bool:
    person = actor.person
    return person is not None and person.unit_id is not None


def can_start_organisation_change(actor: Actor) -> bool:
    return any(o.parent_id is not None for o in managed_organisations(actor))


def can_start_superior_change(actor: Actor) -> bool:
    return any(o.parent_id is not None and o.kind in SUPERIOR_KINDS for o in managed_organisations(actor))


def register() -> None:
    from app.workflow.webforms import register_choices

    register_choices(SUPERIOR_CHANGE, _superior_choices_for_task)
    for name, fn in (("describe_person_change", describe_person_change),
                     ("apply_person_change", apply_person_change),
                     ("describe_organisation_change", describe_organisation_change),
                     ("apply_organisation_change", apply_organisation_change),
                     ("describe_superior_change", describe_superior_change),
                     ("move_organisation", move_organisation)):
        register_operation(name, fn)
    register_process(ProcessHooks(key=PERSON_CHANGE, permission=PERSON_PERMISSION,
                                  prepare_start=prepare_person_change, can_start=can_start_person_change,
                                  noun="申请"))
    register_process(ProcessHooks(key=ORG_CHANGE, permission=ORG_PERMISSION,
                                  prepare_start=prepare_organisation_change,
                                  can_start=can_start_organisation_change, noun="申请"))
    register_process(ProcessHooks(key=SUPERIOR_CHANGE, permission=ORG_PERMISSION,
                                  prepare_start=prepare_superior_change, can_start=can_start_superior_change,
                                  lanes={"old_superior": "原上级", "new_superior": "新上级"}, noun="申请"))

