"""The ``online_results`` import kind (网络班培训成果导入 / 线上培训成果): rows of an online learning platform's
export (ID number, name, platform, course, subject type, hours, completion date, result) imported by a training
institution or by a unit that trains its own staff. Each passed row becomes one archive record (source
``online``, learning form 网络) exactly once: the ``online_result`` unique key person × platform × course × year
refuses a row imported again, in the same file, a later file or a retried job.

Who for (Fujian 000 §5.1 lists 网络班培训成果导入 beside the class imports of a unit's workspace): a unit imports
for its own staff (people employed by it or a unit below it); an institution for the people enrolled in one of
its classes that was not cancelled, as it does for face-to-face results. Anyone else is refused as 未找到该人员
(no disclosure of who is registered elsewhere)."""

from __future__ import annotations

import logging
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.dialects import postgresql, sqlite

from app.accounts.actor import Actor
from app.accounts.models import Organisation, OrgKind
from app.archive.models import ONLINE_SOURCE, CreditRecord, OnlineResult
from app.classes.models import CANCELLED, ClassMember, TrainingClass
from app.core.models import utcnow
from app.core.validators import id_number_error, normalise_id_number
from app.extensions import db
from app.imports.registry import Batch, Column, ImportKind, register
from app.people.models import Person
from app.training.access import can_use, current_org

log = logging.getLogger(__name__)

KEY = "online_results"
#: More hours than this for one online course is a typing error (an annual requirement is about 90 hours).
MAX_HOURS = Decimal("100")
SUBJECTS = {"公需": "public", "公需科目": "public", "专业": "professional", "专业科目": "professional"}
PASS, FAIL = "合格", "不合格"
#: The columns of ``uq_online_result_person_platform_course_year``.
KEY_COLUMNS = ("person_id", "platform", "course_name", "year")
NOT_FOUND = "公民身份号码：未找到该人员"

COLUMNS = (
    Column("公民身份号码", "id_number", "110105198506151236"),
    Column("姓名", "name", "张三"),
    Column("学习平台", "platform", "国家专业技术人员继续教育平台"),
    Column("课程名称", "course_name", "数字经济与创新驱动"),
    Column("科目类型", "subject_type", "公需", choices=("公需", "专业")),
    Column("学时", "hours", "6", text=False),
    Column("完成日期", "completed_on", "2026-05-20", text=False),
    Column("考核结果", "result", "合格", choices=(PASS, FAIL)),
)


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value).replace("/", "-").replace(".", "-")
    try:
        return date.fromisoformat(text[:10]) if text else None
    except ValueError:
        return None


def _hours(value: Any) -> Decimal | None:
    """The hours as a positive number with at most one decimal, within :data:`MAX_HOURS`; else None."""
    try:
        hours = Decimal(_text(value))
    except InvalidOperation:
        return None
    if not hours.is_finite() or hours <= 0 or hours > MAX_HOURS or hours != hours.quantize(Decimal("0.1")):
        return None
    return hours


def _reachable(org: Organisation, ids: set[str]) -> dict[str, Person]:
    """The people of ``ids`` the organisation may import results for (see the module docstring)."""
    if not ids:
        return {}
    stmt = select(Person).where(Person.id_number.in_(ids))
    if org.kind == OrgKind.TRAINING_INSTITUTION:
        enrolled = (
            select(ClassMember.person_id)
            .join(TrainingClass, TrainingClass.id == ClassMember.class_id)
            .where(TrainingClass.organisation_id == org.id, TrainingClass.status != CANCELLED)
        )
        stmt = stmt.where(Person.id.in_(enrolled))
    else:
        below = select(Organisation.id).where(Organisation.path.startswith(org.path))
        stmt = stmt.where(Person.unit_id.in_(below))
    return {p.id_number: p for p in db.session.scalars(stmt)}


def _check(raw: dict[str, Any], people: dict[str, Person]) -> dict[str, Any] | str:
    """The row's values ready to store, or the reason it is refused."""
    id_number = normalise_id_number(_text(raw.get("id_number")))
    if problem := id_number_error(id_number):
        return f"公民身份号码：{problem}"
    person = people.get(id_number)
    if person is None:
        return NOT_FOUND
    if _text(raw.get("name")) != person.name:
        return "姓名：与公民身份号码登记的姓名不符"
    platform, course = _text(raw.get("platform")), _text(raw.get("course_name"))
    if not platform or len(platform) > 100:
        return "学习平台：必填，不超过100个字"
    if not course or len(course) > 200:
        return "课程名称：必填，不超过200个字"
    subject = SUBJECTS.get(_text(raw.get("subject_type")))
    if subject is None:
        return "科目类型：只能是公需或专业"
    hours = _hours(raw.get("hours"))
    if hours is None:
        return f"学时：必须是大于0、不超过{MAX_HOURS}的数字（最多一位小数）"
    completed = _date(raw.get("completed_on"))
    if completed is None:
        return "完成日期：必填，格式为 YYYY-MM-DD"
    if completed > date.today():
        return "完成日期：不能晚于今天"
    result = _text(raw.get("result"))
    if result == FAIL:
        return "考核结果为不合格：不记入学时档案"
    if result != PASS:
        return "考核结果：只能是合格或不合格"
    return {
        "person_id": person.id,
        "platform": platform,
        "course_name": course,
        "year": completed.year,
        "subject_type": subject,
        "hours": hours,
        "completed_on": completed,
    }


def _duplicate(first_row: int | None = None) -> str:
    where = f"与第{first_row}行重复" if first_row else "已导入过"
    return f"重复：该人员在同一年度、同一学习平台的该课程成绩{where}，不重复记入学时"


def _apply(batch: Batch) -> dict[int, str]:
    from app.archive.services import RuleUnavailable, recount

    org = batch.organisation
    refused: dict[int, str] = {}
    people = _reachable(org, {normalise_id_number(_text(raw.get("id_number"))) for _n, raw in batch.rows})
    first: dict[tuple[int, str, str, int], int] = {}
    checked: list[tuple[int, dict[str, Any]]] = []
    for row_no, raw in batch.rows:
        values = _check(raw, people)
        if isinstance(values, str):
            refused[row_no] = values
            continue
        key = (values["person_id"], values["platform"], values["course_name"], values["year"])
        if key in first:
            refused[row_no] = _duplicate(first[key])
            continue
        first[key] = row_no
        checked.append((row_no, values))
    if not checked:
        return refused
    now = utcnow()
    # One INSERT for the batch; a key already stored (an earlier file, or another import at the same moment)
    # inserts nothing and comes back as a duplicate: never a second record.
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    stored = db.session.execute(
        dialect.insert(OnlineResult)
        .values([{**v, "organisation_id": org.id, "created_at": now} for _n, v in checked])
        .on_conflict_do_nothing(index_elements=list(KEY_COLUMNS))
        .returning(OnlineResult.id, *(getattr(OnlineResult, c) for c in KEY_COLUMNS))
    ).all()
    ids = {(r.person_id, r.platform, r.course_name, r.year): r.id for r in stored}
    # Only the completion date is known (online study has no training days): no daily cap applies.
    records = []
    for row_no, v in checked:
        result_id = ids.get((v["person_id"], v["platform"], v["course_name"], v["year"]))
        if result_id is None:
            refused[row_no] = _duplicate()
            continue
        records.append(
            {
                "person_id": v["person_id"],
                "year": v["year"],
                "subject_type": v["subject_type"],
                "course_name": v["course_name"],
                "learning_form": "online",
                "declared_hours": v["hours"],
                "recognised_hours": v["hours"],
                "start_date": None,
                "end_date": v["completed_on"],
                "days": None,
                "institution_name": org.name[:200],
                "source": ONLINE_SOURCE,
                "source_id": result_id,
                "recognised_by_org_id": org.id,
                "platform": v["platform"],
                "created_at": now,
            }
        )
    if records:
        db.session.execute(insert(CreditRecord.__table__), records)
        for year in sorted({r["year"] for r in records}):
            try:
                recount(year, person_ids=[r["person_id"] for r in records if r["year"] == year])
            except RuleUnavailable:  # the records are stored; a recount brings the verification up to date later
                log.exception("annual verification skipped after online results of %s", org.id)
    db.session.flush()
    return refused


def _target(actor: Actor, org_id: int | None) -> Organisation:
    return current_org(actor, org_id)


register(ImportKind(key=KEY, label="线上培训成果", columns=COLUMNS, apply=_apply, target=_target, allowed=can_use))
