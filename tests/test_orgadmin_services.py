"""Administrators, roles, departments and subordinate organisations through the service layer."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.accounts.actor import Actor
from app.accounts.models import Membership, Organisation, OrgStatus, Role, User
from app.accounts.services import authenticate
from app.cases import queries
from app.core.errors import AuthenticationFailed, InvalidState, NotFound, ValidationFailed
from app.extensions import db
from app.orgadmin import services as org
from app.orgadmin.models import AdminRole, Department
from app.registration.services import change_password
from app.workflow import services as wf
from tests.conftest import actor


def org_id(name: str) -> int:
    return db.session.scalar(select(Organisation.id).where(Organisation.name == name))


def user(login: str) -> User:
    return db.session.scalar(select(User).where(User.login == login))


HOSPITAL, HEALTH, TECH, CITY = "市第一人民医院", "市卫生健康委员会", "福州智造科技有限公司", "市人力资源和社会保障局"


def role(org_name: str, name: str) -> AdminRole:
    return db.session.scalar(select(AdminRole).where(AdminRole.organisation_id == org_id(org_name),
                                                     AdminRole.name == name))


def promote(login: str, role_name: str | None, org_name: str = HOSPITAL, by: str = "hospital_admin") -> Membership:
    m = org.add_member_as_sub_admin(actor(by), org_id(org_name), user(login).id,
                                    role(org_name, role_name).id if role_name else None)
    db.session.commit()
    return m


def declare(declaration):
    inst = wf.start_process("credit_hour_approval", declaration, actor=actor("chenshihui"))
    db.session.commit()
    return inst


# --- roles and the 学时审核 permission module ----------------------------------------------------

def test_roles_are_named_module_sets_and_changes_reach_their_holders(app):
    admin = actor("hospital_admin")
    hid = org_id(HOSPITAL)
    r = org.create_role(admin, hid, "统计员", ["statistics"])
    db.session.commit()
    assert [x.name for x in org.list_roles(admin, hid)] == ["学时审核员", "人事专员", "统计员"]

    with pytest.raises(ValidationFailed) as exc:
        org.create_role(admin, hid, "统计员", [])
    assert exc.value.fields == {"name": "本单位已有同名角色"}
    with pytest.raises(ValidationFailed) as exc:
        org.create_role(admin, hid, "超级", ["everything"])
    assert "everything" in exc.value.fields["modules"]

    m = promote("liuwenbin", "统计员")
    assert m.role == Role.SUB_ADMIN and m.permissions == ["statistics"]
    org.update_role(admin, r.id, modules=["credit_review", "statistics"])
    db.session.commit()
    assert actor("liuwenbin").can_in(hid, "credit_review")

    with pytest.raises(InvalidState):
        org.delete_role(admin, r.id)  # still held
    # another organisation's super admin does not see or touch the role
    with pytest.raises(NotFound):
        org.update_role(actor("tech_admin"), r.id, name="x")
    with pytest.raises(NotFound):
        org.list_roles(actor("tech_admin"), hid)


def test_without_credit_review_module_a_sub_admin_cannot_open_or_complete_a_review(app, declaration):
    inst = declare(declaration)
    task = wf.open_tasks(inst)[0]
    promote("liuwenbin", "人事专员")  # people + statistics, no 学时审核
    liu = actor("liuwenbin")
    assert queries.inbox(liu).total == 0
    with pytest.raises(NotFound):
        wf.visible_task(task.id, liu)
    with pytest.raises(NotFound):
        wf.complete_task(task.id, {"outcome": "approve"}, actor=liu)
    db.session.rollback()

    m = db.session.scalar(select(Membership).where(Membership.user_id == user("liuwenbin").id))
    org.assign_role(actor("hospital_admin"), m.id, role(HOSPITAL, "学时审核员").id)
    db.session.commit()
    liu = actor("liuwenbin")
    assert queries.inbox(liu).total == 1
    wf.complete_task(task.id, {"outcome": "approve"}, actor=liu)
    db.session.commit()
    assert wf.open_tasks(inst)[0].task_spec == "supervisory_review"


# --- three ways to add a sub-admin --------------------------------------------------------------

def test_register_a_new_user_as_sub_admin_with_field_errors_first(app):
    admin, hid = actor("hospital_admin"), org_id(HOSPITAL)
    before = db.session.scalar(select(db.func.count()).select_from(User))
    with pytest.raises(ValidationFailed) as exc:
        org.register_sub_admin(admin, hid, login="chenshihui", name="", id_number="110101199003072712",
                               password="short", mobile="123")
    assert exc.value.fields == {"login": "该登录名已被使用", "name": "请填写姓名",
                                "id_number": "身份证号码校验位不正确", "mobile": "手机号码应为以1[3-9]开头的11位数字",
                                "password": "密码长度应为8-16位"}
    db.session.rollback()
    assert db.session.scalar(select(db.func.count()).select_from(User)) == before

    m = org.register_sub_admin(admin, hid, login="zhangke", name="张科", id_number="11010519850612123x",
                               password="Kejiao2026", mobile="13912345678", role_id=role(HOSPITAL, "学时审核员").id)
    db.session.commit()
    assert (m.role, m.permissions) == (Role.SUB_ADMIN, ["credit_review"])
    assert authenticate("11010519850612123X", "Kejiao2026").login == "zhangke"


def test_add_a_user_of_another_organisation_after_confirming_their_password(app):
    admin, hid = actor("hospital_admin"), org_id(HOSPITAL)
    with pytest.raises(ValidationFailed) as exc:
        org.add_registered_user_as_sub_admin(admin, hid, login="440102198001010013", password="Wrong12345")
    assert exc.value.fields == {"password": "密码与该用户的注册密码不一致"}
    with pytest.raises(ValidationFailed) as exc:
        org.add_registered_user_as_sub_admin(admin, hid, login="nobody", password="Demo12345")
    assert "login" in exc.value.fields
    db.session.rollback()

    m = org.add_registered_user_as_sub_admin(admin, hid, login="440102198001010013", password="Demo12345",
                                             role_id=role(HOSPITAL, "人事专员").id)
    db.session.commit()
    wang = actor("wangliping")
    assert {(x.organisation.name, x.role) for x in wang.memberships} == {
        (TECH, Role.MEMBER), (HOSPITAL, Role.SUB_ADMIN)}
    assert m.permissions == ["people", "statistics"]
    with pytest.raises(ValidationFailed):  # already an administrator here
        org.add_registered_user_as_sub_admin(admin, hid, login="wangliping", password="Demo12345")


def test_only_members_of_the_organisation_can_be_chosen(app):
    with pytest.raises(ValidationFailed) as exc:
        org.add_member_as_sub_admin(actor("hospital_admin"), org_id(HOSPITAL), user("wangliping").id, None)
    assert exc.value.fields == {"user_id": "请选择本单位已注册的人员"}
    with pytest.raises(NotFound):  # a sub-admin is not the super admin
        promote("liuwenbin", None)
        org.add_member_as_sub_admin(actor("liuwenbin"), org_id(HOSPITAL), user("chenshihui").id, None)


# --- transfer, disable, reset, delete ----------------------------------------------------------

def test_transfer_super_admin_the_old_one_loses_it(app):
    m = promote("liuwenbin", "学时审核员")
    org.transfer_super_admin(actor("hospital_admin"), m.id)
    db.session.commit()
    hid = org_id(HOSPITAL)
    assert org.is_super_admin(actor("liuwenbin"), hid)
    old = actor("hospital_admin")
    assert not old.is_admin_of(hid)
    with pytest.raises(NotFound):
        org.list_admins(old, hid)
    rows = org.list_admins(actor("liuwenbin"), hid)
    assert [(r.user.login, r.membership.role) for r in rows] == [("liuwenbin", Role.ADMIN)]


def test_disabled_admin_cannot_sign_in_and_reenabled_can(app):
    m = promote("liuwenbin", None)
    org.set_admin_active(actor("hospital_admin"), m.id, False)
    db.session.commit()
    with pytest.raises(AuthenticationFailed, match="停用"):
        authenticate("liuwenbin", "Demo12345")
    with pytest.raises(InvalidState):  # not oneself
        org.set_admin_active(actor("hospital_admin"), org.list_admins(actor("hospital_admin"), org_id(HOSPITAL))[0]
                             .membership.id, False)
    org.set_admin_active(actor("hospital_admin"), m.id, True)
    db.session.commit()
    assert authenticate("liuwenbin", "Demo12345").login == "liuwenbin"


def test_reset_password_gives_a_temporary_password_that_must_be_changed(app):
    m = promote("liuwenbin", None)
    u, temp = org.reset_admin_password(actor("hospital_admin"), m.id)
    db.session.commit()
    assert len(temp) == 10 and org.password_error(temp) is None
    with pytest.raises(AuthenticationFailed):
        authenticate("liuwenbin", "Demo12345")
    assert authenticate("liuwenbin", temp) == u and org.must_change_password(u.id)
    with pytest.raises(ValidationFailed) as exc:
        change_password(Actor.of(u), temp, "abcdefgh", "abcdefgh")
    assert exc.value.fields == {"password": "密码必须同时包含字母和数字"}
    change_password(Actor.of(u), temp, "Newpass2026", "Newpass2026")
    db.session.commit()
    assert not org.must_change_password(u.id) and authenticate("liuwenbin", "Newpass2026") == u


def test_delete_sub_admin_removes_the_role_not_the_person(app):
    staff = promote("liuwenbin", "学时审核员")  # staff of the hospital: stays a member
    outsider = org.register_sub_admin(actor("hospital_admin"), org_id(HOSPITAL), login="zhangke", name="张科",
                                      id_number="11010519850612123X", password="Kejiao2026")
    db.session.commit()
    admin = actor("hospital_admin")
    org.remove_sub_admin(admin, staff.id)
    org.remove_sub_admin(admin, outsider.id)
    db.session.commit()
    assert (staff.role, staff.permissions, staff.admin_role_id) == (Role.MEMBER, [], None)
    assert db.session.get(Membership, outsider.id) is None
    assert user("zhangke") is not None  # the account (and its history) stays
    super_m = org.list_admins(admin, org_id(HOSPITAL))[0].membership
    with pytest.raises(InvalidState):
        org.remove_sub_admin(admin, super_m.id)


# --- scope ---------------------------------------------------------------------------------------

def test_no_organisation_sees_or_acts_on_another_organisations_admins(app):
    m = promote("liuwenbin", "学时审核员")
    tech, hosp_id = actor("tech_admin"), org_id(HOSPITAL)
    with pytest.raises(NotFound):
        org.list_admins(tech, hosp_id)
    for call in (lambda a: org.set_admin_active(a, m.id, False), lambda a: org.reset_admin_password(a, m.id),
                 lambda a: org.remove_sub_admin(a, m.id), lambda a: org.transfer_super_admin(a, m.id),
                 lambda a: org.assign_role(a, m.id, None)):
        with pytest.raises(NotFound):
            call(tech)
    # the supervisory department above sees them and may disable / reset, but not restructure
    health = actor("health_admin")
    assert {r.user.login for r in org.list_admins(health, hosp_id)} == {"hospital_admin", "liuwenbin"}
    for call in (lambda a: org.remove_sub_admin(a, m.id), lambda a: org.transfer_super_admin(a, m.id)):
        with pytest.raises(NotFound):
            call(health)
    hosp_admin_m = org.list_admins(actor("hospital_admin"), hosp_id)[0].membership
    org.set_admin_active(health, hosp_admin_m.id, False)
    db.session.commit()
    with pytest.raises(AuthenticationFailed):
        authenticate("hospital_admin", "Demo12345")
    org.set_admin_active(health, hosp_admin_m.id, True)
    db.session.commit()
    # ... and nothing outside its subtree
    tech_admin_m = org.list_admins(tech, org_id(TECH))[0].membership
    with pytest.raises(NotFound):
        org.reset_admin_password(health, tech_admin_m.id)
    with pytest.raises(NotFound):
        org.list_admins(health, org_id(TECH))
    # a unit is no supervisor: it has no subordinates to manage, not even upwards
    with pytest.raises(NotFound):
        org.list_subordinates(actor("hospital_admin"), hosp_id)
    with pytest.raises(NotFound):
        org.set_review_enabled(actor("hospital_admin"), org_id(HEALTH), False)


# --- departments ---------------------------------------------------------------------------------

def test_departments_add_edit_nest_disable(app):
    admin, hid = actor("hospital_admin"), org_id(HOSPITAL)
    names = [(d.name, depth) for d, depth in org.list_departments(admin, hid)]
    assert names == [("人事科", 0), ("医务科", 0), ("继续教育办公室", 1)]
    med = next(d for d, _ in org.list_departments(admin, hid) if d.name == "医务科")
    office = next(d for d, _ in org.list_departments(admin, hid) if d.name == "继续教育办公室")
    ward = org.create_department(admin, hid, "急诊组", parent_id=office.id)
    db.session.commit()
    assert [(d.name, depth) for d, depth in org.list_departments(admin, hid)][-1] == ("急诊组", 2)

    with pytest.raises(ValidationFailed) as exc:
        org.update_department(admin, med.id, parent_id=ward.id, move=True)
    assert exc.value.fields == {"parent_id": "上级部门不能是本部门或其下级部门"}
    with pytest.raises(ValidationFailed) as exc:
        org.create_department(admin, hid, "人事科")
    assert exc.value.fields == {"name": "同一上级部门下已有同名部门"}
    db.session.rollback()

    org.update_department(admin, ward.id, name="急诊医学组", parent_id=None, move=True)
    org.update_department(admin, office.id, status="disabled")
    db.session.commit()
    tree = {d.name: (d.parent_id, d.status) for d, _ in org.list_departments(admin, hid)}
    assert tree["急诊医学组"] == (None, "active") and tree["继续教育办公室"][1] == "disabled"

    with pytest.raises(NotFound):
        org.list_departments(actor("tech_admin"), hid)
    with pytest.raises(NotFound):
        org.update_department(actor("tech_admin"), ward.id, name="x")
    with pytest.raises(NotFound):  # a sub-admin without 机构管理
        promote("liuwenbin", "学时审核员")
        org.create_department(actor("liuwenbin"), hid, "x")


# --- subordinate organisations -------------------------------------------------------------------

def test_supervisors_list_the_organisations_below_them(app):
    rows, total = org.list_subordinates(actor("health_admin"), org_id(HEALTH))
    assert ([r.org.name for r in rows], total) == ([HOSPITAL], 1)
    assert rows[0].admins == ["市一医院管理员"]
    rows, total = org.list_subordinates(actor("hr_city"), org_id(CITY))
    assert {r.org.name for r in rows} == {"区人力资源和社会保障局", HEALTH, HOSPITAL, TECH, "市继续教育学院"}
    rows, total = org.list_subordinates(actor("hr_city"), org_id(CITY), q="医院")
    assert [r.org.name for r in rows] == [HOSPITAL]
    with pytest.raises(NotFound):
        org.list_subordinates(actor("health_admin"), org_id(CITY))


def test_disabled_organisation_admins_cannot_act(app, declaration):
    inst = declare(declaration)
    task = wf.open_tasks(inst)[0]
    hid = org_id(HOSPITAL)
    org.set_org_status(actor("health_admin"), hid, False)
    db.session.commit()
    assert db.session.get(Organisation, hid).status == OrgStatus.DISABLED
    hospital = actor("hospital_admin")
    assert queries.inbox(hospital).total == 0
    with pytest.raises(NotFound):
        wf.complete_task(task.id, {"outcome": "approve"}, actor=hospital)
    with pytest.raises(NotFound):
        org.list_admins(hospital, hid)
    db.session.rollback()
    org.set_org_status(actor("health_admin"), hid, True)
    db.session.commit()
    wf.complete_task(task.id, {"outcome": "approve"}, actor=actor("hospital_admin"))
    db.session.commit()


def test_review_authority_off_skips_the_supervisory_step(any_app, declaration):
    org.set_review_enabled(actor("hr_city"), org_id(HEALTH), False)
    db.session.commit()
    inst = declare(declaration)
    steps = []
    for login in ("hospital_admin", "hr_city"):
        t = wf.open_tasks(inst)[0]
        steps.append((t.task_spec, t.candidate_org_id))
        wf.complete_task(t.id, {"outcome": "approve"}, actor=actor(login))
        db.session.commit()
    assert steps == [("unit_review", org_id(HOSPITAL)), ("hr_review", org_id(CITY))]
    assert inst.status == "completed"

    org.set_review_enabled(actor("hr_city"), org_id(HEALTH), True)  # back on: the step returns
    db.session.commit()
    inst = declare(declaration)
    wf.complete_task(wf.open_tasks(inst)[0].id, {"outcome": "approve"}, actor=actor("hospital_admin"))
    db.session.commit()
    assert wf.open_tasks(inst)[0].task_spec == "supervisory_review"


def test_a_disabled_supervisory_department_is_skipped_instead_of_holding_tasks_nobody_can_do(app, declaration):
    org.set_org_status(actor("hr_city"), org_id(HEALTH), False)
    db.session.commit()
    inst = declare(declaration)
    wf.complete_task(wf.open_tasks(inst)[0].id, {"outcome": "approve"}, actor=actor("hospital_admin"))
    db.session.commit()
    assert [(t.task_spec, t.candidate_org_id) for t in wf.open_tasks(inst)] == [("hr_review", org_id(CITY))]


def test_seed_adds_demo_roles_and_departments_once(app):
    from app.orgadmin.demo import seed_org_extras

    before = (db.session.scalar(select(db.func.count()).select_from(AdminRole)),
              db.session.scalar(select(db.func.count()).select_from(Department)))
    assert before == (3, 4)
    assert seed_org_extras() == 0


def test_a_temporary_password_replaced_through_the_ordinary_password_change_needs_no_further_change(app):
    from app.registration import services as reg

    m = promote("liuwenbin", None)
    u, temp = org.reset_admin_password(actor("hospital_admin"), m.id)
    db.session.commit()
    assert org.must_change_password(u.id)
    reg.change_password(actor("liuwenbin"), temp, "Mine2026ok", "Mine2026ok")
    db.session.commit()
    assert not org.must_change_password(u.id) and authenticate("liuwenbin", "Mine2026ok") == u
