"""Export kind of training classes (export centre, ``app.imports.exports``): ``class_members`` (培训班人员导出),
one class's people with their grades, for whoever may open the class (filters: ``class_id``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from app.accounts.actor import Actor
from app.core.errors import ValidationFailed
from app.core.validators import whole_number
from app.imports.exports import ExportKind, register_export
from app.imports.registry import Column

from . import queries, services
from .models import RESULTS, TrainingClass


def _class(actor: Actor, filters: dict[str, Any]) -> TrainingClass:
    """The class the filters name, when the actor may open it (404 otherwise)."""
    class_id = whole_number(str(filters.get("class_id") or ""))
    if class_id is None:
        raise ValidationFailed("请求参数有误", {"filters": "培训班人员导出须给出培训班编号（filters.class_id）"})
    return services.get(actor, class_id)


def _rows(actor: Actor, filters: dict[str, Any]) -> Iterator[list[Any]]:
    row = _class(actor, filters)
    courses = {str(cc.course_id): cc.course.name for cc in row.courses}
    members = queries.members(row.id)
    recorded = services.recorded_members([m.id for m in members])
    for m in members:
        p = m.person
        yield [row.id, row.name, p.name, p.id_number, p.gender, p.unit.name if p.unit else None, m.enrolled_at,
               float(m.total_score) if m.total_score is not None else None,
               "；".join(f"{courses.get(cid, cid)}:{score:g}" for cid, score in (m.subject_scores or {}).items()),
               RESULTS.get(m.result or "", ""), m.actual_start, m.actual_end,
               "已记入" if m.id in recorded else "未记入"]


register_export(ExportKind(
    "class_members", "培训班人员", lambda actor: True,
    (Column("培训班编号", "class_id", text=False), Column("培训班名称", "class_name"), Column("姓名", "name"),
     Column("公民身份号码", "id_number"), Column("性别", "gender"), Column("工作单位", "unit"),
     Column("报名时间", "enrolled_at", text=False), Column("总成绩", "total_score", text=False),
     Column("各科成绩", "subject_scores"), Column("考核结果", "result"),
     Column("实际开班日期", "actual_start", text=False), Column("实际结班日期", "actual_end", text=False),
     Column("培训档案", "recorded")),
    _rows, check=lambda actor, filters: _class(actor, filters) and None, audit_action="export.class_members"))
