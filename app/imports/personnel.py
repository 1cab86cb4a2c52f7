"""The ``personnel`` import kind (人员信息批量导入): one template column per person field, rows checked by the
same rules as the add form, people added to the unit the import was started for."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select

from app.accounts.actor import Actor
from app.accounts.models import Membership, Organisation, Role, User
from app.core.errors import ValidationFailed
from app.extensions import db
from app.imports.registry import Batch, Column, ImportKind, register
from app.people import fields, services
from app.people.models import Person

_EXAMPLES = {
    "name": "张三", "id_number": "110105198506151236", "gender": "男", "birth_date": "1985-06-15",
    "ethnicity": "汉族", "native_place": "福建福州", "education": "大学本科", "degree": "学士",
    "school": "福州大学", "major": "临床医学", "graduation_date": "2012-07-01", "work_start_date": "2012-08-01",
    "title_series": "卫生系列", "title_level": "中级", "qualification_date": "2018-05-20",
    "phone": "13800000000", "email": "zhangsan@example.com", "address": "福州市鼓楼区",
}
#: Columns read as text; the dates accept text or Excel date cells.
COLUMNS = tuple(Column(f.label, f.name, _EXAMPLES.get(f.name, ""), f.choices, text=f.kind != "date")
                for f in fields.FIELDS)


DUPLICATE = "公民身份号码：该人员已在平台登记（已导入过，或属于其他单位：请由本人申请绑定）"


def _target(actor: Actor, unit_id: int | None) -> Organisation:
    if unit_id is None:
        units = services.units(actor)
        if len(units) != 1:
            raise ValidationFailed("请求参数有误", {"unit_id": "请选择人员导入到哪个单位"})
        return units[0]
    return services.unit_in_scope(actor, unit_id)


def _apply(batch: Batch) -> dict[int, str]:
    refused: dict[int, str] = {}
    checked: list[tuple[int, dict[str, Any]]] = []
    for row_no, raw in batch.rows:
        values, errors = fields.check(raw)
        if errors:
            refused[row_no] = "；".join(f"{fields.BY_NAME[k].label}：{v}" if k in fields.BY_NAME else v
                                       for k, v in errors.items())
        else:
            checked.append((row_no, values))
    ids = [v["id_number"] for _n, v in checked]
    known = set(db.session.scalars(select(Person.id_number).where(Person.id_number.in_(ids))))
    users = dict(db.session.execute(select(User.id_number, User.id).where(User.id_number.in_(ids))).all())
    unit_id = batch.organisation.id
    first_row: dict[str, int] = {}
    people: list[dict[str, Any]] = []
    for row_no, values in checked:
        id_number = values["id_number"]
        if id_number in known:
            refused[row_no] = DUPLICATE
        elif id_number in first_row:
            refused[row_no] = f"公民身份号码：与第{first_row[id_number]}行重复"
        else:
            first_row[id_number] = row_no
            people.append({**values, "unit_id": unit_id, "user_id": users.get(id_number)})
    if people:  # one multi-row INSERT for the batch (no unit-of-work bookkeeping per person)
        db.session.execute(insert(Person), people)
    members = [p["user_id"] for p in people if p["user_id"] is not None]
    if members:
        already = set(db.session.scalars(select(Membership.user_id).where(
            Membership.organisation_id == unit_id, Membership.user_id.in_(members))))
        db.session.add_all([Membership(user_id=u, organisation_id=unit_id, role=Role.MEMBER, permissions=[])
                            for u in members if u not in already])
    db.session.flush()
    return refused


register(ImportKind(key="personnel", label="人员信息", columns=COLUMNS, apply=_apply, target=_target,
                    allowed=services.may_manage, targets=services.units))
