"""Training classes (培训班): the declaration and its review, the lifecycle, enrolment, attendance, grades and
the hours they give. Functions take the actor, flush and never commit.

Exactly once: the archive record of a class's participant has ``source="class"`` and ``source_id`` = the
enrolment (``training_class_member.id``), unique with the source (``credit_record``), so one enrolment can
give one record only; closing a class (and reporting results) first locks the class row, so a second close
sent at the same moment waits, then finds the class closed."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, or_, select

from app.accounts.actor import Actor
from app.accounts.models import Organisation, OrgKind
from app.archive.models import CreditRecord
from app.classes import queries
from app.classes.models import (
    ATTENDANCE,
    CANCELLED,
    CLOSED,
    GRADE_RECORD_SOURCE,
    OPEN,
    PLANNED,
    RECORD_SOURCE,
    RESULTS,
    AttendanceMark,
    ClassCourse,
    ClassMember,
    ClassSession,
    TrainingClass,
)
from app.core.errors import InvalidState, NotFound, ValidationFailed
from app.core.i18n import sentence
from app.core.models import utcnow
from app.extensions import db
from app.people.models import Person
from app.training import queries as review
from app.training import reviews
from app.training.access import current_org, owned, training_orgs
from app.training.models import (
    HOURS_PER_DAY,
    SUBJECT_TYPES,
    CoursePlan,
    CoursePlanClass,
    Teacher,
    TrainingCourse,
    TrainingPlan,
    TrainingSite,
    TrainingSubject,
)
from app.workflow import attachments
from app.workflow.models import ProcessInstance

log = logging.getLogger(__name__)

KEY = "training_class_approval"
GRADE_KEY = "grade_declaration"
GRADE_SOURCE = GRADE_RECORD_SOURCE
_INVALID = "提交的内容有误，请按提示修改"
NOT_OF_TYPE = sentence("课程《%(course)s》不是%(type)s")
OVER_CAPACITY = sentence("超过培训班人数上限（%(n)s人）")
BELOW_ENROLLED = sentence("人数上限不能少于已报名的人数（%(n)s人）")
NOTE_MAX = 50
OWN_STAFF_ONLY = "本单位专业课计划的培训班只能录入本单位人员"


# --------------------------------------------------------------------------- the declaration


def _check(row: TrainingClass, values: dict[str, Any], *, actor: Actor) -> None:
    """Apply ``values`` (checked by ClassArgs) after the rules that need the database."""
    org_id = row.organisation_id
    org = db.session.get(Organisation, org_id)
    errors: dict[str, str] = {}
    plan_id = values.get("plan_id")
    if plan_id:
        plan = db.session.get(TrainingPlan, plan_id)
        if plan is None or plan.organisation_id != org_id or review.state_of(plan) != review.APPROVED:
            errors["plan_id"] = "请选择本机构审核通过的培训计划"
        elif plan.year != values["year"]:
            errors["plan_id"] = "培训班的年度须与培训计划的年度一致"
    elif org.kind == OrgKind.TRAINING_INSTITUTION:
        errors["plan_id"] = "请选择本机构审核通过的培训计划"
    subject_id = values.get("subject_id")
    if values["subject_type"] == "professional":
        subject = db.session.get(TrainingSubject, subject_id) if subject_id else None
        if subject is None or subject.organisation_id != org_id:
            errors["subject_id"] = "请选择本机构的专业科目"
        elif not subject.enabled and subject.id != row.subject_id:
            errors["subject_id"] = "该专业科目已停用，不能选择"
    elif subject_id:
        errors["subject_id"] = "公需科目培训班不选择专业科目"
    site_id = values.get("site_id")
    if site_id:
        site = db.session.get(TrainingSite, site_id)
        if site is None or site.organisation_id != org_id:
            errors["site_id"] = "请选择本机构的培训场地"
    if values.get("start_date") and values.get("end_date") and values["end_date"] < values["start_date"]:
        errors["end_date"] = "结束日期不能早于开始日期"
    if values.get("capacity") and row.id is not None:
        enrolled = db.session.scalar(select(func.count()).where(ClassMember.class_id == row.id)) or 0
        if enrolled > values["capacity"]:
            errors["capacity"] = BELOW_ENROLLED % {"n": enrolled}
    chosen = values.get("courses") or []
    course_ids = [c["course_id"] for c in chosen]
    if len(set(course_ids)) != len(course_ids):
        errors["courses"] = "同一课程只能列入一次"
    found = (
        {
            c.id: c
            for c in db.session.scalars(
                select(TrainingCourse).where(
                    TrainingCourse.id.in_(course_ids), TrainingCourse.organisation_id == org_id
                )
            )
        }
        if course_ids
        else {}
    )
    teacher_ids = {c["teacher_id"] for c in chosen if c.get("teacher_id")}
    teachers = (
        {
            t.id: t
            for t in db.session.scalars(
                select(Teacher).where(Teacher.id.in_(teacher_ids), Teacher.organisation_id == org_id)
            )
        }
        if teacher_ids
        else {}
    )
    for c in chosen:
        course = found.get(c["course_id"])
        if course is None:
            errors["courses"] = "所选课程不在本机构的课程库中"
        elif course.subject_type != values["subject_type"]:
            errors["courses"] = NOT_OF_TYPE % {"course": course.name, "type": SUBJECT_TYPES[values["subject_type"]]}
        if c.get("teacher_id") and c["teacher_id"] not in teachers:
            errors["courses"] = "所选师资不在本机构的师资库中"
    if errors:
        raise ValidationFailed(_INVALID, errors)
    kept = attachments.usable_ids(
        values.get("attachment_ids") or [],
        actor=actor,
        instance=db.session.get(ProcessInstance, row.instance_id) if row.instance_id else None,
    )
    for name in (
        "year",
        "name",
        "subject_type",
        "report_mode",
        "start_date",
        "end_date",
        "site_id",
        "capacity",
        "notes",
        "plan_id",
    ):
        setattr(row, name, values.get(name))
    row.subject_id = subject_id if values["subject_type"] == "professional" else None
    row.audience = values.get("audience") if values["subject_type"] == "public" else None
    row.attachment_ids = sorted(set(kept) | (set(row.attachment_ids or []) & set(values.get("attachment_ids") or [])))
    existing = {cc.course_id: cc for cc in row.courses}
    rows = []
    for c in chosen:
        cc = existing.get(c["course_id"]) or ClassCourse(course_id=c["course_id"])
        cc.teacher_id = c.get("teacher_id")
        rows.append(cc)
    row.courses = rows


def create(actor: Actor, org_id: int | None, values: dict[str, Any]) -> TrainingClass:
    org = current_org(actor, org_id)
    row = TrainingClass(organisation_id=org.id, created_by_id=actor.id, attachment_ids=[], courses=[], status=PLANNED)
    _check(row, values, actor=actor)
    db.session.add(row)
    db.session.flush()
    return row


def get(actor: Actor, class_id: int) -> TrainingClass:
    return owned(actor, TrainingClass, class_id)


def editable(row: TrainingClass) -> bool:
    """A declaration is edited while a draft or returned; an approved class cannot be edited."""
    return review.state_of(row) in (review.DRAFT, review.RETURNED)


def update(actor: Actor, class_id: int, values: dict[str, Any]) -> TrainingClass:
    row = get(actor, class_id)
    if not editable(row):
        raise InvalidState("培训班已提交审核或审核通过，不能修改")
    _check(row, values, actor=actor)
    db.session.flush()
    return row


def delete(actor: Actor, class_id: int) -> None:
    row = get(actor, class_id)
    if review.state_of(row) != review.DRAFT or row.instance_id is not None:
        raise InvalidState("只有未提交过的草稿可以删除")
    for m in queries.members(row.id):
        db.session.delete(m)
    db.session.delete(row)
    db.session.flush()


def _results_text(row: TrainingClass) -> str:
    lines = []
    for m in queries.members(row.id):
        score = f"，成绩{m.total_score:g}" if m.total_score is not None else ""
        lines.append(f"{m.person.name}（{m.person.id_number}）：{RESULTS.get(m.result or '', '未录入')}{score}")
    return "\n".join(lines)


def snapshot(row: TrainingClass) -> dict[str, Any]:
    """The class as its case holds it (the start form's fields)."""
    lines = [
        f"{cc.course.name}（{SUBJECT_TYPES[cc.course.subject_type]}，{cc.course.hours:g}学时"
        + (f"，师资：{cc.teacher.name}" if cc.teacher else "")
        + "）"
        for cc in row.courses
    ]
    plan = db.session.get(TrainingPlan, row.plan_id) if row.plan_id else None
    subject = db.session.get(TrainingSubject, row.subject_id) if row.subject_id else None
    site = db.session.get(TrainingSite, row.site_id) if row.site_id else None
    return {
        "class_id": row.id,
        "year": row.year,
        "name": row.name,
        "plan_name": plan.name if plan else "",
        "subject_type": row.subject_type,
        "subject_name": subject.name if subject else "",
        "audience": row.audience or "",
        "report_mode": row.report_mode,
        "start_date": row.start_date.isoformat() if row.start_date else "",
        "end_date": row.end_date.isoformat() if row.end_date else "",
        "site_name": site.name if site else "",
        "courses": "\n".join(lines),
        "total_hours": float(row.hours),
        "notes": row.notes or "",
        "attachments": list(row.attachment_ids or []),
    } | ({"results": _results_text(row)} if row.report_mode == "sync" else {})


def _ready(row: TrainingClass) -> None:
    if not row.courses:
        raise ValidationFailed(_INVALID, {"courses": "请至少列入一门课程"})
    if row.report_mode == "sync":
        graded = [m for m in queries.members(row.id) if m.result]
        if not graded:
            raise ValidationFailed(_INVALID, {"report_mode": "同步上报须先录入培训人员及其考核结果"})


def submit(actor: Actor, class_id: int) -> ProcessInstance:
    row = get(actor, class_id)
    _ready(row)
    return reviews.submit(KEY, row, snapshot(row), actor=actor)


def withdraw(actor: Actor, class_id: int) -> ProcessInstance:
    return reviews.withdraw(get(actor, class_id), actor=actor)


def resubmit(actor: Actor, class_id: int) -> ProcessInstance:
    row = get(actor, class_id)
    _ready(row)
    instance = reviews.resubmit(row, snapshot(row), actor=actor)
    attachments.link(row.attachment_ids or [], instance, actor=actor)
    return instance


def give_up(actor: Actor, class_id: int, comment: str = "") -> ProcessInstance:
    return reviews.give_up(get(actor, class_id), comment, actor=actor)


def for_start(data: dict[str, Any], actor: Actor) -> TrainingClass:
    """The class a start form names, if the actor may submit it now (the process's ``prepare_start``)."""
    row = db.session.get(TrainingClass, data.get("class_id") or 0)
    if row is None or row.organisation_id not in {o.id for o in training_orgs(actor)}:
        raise ValidationFailed(_INVALID, {"class_id": "培训班不存在或您无权提交"})
    if review.state_of(row) != review.DRAFT:
        raise InvalidState("已提交审核，不能重复提交")
    _ready(row)
    return row


# --------------------------------------------------------------------------- classes of course plans (Guangdong)


def planned_hours(plan: CoursePlan, planned: CoursePlanClass) -> Decimal:
    """The hours a class of a course plan gives: the plan's 继续教育学时, at most :data:`HOURS_PER_DAY` for each
    day of the class (a class may be shorter than the plan)."""
    return min(Decimal(str(plan.hours)), Decimal(planned.days * HOURS_PER_DAY))


def set_up_planned(plan: CoursePlan, planned: CoursePlanClass, *, created_by_id: int,
                   instance_id: int | None = None) -> TrainingClass:
    """The training class that runs a class of an approved course plan (培训班设置, 004 §1.4.1), made once: its
    approval is the plan's (``instance_id``: the plan's case, given while the approval's first run has not tied
    the plan to it yet), it starts 未开班 and reports its results at 结班 (暂不上报)."""
    existing = db.session.scalar(select(TrainingClass).where(TrainingClass.course_plan_class_id == planned.id))
    if existing is not None:
        return existing
    teacher = planned.teachers[0] if planned.teachers else planned.head_teacher
    row = TrainingClass(
        organisation_id=plan.organisation_id, year=plan.year, name=planned.name, subject_type="professional",
        subject_id=planned.subjects[0].id if planned.subjects else None, report_mode="later",
        start_date=planned.opening_date, end_date=planned.opening_date + timedelta(days=planned.days - 1),
        capacity=planned.participants, attachment_ids=[], instance_id=instance_id or plan.instance_id,
        submitted_at=plan.submitted_at or utcnow(), created_by_id=created_by_id, status=PLANNED,
        course_plan_class_id=planned.id, planned_hours=planned_hours(plan, planned),
        courses=[ClassCourse(course_id=plan.course_id, teacher_id=teacher.id)],
    )
    db.session.add(row)
    db.session.flush()
    return row


def set_up_plan(plan: CoursePlan, instance_id: int) -> list[TrainingClass]:
    """Every class of a course plan approved by the case ``instance_id`` as a training class (the approval's
    service task)."""
    return [set_up_planned(plan, planned, created_by_id=plan.created_by_id, instance_id=instance_id)
            for planned in plan.classes]


def set_up_from_plan(actor: Actor, plan_id: int, planned_id: int) -> tuple[TrainingClass, bool]:
    """设置培训班 for one class of an approved plan (one approved before its classes were set up on approval):
    the class, and whether it was set up now (False: it already was)."""
    plan = owned(actor, CoursePlan, plan_id)
    # two clicks at once: the second waits here, then finds the class (the row alone: its joined course would
    # put the lock on the nullable side of an outer join, which PostgreSQL refuses)
    db.session.execute(select(CoursePlan.id).where(CoursePlan.id == plan_id).with_for_update())
    planned = next((c for c in plan.classes if c.id == planned_id), None)
    if planned is None:
        raise NotFound("记录不存在或您无权查看")
    if review.state_of(plan) != review.APPROVED:
        raise InvalidState("专业课计划审核通过后才能设置培训班")
    existed = db.session.scalar(select(TrainingClass.id).where(TrainingClass.course_plan_class_id == planned.id))
    return set_up_planned(plan, planned, created_by_id=actor.id), existed is None


def internal(row: TrainingClass, org: Organisation) -> bool:
    """A unit's class of its course plan trains its own staff only (法人单位培训班只针对内部培训, 004 §1.3.1); a
    training institution's trains anyone."""
    return row.course_plan_class_id is not None and org.kind != OrgKind.TRAINING_INSTITUTION


# --------------------------------------------------------------------------- lifecycle


def _locked(actor: Actor, class_id: int) -> TrainingClass:
    """The class, its row locked until the end of the transaction (PostgreSQL) and read fresh."""
    get(actor, class_id)
    row = db.session.scalar(
        select(TrainingClass)
        .where(TrainingClass.id == class_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert row is not None
    return row


def open_class(actor: Actor, class_id: int) -> TrainingClass:
    """开班: an approved class declared 暂不上报 starts."""
    row = _locked(actor, class_id)
    if not queries.is_approved(row):
        raise InvalidState("培训班审核通过后才能开班")
    if row.status != PLANNED:
        raise InvalidState("只有未开班的培训班可以开班")
    row.status, row.opened_at = OPEN, utcnow()
    db.session.flush()
    return row


def cancel(actor: Actor, class_id: int, note: str) -> TrainingClass:
    """取消 (with a note of at most 50 characters): before it is closed; enrolments stay for the record."""
    note = (note or "").strip()
    if not note or len(note) > NOTE_MAX:
        raise ValidationFailed(_INVALID, {"note": "请填写取消说明（不超过50个字）"})
    row = _locked(actor, class_id)
    if not queries.is_approved(row) or row.status not in (PLANNED, OPEN):
        raise InvalidState("只有审核通过且未结班的培训班可以取消")
    row.status, row.status_note = CANCELLED, note
    db.session.flush()
    return row


def close(actor: Actor, class_id: int) -> int:
    """结班: the class ends and everyone who passed gets the class's hours in their archive. Returns how many
    records were written. A second close (at once or later) finds the class closed: InvalidState."""
    row = _locked(actor, class_id)
    if row.status == CLOSED:
        raise InvalidState("培训班已结班")
    if row.status != OPEN:
        raise InvalidState("只有已开班的培训班可以结班")
    row.status, row.closed_at = CLOSED, utcnow()
    written = 0
    if row.report_mode != "declare":  # a class whose grades are declared counts only after their review
        written = record_hours(row, recognised_by_org_id=None)
        row.reported_at = utcnow()
    db.session.flush()
    return written


def report_results(actor: Actor, class_id: int, member_ids: list[int] | None = None) -> int:
    """培训成果上报 of a closed class declared 暂不上报: the chosen participants who passed (all by default) get
    their hours, without further approval; those already recorded are skipped. Returns how many were written."""
    row = _locked(actor, class_id)
    if row.report_mode == "sync":
        raise InvalidState("同步上报的培训班审核通过时已记录培训成果")
    if row.report_mode == "declare":
        raise InvalidState("该培训班的成绩通过学员成绩申报审核后记录学时")
    if row.status != CLOSED:
        raise InvalidState("培训班结班后才能上报培训成果")
    written = record_hours(row, recognised_by_org_id=None, member_ids=member_ids)
    row.reported_at = utcnow()
    db.session.flush()
    return written


def record_hours(
    row: TrainingClass,
    *,
    recognised_by_org_id: int | None,
    member_ids: list[int] | None = None,
    source: str = RECORD_SOURCE,
    year: int | None = None,
) -> int:
    """Write one archive record per participant who passed and has none yet, then bring the annual
    verification of those people up to date. The caller holds the class row's lock."""
    from app.archive.services import RuleUnavailable, recount

    stmt = select(ClassMember.id, ClassMember.person_id, ClassMember.actual_start, ClassMember.actual_end).where(
        ClassMember.class_id == row.id, ClassMember.result == "pass"
    )
    if member_ids is not None:
        stmt = stmt.where(ClassMember.id.in_(member_ids))
    members = db.session.execute(stmt).all()
    if not members:
        return 0
    done = set(
        db.session.scalars(
            select(CreditRecord.source_id).where(
                CreditRecord.source.in_((RECORD_SOURCE, GRADE_SOURCE)), CreditRecord.class_id == row.id
            )
        )
    )
    year = year or row.year
    org = db.session.get(Organisation, row.organisation_id)
    hours = row.hours
    course_name = "、".join(cc.course.name for cc in row.courses)[:200] or row.name[:200]
    now = utcnow()
    values = [
        {
            "person_id": person_id,
            "year": year,
            "subject_type": row.subject_type,
            "course_name": course_name,
            "learning_form": "face_to_face",
            "declared_hours": hours,
            "recognised_hours": hours,
            "start_date": start or row.start_date,
            "end_date": end or row.end_date,
            "days": None,
            "institution_name": org.name[:200],
            "source": source,
            "source_id": member_id,
            "recognised_by_org_id": recognised_by_org_id,
            "class_id": row.id,
            "class_name": row.name[:200],
            "created_at": now,
        }
        for member_id, person_id, start, end in members
        if member_id not in done
    ]
    if not values:
        return 0
    for i in range(0, len(values), 1000):
        db.session.execute(insert(CreditRecord.__table__), values[i : i + 1000])
    try:
        recount(year, person_ids=[v["person_id"] for v in values])
    except RuleUnavailable:  # the records are stored; a recount brings the verification up to date later
        log.exception("annual verification skipped for class %s", row.id)
    db.session.flush()
    return len(values)


# --------------------------------------------------------------------------- enrolment


def _enrolling(row: TrainingClass) -> None:
    """People join an open class, or a draft declared 同步上报 (its results go with the declaration)."""
    if row.status == OPEN and queries.is_approved(row):
        return
    if row.report_mode == "sync" and editable(row):
        return
    raise InvalidState("只有已开班的培训班（或同步上报的待提交申报）可以录入人员")


def enrol(actor: Actor, class_id: int, person_ids: list[int], *, id_numbers: list[str] | tuple[str, ...] = ()) -> int:
    """Enrol people (one or a selection); those already enrolled are skipped. Returns how many were added.

    As :func:`queries.candidates` finds them: ``person_ids`` name the staff of the class's organisation (and of
    the units below it); anyone else only together with their full ID number in ``id_numbers`` (an institution
    trains people of every unit, but a guessed id must not reveal who they are). People of ``id_numbers`` are
    enrolled too; an id or ID number that names no one it may enrol is refused as unknown."""
    row = _locked(actor, class_id)
    _enrolling(row)
    named = {str(n).strip().upper() for n in id_numbers if str(n).strip()}
    by_number = (
        dict(db.session.execute(select(Person.id_number, Person.id).where(Person.id_number.in_(named))).all())
        if named
        else {}
    )
    if named - set(by_number):
        raise ValidationFailed(_INVALID, {"id_numbers": "未找到该公民身份号码的人员"})
    ids = sorted(set(person_ids) | set(by_number.values()))
    org = db.session.get(Organisation, row.organisation_id)
    subtree = select(Organisation.id).where(Organisation.path.startswith(org.path, autoescape=True))
    own_only = internal(row, org)
    anyone = Person.unit_id.in_(subtree) if own_only else or_(
        Person.unit_id.in_(subtree), Person.id_number.in_(set(by_number)))
    people = set(db.session.scalars(select(Person.id).where(Person.id.in_(ids), anyone))) if ids else set()
    if own_only and set(by_number.values()) - people:
        raise ValidationFailed(_INVALID, {"id_numbers": OWN_STAFF_ONLY})
    if set(ids) - people:
        raise ValidationFailed(_INVALID, {"person_ids": "所选人员不存在"})
    already = (
        set(
            db.session.scalars(
                select(ClassMember.person_id).where(ClassMember.class_id == row.id, ClassMember.person_id.in_(ids))
            )
        )
        if ids
        else set()
    )
    if row.capacity and len(queries.members(row.id)) + len(set(ids) - already) > row.capacity:
        raise ValidationFailed(_INVALID, {"person_ids": OVER_CAPACITY % {"n": row.capacity}})
    now = utcnow()
    added = [
        ClassMember(class_id=row.id, person_id=pid, enrolled_at=now, subject_scores={})
        for pid in ids
        if pid not in already
    ]
    db.session.add_all(added)
    db.session.flush()
    return len(added)


def unenrol(actor: Actor, class_id: int, member_ids: list[int]) -> int:
    """Cancel enrolments while the class is open (or the declaration is a draft)."""
    row = _locked(actor, class_id)
    _enrolling(row)
    gone = list(
        db.session.scalars(select(ClassMember).where(ClassMember.class_id == row.id, ClassMember.id.in_(member_ids)))
    )
    for m in gone:
        db.session.query(AttendanceMark).filter(AttendanceMark.member_id == m.id).delete()
        db.session.delete(m)
    db.session.flush()
    return len(gone)


def member(actor: Actor, class_id: int, member_id: int) -> tuple[TrainingClass, ClassMember]:
    row = get(actor, class_id)
    m = db.session.get(ClassMember, member_id)
    if m is None or m.class_id != row.id:
        raise NotFound("记录不存在或您无权查看")
    return row, m


# --------------------------------------------------------------------------- grades


def _grading(row: TrainingClass) -> None:
    if row.status in (OPEN, CLOSED) and queries.is_approved(row):
        return
    if row.report_mode == "sync" and editable(row):
        return
    raise InvalidState("只有已开班或已结班的培训班（或同步上报的待提交申报）可以录入成绩")


def recorded_members(member_ids: list[int]) -> set[int]:
    """Which of these enrolments have their hours in the archive (a class record or an approved grade
    declaration's)."""
    if not member_ids:
        return set()
    return set(
        db.session.scalars(
            select(CreditRecord.source_id).where(
                CreditRecord.source.in_((RECORD_SOURCE, GRADE_SOURCE)), CreditRecord.source_id.in_(member_ids)
            )
        )
    )


def check_grade(row: TrainingClass, values: dict[str, Any]) -> dict[str, Any]:
    """The grade fields (checked by GradeArgs) against the class: subject scores name its courses, dates in
    order. Returns the values to store."""
    errors: dict[str, str] = {}
    courses = {str(cc.course_id) for cc in row.courses}
    scores = {str(k): float(v) for k, v in (values.get("subject_scores") or {}).items()}
    if set(scores) - courses:
        errors["subject_scores"] = "科目成绩只能录入本培训班的课程"
    start, end = values.get("actual_start"), values.get("actual_end")
    if start and end and end < start:
        errors["actual_end"] = "实际结班日期不能早于实际开班日期"
    if errors:
        raise ValidationFailed(_INVALID, errors)
    return {
        "total_score": values.get("total_score"),
        "subject_scores": scores,
        "result": values["result"],
        "actual_start": start,
        "actual_end": end,
    }


def set_grade(actor: Actor, class_id: int, member_id: int, values: dict[str, Any]) -> ClassMember:
    """成绩录入 for one person; a grade whose hours are already in the archive, or under declaration, cannot
    change."""
    row, m = member(actor, class_id, member_id)
    _grading(row)
    if recorded_members([m.id]):
        raise InvalidState("该人员的学时已记入培训档案，成绩不能修改")
    if declaration_state(m) in (review.REVIEWING, review.RETURNED, review.APPROVED):
        raise InvalidState("该人员的成绩已申报，不能修改")
    apply_grade(m, check_grade(row, values))
    db.session.flush()
    return m


def apply_grade(m: ClassMember, values: dict[str, Any]) -> None:
    m.total_score = Decimal(str(values["total_score"])) if values.get("total_score") is not None else None
    m.subject_scores = values.get("subject_scores") or {}
    m.result = values["result"]
    m.actual_start, m.actual_end = values.get("actual_start"), values.get("actual_end")
    m.graded_at = utcnow()


# --------------------------------------------------------------------------- attendance


def add_session(actor: Actor, class_id: int, held_at: datetime, note: str | None) -> ClassSession:
    row = get(actor, class_id)
    if row.status != OPEN:
        raise InvalidState("只有已开班的培训班可以考勤")
    session = ClassSession(class_id=row.id, held_at=held_at, note=(note or None))
    db.session.add(session)
    db.session.flush()
    return session


def session_of(actor: Actor, class_id: int, session_id: int) -> tuple[TrainingClass, ClassSession]:
    row = get(actor, class_id)
    s = db.session.get(ClassSession, session_id)
    if s is None or s.class_id != row.id:
        raise NotFound("记录不存在或您无权查看")
    return row, s


def mark(actor: Actor, class_id: int, session_id: int, statuses: dict[int, str]) -> int:
    """Set each member's status (present / leave / late / absent) in a session. Returns how many were set."""
    row, s = session_of(actor, class_id, session_id)
    if row.status != OPEN:
        raise InvalidState("只有已开班的培训班可以考勤")
    if any(v not in ATTENDANCE for v in statuses.values()):
        raise ValidationFailed(_INVALID, {"statuses": "考勤状态只能是出勤、请假、迟到或缺勤"})
    ids = set(db.session.scalars(select(ClassMember.id).where(ClassMember.class_id == row.id)))
    if set(statuses) - ids:
        raise ValidationFailed(_INVALID, {"statuses": "只能为本培训班的人员考勤"})
    current = {
        a.member_id: a for a in db.session.scalars(select(AttendanceMark).where(AttendanceMark.session_id == s.id))
    }
    for member_id, status in statuses.items():
        if member_id in current:
            current[member_id].status = status
        else:
            db.session.add(AttendanceMark(session_id=s.id, member_id=member_id, status=status))
    db.session.flush()
    return len(statuses)


def parse_date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    return date.fromisoformat(value) if value else None


# --------------------------------------------------------------------------- grade declarations (学员成绩申报)


def declaration_state(m: ClassMember) -> str | None:
    """The state of the person's latest grade declaration (None when never declared, or withdrawn)."""
    if m.declaration_id is None:
        return None
    instance = db.session.get(ProcessInstance, m.declaration_id)
    state = review.states([_Declared(m.id, m.declaration_id)])[m.id] if instance is not None else review.DRAFT
    return None if state == review.DRAFT else state


class _Declared:
    """A member seen as a reviewed row (``id``, ``instance_id``) for :func:`app.training.queries.states`."""

    def __init__(self, row_id: int, instance_id: int | None) -> None:
        self.id, self.instance_id = row_id, instance_id


def declaration_states(members: list[ClassMember]) -> dict[int, str | None]:
    found = review.states([_Declared(m.id, m.declaration_id) for m in members])
    return {m.id: (None if found[m.id] == review.DRAFT else found[m.id]) for m in members}


def grade_snapshot(row: TrainingClass, m: ClassMember, ce_year: int) -> dict[str, Any]:
    org = db.session.get(Organisation, row.organisation_id)
    return {
        "member_id": m.id,
        "class_id": row.id,
        "person_name": m.person.name,
        "person_id_number": m.person.id_number,
        "class_name": row.name,
        "institution_name": org.name,
        "course_name": "、".join(cc.course.name for cc in row.courses),
        "training_year": row.year,
        "ce_year": ce_year,
        "subject_type": row.subject_type,
        "hours": float(row.hours),
        "total_score": float(m.total_score) if m.total_score is not None else None,
        "result": m.result,
        "actual_start": m.actual_start.isoformat() if m.actual_start else "",
        "actual_end": m.actual_end.isoformat() if m.actual_end else "",
    }


def grade_for_start(data: dict[str, Any], actor: Actor) -> tuple[TrainingClass, ClassMember]:
    """The enrolment a grade declaration names, if the actor's institution may declare it now (the process's
    ``prepare_start``); the form's fields are filled from the enrolment (what is declared is what was graded)."""
    m = db.session.get(ClassMember, data.get("member_id") or 0)
    row = db.session.get(TrainingClass, m.class_id) if m is not None else None
    if row is None or row.organisation_id not in {o.id for o in training_orgs(actor)}:
        raise ValidationFailed(_INVALID, {"member_id": "该学员不存在或您无权申报"})
    if row.report_mode != "declare" or row.status != CLOSED:
        raise InvalidState("只有已结班且选择学员成绩申报的培训班可以申报成绩")
    if m.result != "pass":
        raise ValidationFailed(_INVALID, {"member_id": "只有考核合格的学员可以申报成绩"})
    if recorded_members([m.id]) or declaration_state(m) in (review.REVIEWING, review.RETURNED, review.APPROVED):
        raise InvalidState("该学员的成绩已申报")
    person = m.person
    if person.unit is None or person.unit.kind != OrgKind.EMPLOYER_UNIT:
        raise ValidationFailed(_INVALID, {"member_id": "该学员没有所属用人单位，无法申报"})
    data.update(grade_snapshot(row, m, int(data.get("ce_year") or row.year)))
    return row, m


def declare_grades(
    actor: Actor, class_id: int, member_ids: list[int], ce_year: int
) -> tuple[list[int], dict[int, str]]:
    """学员成绩申报 in batch: one ``grade_declaration`` case per chosen student (each student's unit reviews its
    own). Returns the cases started and, per member id, why one could not be declared."""
    from app.core.errors import DomainError
    from app.core.i18n import translate
    from app.workflow import services as workflow

    row = _locked(actor, class_id)
    started: list[int] = []
    failed: dict[int, str] = {}
    members = {m.id: m for m in queries.members(row.id)}
    for member_id in member_ids:
        if member_id not in members:
            failed[member_id] = "该学员不是本培训班的学员"
            continue
        try:
            with db.session.begin_nested():
                instance = workflow.start_process(GRADE_KEY, {"member_id": member_id, "ce_year": ce_year}, actor=actor)
        except DomainError as exc:
            message = "；".join(exc.fields.values()) if isinstance(exc, ValidationFailed) else exc.message
            failed[member_id] = str(translate(message))
            continue
        started.append(instance.id)
    return started, failed
