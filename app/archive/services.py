"""Training archive (培训档案) and annual verification (年度验证).

The archive of a person and year is every recognised credit record (whatever its source), the
hours credited by subject type and the verdict of the annual rule. The rule is the DMN table
``processes/annual_verification.dmn``: it answers what the person needs for the year (minimum
hours, professional share, daily cap); this module compares the credited hours with it and says,
in Chinese sentences, what is missing. Results are stored per person and year
(:class:`AnnualVerification`) so lists can filter on them; they are refreshed whenever hours
are recorded and on a recount. Functions never commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_CEILING, Decimal
from fractions import Fraction
from functools import cached_property
from typing import Any

from sqlalchemy import and_, bindparam, false, func, insert, or_, select, update
from sqlalchemy.orm.attributes import set_committed_value

from app.accounts.actor import Actor
from app.accounts.models import Organisation
from app.archive.models import LEARNING_FORMS, SUBJECT_TYPES, AnnualVerification, CreditRecord
from app.core.batch import WriteBatch
from app.core.errors import DomainError, NotFound, ValidationFailed
from app.core.i18n import sentence
from app.core.models import utcnow
from app.core.validators import id_number_error, normalise_id_number, whole_number
from app.extensions import db
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
    "grade": "等级申报",
    "results_report": "成果申报",
}
ZERO = Decimal("0")
TENTH = Decimal("0.1")


# --------------------------------------------------------------------------- the rule


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


# --------------------------------------------------------------------------- hours


def fmt_hours(value: Decimal | Fraction | float | int) -> str:
    """12 → "12", 12.5 → "12.5" (tenths, rounded up so a shortfall is never understated)."""
    d = Decimal(value.numerator) / Decimal(value.denominator) if isinstance(value, Fraction) else Decimal(str(value))
    d = d.quantize(TENTH, rounding=ROUND_CEILING)
    return f"{d:f}".rstrip("0").rstrip(".") if "." in f"{d:f}" else f"{d:f}"


def known_days(days: Decimal | float | int | None, start: date | None, end: date | None) -> Decimal | None:
    """Training days when known: the declared number, else the calendar span of the dates."""
    if days not in (None, ""):
        return Decimal(str(days))
    if start is not None and end is not None and end >= start:
        return Decimal((end - start).days + 1)
    return None


def credit(hours: Decimal, days: Decimal | None, cap: Decimal | None) -> tuple[Decimal, bool]:
    """Hours credited for one record: at most ``cap`` per training day where days are known."""
    if cap is None or days is None or days <= 0:
        return hours, False
    limit = cap * days
    return (limit, True) if hours > limit else (hours, False)


@dataclass
class RecordLine:
    id: int | None
    source: str
    source_label: str
    source_id: int | None
    course_name: str
    subject_type: str
    subject_label: str
    learning_form: str | None
    learning_form_label: str
    start_date: date | None
    end_date: date | None
    days: Decimal | None
    institution_name: str | None
    declared_hours: Decimal
    recognised_hours: Decimal
    credited_hours: Decimal
    capped: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "source": self.source, "source_label": self.source_label, "source_id": self.source_id,
            "course_name": self.course_name, "subject_type": self.subject_type,
            "learning_form": self.learning_form,
            "start_date": self.start_date.isoformat() if self.start_date else None,
            "end_date": self.end_date.isoformat() if self.end_date else None,
            "days": float(self.days) if self.days is not None else None,
            "institution_name": self.institution_name,
            "declared_hours": float(self.declared_hours), "recognised_hours": float(self.recognised_hours),
            "credited_hours": float(self.credited_hours), "capped": self.capped,
        }


def _line(record: CreditRecord, cap: Decimal | None) -> RecordLine:
    days = known_days(record.days, record.start_date, record.end_date)
    credited, capped = credit(Decimal(record.recognised_hours), days, cap)
    return RecordLine(
        id=record.id, source=record.source, source_label=SOURCE_LABELS.get(record.source, record.source),
        source_id=record.source_id, course_name=record.course_name, subject_type=record.subject_type,
        subject_label=SUBJECT_TYPES.get(record.subject_type, record.subject_type),
        learning_form=record.learning_form,
        learning_form_label=LEARNING_FORMS.get(record.learning_form or "", record.learning_form or ""),
        start_date=record.start_date, end_date=record.end_date, days=days,
        institution_name=record.institution_name, declared_hours=Decimal(record.declared_hours),
        recognised_hours=Decimal(record.recognised_hours), credited_hours=credited, capped=capped,
    )


# --------------------------------------------------------------------------- verification


def _professional_needed(p: Fraction, t: Fraction, req: Requirement) -> Fraction:
    """Fewest extra professional hours after which the professional minimum and share hold
    (other hours may still be needed to reach the total)."""
    need = max(Fraction(0), Fraction(req.min_professional) - p)
    r = req.professional_ratio
    if r is not None and r > 0:
        m = Fraction(req.min_total)
        if r >= 1:
            x = max(Fraction(0), max(m, t) - p) if p < t or t < m else Fraction(0)
        else:
            x = max(Fraction(0), r * m - p)
            if t + x > m:
                x = max(Fraction(0), (r * t - p) / (1 - r))
        need = max(need, x)
    return need


# What is missing, stored in Chinese; pages translate the sentences with |tr (app.core.i18n.sentence).
MISSING_TOTAL = sentence("总学时还差%(need)s学时（已计入%(done)s学时，要求不少于%(min)s学时）")
MISSING_PUBLIC = sentence("公需科目还差%(need)s学时（已计入%(done)s学时，要求不少于%(min)s学时）")
MISSING_ELECTIVE = sentence("选修还差%(need)s学时（已计入%(done)s学时，要求不少于%(min)s学时）")
MISSING_PROFESSIONAL = sentence("专业科目还差%(need)s学时（已计入%(done)s学时，要求%(rule)s）")
MISSING_RULE = sentence("未达到年度验证规则：%(rule)s")
RULE_HOURS = "不少于%(hours)s学时"
RULE_SHARE = "不少于总学时的%(ratio)s"
RULE_AND = "且"
sentence("不少于%(hours)s学时且不少于总学时的%(ratio)s")
sentence(RULE_HOURS)
sentence(RULE_SHARE)


def check(hours: dict[str, Decimal], req: Requirement, has_records: bool = True) -> tuple[bool, list[str]]:
    """Compare credited hours with the requirement: (verified, what is missing in Chinese)."""
    t, pub, p, el = (Fraction(hours[k]) for k in ("total", "public", "professional", "elective"))
    missing: list[str] = []
    if not has_records:
        missing.append("本年度没有已认定的学时记录")
    if t < Fraction(req.min_total):
        missing.append(MISSING_TOTAL % {"need": fmt_hours(Fraction(req.min_total) - t), "done": fmt_hours(t),
                                        "min": fmt_hours(req.min_total)})
    if pub < Fraction(req.min_public):
        missing.append(MISSING_PUBLIC % {"need": fmt_hours(Fraction(req.min_public) - pub), "done": fmt_hours(pub),
                                         "min": fmt_hours(req.min_public)})
    share_ok = req.professional_ratio is None or p >= req.professional_ratio * t
    if p < Fraction(req.min_professional) or not share_ok or (
            req.professional_ratio is not None and t < Fraction(req.min_total)
            and p < req.professional_ratio * Fraction(req.min_total)):
        need = _professional_needed(p, t, req)
        if need > 0:
            rule = []
            if req.min_professional > 0:
                rule.append(RULE_HOURS % {"hours": fmt_hours(req.min_professional)})
            if req.professional_ratio is not None:
                rule.append(RULE_SHARE % {"ratio": req.professional_ratio})
            missing.append(MISSING_PROFESSIONAL % {"need": fmt_hours(need), "done": fmt_hours(p),
                                                   "rule": RULE_AND.join(rule)})
    if el < Fraction(req.min_elective):
        missing.append(MISSING_ELECTIVE % {"need": fmt_hours(Fraction(req.min_elective) - el), "done": fmt_hours(el),
                                           "min": fmt_hours(req.min_elective)})
    verified = (t >= Fraction(req.min_total) and pub >= Fraction(req.min_public)
                and p >= Fraction(req.min_professional) and el >= Fraction(req.min_elective) and share_ok)
    if verified:
        missing = []
    elif not missing:
        missing.append(MISSING_RULE % {"rule": req.rule_name})
    return verified, missing


def shortfall(hours: dict[str, Decimal], req: Requirement) -> Fraction:
    """The fewest further hours after which the year passes: the total still missing, or what the
    subjects still miss together when that is more."""
    t, pub, p, el = (Fraction(hours[k]) for k in ("total", "public", "professional", "elective"))
    by_subject = (max(Fraction(0), Fraction(req.min_public) - pub) + _professional_needed(p, t, req)
                  + max(Fraction(0), Fraction(req.min_elective) - el))
    return max(Fraction(req.min_total) - t, by_subject, Fraction(0))


def first_due_year(person: Person) -> int:
    """The first year whose hours count: the year the person registered (or their unit added them), or the
    year they started work when that is later."""
    years = [person.created_at.year] if person.created_at is not None else []
    if person.work_start_date is not None:
        years.append(person.work_start_date.year)
    return max(years, default=0)


def verdict(person: Person, year: int, verified: bool, has_records: bool,
            need: Fraction | None = None, today: date | None = None) -> tuple[str, str]:
    """(status, label) of a year: ``passed`` 合格; ``pending`` for the current year (未达标，还差 N 学时);
    ``not_due`` for a year without records before the person registered or started work; else ``failed``."""
    if verified:
        return "passed", PASS_LABEL
    if int(year) >= (today or date.today()).year:
        return "pending", PENDING_LABEL % {"need": fmt_hours(need or 0)}
    if not has_records and int(year) < first_due_year(person):
        return "not_due", NOT_DUE_LABEL
    return "failed", FAIL_LABEL


def _hours(lines: list[RecordLine], base: dict[str, Decimal] | None = None) -> dict[str, Decimal]:
    """Credited hours per subject and in total: of ``lines``, added to ``base`` (hours already counted)."""
    hours = {k: (base or {}).get(k, ZERO) for k in SUBJECTS}
    for line in lines:
        key = line.subject_type if line.subject_type in hours else "elective"
        hours[key] += line.credited_hours
    hours["total"] = sum((hours[k] for k in SUBJECTS), ZERO)
    return hours


@dataclass
class YearSummary:
    person: Person
    year: int
    hours: dict[str, Decimal]
    verified: bool
    result_label: str
    missing: list[str]
    records: list[RecordLine] = field(default_factory=list)
    rule_name: str = ""
    rule_hash: str = ""
    requirement: Requirement | None = None
    #: All the year's records (``records`` may be one page of them).
    records_total: int = 0
    #: passed / pending / not_due / failed (see :func:`verdict`)
    status: str = "failed"

    def to_dict(self) -> dict[str, Any]:
        """The archive as design §3 answers it."""
        return {
            "person": {"name": self.person.name, "id_number": self.person.id_number,
                       "gender": self.person.gender, "title_level": self.person.title_level,
                       "unit": self.person.unit.name if self.person.unit else None},
            "year": self.year,
            "hours": {k: float(v) for k, v in self.hours.items()},
            "verified": self.verified,
            "result": self.result_label,
            "missing": list(self.missing),
            "rule": self.rule_name,
            "records": [r.to_dict() for r in self.records],
        }


def records_for(person: Person, year: int) -> list[CreditRecord]:
    return list(db.session.scalars(_records_stmt(person, year)))


def year_summary(person: Person, year: int, page: tuple[int, int] | None = None) -> YearSummary:
    """The person's archive for ``year``, verified against the current annual rule (no writes).

    ``page`` (page number, records per page): ``records`` holds that page only (``records_total`` counts them
    all); the hours are still those of every record, added up from five columns instead of whole rows."""
    req = requirement_for(person, year)
    if page is None:
        lines = [_line(r, req.daily_cap) for r in records_for(person, year)]
        hours, total = _hours(lines), len(lines)
    else:
        hours, total = _hours_of_columns(person, year, req.daily_cap)
        number, size = page
        lines = [_line(r, req.daily_cap) for r in db.session.scalars(
            _records_stmt(person, year).offset((number - 1) * size).limit(size))]
    verified, missing = check(hours, req, has_records=total > 0)
    status, label = verdict(person, year, verified, total > 0, shortfall(hours, req))
    return YearSummary(person=person, year=int(year), hours=hours, verified=verified, result_label=label,
                       missing=[] if status == "not_due" else missing, records=lines, rule_name=req.rule_name,
                       rule_hash=req.rule_hash, requirement=req, records_total=total, status=status)


def _records_stmt(person: Person, year: int):  # noqa: ANN202
    return (select(CreditRecord).where(CreditRecord.person_id == person.id, CreditRecord.year == year)
            .order_by(CreditRecord.start_date.is_(None), CreditRecord.start_date, CreditRecord.id))


def _hours_of_columns(person: Person, year: int, cap: Decimal | None) -> tuple[dict[str, Decimal], int]:
    """Credited hours of all the year's records (as :func:`_line` credits each) and how many there are."""
    hours = {k: ZERO for k in SUBJECTS}
    n = 0
    for subject, recognised, days, start, end in db.session.execute(
            select(CreditRecord.subject_type, CreditRecord.recognised_hours, CreditRecord.days,
                   CreditRecord.start_date, CreditRecord.end_date)
            .where(CreditRecord.person_id == person.id, CreditRecord.year == year)):
        credited, _capped = credit(Decimal(recognised), known_days(days, start, end), cap)
        hours[subject if subject in hours else "elective"] += credited
        n += 1
    hours["total"] = sum((hours[k] for k in SUBJECTS), ZERO)
    return hours, n


def _stored_values(hours: dict[str, Decimal], verified: bool, missing: list[str], req: Requirement
                   ) -> dict[str, Any]:
    return {"verified": verified, "public_hours": hours["public"], "professional_hours": hours["professional"],
            "elective_hours": hours["elective"], "total_hours": hours["total"], "missing": list(missing),
            "rule_name": req.rule_name[:200], "rule_hash": req.rule_hash, "verified_at": utcnow()}


def _store(row: AnnualVerification, hours: dict[str, Decimal], verified: bool, missing: list[str],
           req: Requirement) -> AnnualVerification:
    for name, value in _stored_values(hours, verified, missing, req).items():
        setattr(row, name, value)
    db.session.flush()
    return row


def verify_year(person: Person, year: int) -> AnnualVerification:
    """Verify the year now and store the result (insert or update); flushes, never commits.

    The stored row is locked before the records are read, so an approval adding a record to it at the
    same moment (:func:`verify_after_new_record`) is either counted here or adds to what this stores."""
    row = db.session.scalar(select(AnnualVerification).where(AnnualVerification.person_id == person.id,
                                                             AnnualVerification.year == year).with_for_update())
    summary = year_summary(person, year)
    if row is None:
        row = AnnualVerification(person_id=person.id, year=int(year))
        db.session.add(row)
    assert summary.requirement is not None
    return _store(row, summary.hours, summary.verified, summary.missing, summary.requirement)


#: The stored verification of a person's year, with the person (one statement); the locked form for PostgreSQL.
_ROW_AND_PERSON = (select(AnnualVerification, Person).join(Person, Person.id == AnnualVerification.person_id)
                   .where(AnnualVerification.person_id == bindparam("b_person"),
                          AnnualVerification.year == bindparam("b_year"))
                   .execution_options(populate_existing=True))
_ROW_AND_PERSON_LOCKED = _ROW_AND_PERSON.with_for_update(of=AnnualVerification)


def _stored_row_and_person(person_id: int, year: int) -> tuple[AnnualVerification, Person] | None:
    """The stored verification of the person's year with the person, in one read; locked on PostgreSQL and
    read fresh (populate_existing: the values under the lock, not those of an earlier read in this session)."""
    postgres = db.session.get_bind().dialect.name == "postgresql"
    found = db.session.execute(_ROW_AND_PERSON_LOCKED if postgres else _ROW_AND_PERSON,
                               {"b_person": person_id, "b_year": year}).one_or_none()
    return (found[0], found[1]) if found is not None else None

#: What :func:`_store` writes, as one Core UPDATE (built once) for a write batch.
_STORED_COLUMNS = ("verified", "public_hours", "professional_hours", "elective_hours", "total_hours", "missing",
                   "rule_name", "rule_hash", "verified_at")
_UPDATE_STORED = (update(AnnualVerification.__table__)
                  .where(AnnualVerification.__table__.c.id == bindparam("b_id"))
                  .values({name: bindparam(f"v_{name}") for name in _STORED_COLUMNS}))


def verify_after_new_record(record: CreditRecord) -> AnnualVerification:
    """Store the verification of ``record``'s year after ``record`` was added to its person's
    archive, without re-reading the year's other records: hours are additive, so the record's
    credited hours are added to the stored row (locked on PostgreSQL, so that concurrent approvals
    for the same person add up instead of one overwriting the other) and the rule is checked again.

    Falls back to the full :func:`verify_year` when the stored row cannot be trusted to be the sum
    the current rule would give: no row yet, another table (``rule_hash``) or another rule of it
    (``rule_name``: the person's region or title changed, so the daily cap may differ), or a daily cap
    with a fraction of an hour (its products are finer than the stored tenths of an hour). The result
    is what :func:`verify_year` would store. ``record`` is already stored (:func:`add_record` adds and
    verifies in one go). Flushes, never commits; may raise :class:`RuleUnavailable`."""
    year = int(record.year)
    found = _stored_row_and_person(record.person_id, year)
    if found is None:
        person = db.session.get(Person, record.person_id)
        assert person is not None, "a credit record of an unknown person"
        if db.session.get_bind().dialect.name == "postgresql":
            # The person's first verification of the year: one inserter at a time per person (the row lock
            # above cannot serialize an insert); a concurrent one waits here and then sees the row. FOR NO
            # KEY UPDATE: the credit_record insert already holds a KEY SHARE lock on the person, FOR UPDATE
            # would deadlock.
            db.session.execute(select(Person.id).where(Person.id == person.id).with_for_update(key_share=True))
        return verify_year(person, year)
    row, person = found
    req = requirement_for(person, year)
    if not _adds_up(row, req):
        return verify_year(person, year)
    return _add_hours(row, record, req, None)


def _adds_up(row: AnnualVerification, req: Requirement) -> bool:
    """Can ``record``'s hours simply be added to the stored ``row``? Only when the row is the sum the rule
    ``req`` would give: same table, same rule of it, and no daily cap finer than the stored tenths."""
    return (row.rule_hash == req.rule_hash and (row.rule_name or "") == req.rule_name[:200]
            and (req.daily_cap is None or req.daily_cap == req.daily_cap.to_integral_value()))


def _add_hours(row: AnnualVerification, record: CreditRecord, req: Requirement, writes: WriteBatch | None
               ) -> AnnualVerification:
    """Add ``record``'s credited hours to the stored ``row`` and check the rule again: flushed, or with
    ``writes`` an UPDATE in the batch (the returned row already shows the new values)."""
    stored = {"public": Decimal(row.public_hours), "professional": Decimal(row.professional_hours),
              "elective": Decimal(row.elective_hours)}
    hours = _hours([_line(record, req.daily_cap)], base=stored)
    verified, missing = check(hours, req, has_records=True)
    if writes is None:
        return _store(row, hours, verified, missing, req)
    values = _stored_values(hours, verified, missing, req)
    writes.add(_UPDATE_STORED, {"b_id": row.id, **{f"v_{k}": v for k, v in values.items()}})
    for name, value in values.items():   # the loaded row shows what the batch will write
        set_committed_value(row, name, value)
    return row


#: A new credit record, every column given (so it can join a write batch).
_INSERT_RECORD = insert(CreditRecord.__table__)


def add_record(record: CreditRecord, writes: WriteBatch | None = None) -> AnnualVerification:
    """Add ``record`` (new, not stored yet) to its person's archive and bring the stored verification of its
    year up to date, as :func:`verify_after_new_record` does.

    Where the stored row can simply be added to (it exists and was computed by the current rule), the
    record's INSERT and the row's UPDATE both go into ``writes``, the action's write batch: the final
    approval then reads one row (locked, with the person) and writes nothing on its own. Otherwise the
    record is inserted at once and :func:`verify_after_new_record` recounts. The record is stored in every
    case, even when the rule table is broken (then :class:`RuleUnavailable` follows the INSERT)."""
    values = {c.key: getattr(record, c.key) for c in CreditRecord.__table__.columns if c.key != "id"}
    values["created_at"] = values["created_at"] or utcnow()
    if writes is not None:
        found = _stored_row_and_person(record.person_id, int(record.year))
        if found is not None:
            row, person = found
            try:
                req = requirement_for(person, int(record.year))
            except RuleUnavailable:
                req = None   # the recount below raises it again, after the INSERT
            if req is not None and _adds_up(row, req):
                writes.add(_INSERT_RECORD, values)
                return _add_hours(row, record, req, writes)
    db.session.execute(_INSERT_RECORD, values)
    return verify_after_new_record(record)


def stored_verification(person: Person, year: int) -> AnnualVerification | None:
    return db.session.scalar(select(AnnualVerification).where(AnnualVerification.person_id == person.id,
                                                              AnnualVerification.year == year))


# --------------------------------------------------------------------------- scope


def person_scope_condition(actor: Actor):
    """SQL condition: persons the actor may see (themself, or staff of units in their subtree)."""
    conds = [Person.user_id == actor.id]
    roots = actor.staff_roots
    if roots:
        sub = select(Organisation.id).where(or_(*[Organisation.path.startswith(o.path) for o in roots]))
        conds.append(Person.unit_id.in_(sub))
    return or_(*conds)


def can_see_person(actor: Actor, person: Person) -> bool:
    return person.user_id == actor.id or actor.sees_staff_of(person.unit)


def visible_person(actor: Actor, id_number: str | None) -> Person:
    """The person with that ID number if the actor may see them; the actor's own profile when
    no ID number is given; otherwise 404."""
    if not id_number:
        person = actor.person
        if person is None:
            raise ValidationFailed("请求参数有误", {"person_id_number": "请填写人员的公民身份号码"})
    else:
        if err := id_number_error(id_number.strip()):  # say which rule failed (design §4), not "not found"
            raise ValidationFailed("请求参数有误", {"person_id_number": err})
        person = db.session.scalar(select(Person).where(Person.id_number == normalise_id_number(id_number)))
    if person is None or not can_see_person(actor, person):
        raise NotFound("未找到该人员的培训档案，或您无权查看")
    return person


def archive_for(actor: Actor, id_number: str | None, year: int, page: tuple[int, int] | None = None) -> YearSummary:
    return year_summary(visible_person(actor, id_number), year, page)


def years_of(person: Person) -> list[int]:
    """Years with recognised records or a stored verification, newest first."""
    years = set(db.session.scalars(select(CreditRecord.year).where(CreditRecord.person_id == person.id).distinct()))
    years |= set(db.session.scalars(select(AnnualVerification.year)
                                    .where(AnnualVerification.person_id == person.id)))
    return sorted(years, reverse=True)


# --------------------------------------------------------------------------- search (units, departments, bureaus)


@dataclass
class ArchiveRow:
    person: Person
    unit_name: str | None
    region: str | None
    year: int
    verification: AnnualVerification | None

    @property
    def verified(self) -> bool:
        return bool(self.verification and self.verification.verified)

    @property
    def status(self) -> str:
        return self._verdict[0]

    @property
    def result_label(self) -> str:
        return self._verdict[1]

    @cached_property
    def _verdict(self) -> tuple[str, str]:
        v = self.verification
        need = None
        if not self.verified and self.year >= date.today().year:  # only the current year says what is left
            hours = {"public": v.public_hours, "professional": v.professional_hours, "elective": v.elective_hours,
                     "total": v.total_hours} if v is not None else dict.fromkeys(("public", "professional",
                                                                                  "elective", "total"), ZERO)
            need = shortfall(hours, requirement_for(self.person, self.year))
        return verdict(self.person, self.year, self.verified, v is not None and v.total_hours > 0, need)

    @property
    def total_hours(self) -> Decimal:
        return self.verification.total_hours if self.verification else ZERO

    @property
    def missing(self) -> list[str]:
        if self.status == "not_due":
            return []
        if self.verification is None:
            return ["本年度没有已认定的学时记录"]
        return list(self.verification.missing or [])


@dataclass
class ArchivePage:
    items: list[ArchiveRow]
    total: int
    page: int
    per_page: int
    #: Pass as ``after`` to get the next page by key (None on the last page).
    next_after: int | None = None

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def search(actor: Actor, *, year: int, name: str | None = None, id_number: str | None = None,
           region: str | None = None, title_level: str | None = None, verified: bool | None = None,
           gender: str | None = None, page: int = 1, per_page: int = 20,
           after: int | None = None, org_id: int | None = None, title_series: str | None = None) -> ArchivePage:
    """Archives of the persons in the actor's scope for one year, with the stored verification.

    Ordered by person id; ``after`` (the last person id of the previous page) pages by key,
    which stays fast on deep pages, instead of ``page``. ``org_id`` keeps the staff of that organisation and
    those below it (the drill-down of the statistics)."""
    av = AnnualVerification
    stmt = (select(Person, Organisation, av)
            .join(Organisation, Organisation.id == Person.unit_id, isouter=True)
            .join(av, and_(av.person_id == Person.id, av.year == year), isouter=True)
            .where(person_scope_condition(actor)))
    if name:
        stmt = stmt.where(Person.name.contains(name.strip(), autoescape=True))
    if id_number:
        stmt = stmt.where(Person.id_number.startswith(id_number.strip().upper(), autoescape=True))
    if region:
        stmt = stmt.where(Organisation.region.startswith(region.strip(), autoescape=True))
    if title_level:
        stmt = stmt.where(Person.title_level == title_level)
    if title_series:
        stmt = stmt.where(Person.title_series == title_series)
    if org_id is not None:
        below = db.session.scalar(select(Organisation.path).where(Organisation.id == org_id))
        stmt = stmt.where(Organisation.path.startswith(below) if below else false())
    if gender:
        stmt = stmt.where(Person.gender == gender)
    if verified is True:
        stmt = stmt.where(av.verified.is_(True))
    elif verified is False:
        stmt = stmt.where(or_(av.id.is_(None), av.verified.is_(False)))
    total = db.session.scalar(select(func.count()).select_from(stmt.with_only_columns(Person.id).subquery()))
    page = max(1, page)
    if after is not None:
        stmt = stmt.where(Person.id > after)
    else:
        stmt = stmt.offset((page - 1) * per_page)
    rows = db.session.execute(stmt.order_by(Person.id).limit(per_page)).all()
    items = [ArchiveRow(person=p, unit_name=o.name if o else None, region=o.region if o else None, year=year,
                        verification=v) for p, o, v in rows]
    return ArchivePage(items, total or 0, page, per_page,
                       next_after=items[-1].person.id if len(items) == per_page else None)


# --------------------------------------------------------------------------- recount


def recount(year: int, *, actor: Actor | None = None, person_ids: list[int] | None = None) -> int:
    """重新统计学时: re-verify ``year`` for the persons in the actor's scope (all persons when no
    actor is given, e.g. from the CLI) and store the results. Returns how many were verified."""
    stmt = select(Person)
    if actor is not None:
        stmt = stmt.where(person_scope_condition(actor))
    if person_ids is not None:
        stmt = stmt.where(Person.id.in_(person_ids))
    count = 0
    for person in db.session.scalars(stmt.order_by(Person.id)).all():
        verify_year(person, year)
        count += 1
    return count


# --------------------------------------------------------------------------- pre-check


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

