"""The fields of a person (the Guangdong 人员信息 list): their coded values, and checking raw values.

One checker serves the add / edit forms, the API and every row of a personnel import, so a value is
refused for the same reason wherever it comes from."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask_babel import gettext

from app.core.validators import id_number_error, mobile_error, normalise_id_number

GENDERS = ("男", "女")
EDUCATIONS = ("博士研究生", "硕士研究生", "大学本科", "大学专科", "中等专科", "高中及以下")
DEGREES = ("博士", "硕士", "学士", "无")
#: The same levels the archive search filters on.
TITLE_LEVELS = ("正高级", "副高级", "中级", "初级", "员级")
TITLE_SERIES = ("卫生系列", "工程系列", "教师系列", "经济系列", "会计系列", "农业系列", "统计系列", "其他系列")

#: What a spreadsheet would run as a formula: never accepted as the start of a value.
FORMULA_START = ("=", "+", "@")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Field:
    name: str
    #: Chinese, as stored and as template headers; pages translate it with ``|tr``.
    label: str
    required: bool = False
    choices: tuple[str, ...] | None = None
    kind: str = "text"  # text, date, id_number, mobile, email
    max_length: int = 100


#: In the order of the form and of the import template's columns.
FIELDS: tuple[Field, ...] = (
    Field("name", "姓名", required=True, max_length=100),
    Field("id_number", "公民身份号码", required=True, kind="id_number", max_length=18),
    Field("gender", "性别", required=True, choices=GENDERS),
    Field("birth_date", "出生日期", kind="date"),
    Field("ethnicity", "民族", max_length=32),
    Field("native_place", "籍贯", max_length=100),
    Field("education", "最高学历", choices=EDUCATIONS),
    Field("degree", "最高学位", choices=DEGREES),
    Field("school", "毕业院校", max_length=100),
    Field("major", "所学专业", max_length=100),
    Field("graduation_date", "毕业时间", kind="date"),
    Field("work_start_date", "参加工作时间", kind="date"),
    Field("title_series", "职称系列", choices=TITLE_SERIES),
    Field("title_level", "职称级别", choices=TITLE_LEVELS),
    Field("qualification_date", "取得资格时间", kind="date"),
    Field("phone", "手机号码", kind="mobile", max_length=20),
    Field("email", "电子邮箱", kind="email", max_length=200),
    Field("address", "通讯地址", max_length=300),
)
BY_NAME = {f.name: f for f in FIELDS}


def birth_date_of(id_number: str) -> date:
    """The date of birth written in a (valid) ID number."""
    return date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))


def parse_date(raw: Any) -> date | None:
    """A date typed as 2020-09-01, 2020/9/1, 20200901 or 2020.9.1, or an Excel date cell."""
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    text = str(raw).strip()
    if len(text) == 10 and text[4] == "-" and text[7] == "-":  # the usual form, without strptime's locale work
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(text)


def _text(raw: Any) -> str:
    if raw is None:
        return ""
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return str(raw).strip()


#: The earliest date a person's record may hold.
EARLIEST = date(1900, 1, 1)


def _plausible(values: dict[str, Any], errors: dict[str, str]) -> None:
    """Dates between 1900 and today; a graduation, work start or qualification not before the birth date."""
    today = date.today()
    birth = values.get("birth_date")
    if birth is not None and not EARLIEST <= birth <= today:
        birth = None
    for f in FIELDS:
        value = values.get(f.name)
        if f.kind != "date" or not isinstance(value, date) or f.name in errors:
            continue
        if value > today:
            errors[f.name] = gettext("%(label)s不能晚于今天", label=gettext(f.label))
        elif value < EARLIEST:
            errors[f.name] = gettext("%(label)s不能早于1900年", label=gettext(f.label))
        elif birth is not None and f.name != "birth_date" and value < birth:
            errors[f.name] = gettext("%(label)s不能早于出生日期", label=gettext(f.label))
    for name in [n for n in values if n in errors]:
        del values[name]


def check(raw: dict[str, Any], *, partial: bool = False) -> tuple[dict[str, Any], dict[str, str]]:
    """Clean values of the person fields in ``raw`` and a message per refused field.

    ``partial``: only the fields present are checked (an edit); otherwise required fields must be there.
    The birth date, when missing, is taken from the ID number; when given, it must agree with it."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for f in FIELDS:
        if partial and f.name not in raw:
            continue
        value = raw.get(f.name)
        if f.kind == "date" and isinstance(value, date):  # an Excel date cell
            values[f.name] = parse_date(value)
            continue
        text = _text(value)
        if not text:
            if f.required:
                errors[f.name] = gettext("请填写%(label)s", label=gettext(f.label))
            else:
                values[f.name] = None
            continue
        if text.startswith(FORMULA_START):
            errors[f.name] = gettext("%(label)s不能以 =、+、@ 开头（疑似公式）", label=gettext(f.label))
        elif len(text) > f.max_length:
            errors[f.name] = gettext("%(label)s不能超过%(n)s个字", label=gettext(f.label), n=f.max_length)
        elif f.choices and text not in f.choices:
            errors[f.name] = gettext("%(label)s应为以下之一：%(choices)s", label=gettext(f.label),
                                     choices="、".join(gettext(c) for c in f.choices))
        elif f.kind == "id_number":
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                errors[f.name] = "公民身份号码被存成了数字（末几位可能已丢失），请将该列设为文本格式后重新填写"
            elif err := id_number_error(text):
                errors[f.name] = err
            else:
                values[f.name] = normalise_id_number(text)
        elif f.kind == "mobile":
            if err := mobile_error(text):
                errors[f.name] = err
            else:
                values[f.name] = text
        elif f.kind == "email":
            if not _EMAIL.match(text):
                errors[f.name] = "电子邮箱格式不正确"
            else:
                values[f.name] = text
        elif f.kind == "date":
            try:
                values[f.name] = parse_date(value)
            except ValueError:
                errors[f.name] = gettext("%(label)s格式不正确，应为 YYYY-MM-DD", label=gettext(f.label))
        else:
            values[f.name] = text
    id_number = values.get("id_number")
    if id_number:
        born = birth_date_of(id_number)
        given = values.get("birth_date")
        if given is None and "birth_date" not in errors:
            values["birth_date"] = born
        elif given is not None and given != born:
            errors["birth_date"] = gettext("出生日期与公民身份号码中的出生日期（%(born)s）不一致",
                                           born=born.isoformat())
    _plausible(values, errors)
    return values, errors
