"""The rule: part of the archive services (see the package docstring)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from app.core.errors import DomainError
from app.core.i18n import sentence
from app.people.models import Person
from app.workflow.decisions import DecisionError, evaluate_decision
from app.workflow.engine import ProcessDefinitionError

DECISION_KEY = "annual_verification"
SUBJECTS = ("public", "professional", "elective")
PASS_LABEL = "合格"
FAIL_LABEL = "不合格"
#: The current (unfinished) year not yet passed: what is still to earn, not a failure.
PENDING_LABEL = sentence("未达标（还差%(need)s学时）")
#: A year before the person registered (or was added by their unit) or started work, without records.
NOT_DUE_LABEL = "不作验证（注册前年度）"
#: The colour of each verdict's badge (Bootstrap text-bg-*).
RESULT_BADGES = {"passed": "success", "pending": "warning", "not_due": "secondary", "failed": "danger"}
#: Where an archive record came from (CreditRecord.source).
SOURCE_LABELS = {
    "declaration": "学时申报",
    "class": "培训班结业",
    "grade": "学员成绩申报",
    "results_report": "成果申报",
    "legacy": "历史数据",
    "online": "线上培训成果",
}
ZERO = Decimal("0")
TENTH = Decimal("0.1")



class RuleUnavailable(DomainError):
    """The annual verification table cannot be used (it fails to parse or to evaluate)."""

    status = 503
    code = "rule_unavailable"


@dataclass(frozen=True)
class Requirement:
    """What the annual rule (the DMN table) asks of one person for one year."""

    rule_name: str
    min_total: Decimal
    min_public: Decimal
    min_professional: Decimal
    min_elective: Decimal
    professional_ratio: Fraction | None
    daily_cap: Decimal | None
    rule_hash: str


def _dec(value: Any) -> Decimal:
    if value in (None, ""):
        return ZERO
    return Decimal(str(value))


def requirement_for(person: Person, year: int) -> Requirement:
    region = (person.unit.region if person.unit is not None else None) or ""
    inputs = {
        "year": int(year),
        "province": region.split("-")[0] or None,
        "region": region or None,
        "title_level": person.title_level,
    }
    try:
        out = evaluate_decision(DECISION_KEY, inputs)
    except (ProcessDefinitionError, DecisionError) as exc:
        raise RuleUnavailable(f"年度验证规则（{DECISION_KEY}.dmn）有误，请联系管理员：{exc}") from None
    ratio_text = str(out.get("professional_ratio") or "").strip()
    try:
        ratio = Fraction(ratio_text) if ratio_text else None
        cap = _dec(out.get("daily_cap"))
        numbers = {k: _dec(out.get(k)) for k in ("min_total", "min_public", "min_professional", "min_elective")}
    except (ValueError, ZeroDivisionError, ArithmeticError):
        raise RuleUnavailable(f"年度验证规则（{DECISION_KEY}.dmn）的输出不是数字或分数（如 90、\"2/3\"）") from None
    return Requirement(
        rule_name=str(out.get("rule_name") or ""),
        min_total=numbers["min_total"],
        min_public=numbers["min_public"],
        min_professional=numbers["min_professional"],
        min_elective=numbers["min_elective"],
        professional_ratio=ratio if ratio else None,
        daily_cap=cap if cap > 0 else None,
        rule_hash=out["_rule_hash"],
    )

