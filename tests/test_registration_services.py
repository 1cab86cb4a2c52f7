"""Registration of professionals and organisations, codes and passwords, through the service layer."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from app.accounts.models import Membership, Organisation, OrgStatus, Role, User
from app.accounts.passwords import password_error
from app.accounts.services import authenticate, sign_in_failed_message
from app.cases import queries as inbox
from app.core.errors import AuthenticationFailed, NotFound, RateLimited, ValidationFailed
from app.core.models import utcnow
from app.core.validators import id_number_error, uscc_error
from app.extensions import db
from app.people.models import Person
from app.registration import codes, queries, senders
from app.registration import services as reg
from app.registration.models import VerificationCode
from app.workflow import services as wf
from app.workflow.models import ProcessInstance, WorkflowTask
from tests.conftest import actor
from tests.registration_helpers import (
    LI,
    NEW_USCC,
    OTHER_USCC,
    PASSWORD,
    ZHANG,
    code_for,
    employer_unit,
    licence,
    org,
    person,
)


def only_task(instance: ProcessInstance) -> WorkflowTask:
    tasks = wf.open_tasks(instance)
    assert len(tasks) == 1
    return tasks[0]


def register(**kw) -> ProcessInstance:
    data = person(**kw)
    data.setdefault("verification_code", code_for(data["mobile"]))
    instance = reg.register_person(data)
    db.session.commit()
    return instance


def user(login: str) -> User:
    return db.session.scalar(select(User).where(User.login == login))


# --------------------------------------------------------------------------- validators named in the issue


def test_national_codes_from_the_manuals():
    assert id_number_error("110101199003072711") is None
    assert id_number_error("440902199203222903") == "身份证号码校验位不正确"
    assert uscc_error("91410104MA9G8NFR0H") is None
    assert uscc_error("91410104MA9G8NFR0J") == "统一社会信用代码校验位不正确"


@pytest.mark.parametrize(("password", "message"), [
    ("Abc1234", "密码长度应为8-16位"),
    ("Abc1234567890abcd", "密码长度应为8-16位"),
    ("abcdefgh", "密码必须同时包含字母和数字"),
    ("12345678", "密码必须同时包含字母和数字"),
    ("Abc 12345", "密码只能包含字母、数字和英文符号，不能有空格"),
])
def test_password_rules(password, message):
    assert password_error(password) == message
    assert password_error("Abc12345") is None and password_error("a1" * 8) is None


# --------------------------------------------------------------------------- professionals


def test_person_stays_pending_until_the_unit_approves(app):
    instance = register()
    zhang = user("zhangsan")
    assert zhang.status == "pending" and zhang.id_number == ZHANG
    assert instance.started_by_id == zhang.id
    with pytest.raises(AuthenticationFailed) as exc:
        authenticate("zhangsan", PASSWORD)
    assert "此帐号还未被审核" in exc.value.message and "市第一人民医院" in exc.value.message
    # wrong password first: a pending account is not revealed to someone without the password
    with pytest.raises(AuthenticationFailed) as exc:
        authenticate("zhangsan", "Wrong12345")
    assert "未被审核" not in exc.value.message
    db.session.rollback()

    admin = actor("hospital_admin")
    page = inbox.inbox(admin, process="person_registration")
    assert [t.applicant_name for t in page.items] == ["张三"]
    task = only_task(instance)
    assert task.name == "单位审核注册"
    wf.complete_task(task.id, {"outcome": "approve"}, actor=admin)
    db.session.commit()

    assert instance.status == "completed"
    assert authenticate("zhangsan", PASSWORD).id == zhang.id
    assert authenticate(ZHANG.lower() if ZHANG.endswith("X") else ZHANG, PASSWORD).id == zhang.id
    p = db.session.scalar(select(Person).where(Person.id_number == ZHANG))
    assert p.user_id == zhang.id and p.unit.name == "市第一人民医院" and p.gender == "男"
    assert any(m.organisation.name == "市第一人民医院" and m.role == Role.MEMBER
               for m in db.session.scalars(select(Membership).where(Membership.user_id == zhang.id)))
    # the password and the code never enter the workflow data
    data = wf.instance_data(instance)
    assert "password" not in data and "verification_code" not in data
    assert data["person_id_number"] == ZHANG


def test_rejected_person_is_told_why_and_may_register_again(app):
    first = register()
    admin = actor("hospital_admin")
    with pytest.raises(ValidationFailed) as exc:
        wf.complete_task(only_task(first).id, {"outcome": "reject"}, actor=admin)
    assert "comment" in exc.value.fields
    db.session.rollback()
    wf.complete_task(only_task(first).id, {"outcome": "reject", "comment": "不是本单位职工"}, actor=admin)
    db.session.commit()
    zhang = user("zhangsan")
    assert first.status == "rejected" and zhang.status == "rejected"
    with pytest.raises(AuthenticationFailed) as exc:
        authenticate(ZHANG, PASSWORD)
    assert "未通过审核" in exc.value.message and "不是本单位职工" in exc.value.message
    db.session.rollback()

    second = register(name="张叁", unit_id=org("福州智造科技有限公司").id)
    again = user("zhangsan")
    assert again.id == zhang.id and again.status == "pending" and again.name == "张叁"
    assert second.id != first.id
    assert only_task(second).candidate_org_id == org("福州智造科技有限公司").id


@pytest.mark.parametrize(("field", "value", "message"), [
    ("id_number", "440902199203222903", "身份证号码校验位不正确"),
    ("id_number", "11010119900230271X", "身份证号码中的出生日期无效"),
    ("mobile", "12345678901", "手机号码应为以1[3-9]开头的11位数字"),
    ("login", "1zhang", "用户名应为4-32位字母、数字或下划线，并以字母开头"),
    ("password", "abcdefgh", "密码必须同时包含字母和数字"),
    ("password_confirm", "Abc123456", "两次输入的密码不一致"),
    ("email", "not-an-email", "电子邮箱格式不正确"),
    ("name", "", "请填写真实姓名"),
])
def test_person_fields_are_checked_and_nothing_is_written(app, field, value, message):
    before = db.session.scalar(select(func.count(User.id)))
    with pytest.raises(ValidationFailed) as exc:
        reg.register_person(person(**{field: value}, verification_code="000000"))
    assert exc.value.fields[field] == message
    db.session.rollback()
    assert db.session.scalar(select(func.count(User.id))) == before


def test_unit_must_be_an_active_employer_unit(app):
    for unit_id in (org("市卫生健康委员会").id, 99999, "x"):
        with pytest.raises(ValidationFailed) as exc:
            reg.register_person(person(unit_id=unit_id, verification_code="000000"))
        assert "unit_id" in exc.value.fields


def test_login_and_id_number_taken_by_a_live_account(app):
    with pytest.raises(ValidationFailed) as exc:
        reg.register_person(person(login="chenshihui", id_number="110101199003072711", verification_code="1"))
    assert exc.value.fields == {"login": "该用户名已被注册", "id_number": "该公民身份号码已注册，请直接登录或找回密码"}
    db.session.rollback()
    register()
    with pytest.raises(ValidationFailed) as exc:
        reg.register_person(person(login="zhangsan2", verification_code="1"))
    assert exc.value.fields["id_number"] == "该公民身份号码的注册申请正在审核中"


def test_verification_codes_are_single_use_limited_and_expire(app):
    mobile = "13912345678"
    with pytest.raises(ValidationFailed) as exc:
        reg.register_person(person(verification_code=""))
    assert exc.value.fields["verification_code"] == "请输入验证码"
    code = code_for(mobile)
    db.session.commit()
    for _ in range(codes.MAX_ATTEMPTS):
        with pytest.raises(codes.WrongCode) as exc:
            reg.register_person(person(verification_code="999999" if code != "999999" else "888888"))
        db.session.rollback()
        codes.penalise(exc.value)
        db.session.commit()
    with pytest.raises(ValidationFailed) as exc:
        reg.register_person(person(verification_code=code))
    assert exc.value.fields["verification_code"] == "验证码已失效，请重新获取"
    db.session.rollback()

    code = code_for(mobile)
    row = db.session.scalar(select(VerificationCode).order_by(VerificationCode.id.desc()).limit(1))
    row.expires_at = utcnow() - timedelta(seconds=1)
    with pytest.raises(ValidationFailed) as exc:
        reg.register_person(person(verification_code=code))
    assert exc.value.fields["verification_code"] == "验证码已失效，请重新获取"
    db.session.rollback()

    # a code sent to another number does not register this one
    other = code_for("13700000001")
    with pytest.raises(ValidationFailed):
        reg.register_person(person(verification_code=other))
    db.session.rollback()
    instance = reg.register_person(person(verification_code=code_for(mobile)))
    assert instance.id


def test_codes_cannot_be_requested_too_often(app):
    app.config["VERIFICATION_RESEND_SECONDS"] = 60
    try:
        reg.send_registration_code("13912345678")
        with pytest.raises(RateLimited) as exc:
            reg.send_registration_code("13912345678")
        assert exc.value.status == 429 and "秒后再试" in exc.value.message and 55 <= exc.value.retry_after <= 60
    finally:
        app.config["VERIFICATION_RESEND_SECONDS"] = 0


def test_no_organisation_sees_or_acts_on_another_units_registrations(app):
    instance = register()
    task = only_task(instance)
    tech = actor("tech_admin")
    with pytest.raises(NotFound):
        wf.visible_task(task.id, tech)
    with pytest.raises(NotFound):
        wf.visible_instance(instance.id, tech)
    done, failed = wf.complete_tasks([task.id], {"outcome": "approve"}, actor=tech)
    assert done == [] and failed[0]["id"] == task.id
    assert inbox.inbox(tech, process="person_registration").total == 0
    # the hospital's batch review approves it; only the hospital's 已审核 list shows it
    done, failed = wf.complete_tasks([task.id], {"outcome": "approve", "comment": ""}, actor=actor("hospital_admin"))
    db.session.commit()
    assert done == [task.id] and failed == []
    mine = queries.reviewed(actor("hospital_admin"), process="person_registration")
    rows = [(r.task.applicant_name, r.outcome, r.reviewer) for r in mine.items]
    assert rows == [("张三", "approve", "市一医院管理员")]
    assert queries.reviewed(tech).total == 0
    assert queries.reviewed(actor("hr_city")).total == 0


def test_batch_review_rejects_many_registrations_at_once(app):
    first = register()
    second = register(login="lisi", name="李四", id_number=LI, mobile="13712345678")
    ids = [only_task(first).id, only_task(second).id]
    admin = actor("hospital_admin")
    done, failed = wf.complete_tasks(ids, {"outcome": "reject", "comment": ""}, actor=admin)
    assert done == [] and len(failed) == 2 and "comment" in failed[0]["error"]
    done, failed = wf.complete_tasks(ids, {"outcome": "reject", "comment": "请使用单位邮箱重新注册"}, actor=admin)
    db.session.commit()
    assert sorted(done) == sorted(ids) and failed == []
    assert {user("zhangsan").status, user("lisi").status} == {"rejected"}
    reviewed = queries.reviewed(admin)
    assert reviewed.total == 2 and {r.comment for r in reviewed.items} == {"请使用单位邮箱重新注册"}


# --------------------------------------------------------------------------- organisations


def register_org(data: dict, scan=None, *, by=None) -> ProcessInstance:
    if by is None and data.get("admin_mode", "new") == "new":
        data.setdefault("verification_code", code_for(data["admin_mobile"]))
    instance = reg.register_organisation(data, scan or licence(), actor=by)
    db.session.commit()
    return instance


def test_employer_unit_is_approved_by_its_parent_and_the_applicant_becomes_admin(app):
    instance = register_org(employer_unit())
    unit = org("福州仁心医疗器械有限公司")
    applicant = user("renxin_admin")
    assert unit.status == OrgStatus.PENDING and applicant.status == "pending"
    assert unit.path.startswith(org("市卫生健康委员会").path) and unit.uscc == NEW_USCC
    with pytest.raises(AuthenticationFailed) as exc:
        authenticate("renxin_admin", PASSWORD)
    assert "市卫生健康委员会" in exc.value.message
    db.session.rollback()
    task = only_task(instance)
    assert task.lane == "parent" and task.candidate_org_id == org("市卫生健康委员会").id
    for other in ("hospital_admin", "hr_district", "tech_admin"):
        with pytest.raises(NotFound):
            wf.visible_task(task.id, actor(other))
    data = wf.instance_data(instance)
    assert "admin_password" not in data and data["attachments"]
    wf.complete_task(task.id, {"outcome": "approve"}, actor=actor("health_admin"))
    db.session.commit()
    assert unit.status == OrgStatus.ACTIVE
    assert authenticate("renxin_admin", PASSWORD).status == "active"
    assert actor("renxin_admin").is_admin_of(unit.id)


def test_supervisory_department_is_approved_by_the_hr_bureau_at_its_level(app):
    data = employer_unit(kind="supervisory_department", name="市教育局", parent_id=org("市人力资源和社会保障局").id)
    data.pop("nature")
    instance = register_org(data)
    task = only_task(instance)
    with pytest.raises(NotFound):
        wf.visible_task(task.id, actor("hr_district"))
    wf.complete_task(task.id, {"outcome": "approve"}, actor=actor("hr_city"))
    db.session.commit()
    assert org("市教育局").status == OrgStatus.ACTIVE


def test_supervisory_department_must_register_under_an_hr_bureau(app):
    data = employer_unit(kind="supervisory_department", parent_id=org("市卫生健康委员会").id)
    with pytest.raises(ValidationFailed) as exc:
        reg.register_organisation(data, licence())
    assert exc.value.fields["parent_id"] == "请选择同级人社部门"


def test_training_institution_rejected_then_registers_again_with_the_same_uscc(app):
    data = employer_unit(kind="training_institution", name="福州卫生职业培训中心", level="市级",
                         hr_bureau_id=org("市人力资源和社会保障局").id,
                         supervisory_department_id=org("市卫生健康委员会").id)
    data.pop("parent_id")
    first = register_org(dict(data))
    task = only_task(first)
    assert task.candidate_org_id == org("市卫生健康委员会").id  # the department approves, not the bureau
    wf.complete_task(task.id, {"outcome": "reject", "comment": "证照不清晰"}, actor=actor("health_admin"))
    db.session.commit()
    centre = org("福州卫生职业培训中心")
    assert centre.status == OrgStatus.REJECTED and user("renxin_admin").status == "rejected"

    data.pop("supervisory_department_id")
    second = register_org(dict(data))
    assert org("福州卫生职业培训中心").id == centre.id and centre.status == OrgStatus.PENDING
    assert only_task(second).candidate_org_id == org("市人力资源和社会保障局").id
    wf.complete_task(only_task(second).id, {"outcome": "approve"}, actor=actor("hr_city"))
    db.session.commit()
    assert centre.status == OrgStatus.ACTIVE and actor("renxin_admin").is_admin_of(centre.id)


def test_existing_user_applies_for_an_organisation(app):
    data = employer_unit(admin_mode="existing", admin_login="110101199003072711", admin_password="Demo12345",
                         parent_id=org("区人力资源和社会保障局").id)
    instance = register_org(data)
    wf.complete_task(only_task(instance).id, {"outcome": "approve"}, actor=actor("hr_district"))
    db.session.commit()
    assert actor("chenshihui").is_admin_of(org("福州仁心医疗器械有限公司").id)
    # a wrong password for the existing account is a field error
    with pytest.raises(ValidationFailed) as exc:
        reg.register_organisation(employer_unit(uscc=OTHER_USCC, name="另一家", admin_mode="existing",
                                                admin_login="chenshihui", admin_password="Wrong1234"), licence())
    assert "admin_password" in exc.value.fields


def test_signed_in_actor_applies_without_account_fields(app):
    instance = reg.register_organisation({k: v for k, v in employer_unit().items() if not k.startswith("admin")},
                                         licence(), actor=actor("wangliping"))
    db.session.commit()
    assert instance.started_by_id == user("wangliping").id


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"uscc": "91410104MA9G8NFR0H"}, "uscc", "该统一社会信用代码已注册"),
    ({"uscc": "91410104MA9G8NFR0J"}, "uscc", "统一社会信用代码校验位不正确"),
    ({"name": "市第一人民医院"}, "name", "该单位名称已注册"),
    ({"nature": "外星机构"}, "nature", "请选择单位性质"),
    ({"phone": "abc"}, "phone", "请填写正确的联系电话（7-20位数字，可含区号连字符）"),
    ({"parent_id": 99999}, "parent_id", "请选择上级单位、主管部门或同级人社部门"),
    ({"kind": "hr_bureau"}, "kind", "请选择注册类型（用人单位、继续教育基地或主管部门）"),
    ({"admin_id_number": "440902199203222903"}, "admin_id_number", "身份证号码校验位不正确"),
])
def test_organisation_fields_are_checked_and_nothing_is_written(app, change, field, message):
    before = db.session.scalar(select(func.count(Organisation.id)))
    with pytest.raises(ValidationFailed) as exc:
        reg.register_organisation(employer_unit(**change), licence())
    assert exc.value.fields[field] == message
    db.session.rollback()
    assert db.session.scalar(select(func.count(Organisation.id))) == before


def test_licence_scan_is_checked_by_content(app):
    data = employer_unit(verification_code=code_for("13712345678"))
    with pytest.raises(ValidationFailed) as exc:
        reg.register_organisation(data, licence(b"just text, not an image", "scan.png"))
    assert "licence" in exc.value.fields and "不是有效的图片" in exc.value.fields["licence"]
    with pytest.raises(ValidationFailed) as exc:
        reg.register_organisation(employer_unit(), None)
    assert exc.value.fields["licence"] == "请上传统一社会信用代码证扫描件"


# --------------------------------------------------------------------------- passwords and lockout


def test_password_reset_by_id_number_and_registered_mobile(app):
    chen = user("chenshihui")
    chen.locked_until = utcnow() + timedelta(minutes=30)
    db.session.commit()
    assert reg.send_reset_code("110101199003072711", "sms", "13900000000") is None  # not the registered mobile
    assert senders.last_code("13900000000") is None
    code = reg.send_reset_code("110101199003072711", "sms", "13800000000")
    assert code and senders.last_code("13800000000") == code
    with pytest.raises(ValidationFailed) as exc:
        reg.reset_password("110101199003072711", "sms", "13800000000", code, "short1", "short1")
    assert exc.value.fields["password"] == "密码长度应为8-16位"
    with pytest.raises(ValidationFailed) as exc:
        reg.reset_password("110101199003072711", "sms", "13900000000", code, "Newpass123", "Newpass123")
    assert "verification_code" in exc.value.fields
    reg.reset_password("110101199003072711", "sms", "13800000000", code, "Newpass123", "Newpass123")
    db.session.commit()
    assert authenticate("chenshihui", "Newpass123").id == chen.id  # unlocked too
    with pytest.raises(ValidationFailed):  # the code worked once
        reg.reset_password("110101199003072711", "sms", "13800000000", code, "Other1234", "Other1234")


def test_password_reset_by_email(app):
    chen = user("chenshihui")
    chen.email = "chen@example.com"
    db.session.commit()
    code = reg.send_reset_code("110101199003072711", "email", "Chen@Example.com")
    assert senders.last_code("chen@example.com") == code
    reg.reset_password("110101199003072711", "email", "chen@example.com", code, "Mail12345", "Mail12345")
    assert check_password_hash(chen.password_hash, "Mail12345")


def test_change_password_requires_the_old_one(app):
    chen = actor("chenshihui")
    with pytest.raises(ValidationFailed) as exc:
        reg.change_password(chen, "Wrong1234", "Newpass123", "Newpass123")
    assert exc.value.fields == {"old_password": "原密码不正确"}
    with pytest.raises(ValidationFailed) as exc:
        reg.change_password(chen, "Demo12345", "newpassword", "newpassword")
    assert exc.value.fields == {"password": "密码必须同时包含字母和数字"}
    with pytest.raises(ValidationFailed) as exc:
        reg.change_password(chen, "Demo12345", "Demo12345", "Demo12345")
    assert exc.value.fields == {"password": "新密码不能与原密码相同"}
    reg.change_password(chen, "Demo12345", "Newpass123", "Newpass123")
    db.session.commit()
    assert authenticate("chenshihui", "Newpass123")


def test_lockout_after_configured_failures_refuses_even_the_right_password_until_it_expires(app):
    app.config["LOCKOUT_FAILURES"] = 3
    try:
        for _ in range(3):
            with pytest.raises(AuthenticationFailed) as exc:
                authenticate("chenshihui", "Wrong1234")
            assert exc.value.message == sign_in_failed_message()  # no count of tries left: it would tell who exists
        assert "密码连续错误3次，帐号将被锁定60分钟" in exc.value.message
        db.session.commit()
        chen = user("chenshihui")
        assert chen.locked_until is not None and chen.failed_logins == 0
        with pytest.raises(AuthenticationFailed) as exc:  # even the right password, while locked
            authenticate("chenshihui", "Demo12345")
        assert exc.value.status == 423 and "锁定" in exc.value.message
        chen.locked_until = utcnow() - timedelta(seconds=1)
        db.session.commit()
        assert authenticate("chenshihui", "Demo12345").id == chen.id
    finally:
        app.config["LOCKOUT_FAILURES"] = 5


def test_unit_without_review_authority_leaves_the_review_to_the_hr_bureau(app):
    org("市第一人民医院").review_enabled = False
    db.session.commit()
    instance = register()
    task = only_task(instance)
    assert task.lane == "hr_bureau" and task.candidate_org_id == org("市人力资源和社会保障局").id
    with pytest.raises(NotFound):
        wf.visible_task(task.id, actor("hospital_admin"))
    wf.complete_task(task.id, {"outcome": "approve"}, actor=actor("hr_city"))
    db.session.commit()
    assert user("zhangsan").status == "active"


def test_sub_admins_review_registrations_only_with_the_registration_review_module(app):
    hospital = org("市第一人民医院")
    for login, perms in (("hr_clerk", ["registration_review"]), ("credit_clerk", ["credit_review", "people"])):
        u = User(login=login, name=login, password_hash="x")
        db.session.add(u)
        db.session.flush()
        db.session.add(Membership(user_id=u.id, organisation_id=hospital.id, role=Role.SUB_ADMIN, permissions=perms))
    db.session.commit()
    task = only_task(register())
    assert inbox.inbox(actor("hr_clerk"), process="person_registration").total == 1
    assert inbox.inbox(actor("credit_clerk"), process="person_registration").total == 0
    with pytest.raises(NotFound):
        wf.complete_task(task.id, {"outcome": "approve"}, actor=actor("credit_clerk"))
    wf.complete_task(task.id, {"outcome": "approve"}, actor=actor("hr_clerk"))
    db.session.commit()
    assert queries.reviewed(actor("hr_clerk")).total == 1 and queries.reviewed(actor("credit_clerk")).total == 0
