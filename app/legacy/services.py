"""历史数据绑定 and 历史数据管理: a unit claims an old unit of the legacy data, its people become the unit's
professionals with their old records in the archive (marked 历史数据), and their legacy certificates can be
looked up and printed. Services take the actor and never commit.

Claiming (Guangdong 004 §1.10): when the current unit's name and code are the old unit's, the data is taken
directly; otherwise 方案一 names the old unit and its code, or 方案二 three people of the old unit with their
ID numbers. An old unit is claimed once: another unit's claim of it is refused, and a person already employed
elsewhere on the platform stays there (their old records still join their own archive).

Who: administrators of an employer unit, or sub-administrators whose role holds 人员管理 (``people``), for
that unit. Legacy certificates are seen by the person and by those who see the person's archive."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from app.accounts.actor import Actor
from app.accounts.models import Organisation, OrgKind, Role
from app.archive.models import CreditRecord
from app.archive.services import RuleUnavailable, verify_year
from app.audit import services as audit
from app.certificates.services import Verification, mask_name
from app.core.errors import InvalidState, NotFound, ValidationFailed
from app.core.models import utcnow
from app.core.sorting import Sort, order_clauses
from app.core.validators import id_number_error, mask_id_number, normalise_id_number
from app.extensions import db
from app.people import services as people
from app.people.models import Person

from .models import LegacyCertificate, LegacyPerson, LegacyRecord, LegacyUnit

#: Who issued the old system's certificates, as the verification page and the printed certificate name it.
LEGACY_ISSUER = "原继续教育管理系统"

MODULE = "people"
INVALID = "提交的内容有误，请按提示修改"
SOURCE = "legacy"
NOT_MATCHED = "未找到与之对应的旧系统单位，请核对后重试，或改用方案二"
PEOPLE_NOT_MATCHED = "三名旧系统学员的姓名与公民身份号码未能对应到同一个旧系统单位，请核对后重试"
CERT_NOT_FOUND = "历史证书不存在或不在您的管理范围内"

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- who may claim


def claiming_units(actor: Actor) -> list[Organisation]:
    """The employer units the actor may claim legacy data for."""
    return [
        m.organisation
        for m in actor.memberships
        if m.role in (Role.ADMIN, Role.SUB_ADMIN) and m.can(MODULE) and m.organisation.kind == OrgKind.EMPLOYER_UNIT
    ]


def claiming_unit(actor: Actor, unit_id: Any) -> Organisation:
    units = claiming_units(actor)
    if unit_id in (None, "") and len(units) == 1:
        return units[0]
    for unit in units:
        if str(unit.id) == str(unit_id):
            return unit
    raise NotFound(_("单位不存在或不在您的管理范围内"))


def claims_of(actor: Actor) -> list[LegacyUnit]:
    """The old units claimed by the actor's units, or by units below the organisations they manage."""
    tops = people.roots(actor)
    if not tops:
        return []
    sub = select(Organisation.id).where(or_(*[Organisation.path.startswith(o.path, autoescape=True) for o in tops]))
    return list(
        db.session.scalars(
            select(LegacyUnit)
            .where(LegacyUnit.claimed_by_org_id.in_(sub))
            .order_by(LegacyUnit.claimed_at.desc())
            .limit(200)
        )
    )


def people_count(unit_ids: list[int]) -> dict[int, int]:
    if not unit_ids:
        return {}
    rows = db.session.execute(
        select(LegacyPerson.legacy_unit_id, func.count())
        .where(LegacyPerson.legacy_unit_id.in_(unit_ids))
        .group_by(LegacyPerson.legacy_unit_id)
    )
    return {u: n for u, n in rows}


# --------------------------------------------------------------------------- claiming


@dataclass
class ClaimResult:
    legacy_unit: LegacyUnit
    method: str
    #: People who became (or already were) the unit's professionals.
    joined: list[Person] = field(default_factory=list)
    #: People employed by another unit on the platform: they stay there; their old records joined their archive.
    elsewhere: list[Person] = field(default_factory=list)
    records: int = 0


def _codes_of(org: Organisation) -> set[str]:
    """The codes the old system may have known the unit by: its USCC, and the organisation code inside it."""
    if not org.uscc:
        return set()
    uscc = org.uscc.upper()
    return {uscc, uscc[8:17]}


def claim(actor: Actor, unit_id: Any, method: str, data: dict[str, Any]) -> ClaimResult:
    """Claim an old unit for the actor's unit ``unit_id``: ``method`` is ``direct`` (the unit's own name and
    code), ``unit_code`` (方案一: ``old_unit_name``, ``old_unit_code``) or ``people`` (方案二: ``people``, three
    ``{"name", "id_number"}``)."""
    org = claiming_unit(actor, unit_id)
    if method == "direct":
        codes = _codes_of(org)
        legacy = (
            db.session.scalar(select(LegacyUnit).where(LegacyUnit.name == org.name, LegacyUnit.code.in_(codes)))
            if codes
            else None
        )
        if legacy is None:
            raise ValidationFailed(_("本单位的名称与代码在旧系统中没有对应的单位，请选择方案一或方案二绑定"), {})
    elif method == "unit_code":
        legacy = _by_unit_code(data)
    elif method == "people":
        legacy = _by_people(data)
    else:
        raise ValidationFailed(INVALID, {"method": _("请选择绑定方式")})
    if legacy.claimed_by_org_id == org.id:
        raise InvalidState(_("本单位已绑定该旧系统单位的历史数据"))
    if legacy.claimed_by_org_id is not None:
        raise InvalidState(_("该旧系统单位的历史数据已由其他单位绑定，不能重复绑定；如有疑问请联系主管部门或人社部门"))
    # one claim at a time per old unit: the row lock (PostgreSQL) makes a concurrent second claim wait, then fail
    locked = db.session.scalar(
        select(LegacyUnit).where(LegacyUnit.id == legacy.id).with_for_update().execution_options(populate_existing=True)
    )
    if locked is None or locked.claimed_by_org_id is not None:
        raise InvalidState(_("该旧系统单位的历史数据已由其他单位绑定，不能重复绑定；如有疑问请联系主管部门或人社部门"))
    result = _apply(actor, org, locked, method)
    audit.record(
        "legacy.claim",
        actor=actor,
        obj=locked,
        org_id=org.id,
        details={
            "legacy_unit": locked.name,
            "code": locked.code,
            "method": method,
            "people": len(result.joined),
            "elsewhere": len(result.elsewhere),
            "records": result.records,
        },
    )
    return result


def _by_unit_code(data: dict[str, Any]) -> LegacyUnit:
    name = str(data.get("old_unit_name") or "").strip()
    code = str(data.get("old_unit_code") or "").strip().upper()
    errors = {}
    if not name:
        errors["old_unit_name"] = _("请填写旧系统单位名称")
    if not code:
        errors["old_unit_code"] = _("请填写旧系统单位代码")
    if errors:
        raise ValidationFailed(INVALID, errors)
    legacy = db.session.scalar(select(LegacyUnit).where(LegacyUnit.code == code[:32], LegacyUnit.name == name[:200]))
    if legacy is None:
        raise ValidationFailed(_(NOT_MATCHED), {"old_unit_code": _(NOT_MATCHED)})
    return legacy


def _by_people(data: dict[str, Any]) -> LegacyUnit:
    given = data.get("people")
    if not isinstance(given, list):
        given = []
    errors: dict[str, str] = {}
    pairs: list[tuple[str, str]] = []
    for i in range(3):
        item = given[i] if i < len(given) and isinstance(given[i], dict) else {}
        name = str(item.get("name") or "").strip()
        raw = str(item.get("id_number") or "").strip()
        if not name:
            errors[f"people.{i}.name"] = _("请填写旧系统学员%(n)s姓名", n=i + 1)
        if not raw:
            errors[f"people.{i}.id_number"] = _("请填写旧系统学员%(n)s身份证", n=i + 1)
        elif err := id_number_error(raw):
            errors[f"people.{i}.id_number"] = err
        else:
            pairs.append((name, normalise_id_number(raw)))
    if not errors and len({p[1] for p in pairs}) < 3:
        errors["people.2.id_number"] = _("请填写三名不同的旧系统学员")
    if errors:
        raise ValidationFailed(INVALID, errors)
    candidates: set[int] | None = None
    for name, id_number in pairs:
        units = set(
            db.session.scalars(
                select(LegacyPerson.legacy_unit_id).where(
                    LegacyPerson.id_number == id_number, LegacyPerson.name == name[:100]
                )
            )
        )
        candidates = units if candidates is None else candidates & units
    if not candidates or len(candidates) != 1:
        raise ValidationFailed(_(PEOPLE_NOT_MATCHED), {"people": _(PEOPLE_NOT_MATCHED)})
    legacy = db.session.get(LegacyUnit, next(iter(candidates)))
    assert legacy is not None
    return legacy


def _gender(id_number: str) -> str:
    return "男" if int(id_number[16]) % 2 else "女"


def _apply(actor: Actor, org: Organisation, legacy: LegacyUnit, method: str) -> ClaimResult:
    legacy.claimed_by_org_id, legacy.claimed_by_id, legacy.claimed_at = org.id, actor.id, utcnow()
    legacy.claim_method = method
    result = ClaimResult(legacy, method)
    members = list(
        db.session.scalars(
            select(LegacyPerson).where(LegacyPerson.legacy_unit_id == legacy.id).order_by(LegacyPerson.id)
        )
    )
    for lp in members:
        person = people.existing_person(lp.id_number)
        if person is None:
            person = people.create(
                org.id, {"name": lp.name, "id_number": lp.id_number, "gender": _gender(lp.id_number)}
            )
        elif person.unit_id is None:
            person.unit_id = org.id
            if person.user_id is not None:
                people.join_unit(person.user_id, org.id)
        (result.joined if person.unit_id == org.id else result.elsewhere).append(person)
        lp.person_id, lp.claimed_at = person.id, utcnow()
        db.session.flush()
        result.records += bring_into_archive(lp)
    db.session.flush()
    return result


def bring_into_archive(lp: LegacyPerson) -> int:
    """The legacy person's records not yet in their archive go there (``source = 'legacy'``) and the years
    they touch are verified again; how many records were added."""
    if lp.person_id is None:
        return 0
    done = select(CreditRecord.source_id).where(CreditRecord.source == SOURCE, CreditRecord.person_id == lp.person_id)
    records = list(
        db.session.scalars(
            select(LegacyRecord)
            .where(LegacyRecord.legacy_person_id == lp.id, LegacyRecord.id.not_in(done))
            .order_by(LegacyRecord.id)
        )
    )
    for rec in records:
        db.session.add(
            CreditRecord(
                person_id=lp.person_id,
                year=rec.year,
                subject_type=rec.subject_type,
                course_name=rec.course_name,
                declared_hours=rec.hours,
                recognised_hours=rec.hours,
                source=SOURCE,
                source_id=rec.id,
            )
        )
    db.session.flush()
    person = db.session.get(Person, lp.person_id)
    assert person is not None
    for year in sorted({r.year for r in records}):
        try:
            verify_year(person, year)
        except RuleUnavailable:  # the records are stored; a recount verifies them once the table is fixed
            log.exception("annual verification skipped for legacy records of person %s, %s", person.id, year)
    return len(records)


# --------------------------------------------------------------------------- certificates


@dataclass
class LegacyCertificateRow:
    certificate: LegacyCertificate
    person: Person
    unit_name: str
    hours: dict[str, Decimal]

    @property
    def number(self) -> str:
        return self.certificate.number

    @property
    def year(self) -> int:
        return self.certificate.year


def _scope_condition(actor: Actor):  # noqa: ANN202
    conds = [Person.user_id == actor.id]
    roots = actor.staff_roots
    if roots:
        sub = select(Organisation.id).where(
            or_(*[Organisation.path.startswith(o.path, autoescape=True) for o in roots])
        )
        conds.append(Person.unit_id.in_(sub))
    return or_(*conds)


def _hours(pairs: list[tuple[int, int]]) -> dict[tuple[int, int], dict[str, Decimal]]:
    """Hours by subject of each (legacy person, year)."""
    out: dict[tuple[int, int], dict[str, Decimal]] = defaultdict(
        lambda: {"public": Decimal(0), "professional": Decimal(0), "elective": Decimal(0), "total": Decimal(0)}
    )
    if not pairs:
        return out
    ids = {p for p, _y in pairs}
    rows = db.session.execute(
        select(
            LegacyRecord.legacy_person_id, LegacyRecord.year, LegacyRecord.subject_type, func.sum(LegacyRecord.hours)
        )
        .where(LegacyRecord.legacy_person_id.in_(ids))
        .group_by(LegacyRecord.legacy_person_id, LegacyRecord.year, LegacyRecord.subject_type)
    )
    for pid, year, subject, hours in rows:
        if (pid, year) in pairs:
            h = out[(pid, year)]
            h[subject if subject in h else "elective"] += Decimal(hours)
            h["total"] += Decimal(hours)
    return out


@dataclass
class LegacyRecordRow:
    record: CreditRecord
    person: Person
    unit_name: str | None


#: The records list's sortable columns (``?sort=``); the default is the newest year first, then by name.
RECORD_SORTS = {
    "name": Person.name,
    "id_number": Person.id_number,
    "year": CreditRecord.year,
    "subject_type": CreditRecord.subject_type,
    "course": CreditRecord.course_name,
    "hours": CreditRecord.recognised_hours,
}
RECORD_DEFAULT_SORT = "-year"


def records(
    actor: Actor, q: str = "", year: int | None = None, page: int = 1, per_page: int = 20, sort: Sort | None = None
) -> tuple[list[LegacyRecordRow], int]:
    """继续教育记录查询 (历史数据管理): the legacy records (2017 and earlier) in the archives of the people the actor
    may see; ``q`` is a name (contained) or an ID number (prefix)."""
    stmt = (
        select(CreditRecord, Person, Organisation.name)
        .join(Person, Person.id == CreditRecord.person_id)
        .join(Organisation, Organisation.id == Person.unit_id, isouter=True)
        .where(CreditRecord.source == SOURCE, _scope_condition(actor))
    )
    q = q.strip()[:50]
    if q:
        stmt = stmt.where(
            or_(Person.name.contains(q, autoescape=True), Person.id_number.startswith(q.upper(), autoescape=True))
        )
    if year:
        stmt = stmt.where(CreditRecord.year == year)
    total = db.session.scalar(select(func.count()).select_from(stmt.with_only_columns(CreditRecord.id).subquery())) or 0
    rows = db.session.execute(
        stmt.order_by(
            *(
                (CreditRecord.year.desc(), Person.name, CreditRecord.id)
                if sort is None or sort.default
                else order_clauses(sort, RECORD_SORTS, [CreditRecord.id])
            )
        )
        .offset((max(1, page) - 1) * per_page)
        .limit(per_page)
    ).all()
    return [LegacyRecordRow(r, p, u) for r, p, u in rows], total


#: The certificates list's sortable columns (``?sort=``); the default is by name, then the newest year first.
CERTIFICATE_SORTS = {
    "number": LegacyCertificate.number,
    "name": Person.name,
    "id_number": Person.id_number,
    "year": LegacyCertificate.year,
    "unit": LegacyUnit.name,
}
CERTIFICATE_DEFAULT_SORT = "name"


def certificates(
    actor: Actor, q: str = "", page: int = 1, per_page: int = 20, sort: Sort | None = None
) -> tuple[list[LegacyCertificateRow], int]:
    """历史证书查询: legacy certificates of claimed people the actor may see; ``q`` is a name (contained), an ID
    number (prefix) or a certificate number (prefix)."""
    stmt = (
        select(LegacyCertificate, Person, LegacyUnit.name)
        .join(LegacyPerson, LegacyPerson.id == LegacyCertificate.legacy_person_id)
        .join(LegacyUnit, LegacyUnit.id == LegacyPerson.legacy_unit_id)
        .join(Person, Person.id == LegacyPerson.person_id)
        .where(_scope_condition(actor))
    )
    q = q.strip()[:50]
    if q:
        stmt = stmt.where(
            or_(
                Person.name.contains(q, autoescape=True),
                Person.id_number.startswith(q.upper(), autoescape=True),
                LegacyCertificate.number.startswith(q.upper(), autoescape=True),
            )
        )
    total = (
        db.session.scalar(select(func.count()).select_from(stmt.with_only_columns(LegacyCertificate.id).subquery()))
        or 0
    )
    rows = db.session.execute(
        stmt.order_by(
            *(
                (Person.name, LegacyCertificate.year.desc(), LegacyCertificate.id)
                if sort is None or sort.default
                else order_clauses(sort, CERTIFICATE_SORTS, [LegacyCertificate.id])
            )
        )
        .offset((max(1, page) - 1) * per_page)
        .limit(per_page)
    ).all()
    hours = _hours([(c.legacy_person_id, c.year) for c, _p, _u in rows])
    return [LegacyCertificateRow(c, p, u, hours[(c.legacy_person_id, c.year)]) for c, p, u in rows], total


def certificate(actor: Actor, number: str) -> LegacyCertificateRow:
    """One legacy certificate the actor may see, else NotFound."""
    number = (number or "").strip().upper()[:32]
    found = db.session.execute(
        select(LegacyCertificate, Person, LegacyUnit.name)
        .join(LegacyPerson, LegacyPerson.id == LegacyCertificate.legacy_person_id)
        .join(LegacyUnit, LegacyUnit.id == LegacyPerson.legacy_unit_id)
        .join(Person, Person.id == LegacyPerson.person_id)
        .where(LegacyCertificate.number == number, _scope_condition(actor))
    ).one_or_none()
    if found is None:
        raise NotFound(_(CERT_NOT_FOUND))
    c, p, u = found
    return LegacyCertificateRow(c, p, u, _hours([(c.legacy_person_id, c.year)])[(c.legacy_person_id, c.year)])


def certificate_view(row: LegacyCertificateRow):  # noqa: ANN201
    """What the certificate PDF prints (app.certificates.render): the legacy number, the old unit, that year's
    hours from the legacy records; no QR code (the old system's numbers are not verified online)."""
    from app.certificates.render import CertificateView

    h = row.hours
    return CertificateView(
        number=row.number,
        name=row.person.name,
        id_number_masked=mask_id_number(row.person.id_number),
        unit_name=row.unit_name,
        year=row.year,
        public_hours=h["public"],
        professional_hours=h["professional"],
        elective_hours=h["elective"],
        total_hours=h["total"],
        result_label="原系统已发证",
        issuer_name=LEGACY_ISSUER,
        issued_on="",
        verify_url="",
        legacy=True,
    )


def verify_number(number: str, holder: str | None = None) -> Verification | None:
    """The public check of a number the old system issued (``number`` normalised); None when it did not issue
    it. Whether a unit claimed the person does not matter: the certificate is genuine either way. Its numbers run
    in sequence, so without the ``holder``'s full name as printed on it the answer is the year only; with it,
    whether it matches, and then the masked name and that year's hours from the legacy records (never the
    employer)."""
    row = db.session.execute(
        select(LegacyCertificate, LegacyPerson.name, LegacyUnit.name)
        .join(LegacyPerson, LegacyPerson.id == LegacyCertificate.legacy_person_id)
        .join(LegacyUnit, LegacyUnit.id == LegacyPerson.legacy_unit_id)
        .where(LegacyCertificate.number == number)
    ).first()
    if row is None:
        return None
    cert, name, _unit_name = row
    if holder is None or holder != name:
        return Verification("legacy", cert.number, year=cert.year, issuer_name=LEGACY_ISSUER,
                            name_matches=None if holder is None else False)
    hours = _hours([(cert.legacy_person_id, cert.year)])[(cert.legacy_person_id, cert.year)]
    return Verification("legacy", cert.number, mask_name(name), cert.year, hours["total"], None, LEGACY_ISSUER,
                        name_matches=True)
