"""The /org pages: forms with CSRF, field errors, one-time temporary passwords, the 学时审核 module."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.accounts.models import Membership, Organisation, User
from app.extensions import db
from app.orgadmin.models import AdminRole
from app.workflow import services as wf
from tests.conftest import actor


def uid(login: str) -> int:
    return db.session.scalar(select(User.id).where(User.login == login))


def mid(login: str, org_name: str = "市第一人民医院") -> int:
    return db.session.scalar(select(Membership.id).join(Organisation).where(
        Membership.user_id == uid(login), Organisation.name == org_name))


def role_id(name: str) -> int:
    return db.session.scalar(select(AdminRole.id).where(AdminRole.name == name))


def test_admin_pages_render_and_add_a_sub_admin(web):
    web.login("hospital_admin")
    page = web.client.get("/org/admins").get_data(as_text=True)
    assert "本单位管理员" in page and "选择成为管理员" in page and "注册成为管理员" in page and "添加成为管理员" in page
    assert "机构管理" in page and "内设部门" in page  # the navigation entry and the tabs
    assert "下属机构" not in page  # a unit supervises nobody
    for url, text in (("/org/roles", "学时审核员"), ("/org/departments", "继续教育办公室")):
        r = web.client.get(url)
        assert r.status_code == 200 and text in r.get_data(as_text=True)

    r = web.post_form("/org/admins", {"way": "register", "name": "张科", "id_number": "350102199201010011",
                                      "login": "zhangke", "password": "Kejiao2026"}, post_url="/org/admins/add")
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "身份证号码校验位不正确" in html and 'value="zhangke"' in html and "Kejiao2026" not in html
    assert db.session.scalar(select(User.id).where(User.login == "zhangke")) is None

    r = web.post_form("/org/admins", {"way": "member", "user_id": uid("liuwenbin"), "role_id": role_id("学时审核员")},
                      post_url="/org/admins/add")
    assert r.status_code == 302
    html = web.client.get("/org/admins").get_data(as_text=True)
    assert "刘文斌" in html and "子管理员" in html


def test_forms_need_the_csrf_token(web):
    web.login("hospital_admin")
    r = web.client.post("/org/roles", data={"name": "无令牌", "modules": ["statistics"]})
    assert r.status_code in (302, 303, 400)
    assert db.session.scalar(select(AdminRole.id).where(AdminRole.name == "无令牌")) is None


def test_roles_page_creates_a_role_with_modules(web):
    web.login("hospital_admin")
    r = web.post_form("/org/roles", {"name": "统计员", "modules": ["statistics", "training"]})
    assert r.status_code == 302
    role = db.session.scalar(select(AdminRole).where(AdminRole.name == "统计员"))
    assert role.modules == ["training", "statistics"]
    r = web.post_form("/org/roles", {"name": "统计员"})
    assert r.status_code == 422 and "本单位已有同名角色" in r.get_data(as_text=True)


def test_reset_password_shows_it_once_and_forces_a_change(web, client):
    web.login("hospital_admin")
    web.post_form("/org/admins", {"way": "member", "user_id": uid("liuwenbin")}, post_url="/org/admins/add")
    r = web.post_form("/org/admins", {}, post_url=f"/org/admins/{mid('liuwenbin')}/reset-password")
    assert r.status_code == 200
    temp = re.search(r'id="temp-password">([^<]+)<', r.get_data(as_text=True)).group(1)
    assert temp not in web.client.get("/org/admins").get_data(as_text=True)  # only once
    web.client.post("/logout", data={"csrf_token": web.csrf("/org/admins")})

    r = web.login("liuwenbin", temp)
    assert r.status_code == 302
    r = web.client.get("/tasks")
    assert r.status_code == 302 and r.headers["Location"].endswith("/org/password")
    r = web.post_form("/org/password", {"old_password": temp, "password": "Newpass2026",
                                        "password_confirm": "Other2026"})
    assert r.status_code == 422 and "两次输入的密码不一致" in r.get_data(as_text=True)
    r = web.post_form("/org/password", {"old_password": temp, "password": "Newpass2026",
                                        "password_confirm": "Newpass2026"})
    assert r.status_code == 302
    assert web.client.get("/tasks").status_code == 200


def test_disabled_user_session_ends(web):
    from flask import g

    from app.orgadmin import services as org

    hosp = db.session.scalar(select(Organisation.id).where(Organisation.name == "市第一人民医院"))
    org.add_member_as_sub_admin(actor("hospital_admin"), hosp, uid("liuwenbin"), None)
    db.session.commit()
    web.login("liuwenbin")
    assert web.client.get("/tasks").status_code == 200
    org.set_admin_active(actor("hospital_admin"), mid("liuwenbin"), False)
    db.session.commit()
    g.pop("_login_user", None)  # the test app context outlives requests; a real request starts afresh
    r = web.client.get("/tasks")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_web_review_needs_the_credit_review_module(web, declaration):
    inst = wf.start_process("credit_hour_approval", declaration, actor=actor("chenshihui"))
    db.session.commit()
    task_id = wf.open_tasks(inst)[0].id
    web.login("hospital_admin")
    web.post_form("/org/admins", {"way": "member", "user_id": uid("liuwenbin"), "role_id": role_id("人事专员")},
                  post_url="/org/admins/add")
    web.client.post("/logout", data={"csrf_token": web.csrf("/org/admins")})

    web.login("liuwenbin")
    assert "急诊医学新进展" not in web.client.get("/tasks").get_data(as_text=True)
    assert web.client.get(f"/tasks/{task_id}").status_code == 404
    r = web.post_form("/tasks", {"outcome": "approve", "comment": ""}, post_url=f"/tasks/{task_id}")
    assert r.status_code == 404
    assert web.client.get("/org/admins").status_code == 403  # only the super admin manages administrators
    assert "机构管理" not in web.client.get("/tasks").get_data(as_text=True)  # no /org page for this role
    assert wf.open_tasks(inst)[0].id == task_id and wf.open_tasks(inst)[0].completed_at is None


def test_subordinate_pages_switch_review_and_reset_a_subordinate_admin(web):
    web.login("health_admin")
    html = web.client.get("/org/subordinates").get_data(as_text=True)
    assert "下属机构" in html
    assert "市第一人民医院" in html and "市一医院管理员" in html and "福州智造" not in html
    hosp = db.session.scalar(select(Organisation).where(Organisation.name == "市第一人民医院"))
    r = web.post_form(f"/org/subordinates/{hosp.id}", {}, post_url=f"/org/subordinates/{hosp.id}/review-off")
    assert r.status_code == 302
    db.session.refresh(hosp)
    assert hosp.review_enabled is False
    r = web.post_form(f"/org/subordinates/{hosp.id}", {"back": f"subordinate:{hosp.id}"},
                      post_url=f"/org/admins/{mid('hospital_admin')}/reset-password")
    assert r.status_code == 200 and 'id="temp-password"' in r.get_data(as_text=True)

    tech = db.session.scalar(select(Organisation.id).where(Organisation.name == "福州智造科技有限公司"))
    assert web.client.get(f"/org/subordinates/{tech}").status_code == 404
    assert web.post_form("/org/subordinates", {}, post_url=f"/org/subordinates/{tech}/disable").status_code == 404


def test_sub_admin_with_the_organisation_module_manages_departments_and_subordinates(web):
    from app.orgadmin import services as org

    health = db.session.scalar(select(Organisation.id).where(Organisation.name == "市卫生健康委员会"))
    org.register_sub_admin(actor("health_admin"), health, login="kejiao", name="科教处干事",
                           id_number="350102199201010029", password="Kejiao2026", role_id=role_id("审核与机构管理"))
    db.session.commit()
    web.login("kejiao", "Kejiao2026")
    r = web.client.get("/org/")
    assert r.status_code == 302 and "/org/departments" in r.headers["Location"]
    html = web.client.get(r.headers["Location"]).get_data(as_text=True)
    assert "科技教育处" in html and "下属机构" in html and ">管理员<" not in html
    assert "市第一人民医院" in web.client.get("/org/subordinates").get_data(as_text=True)
    r = web.client.get("/org/admins")
    assert r.status_code == 302 and "/org/departments" in r.headers["Location"]


def test_department_edits_show_field_errors_in_place(web):
    from app.orgadmin.models import Department

    web.login("hospital_admin")
    med = db.session.scalar(select(Department).where(Department.name == "医务科"))
    office = db.session.scalar(select(Department).where(Department.name == "继续教育办公室"))
    r = web.post_form("/org/departments", {"name": "医务科", "parent_id": office.id},
                      post_url=f"/org/departments/{med.id}")
    assert r.status_code == 422 and "上级部门不能是本部门或其下级部门" in r.get_data(as_text=True)
    db.session.refresh(med)
    assert med.parent_id is None
    r = web.post_form("/org/departments", {"name": "医学教育科", "parent_id": ""},
                      post_url=f"/org/departments/{med.id}")
    assert r.status_code == 302
    db.session.refresh(med)
    assert med.name == "医学教育科"
