"""Registration of professionals and organisations, and password reset / change.

Every function flushes and never commits. A registering user has no account yet: the
service creates the user row with status ``pending`` and that row is the applicant who
starts the approval process (``started_by_id``). Approval activates it through the
registered operations (see :mod:`app.registration.workflow_hooks`); rejection marks it
``rejected``, and the same login name, ID number or USCC may then register again (the
rejected row is reused, so its history stays attached).
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from flask_babel import gettext
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import FileStorage

from app.accounts.actor import Actor
from app.accounts.models import Organisation, OrgKind, OrgStatus, User
from app.accounts.passwords import password_changed, password_error
from app.accounts.services import check_password, hash_password
from app.core.errors import AuthenticationFailed, DomainError, PasswordRejected, RateLimited, ValidationFailed
from app.core.validators import id_number_error, mobile_error, normalise_id_number, uscc_error, whole_number
from app.extensions import db
from app.people import fields as person_fields
from app.registration import codes
from app.registration.models import OrganisationProfile
from app.workflow import attachments, services
from app.workflow.models import ApprovalEvent, ProcessInstance, WorkflowTask

PERSON_PROCESS = "person_registration"
ORG_PROCESS = "organisation_registration"
PROCESS_KEYS = (PERSON_PROCESS, ORG_PROCESS)
MESSAGE = "提交的内容有误，请按提示修改"

NATURES = ("机关", "事业单位", "企业", "社会团体", "民办非企业单位", "其他")
INDUSTRIES = ("卫生", "教育", "工程技术", "农业", "经济", "科学研究", "文化艺术", "新闻出版", "法律", "其他")
LEVELS = ("省级", "市级", "县（区）级", "乡镇（街道）级", "其他")
KIND_LABELS = {
    OrgKind.EMPLOYER_UNIT.value: "用人单位",
    OrgKind.TRAINING_INSTITUTION.value: "继续教育基地（施教机构）",
    OrgKind.SUPERVISORY_DEPARTMENT.value: "主管部门",
}
#: Which organisations a new organisation of each kind may register under.
PARENT_KINDS = {
    OrgKind.EMPLOYER_UNIT.value: (OrgKind.EMPLOYER_UNIT, OrgKind.SUPERVISORY_DEPARTMENT, OrgKind.HR_BUREAU),
    OrgKind.SUPERVISORY_DEPARTMENT.value: (OrgKind.HR_BUREAU,),
    OrgKind.TRAINING_INSTITUTION.value: (OrgKind.SUPERVISORY_DEPARTMENT, OrgKind.HR_BUREAU),
}

_LOGIN = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")
_PHONE = re.compile(r"^[0-9+\-() ]{7,20}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

#: Set while this module starts a registration: the generic "start a process" endpoints never can.
_STARTING: ContextVar[bool] = ContextVar("registration_starting", default=False)


def starting() -> bool:
    return _STARTING.get()


@contextmanager
def _start_allowed():
    token = _STARTING.set(True)
    try:
        yield
    finally:
        _STARTING.reset(token)


def _s(data: dict[str, Any], name: str, limit: int = 200) -> str:
    value = data.get(name)
    return str(value).strip()[:limit] if value is not None else ""


def _int(value: Any) -> int | None:
    text = str(value).strip() if value is not None else ""
    return whole_number(text)


# --------------------------------------------------------------------------- accounts


def _flush_unique(fields: dict[str, str]) -> None:
    """Flush; a concurrent registration that took the same unique key becomes a field error."""
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise ValidationFailed(MESSAGE, fields) from None


def _account_errors(data: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Field checks of a new account: login, name, ID number, mobile, e-mail, password."""
    p = prefix
    errors: dict[str, str] = {}
    login = _s(data, p + "login", 64)
    if not _LOGIN.match(login):
        errors[p + "login"] = "用户名应为4-32位字母、数字或下划线，并以字母开头"
    if not _s(data, p + "name", 100):
        errors[p + "name"] = "请填写真实姓名"
    err = id_number_error(_s(data, p + "id_number", 30))
    if err:
        errors[p + "id_number"] = err
    err = mobile_error(_s(data, p + "mobile", 30))
    if err:
        errors[p + "mobile"] = err
    email = _s(data, p + "email")
    if email and not _EMAIL.match(email):
        errors[p + "email"] = "电子邮箱格式不正确"
    password = data.get(p + "password") or ""
    err = password_error(password)
    if err:
        errors[p + "password"] = err
    elif password != (data.get(p + "password_confirm") or ""):
        errors[p + "password_confirm"] = "两次输入的密码不一致"
    return errors


def _claim_account(login: str, id_number: str, errors: dict[str, str], prefix: str = "") -> User | None:
    """Check that login and ID number are free; return a rejected registration's row to reuse.
    Rows of other rejected registrations that hold one of the keys give it up."""
    rows = list(db.session.scalars(select(User).where(or_(User.login == login, User.id_number == id_number))))
    for row in rows:
        if row.status == "rejected":
            continue
        if row.login == login:
            errors[prefix + "login"] = "该用户名已被注册"
        if row.id_number == id_number:
            errors[prefix + "id_number"] = ("该公民身份号码的注册申请正在审核中" if row.status == "pending"
                                            else "该公民身份号码已注册，请直接登录或找回密码")
    if errors:
        return None
    reuse = next((r for r in rows if r.id_number == id_number), None) or next(iter(rows), None)
    for row in rows:
        if row is reuse:
            continue
        if row.login == login:
            row.login = f"~{row.id}~{row.login}"[:64]
        if row.id_number == id_number:
            row.id_number = None
    db.session.flush()
    return reuse


def _pending_user(data: dict[str, Any], prefix: str = "") -> User:
    """Create (or reuse a rejected) account row with status pending from checked fields."""
    p = prefix
    login, id_number = _s(data, p + "login", 64), normalise_id_number(_s(data, p + "id_number", 30))
    errors: dict[str, str] = {}
    reuse = _claim_account(login, id_number, errors, prefix)
    if errors:
        raise ValidationFailed(MESSAGE, errors)
    codes.consume(codes.REGISTER, _s(data, p + "mobile", 30), data.get("verification_code"))
    user = reuse or User(login=login, id_number=id_number, name="", password_hash="")
    user.login, user.id_number = login, id_number
    user.name = _s(data, p + "name", 100)
    user.mobile = _s(data, p + "mobile", 30)
    user.email = _s(data, p + "email") or None
    user.password_hash = hash_password(data.get(p + "password") or "")
    user.status = "pending"
    user.failed_logins, user.locked_until = 0, None
    if reuse is None:
        db.session.add(user)
    _flush_unique({p + "login": "该用户名或公民身份号码刚刚已被注册，请更换后重试"})
    return user


def send_registration_code(mobile: str, *, address: str | None = None) -> str:
    """Verification code for registering with ``mobile`` (by SMS), within the limits per mobile number and
    per client ``address`` (:func:`app.registration.codes.limit_requests`)."""
    mobile = (mobile or "").strip()
    err = mobile_error(mobile)
    if err:
        raise ValidationFailed(MESSAGE, {"mobile": err})
    codes.limit_requests(mobile, address)
    return codes.issue(codes.REGISTER, "sms", mobile)


# --------------------------------------------------------------------------- professionals


def register_person(data: dict[str, Any]) -> ProcessInstance:
    """专技人员注册: a pending account and a ``person_registration`` instance for its unit."""
    errors = _account_errors(data)
    unit_id = _int(data.get("unit_id"))
    unit = db.session.get(Organisation, unit_id) if unit_id else None
    if unit is None or unit.kind != OrgKind.EMPLOYER_UNIT or unit.status != OrgStatus.ACTIVE:
        errors["unit_id"] = "请从单位列表中选择所在的用人单位"
    # title and education, so the new person shows in the archive filters from the start (issue 15 item 2)
    profile = {}
    for name in ("title_series", "title_level", "education"):
        choices = person_fields.BY_NAME[name].choices or ()
        value = _s(data, name, 100)
        if value and value not in choices:
            label = gettext(person_fields.BY_NAME[name].label)
            errors[name] = gettext("%(label)s应为以下之一：%(choices)s", label=label, choices="、".join(choices))
        if value:
            profile[name] = value
    if errors:
        raise ValidationFailed(MESSAGE, errors)
    user = _pending_user(data)
    raw = {"login": user.login, "name": user.name, "person_id_number": user.id_number, "mobile": user.mobile,
           "email": user.email or "", "unit_id": unit.id, "unit_name": unit.name, **profile}
    with _start_allowed():
        return services.start_process(PERSON_PROCESS, raw, actor=Actor(user=user, memberships=[]))


# --------------------------------------------------------------------------- organisations


def _parent_for(kind: str, data: dict[str, Any], errors: dict[str, str]) -> tuple[Organisation | None,
                                                                                   Organisation | None]:
    """(parent organisation, HR bureau of a training institution) from the posted ids."""
    allowed = PARENT_KINDS[kind]

    def active(field: str, kinds: tuple[OrgKind, ...], message: str) -> Organisation | None:
        org_id = _int(data.get(field))
        org = db.session.get(Organisation, org_id) if org_id else None
        if org is None or org.kind not in kinds or org.status != OrgStatus.ACTIVE:
            errors[field] = message
            return None
        return org

    if kind == OrgKind.TRAINING_INSTITUTION.value:
        bureau = active("hr_bureau_id", (OrgKind.HR_BUREAU,), "请选择所属人社部门")
        parent = bureau
        if _int(data.get("supervisory_department_id")):
            parent = active("supervisory_department_id", (OrgKind.SUPERVISORY_DEPARTMENT,), "请选择有效的主管部门")
        return parent, bureau
    if kind == OrgKind.SUPERVISORY_DEPARTMENT.value:
        return active("parent_id", allowed, "请选择同级人社部门"), None
    return active("parent_id", allowed, "请选择上级单位、主管部门或同级人社部门"), None


def _org_errors(kind: str, data: dict[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not _s(data, "name"):
        errors["name"] = "请填写单位名称"
    err = uscc_error(_s(data, "uscc", 30))
    if err:
        errors["uscc"] = err
    if kind != OrgKind.SUPERVISORY_DEPARTMENT.value and _s(data, "nature") not in NATURES:
        errors["nature"] = "请选择单位性质"
    if _s(data, "level") not in LEVELS:
        errors["level"] = "请选择单位级别"
    if not _PHONE.match(_s(data, "phone", 30)):
        errors["phone"] = "请填写正确的联系电话（7-20位数字，可含区号连字符）"
    for name, message in (("industry", "请选择所属行业"), ("region", "请填写所在地区"), ("address", "请填写单位地址"),
                          ("principal", "请填写单位负责人")):
        if not _s(data, name):
            errors[name] = message
    return errors


def _claim_org(name: str, uscc: str, errors: dict[str, str]) -> Organisation | None:
    rows = list(db.session.scalars(select(Organisation).where(or_(Organisation.uscc == uscc,
                                                                   Organisation.name == name))))
    for row in rows:
        if row.status == OrgStatus.REJECTED:
            continue
        if row.uscc == uscc:
            errors["uscc"] = ("该统一社会信用代码已注册，正在审核中" if row.status == OrgStatus.PENDING
                              else "该统一社会信用代码已注册")
        if row.name == name:
            errors["name"] = "该单位名称已注册"
    if errors:
        return None
    reuse = next((r for r in rows if r.uscc == uscc), None)
    for row in rows:
        if row is not reuse and row.name == name:
            row.name = f"{row.name}（未通过{row.id}）"[:200]
    return reuse


def _org_applicant(data: dict[str, Any], actor: Actor | None, address: str | None) -> tuple[User, bool]:
    """The applying administrator: the signed-in actor, an existing account (login and password)
    or a new pending account. Returns (user, created by this registration)."""
    if actor is not None:
        return actor.user, False
    mode = _s(data, "admin_mode", 16) or "new"
    if mode == "existing":
        from app.accounts.services import authenticate

        try:
            return authenticate(_s(data, "admin_login", 64), data.get("admin_password") or "", address=address), False
        except RateLimited:
            raise
        except DomainError as exc:
            raise ValidationFailed(MESSAGE, {"admin_password": exc.message}) from None
    errors = _account_errors(data, "admin_")
    if errors:
        raise ValidationFailed(MESSAGE, errors)
    return _pending_user(data, "admin_"), True


def register_organisation(data: dict[str, Any], licence: FileStorage | None, *, actor: Actor | None = None,
                          address: str | None = None) -> ProcessInstance:
    """用人单位 / 继续教育基地 / 主管部门注册: a pending organisation under the chosen parent,
    and an ``organisation_registration`` instance the parent approves. An existing account named as the
    administrator signs in with its password (the client ``address`` brings the sign-in limits)."""
    kind = _s(data, "kind", 32)
    if kind not in PARENT_KINDS:
        raise ValidationFailed(MESSAGE, {"kind": "请选择注册类型（用人单位、继续教育基地或主管部门）"})
    errors = _org_errors(kind, data)
    parent, bureau = _parent_for(kind, data, errors)
    if licence is None or not licence.filename:
        errors["licence"] = "请上传统一社会信用代码证扫描件"
    name, uscc = _s(data, "name"), _s(data, "uscc", 30).upper()
    reuse = None
    if not errors:
        reuse = _claim_org(name, uscc, errors)
    if actor is None and _s(data, "admin_mode", 16) != "existing":
        errors.update(_account_errors(data, "admin_"))
    if errors:
        raise ValidationFailed(MESSAGE, errors)
    user, created = _org_applicant(data, actor, address)
    applicant = Actor(user=user, memberships=[])
    try:
        scan = attachments.save_upload(licence, actor=applicant)
    except ValidationFailed as exc:
        raise ValidationFailed(MESSAGE, {"licence": exc.fields[attachments.FIELD]}) from None
    org = reuse or Organisation(name=name, kind=OrgKind(kind), path="/")
    org.name, org.kind, org.uscc, org.status = name, OrgKind(kind), uscc, OrgStatus.PENDING
    org.parent_id = parent.id
    org.level = _s(data, "level", 32)
    org.region, org.industry = _s(data, "region", 100), _s(data, "industry", 100)
    if reuse is None:
        db.session.add(org)
    _flush_unique({"uscc": "该统一社会信用代码刚刚已被注册"})
    org.path = f"{parent.path}{org.id}/"
    profile = db.session.get(OrganisationProfile, org.id) or OrganisationProfile(organisation_id=org.id)
    profile.nature = _s(data, "nature", 50) or None
    profile.phone, profile.address = _s(data, "phone", 30), _s(data, "address")
    profile.principal = _s(data, "principal", 100)
    profile.hr_bureau_id = bureau.id if bureau else None
    profile.licence_attachment_id = scan.id
    profile.applicant_id = user.id
    db.session.add(profile)
    db.session.flush()
    raw = {
        "organisation_id": org.id, "kind": kind, "name": name, "uscc": uscc, "nature": profile.nature or "",
        "level": org.level, "phone": profile.phone, "industry": org.industry, "region": org.region,
        "parent_name": parent.name, "hr_bureau_name": bureau.name if bureau else "", "address": profile.address,
        "principal": profile.principal, "admin_login": user.login, "admin_name": user.name,
        "person_id_number": user.id_number or "", "admin_mobile": user.mobile or "", "new_account": created,
        "attachments": [scan.id],
    }
    with _start_allowed():
        instance = services.start_process(ORG_PROCESS, raw, actor=applicant)
    attachments.link([scan.id], instance, actor=applicant)
    return instance


# --------------------------------------------------------------------------- login messages


def inactive_message(user: User) -> str:
    """What a pending or rejected registrant is told at login, and whom to contact."""
    if user.status == "rejected":
        comment = db.session.scalar(
            select(ApprovalEvent.comment).join(ProcessInstance, ProcessInstance.id == ApprovalEvent.instance_id)
            .where(ProcessInstance.started_by_id == user.id, ProcessInstance.process_key.in_(PROCESS_KEYS),
                   ApprovalEvent.outcome == "reject")
            .order_by(ApprovalEvent.at.desc(), ApprovalEvent.id.desc()).limit(1))
        if comment:
            return gettext("您的注册申请未通过审核（审核意见：%(comment)s），请核对信息后重新注册", comment=comment)
        return gettext("您的注册申请未通过审核，请核对信息后重新注册")
    org_id = db.session.scalar(
        select(WorkflowTask.candidate_org_id).join(ProcessInstance, ProcessInstance.id == WorkflowTask.instance_id)
        .where(ProcessInstance.started_by_id == user.id, ProcessInstance.process_key.in_(PROCESS_KEYS),
               WorkflowTask.completed_at.is_(None))
        .order_by(WorkflowTask.created_at.desc()).limit(1))
    org = db.session.get(Organisation, org_id) if org_id else None
    if org is None:
        return gettext("此帐号还未被审核，请联系所在单位管理员")
    profile = db.session.get(OrganisationProfile, org.id)
    if profile is not None and profile.phone:
        return gettext("此帐号还未被审核，请联系“%(org)s”的管理员审核（联系电话：%(phone)s）", org=org.name,
                       phone=profile.phone)
    return gettext("此帐号还未被审核，请联系“%(org)s”的管理员审核", org=org.name)


# --------------------------------------------------------------------------- passwords


def _reset_target(user: User | None, channel: str, contact: str) -> str | None:
    if user is None or user.status not in ("active",):
        return None
    if channel == "sms" and user.mobile and user.mobile == contact:
        return contact
    if channel == "email" and user.email and user.email.lower() == contact.lower():
        return user.email
    return None


def _reset_user(id_number: str) -> User | None:
    return db.session.scalar(select(User).where(User.id_number == normalise_id_number(id_number)))


def send_reset_code(id_number: str, channel: str, contact: str, *, address: str | None = None) -> str | None:
    """Send a reset code when ID number and the registered mobile / e-mail belong together.
    Answers the same either way, limits included (no telling which accounts exist); returns the code if sent."""
    errors: dict[str, str] = {}
    err = id_number_error(id_number or "")
    if err:
        errors["id_number"] = err
    if channel not in ("sms", "email"):
        errors["channel"] = "请选择通过手机或电子邮箱找回"
    elif not (contact or "").strip():
        errors["contact"] = "请填写注册时的手机号码" if channel == "sms" else "请填写注册时的电子邮箱"
    if errors:
        raise ValidationFailed(MESSAGE, errors)
    codes.limit_requests(contact, address)
    target = _reset_target(_reset_user(id_number), channel, contact.strip())
    if target is None:
        return None
    return codes.issue(codes.RESET_PASSWORD, channel, target)


def reset_password(id_number: str, channel: str, contact: str, code: str, password: str, confirm: str) -> User:
    """Set a new password after the code sent to the registered contact; unlocks the account."""
    errors: dict[str, str] = {}
    err = password_error(password)
    if err:
        errors["password"] = err
    elif password != confirm:
        errors["password_confirm"] = "两次输入的密码不一致"
    if errors:
        raise ValidationFailed(MESSAGE, errors)
    user = _reset_user(id_number or "")
    target = _reset_target(user, channel, (contact or "").strip())
    if target is None:  # answered as a wrong code is: no telling which accounts exist
        raise ValidationFailed(MESSAGE, {codes.FIELD: codes.VAGUE} if (code or "").strip()
                               else {codes.FIELD: "请输入验证码"})
    codes.consume(codes.RESET_PASSWORD, target, code, vague=True)
    user.password_hash = hash_password(password)
    password_changed(user)
    user.failed_logins, user.locked_until = 0, None
    db.session.flush()
    return user


def change_password(actor: Actor, old: str, new: str, confirm: str) -> None:
    """Change the actor's own password; the old one is required. Every field error at once."""
    user = actor.user
    errors: dict[str, str] = {}
    rejected = False
    try:
        check_password(user, old, field="old_password", message=MESSAGE, wrong="原密码不正确")
    except PasswordRejected as exc:  # raised again below, with every other field error at once
        rejected = True
        errors.update(exc.fields)
    if err := password_error(new):
        errors["password"] = err
    elif new == old:
        errors["password"] = "新密码不能与原密码相同"
    if new != confirm:
        errors["password_confirm"] = "两次输入的密码不一致"
    if rejected:
        raise PasswordRejected(MESSAGE, errors, user.id, "old_password")
    if errors:
        raise ValidationFailed(MESSAGE, errors)
    user.password_hash = hash_password(new)
    password_changed(user)
    db.session.flush()


def require_active(user: User) -> None:
    if user.status != "active":
        raise AuthenticationFailed(inactive_message(user))
