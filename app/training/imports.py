"""The ``courses`` and ``teachers`` import kinds (课程、师资批量导入) of the import centre.

Rows go into the training workspace the import is started for (``unit_id``: one where the actor holds 培训管理),
checked by the same schemas as the catalogue's forms and API (:mod:`app.training.schemas`); a refused row gets
its reason (a name already in the catalogue or twice in the file, an unknown course for a teacher, a bad ID
number...) in the failure file, which, corrected, imports again."""

from __future__ import annotations

import re
from typing import Any

from marshmallow import Schema
from sqlalchemy import select

from app.api.args import load_args
from app.core.errors import ValidationFailed
from app.extensions import db
from app.imports.registry import Batch, Column, ImportKind, register
from app.training.access import can_use, current_org, training_orgs
from app.training.models import GENDERS, SUBJECT_TYPES, Teacher, TrainingCourse
from app.training.schemas import CourseArgs, TeacherArgs

#: Cells a spreadsheet would run as formulas.
_FORMULA = ("=", "+", "@")
#: Course names in one cell: separated by 、，,；; or a line break.
_NAMES = re.compile(r"[、，,；;\n]+")
_TYPES = {label: key for key, label in SUBJECT_TYPES.items()}

COURSE_COLUMNS = (
    Column("课程名称", "name", "医院质量与安全管理"),
    Column("科目类型", "subject_type", "专业科目", choices=tuple(SUBJECT_TYPES.values())),
    Column("学时", "hours", "12", text=False),
    Column("课程内容", "content", "医疗质量管理工具、不良事件管理"),
)
TEACHER_COLUMNS = (
    Column("姓名", "name", "张三"),
    Column("公民身份号码", "id_number", "110105198506151236"),
    Column("性别", "gender", "男", choices=GENDERS),
    Column("手机号码", "mobile", "13800000000"),
    Column("电子邮箱", "email", "zhangsan@example.com"),
    Column("职称", "title", "副教授"),
    Column("可授课程", "courses", "医院质量与安全管理、数字经济与创新驱动发展"),
    Column("个人简介", "profile", ""),
)


def _text(raw: Any) -> str:
    if raw is None:
        return ""
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return str(raw).strip()


def _load(schema: Schema, raw: dict[str, Any]) -> dict[str, Any]:
    """A row's values checked by ``schema``; a ValidationFailed with a message per field otherwise."""
    texts = {name: _text(value) for name, value in raw.items()}
    bad = {name: "不能以 =、+、@ 开头（疑似公式）" for name, value in texts.items() if value.startswith(_FORMULA)}
    if bad:
        raise ValidationFailed("", bad)
    return load_args(schema, {k: v for k, v in texts.items() if k in schema.fields})


def _reason(exc: ValidationFailed, columns: tuple[Column, ...]) -> str:
    labels = {c.name: c.header for c in columns}
    return "；".join(f"{labels.get(name, name)}：{message}" for name, message in exc.fields.items())


def _target(actor: Any, org_id: int | None) -> Any:
    return current_org(actor, org_id)


def _apply_courses(batch: Batch) -> dict[int, str]:
    org_id = batch.organisation.id
    refused: dict[int, str] = {}
    checked: list[tuple[int, dict[str, Any]]] = []
    for row_no, raw in batch.rows:
        raw = {**raw, "subject_type": _TYPES.get(_text(raw.get("subject_type")), _text(raw.get("subject_type")))}
        try:
            checked.append((row_no, _load(CourseArgs(), raw)))
        except ValidationFailed as exc:
            refused[row_no] = _reason(exc, COURSE_COLUMNS)
    names = [v["name"] for _n, v in checked]
    known = set(db.session.scalars(select(TrainingCourse.name).where(
        TrainingCourse.organisation_id == org_id, TrainingCourse.name.in_(names)))) if names else set()
    first: dict[str, int] = {}
    for row_no, values in checked:
        if values["name"] in known:
            refused[row_no] = "课程名称：已有同名课程"
        elif values["name"] in first:
            refused[row_no] = f"课程名称：与第{first[values['name']]}行重复"
        else:
            first[values["name"]] = row_no
            db.session.add(TrainingCourse(organisation_id=org_id, **values))
    db.session.flush()
    return refused


def _apply_teachers(batch: Batch) -> dict[int, str]:
    org_id = batch.organisation.id
    courses = dict(db.session.execute(select(TrainingCourse.name, TrainingCourse.id).where(
        TrainingCourse.organisation_id == org_id)).all())
    refused: dict[int, str] = {}
    checked: list[tuple[int, dict[str, Any]]] = []
    for row_no, raw in batch.rows:
        wanted = [n.strip() for n in _NAMES.split(_text(raw.get("courses"))) if n.strip()]
        try:
            values = _load(TeacherArgs(), {k: v for k, v in raw.items() if k != "courses"})
        except ValidationFailed as exc:
            refused[row_no] = _reason(exc, TEACHER_COLUMNS)
            continue
        unknown = [n for n in wanted if n not in courses]
        if unknown:
            refused[row_no] = f"可授课程：课程库中没有《{'》《'.join(unknown)}》，请先添加或导入课程"
            continue
        values["course_ids"] = list(dict.fromkeys(courses[n] for n in wanted))
        checked.append((row_no, values))
    ids = [v["id_number"] for _n, v in checked]
    known = set(db.session.scalars(select(Teacher.id_number).where(
        Teacher.organisation_id == org_id, Teacher.id_number.in_(ids)))) if ids else set()
    first: dict[str, int] = {}
    for row_no, values in checked:
        if values["id_number"] in known:
            refused[row_no] = "公民身份号码：该身份证号码的师资已登记"
        elif values["id_number"] in first:
            refused[row_no] = f"公民身份号码：与第{first[values['id_number']]}行重复"
        else:
            first[values["id_number"]] = row_no
            db.session.add(Teacher(organisation_id=org_id, **values))
    db.session.flush()
    return refused


register(ImportKind(key="courses", label="培训课程", columns=COURSE_COLUMNS, apply=_apply_courses, target=_target,
                    allowed=can_use, targets=training_orgs))
register(ImportKind(key="teachers", label="师资", columns=TEACHER_COLUMNS, apply=_apply_teachers, target=_target,
                    allowed=can_use, targets=training_orgs))
