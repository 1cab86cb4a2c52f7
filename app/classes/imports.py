"""Import kinds of training classes (import centre, ``app.imports``): ``class_members`` (培训班人员),
``class_grades`` (成绩 / 考核结果) and ``class_declaration_results`` (申请培训班的培训成果: enrol and grade a 同步上报
declaration before it is submitted). Each row names the class by its number (培训班编号); a refused row gets its
reason (wrong ID number, unknown person, name not matching, not enrolled, duplicate row, class not open)."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select

from app.accounts.actor import Actor
from app.accounts.models import Organisation
from app.classes import services
from app.classes.models import RESULTS, ClassMember, TrainingClass
from app.core.errors import DomainError, InvalidState
from app.core.models import utcnow
from app.core.validators import id_number_error, normalise_id_number
from app.extensions import db
from app.imports.registry import Batch, Column, ImportKind, register
from app.people.models import Person
from app.training.access import can_use, current_org

_RESULT_BY_LABEL = {v: k for k, v in RESULTS.items()}
_BASE = (
    Column("培训班编号", "class_id", "1"),
    Column("姓名", "name", "张三"),
    Column("公民身份号码", "id_number", "110105198506151236"),
)
GRADE_COLUMNS = (
    *_BASE,
    Column("总成绩", "total_score", "86", text=False),
    Column("考核结果", "result", "合格", choices=tuple(RESULTS.values())),
    Column("实际开班日期", "actual_start", "2026-03-01", text=False),
    Column("实际结班日期", "actual_end", "2026-03-03", text=False),
    #: 课程名:分数, separated by ；or ; (the class's courses only); empty keeps what was entered.
    Column("各科成绩", "subject_scores", "医院质量与安全管理:88；职业道德:90"),
)


def _scores(text: str, row: TrainingClass) -> dict[str, float] | str:
    """``课程名:分数；…`` as {course id: score}, or the reason it cannot be read."""
    courses = {cc.course.name: str(cc.course_id) for cc in row.courses}
    out: dict[str, float] = {}
    for part in re.split(r"[;；]", text):
        if not part.strip():
            continue
        pieces = re.split(r"[:：]", part, maxsplit=1)
        name, value = pieces[0].strip(), pieces[1] if len(pieces) == 2 else ""
        if len(pieces) != 2 or name not in courses:
            return f"各科成绩：“{part.strip()}”不是本培训班的课程及分数（课程名:分数）"
        try:
            score = float(Decimal(value.strip()))
        except InvalidOperation:
            return f"各科成绩：“{part.strip()}”的分数不是数字"
        if not 0 <= score <= 1000:
            return f"各科成绩：“{part.strip()}”的分数须在0到1000之间"
        out[courses[name]] = score
    return out


def _target(actor: Actor, org_id: int | None) -> Organisation:
    return current_org(actor, org_id)


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    return date.fromisoformat(text) if text else None


def _rows(batch: Batch, check_class) -> tuple[dict[int, str], list[tuple[int, dict[str, Any], TrainingClass, Person]]]:  # noqa: ANN001
    """The common checks: the class (of the organisation, in a state ``check_class`` accepts), the ID number,
    the person and their name, duplicates within the file. Returns the refusals and the rows that passed."""
    refused: dict[int, str] = {}
    org_id = batch.organisation.id
    class_ids = {int(t) for _n, raw in batch.rows if (t := _text(raw.get("class_id"))).isdigit() and len(t) < 12}
    classes = (
        {
            c.id: c
            for c in db.session.scalars(
                select(TrainingClass).where(TrainingClass.id.in_(class_ids), TrainingClass.organisation_id == org_id)
            )
        }
        if class_ids
        else {}
    )
    state_error: dict[int, str | None] = {}
    for cid, row in classes.items():
        try:
            check_class(row)
            state_error[cid] = None
        except DomainError as exc:
            state_error[cid] = exc.message
    ids = {normalise_id_number(_text(raw.get("id_number"))) for _n, raw in batch.rows}
    people = {p.id_number: p for p in db.session.scalars(select(Person).where(Person.id_number.in_(ids)))}
    first: dict[tuple[int, str], int] = {}
    ok = []
    for row_no, raw in batch.rows:
        text = _text(raw.get("class_id"))
        row = classes.get(int(text)) if text.isdigit() and len(text) < 12 else None
        id_number = normalise_id_number(_text(raw.get("id_number")))
        if row is None:
            refused[row_no] = "培训班编号：本机构没有该培训班"
        elif state_error[row.id]:
            refused[row_no] = f"培训班编号：{state_error[row.id]}"
        elif problem := id_number_error(id_number):
            refused[row_no] = f"公民身份号码：{problem}"
        elif id_number not in people:
            refused[row_no] = "公民身份号码：平台中没有该人员"
        elif _text(raw.get("name")) and _text(raw.get("name")) != people[id_number].name:
            refused[row_no] = "姓名：与公民身份号码登记的姓名不符"
        elif (row.id, id_number) in first:
            refused[row_no] = f"与第{first[(row.id, id_number)]}行重复"
        else:
            first[(row.id, id_number)] = row_no
            ok.append((row_no, raw, row, people[id_number]))
    return refused, ok


def _enrolled(pairs: set[tuple[int, int]]) -> dict[tuple[int, int], ClassMember]:
    if not pairs:
        return {}
    class_ids = {c for c, _p in pairs}
    person_ids = {p for _c, p in pairs}
    found = db.session.scalars(
        select(ClassMember).where(ClassMember.class_id.in_(class_ids), ClassMember.person_id.in_(person_ids))
    )
    return {(m.class_id, m.person_id): m for m in found}


def _apply_members(batch: Batch) -> dict[int, str]:
    refused, ok = _rows(batch, services._enrolling)  # noqa: SLF001
    enrolled = _enrolled({(row.id, person.id) for _n, _raw, row, person in ok})
    now = utcnow()
    org = batch.organisation
    class_ids = {row.id for _n, _raw, row, _p in ok}
    if class_ids:  # the classes' rows locked, as enrol() locks its class: two imports at once count in turn
        db.session.execute(select(TrainingClass.id).where(TrainingClass.id.in_(class_ids)).with_for_update())
    held = dict(db.session.execute(select(ClassMember.class_id, func.count()).where(
        ClassMember.class_id.in_(class_ids)).group_by(ClassMember.class_id)).all()) if class_ids else {}
    for row_no, _raw, row, person in ok:
        if (row.id, person.id) in enrolled:
            refused[row_no] = "该人员已报名本培训班"
        elif services.internal(row, org) and not (person.unit and person.unit.path.startswith(org.path)):
            refused[row_no] = f"公民身份号码：{services.OWN_STAFF_ONLY}"
        elif row.capacity and held.get(row.id, 0) >= row.capacity:
            refused[row_no] = services.OVER_CAPACITY % {"n": row.capacity}
        else:
            db.session.add(ClassMember(class_id=row.id, person_id=person.id, enrolled_at=now, subject_scores={}))
            held[row.id] = held.get(row.id, 0) + 1
    db.session.flush()
    return refused


def _declaring(row: TrainingClass) -> None:
    if not (row.report_mode == "sync" and services.editable(row)):
        raise InvalidState("只有同步上报、尚未提交（或被退回）的培训班申报可以导入申请培训班的培训成果")


def _apply_grades(batch: Batch) -> dict[int, str]:
    return _grade_rows(batch, services._grading, enrol_missing=False)  # noqa: SLF001


def _apply_declaration_results(batch: Batch) -> dict[int, str]:
    """申请培训班的培训成果: the participants and results of a class declared 同步上报, before it is submitted:
    each row enrols the person (when not yet) and records the grade."""
    return _grade_rows(batch, _declaring, enrol_missing=True)


def _grade_rows(batch: Batch, check_class, *, enrol_missing: bool) -> dict[int, str]:  # noqa: ANN001
    refused, ok = _rows(batch, check_class)
    enrolled = _enrolled({(row.id, person.id) for _n, _raw, row, person in ok})
    recorded = services.recorded_members([m.id for m in enrolled.values()])
    for row_no, raw, row, person in ok:
        m = enrolled.get((row.id, person.id))
        result = _RESULT_BY_LABEL.get(_text(raw.get("result")), _text(raw.get("result")))
        score_text = _text(raw.get("total_score"))
        try:
            score = float(Decimal(score_text)) if score_text else None
        except InvalidOperation:
            score = -1.0
        try:
            start, end = _date(raw.get("actual_start")), _date(raw.get("actual_end"))
        except ValueError:
            refused[row_no] = "日期格式不正确，应为 YYYY-MM-DD"
            continue
        if m is None and not enrol_missing:
            refused[row_no] = "该人员未报名本培训班"
        elif m is not None and m.id in recorded:
            refused[row_no] = "该人员的学时已记入培训档案，成绩不能修改"
        elif result not in RESULTS:
            refused[row_no] = "考核结果：只能是合格或不合格"
        elif score is not None and not 0 <= score <= 1000:
            refused[row_no] = "总成绩：必须是0到1000之间的数字"
        elif start and end and end < start:
            refused[row_no] = "实际结班日期不能早于实际开班日期"
        elif isinstance(scores := _scores(_text(raw.get("subject_scores")), row), str):
            refused[row_no] = scores
        else:
            if m is None:  # every check passed: enrolled with the grade, or not at all
                m = ClassMember(class_id=row.id, person_id=person.id, enrolled_at=utcnow(), subject_scores={})
                db.session.add(m)
                db.session.flush()
            services.apply_grade(
                m,
                {
                    "total_score": score,
                    "subject_scores": scores or m.subject_scores or {},
                    "result": result,
                    "actual_start": start,
                    "actual_end": end,
                },
            )
    db.session.flush()
    return refused


register(
    ImportKind(
        key="class_members", label="培训班人员", columns=_BASE, apply=_apply_members, target=_target, allowed=can_use
    )
)
register(
    ImportKind(
        key="class_grades",
        label="培训班成绩",
        columns=GRADE_COLUMNS,
        apply=_apply_grades,
        target=_target,
        allowed=can_use,
    )
)
register(
    ImportKind(
        key="class_declaration_results",
        label="申请培训班的培训成果",
        columns=GRADE_COLUMNS,
        apply=_apply_declaration_results,
        target=_target,
        allowed=can_use,
    )
)
