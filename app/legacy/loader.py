"""Loading a legacy dataset (``flask legacy-import FILE``): a CSV (UTF-8 or GB18030) or .xlsx file, one row per
yearly record of a person of an old unit, with the year's certificate number where the old system issued one.

Columns (Chinese or English headers, any order): 旧系统单位名称 old_unit_name, 旧系统单位代码 old_unit_code,
姓名 name, 公民身份号码 id_number, 年度 year, 科目类别 subject_type (公需科目 / 专业科目 / 选修), 课程名称
course_name, 学时 hours, 证书编号 certificate_number. A row may carry only the unit and the person (no record).

Loading again changes nothing: units are keyed by code, people by unit and ID number, records by person, year,
subject and course, certificates by number. Every refused row is reported with its row number and reason;
the valid rows are kept. Records of people already claimed go into their archive at once. Flushes, never
commits."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import select

from app.core.validators import id_number_error, normalise_id_number, text_error
from app.extensions import db

from .models import LegacyCertificate, LegacyPerson, LegacyRecord, LegacyUnit
from .services import bring_into_archive

#: key -> the headers it is read from.
COLUMNS: dict[str, tuple[str, ...]] = {
    "old_unit_name": ("旧系统单位名称", "old_unit_name"),
    "old_unit_code": ("旧系统单位代码", "old_unit_code"),
    "name": ("姓名", "name"),
    "id_number": ("公民身份号码", "身份证号", "id_number"),
    "year": ("年度", "year"),
    "subject_type": ("科目类别", "subject_type"),
    "course_name": ("课程名称", "course_name"),
    "hours": ("学时", "hours"),
    "certificate_number": ("证书编号", "certificate_number"),
}
REQUIRED = ("old_unit_name", "old_unit_code", "name", "id_number")
SUBJECTS = {
    "公需科目": "public",
    "公需": "public",
    "public": "public",
    "专业科目": "professional",
    "专业": "professional",
    "professional": "professional",
    "选修": "elective",
    "选修课": "elective",
    "elective": "elective",
}
FIRST_YEAR = 1990


class LegacyFileError(ValueError):
    """The file cannot be read at all (not CSV or .xlsx, no header row)."""


@dataclass
class LoadResult:
    rows: int = 0
    units: int = 0
    people: int = 0
    records: int = 0
    certificates: int = 0
    #: (row number, reason) of every refused row.
    errors: list[tuple[int, str]] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.rows} rows: {self.units} new units, {self.people} new people, {self.records} new records, "
            f"{self.certificates} new certificates, {len(self.errors)} refused"
        )


def read_rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(row number, {column key: raw value}) of every non-empty data row."""
    raw = path.read_bytes()
    if raw[:4] == b"PK\x03\x04":
        table = _xlsx_rows(path)
    else:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                text = raw.decode("gb18030")
            except UnicodeDecodeError:
                raise LegacyFileError("not a CSV (UTF-8 or GB18030) or .xlsx file") from None
        table = list(csv.reader(io.StringIO(text)))
    if not table:
        raise LegacyFileError("the file is empty")
    header = [str(h or "").strip() for h in table[0]]
    positions: dict[str, int] = {}
    for key, names in COLUMNS.items():
        for i, h in enumerate(header):
            if h in names:
                positions[key] = i
                break
    missing = [COLUMNS[k][0] for k in REQUIRED if k not in positions]
    if missing:
        raise LegacyFileError("missing columns: " + ", ".join(missing))
    out = []
    for row_no, row in enumerate(table[1:], 2):
        values = {k: (row[i] if i < len(row) else None) for k, i in positions.items()}
        if all(v is None or str(v).strip() == "" for v in values.values()):
            continue
        out.append((row_no, values))
    return out


def _xlsx_rows(path: Path) -> list[list[Any]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - any unreadable workbook is one clear refusal
        raise LegacyFileError("unreadable .xlsx file") from None
    try:
        return [list(r) for r in wb.worksheets[0].iter_rows(values_only=True)]
    finally:
        wb.close()


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


@dataclass
class _Row:
    unit_name: str
    unit_code: str
    name: str
    id_number: str
    year: int | None
    subject_type: str | None
    course_name: str
    hours: Decimal | None
    certificate_number: str


def check_row(values: dict[str, Any], last_year: int) -> tuple[_Row | None, str | None]:
    """The row's clean values, or why it is refused."""
    for key in REQUIRED:
        if not _text(values.get(key)):
            return None, f"缺少{COLUMNS[key][0]}"
    for key, value in values.items():
        if isinstance(value, str) and (err := text_error(value)):
            return None, f"{COLUMNS[key][0]}{err}"
    raw_id = values["id_number"]
    if isinstance(raw_id, (int, float)) and not isinstance(raw_id, bool):
        return None, "公民身份号码被存成了数字（末几位可能已丢失），请将该列设为文本格式"
    if err := id_number_error(_text(raw_id)):
        return None, f"公民身份号码有误：{err}"
    row = _Row(
        unit_name=_text(values["old_unit_name"])[:200],
        unit_code=_text(values["old_unit_code"]).upper()[:32],
        name=_text(values["name"])[:100],
        id_number=normalise_id_number(_text(raw_id)),
        year=None,
        subject_type=None,
        course_name=_text(values.get("course_name"))[:200],
        hours=None,
        certificate_number=_text(values.get("certificate_number")).upper()[:32],
    )
    year_text, hours_text = _text(values.get("year")), _text(values.get("hours"))
    if year_text:
        try:
            row.year = int(float(year_text))
        except ValueError:
            return None, "年度应为四位数字"
        if not FIRST_YEAR <= row.year <= last_year:
            return None, f"年度应在{FIRST_YEAR}至{last_year}年之间（历史数据只含{last_year}年及以前）"
    if row.course_name or hours_text or _text(values.get("subject_type")):
        if row.year is None:
            return None, "学时记录缺少年度"
        row.subject_type = SUBJECTS.get(_text(values.get("subject_type")))
        if row.subject_type is None:
            return None, "科目类别应为公需科目、专业科目或选修"
        if not row.course_name:
            return None, "学时记录缺少课程名称"
        try:
            row.hours = Decimal(hours_text).quantize(Decimal("0.1"))
        except (InvalidOperation, ValueError):
            return None, "学时应为数字"
        if not Decimal("0") < row.hours <= Decimal("1000"):
            return None, "学时应大于0且不超过1000"
    if row.certificate_number and row.year is None:
        return None, "证书编号缺少年度"
    return row, None


def load(path: Path) -> LoadResult:
    """Load the file into the legacy tables (see the module docstring)."""
    last_year = int(current_app.config.get("LEGACY_LAST_YEAR", 2017))
    result = LoadResult()
    units: dict[str, LegacyUnit] = {}
    people: dict[tuple[int, str], LegacyPerson] = {}
    touched: dict[int, LegacyPerson] = {}
    for row_no, values in read_rows(path):
        result.rows += 1
        row, error = check_row(values, last_year)
        if row is None:
            result.errors.append((row_no, error or ""))
            continue
        if error := _load_row(row, result, units, people, touched):
            result.errors.append((row_no, error))
    for lp in touched.values():  # new records of people already claimed go into their archive now
        if lp.person_id is not None:
            bring_into_archive(lp)
    db.session.flush()
    return result


def _load_row(
    row: _Row,
    result: LoadResult,
    units: dict[str, LegacyUnit],
    people: dict[tuple[int, str], LegacyPerson],
    touched: dict[int, LegacyPerson],
) -> str | None:
    """Check the row against what is stored, then write it; a refused row writes nothing."""
    unit = units.get(row.unit_code) or db.session.scalar(select(LegacyUnit).where(LegacyUnit.code == row.unit_code))
    lp = None
    if unit is not None:
        lp = people.get((unit.id, row.id_number)) or db.session.scalar(
            select(LegacyPerson).where(LegacyPerson.legacy_unit_id == unit.id, LegacyPerson.id_number == row.id_number)
        )
    if lp is not None and lp.name != row.name:
        return f"同一公民身份号码在该单位已登记为“{lp.name}”，与本行姓名不一致"
    cert = None
    if row.certificate_number:
        cert = db.session.scalar(select(LegacyCertificate).where(LegacyCertificate.number == row.certificate_number))
        if cert is not None and (lp is None or cert.legacy_person_id != lp.id or cert.year != row.year):
            return f"证书编号{row.certificate_number}已用于其他人员或年度"
        if (
            cert is None
            and lp is not None
            and (
                other := db.session.scalar(
                    select(LegacyCertificate.number).where(
                        LegacyCertificate.legacy_person_id == lp.id, LegacyCertificate.year == row.year
                    )
                )
            )
            is not None
        ):
            return f"该人员{row.year}年度已有证书编号{other}"
    if unit is None:
        unit = LegacyUnit(name=row.unit_name, code=row.unit_code)
        db.session.add(unit)
        db.session.flush()
        result.units += 1
    units[row.unit_code] = unit
    if lp is None:
        lp = LegacyPerson(legacy_unit_id=unit.id, name=row.name, id_number=row.id_number)
        db.session.add(lp)
        db.session.flush()
        result.people += 1
    people[(unit.id, row.id_number)] = lp
    if row.subject_type is not None and row.year is not None and row.hours is not None:
        exists = db.session.scalar(
            select(LegacyRecord.id).where(
                LegacyRecord.legacy_person_id == lp.id,
                LegacyRecord.year == row.year,
                LegacyRecord.subject_type == row.subject_type,
                LegacyRecord.course_name == row.course_name,
            )
        )
        if exists is None:
            db.session.add(
                LegacyRecord(
                    legacy_person_id=lp.id,
                    year=row.year,
                    subject_type=row.subject_type,
                    course_name=row.course_name,
                    hours=row.hours,
                )
            )
            result.records += 1
            touched[lp.id] = lp
    if row.certificate_number and cert is None:
        db.session.add(LegacyCertificate(number=row.certificate_number, legacy_person_id=lp.id, year=row.year))
        result.certificates += 1
    db.session.flush()
    return None
