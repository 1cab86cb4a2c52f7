"""Verification: part of the archive services (see the package docstring)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm.attributes import set_committed_value

from app.archive.models import AnnualVerification, CreditRecord
from app.core.batch import WriteBatch
from app.core.i18n import sentence
from app.core.models import utcnow
from app.extensions import db
from app.people.models import Person

from .hours import RecordLine, _line, credit, fmt_hours, known_days
from .rule import (
    FAIL_LABEL,
    NOT_DUE_LABEL,
    PASS_LABEL,
    PENDING_LABEL,
    SUBJECTS,
    ZERO,
    Requirement,
    RuleUnavailable,
    requirement_for,
)


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

