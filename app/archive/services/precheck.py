"""Pre-check: part of the archive services (see the package docstring)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from app.accounts.actor import Actor
from app.archive.models import SUBJECT_TYPES
from app.core.errors import ValidationFailed
from app.core.validators import whole_number

from .hours import credit, known_days
from .scope import visible_person
from .verification import YearSummary, check, year_summary


@dataclass
class Precheck:
    summary: YearSummary
    declared_hours: Decimal
    credited_hours: Decimal
    capped: bool
    daily_cap: Decimal | None
    hours_after: dict[str, Decimal]
    verified_after: bool
    missing_after: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "person": self.summary.person.name,
            "year": self.summary.year,
            "declared_hours": float(self.declared_hours),
            "credited_hours": float(self.credited_hours),
            "capped": self.capped,
            "daily_cap": float(self.daily_cap) if self.daily_cap is not None else None,
            "hours_before": {k: float(v) for k, v in self.summary.hours.items()},
            "hours_after": {k: float(v) for k, v in self.hours_after.items()},
            "verified_after": self.verified_after,
            "missing_after": list(self.missing_after),
            "rule": self.summary.rule_name,
        }


def _parse_number(raw: Any, name: str, errors: dict[str, str], required: bool = False) -> Decimal | None:
    if raw in (None, ""):
        if required:
            errors[name] = "请填写"
        return None
    try:
        value = Decimal(str(raw))
    except ArithmeticError:
        errors[name] = "请填写数字"
        return None
    if not value.is_finite() or value < 0 or value > 10000:
        errors[name] = "请填写0到10000之间的数字"
        return None
    return value


def _parse_date(raw: Any, name: str, errors: dict[str, str]) -> date | None:
    if raw in (None, ""):
        return None
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        errors[name] = "日期格式应为 YYYY-MM-DD"
        return None


def precheck(actor: Actor, params: dict[str, Any]) -> Precheck:
    """Before a declaration is submitted: how many hours it would credit and what the year
    would still miss. ``params``: person_id_number (optional), year, subject_type, hours,
    days, start_date, end_date."""
    errors: dict[str, str] = {}
    year_raw = str(params.get("year") or "").strip()
    year = whole_number(year_raw)
    if year is not None and not 1990 <= year <= 2100:
        year = None
    if year is None:
        errors["year"] = "请填写年度（如 2026）"
    subject = params.get("subject_type") or "professional"
    if subject not in SUBJECT_TYPES:
        errors["subject_type"] = "科目类型应为 公需科目、专业科目 或 选修"
    hours = _parse_number(params.get("hours"), "hours", errors, required=True)
    days = _parse_number(params.get("days"), "days", errors)
    start = _parse_date(params.get("start_date"), "start_date", errors)
    end = _parse_date(params.get("end_date"), "end_date", errors)
    if start and end and end < start:
        errors["end_date"] = "结束日期不能早于开始日期"
    person = visible_person(actor, params.get("person_id_number") or None)
    if errors:
        raise ValidationFailed("提交的内容有误，请按提示修改", errors)
    assert year is not None and hours is not None
    summary = year_summary(person, year)
    req = summary.requirement
    assert req is not None
    credited, capped = credit(hours, known_days(days, start, end), req.daily_cap)
    after = dict(summary.hours)
    after[subject] += credited
    after["total"] += credited
    verified_after, missing_after = check(after, req, has_records=True)
    return Precheck(summary=summary, declared_hours=hours, credited_hours=credited, capped=capped,
                    daily_cap=req.daily_cap, hours_after=after, verified_after=verified_after,
                    missing_after=missing_after)
