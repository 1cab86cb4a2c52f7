"""Issuing, reissuing, revoking and verifying certificates. Services never commit."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from flask import current_app
from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.accounts.actor import Actor
from app.accounts.models import Organisation, OrgKind
from app.core import ratelimit
from app.core.errors import InvalidState, NotFound, RateLimited, ValidationFailed
from app.core.models import utcnow
from app.core.validators import mask_id_number, normalise_id_number
from app.extensions import db
from app.people.models import Person

from .models import REVOKED, VALID, Certificate
from .render import CertificateView

#: Crockford's base32 without I, L, O, U: no characters that read alike on paper.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
MIN_YEAR, MAX_YEAR = 2000, 2100


def new_number(year: int) -> str:
    """A certificate number, e.g. ``JX2026-7K3M-Q9ZD``: 40 random bits, so numbers cannot be guessed."""
    chars = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    return f"JX{year}-{chars[:4]}-{chars[4:]}"


def normalise_number(number: str) -> str:
    return (number or "").strip().upper()


def mask_name(name: str) -> str:
    """陈诗慧 -> 陈*慧, 王平 -> 王*: the public verification page never shows a whole name."""
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def may_print_for(actor: Actor, person: Person) -> bool:
    """The person themself, or an administrator whose scope holds the person's unit (the archive's rule)."""
    from app.archive.services import can_see_person

    return can_see_person(actor, person)


def person_for(actor: Actor, id_number: str | None) -> Person:
    """The person a certificate is asked for: by ID number within scope, else the actor themself."""
    if id_number:
        person = db.session.scalar(select(Person).where(Person.id_number == normalise_id_number(id_number)))
        if person is None or not may_print_for(actor, person):
            raise NotFound("未找到该人员，或该人员不在您的管理范围内")
        return person
    person = actor.person
    if person is None:
        raise ValidationFailed("请求参数有误", {"person_id_number": "请填写人员的公民身份号码"})
    return person


def check_year(year: Any) -> int:
    try:
        value = int(year)
    except (TypeError, ValueError):
        raise ValidationFailed("请求参数有误", {"year": "请填写年度（四位数字）"}) from None
    if not MIN_YEAR <= value <= MAX_YEAR:
        raise ValidationFailed("请求参数有误", {"year": f"年度应在{MIN_YEAR}–{MAX_YEAR}之间"})
    return value


def issuer_for(person: Person) -> Organisation | None:
    """The HR bureau nearest above the person's unit: it issues the certificate."""
    if person.unit is None:
        return None
    ids = [int(p) for p in person.unit.path.strip("/").split("/") if p]
    bureaus = {o.id: o for o in db.session.scalars(
        select(Organisation).where(Organisation.id.in_(ids), Organisation.kind == OrgKind.HR_BUREAU))}
    for org_id in reversed(ids):
        if org_id in bureaus:
            return bureaus[org_id]
    return None


def current_certificate(person: Person, year: int, *, lock: bool = False) -> Certificate | None:
    stmt = select(Certificate).where(Certificate.person_id == person.id, Certificate.year == year,
                                     Certificate.status == VALID)
    if lock:
        stmt = stmt.with_for_update()
    return db.session.scalar(stmt)


def _dec(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.1"))


def _summary(person: Person, year: int):  # noqa: ANN202 - YearSummary lives in app.archive
    from app.archive.services import year_summary

    return year_summary(person, year)


def not_verified_reason(summary: Any) -> str:
    missing = "；".join(summary.missing) if getattr(summary, "missing", None) else ""
    return f"{summary.year}年度学时未验证合格，不能打印证书" + (f"（{missing}）" if missing else "")


def lock_certificates_of(person: Person) -> None:
    """Serialise everything that issues or hands out the person's certificates: a second caller waits here
    until the first one's transaction ends, then reads what it committed. A row lock on the person on
    PostgreSQL (FOR NO KEY UPDATE: approvals inserting the person's credit records are not held up); SQLite
    has one writer at a time anyway."""
    db.session.execute(select(Person.id).where(Person.id == person.id).with_for_update(key_share=True))


def issue(actor: Actor, person: Person, year: int, *, summary: Any = None) -> Certificate:
    """Issue a certificate for a verified year; a current one for the same year is revoked (reissue).

    Concurrent reissues run one after the other (:func:`lock_certificates_of`): each revokes the certificate
    current when it runs, so the one it returns is current when its transaction commits."""
    lock_certificates_of(person)
    summary = summary if summary is not None else _summary(person, year)
    if not summary.verified:
        raise InvalidState(not_verified_reason(summary))
    old = current_certificate(person, year, lock=True)
    if old is not None:
        old.status = REVOKED
        old.revoked_at = utcnow()
        db.session.flush()  # frees the one-current-per-year slot before the new row goes in
    issuer = issuer_for(person)
    hours = summary.hours
    cert = Certificate(
        number=new_number(year), person_id=person.id, year=year, status=VALID,
        name=person.name, id_number=person.id_number,
        unit_name=person.unit.name if person.unit else "", issuer_name=issuer.name if issuer else "",
        public_hours=_dec(hours.get("public")), professional_hours=_dec(hours.get("professional")),
        elective_hours=_dec(hours.get("elective")), total_hours=_dec(hours.get("total")),
        result_label=summary.result_label, issued_by_id=actor.id,
    )
    db.session.add(cert)
    try:
        db.session.flush()
    except IntegrityError:
        raise InvalidState("该年度证书正在由他人生成，请稍后重试") from None
    if old is not None:
        old.replaced_by_id = cert.id
    return cert


def issue_for(actor: Actor, id_number: str | None, year: Any) -> Certificate:
    """POST /certificates: scope check, then issue or reissue."""
    year = check_year(year)
    return issue(actor, person_for(actor, id_number), year)


def ensure_current(actor: Actor, person: Person, year: int) -> tuple[Certificate | None, str | None]:
    """The current certificate of a verified year, issued when there is none (batch printing).

    Returns (certificate, None) or (None, why it cannot be printed). Takes the person's lock first
    (:func:`lock_certificates_of`), so a concurrent job or reissue either committed before (its certificate is
    the one returned, never reissued) or waits for this transaction: commit it soon (the batch job commits
    after each person)."""
    lock_certificates_of(person)
    summary = _summary(person, year)
    if not summary.verified:
        return None, not_verified_reason(summary)
    cert = current_certificate(person, year)
    if cert is None:
        cert = issue(actor, person, year, summary=summary)
    return cert, None


def visible_certificate(actor: Actor, number: str) -> Certificate:
    cert = db.session.scalar(select(Certificate).where(Certificate.number == normalise_number(number)))
    if cert is None or not may_print_for(actor, cert.person):
        raise NotFound("证书不存在，或不在您的管理范围内")
    return cert


def printable_certificate(actor: Actor, number: str) -> Certificate:
    cert = visible_certificate(actor, number)
    if not cert.is_current:
        raise InvalidState("该证书已重新生成，原编号已作废，请下载新证书")
    return cert


@dataclass(frozen=True)
class Verification:
    status: str  # genuine / revoked / legacy (the old system's, in the history data) / not_found
    number: str
    name: str | None = None
    year: int | None = None
    total_hours: Decimal | None = None
    unit_name: str | None = None
    issuer_name: str | None = None
    issued_on: date | None = None
    revoked_on: date | None = None
    #: an old system's certificate (legacy): whether the holder's name given matched (None: none given; then
    #: neither name nor hours are answered, as its numbers run in sequence and could be tried one after another)
    name_matches: bool | None = None


#: Rate-limit rule of the public verification (app.core.ratelimit).
VERIFY_RULE = "verify"


def verify(number: str, *, address: str | None, holder: str | None = None) -> Verification:
    """Public check of a number: genuine (current), revoked (reissued), or not_found (forged). Limited per
    client ``address`` (RATE_LIMIT_VERIFY_ADDRESS), so numbers cannot be tried in bulk to harvest names:
    :class:`RateLimited` beyond it. ``holder``: the full name the verifier read on the certificate (an old
    system's certificate answers its name and hours only when it matches). The caller commits (the count)."""
    if address:
        wait = ratelimit.hit(VERIFY_RULE, address, *ratelimit.limit("RATE_LIMIT_VERIFY_ADDRESS"))
        if wait is not None:
            raise RateLimited(gettext("查验过于频繁，请%(seconds)s秒后再试", seconds=wait), wait)
    number = normalise_number(number)
    cert = db.session.scalar(select(Certificate).where(Certificate.number == number)) if number else None
    if cert is None:
        # numbers other issuers gave, named by create_app (the old system's certificates, app.legacy)
        for lookup in current_app.extensions.get("certificate_lookups", ()) if number else ():
            if (found := lookup(number, (holder or "").strip()[:50] or None)) is not None:
                return found
        return Verification("not_found", number)
    return Verification(
        "genuine" if cert.is_current else "revoked", cert.number, mask_name(cert.name), cert.year,
        cert.total_hours, cert.unit_name, cert.issuer_name, cert.created_at.date(),
        cert.revoked_at.date() if cert.revoked_at else None)


def certificate_view(cert: Certificate, verify_url: str) -> CertificateView:
    issued = cert.created_at
    return CertificateView(
        number=cert.number, name=cert.name, id_number_masked=mask_id_number(cert.id_number),
        unit_name=cert.unit_name, year=cert.year, public_hours=cert.public_hours,
        professional_hours=cert.professional_hours, elective_hours=cert.elective_hours,
        total_hours=cert.total_hours, result_label=cert.result_label, issuer_name=cert.issuer_name,
        issued_on=f"{issued.year}年{issued.month}月{issued.day}日", verify_url=verify_url)


def certificates_in_scope(actor: Actor, limit: int = 50) -> list[Certificate]:
    """Recent current certificates the actor may see: their own, and those of people in their scope."""
    own = select(Person.id).where(Person.user_id == actor.id)
    stmt = select(Certificate).join(Person, Person.id == Certificate.person_id).where(Certificate.status == VALID)
    roots = [o.path for o in actor.staff_roots]
    if roots:
        from sqlalchemy import or_

        stmt = stmt.join(Organisation, Organisation.id == Person.unit_id).where(or_(
            Certificate.person_id.in_(own), *[Organisation.path.startswith(p, autoescape=True) for p in roots]))
    else:
        stmt = stmt.where(Certificate.person_id.in_(own))
    return list(db.session.scalars(stmt.order_by(Certificate.id.desc()).limit(limit)))


@dataclass(frozen=True)
class OwnYear:
    year: int
    total_hours: Decimal
    verified: bool
    result_label: str
    missing: list[str]
    current: Certificate | None
    status: str = "failed"


def own_years(actor: Actor) -> list[OwnYear]:
    """The actor's own years with hours (newest first): verified or not, and the current certificate."""
    from app.archive.services import years_of

    person = actor.person
    if person is None:
        return []
    out = []
    for year in years_of(person):
        summary = _summary(person, year)
        out.append(OwnYear(year, summary.hours.get("total", Decimal(0)), summary.verified, summary.result_label,
                           list(summary.missing), current_certificate(person, year), summary.status))
    return out
