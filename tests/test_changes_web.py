"""Info changes in the browser: start a change, the reviewer sees old → new, contact details at once."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.accounts.models import Organisation
from app.extensions import db
from app.workflow import services
from app.workflow.models import ProcessInstance
from tests.conftest import WebClient, actor


def org_id(name: str) -> int:
    return db.session.scalar(select(Organisation.id).where(Organisation.name == name))


def test_person_starts_a_title_change_and_the_unit_sees_old_and_new(web):
    web.login("chenshihui")
    page = web.client.get("/changes").get_data(as_text=True)
    assert "申请信息变更" in page and "卫生系列" in page
    form = web.client.get("/changes/person").get_data(as_text=True)
    assert re.search(r'<option value="中级" selected', form)  # prefilled with the current values
    r = web.post_form("/changes/person", {"title_series": "卫生系列", "title_level": "副高级", "reason": "晋升"})
    assert r.status_code == 302
    inst = db.session.scalar(select(ProcessInstance).where(ProcessInstance.process_key == "person_info_change"))
    mine = web.client.get("/applications").get_data(as_text=True)
    assert "信息变更：专业技术职务等级" in mine
    detail = web.client.get(f"/applications/{inst.id}").get_data(as_text=True)
    assert "变更内容" in detail and "副高级" in detail
    history = detail[detail.index("审批记录"):]
    assert "提交申请" in history and "提交申报" not in history  # a request (申请), not a declaration
    assert "申请人" in detail and "申报人" not in detail

    web.client.post("/logout", data={"csrf_token": web.csrf("/changes")})
    web.login("hospital_admin")
    task = services.open_tasks(inst)[0]
    html = web.client.get(f"/tasks/{task.id}").get_data(as_text=True)
    table = html[html.index("变更内容"):]
    assert "提交申请" in html[html.index("环节"):]
    assert re.search(r"专业技术职务等级</th>\s*<td[^>]*>中级</td>\s*<td[^>]*>→</td>\s*<td[^>]*>副高级</td>", table)
    r = web.post_form(f"/tasks/{task.id}", {"outcome": "approve"})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(ProcessInstance, inst.id).status == "completed"


def test_nothing_changed_is_shown_on_the_form(web):
    web.login("chenshihui")
    r = web.post_form("/changes/person", {"title_level": "中级", "reason": "x"})
    assert r.status_code == 422 and "没有修改任何需要审核的信息" in r.get_data(as_text=True)


def test_superior_change_form_offers_candidates_and_the_revision_keeps_them(web):
    web.login("tech_admin")
    tech = org_id("福州智造科技有限公司")
    html = web.client.get(f"/changes/organisations/{tech}/superior").get_data(as_text=True)
    assert "市卫生健康委员会" in html and f'<option value="{org_id("区人力资源和社会保障局")}"' not in html
    r = web.post_form(f"/changes/organisations/{tech}/superior",
                      {"new_superior_id": str(org_id("市卫生健康委员会")), "reason": "归口管理"})
    assert r.status_code == 302
    inst = db.session.scalar(select(ProcessInstance).where(ProcessInstance.process_key == "change_of_superior"))
    task = next(t for t in services.open_tasks(inst) if t.task_spec == "old_review")
    services.complete_task(task.id, {"outcome": "return", "comment": "请改选"}, actor=actor("hr_district"))
    db.session.commit()
    revise = services.open_tasks(inst)[0]
    html = web.client.get(f"/tasks/{revise.id}").get_data(as_text=True)
    assert f'<option value="{org_id("市人力资源和社会保障局")}"' in html  # a select, not a bare number
    # a second request while one is open is refused with a clear message
    r = web.post_form(f"/changes/organisations/{tech}/superior",
                      {"new_superior_id": str(org_id("市人力资源和社会保障局")), "reason": "x"})
    assert r.status_code == 409 and "正在审核中" in r.get_data(as_text=True)


def test_an_admin_cannot_open_another_organisations_change_pages(web):
    web.login("hospital_admin")
    tech = org_id("福州智造科技有限公司")
    assert web.client.get(f"/changes/organisations/{tech}").status_code == 404
    assert web.client.get(f"/organisations/{tech}/profile").status_code == 404


def test_contact_details_change_at_once(web):
    web.login("tech_admin")
    tech = org_id("福州智造科技有限公司")
    r = web.post_form(f"/organisations/{tech}/profile", {"contact_person": "李明", "contact_phone": "12",
                                                         "contact_email": "", "address": ""})
    assert r.status_code == 422 and "联系电话应为" in r.get_data(as_text=True)
    r = web.post_form(f"/organisations/{tech}/profile", {"contact_person": "李明", "contact_phone": "13912345678",
                                                         "contact_email": "hr@zhizao.cn", "address": "软件大道89号"})
    assert r.status_code == 302
    db.session.expire_all()
    org = db.session.get(Organisation, tech)
    assert (org.contact_person, org.contact_phone, org.address) == ("李明", "13912345678", "软件大道89号")
    assert "李明" in web.client.get("/changes").get_data(as_text=True)


def test_a_professional_completes_their_basic_information_on_the_page(web):
    web.login("chenshihui")
    page = web.client.get("/changes").get_data(as_text=True)
    assert 'href="/profile/details"' in page
    form = web.client.get("/profile/details").get_data(as_text=True)
    assert 'name="graduation_date"' in form and 'type="date"' in form and "最高学位" in form
    assert 'name="title_level"' not in form  # reviewed: through an information change request
    data = {"ethnicity": "汉族", "native_place": "福建福州", "degree": "学士", "school": "福建医科大学",
            "graduation_date": "2031-13-01", "qualification_date": "", "address": ""}
    r = web.post_form("/profile/details", data)
    assert r.status_code == 422 and "毕业时间" in r.get_data(as_text=True)
    r = web.post_form("/profile/details", {**data, "graduation_date": "2012-07-01"})
    assert r.status_code == 302
    db.session.expire_all()
    from app.people.models import Person

    person = db.session.scalar(select(Person).where(Person.name == "陈诗慧"))
    assert (person.native_place, person.school, str(person.graduation_date)) == ("福建福州", "福建医科大学",
                                                                                 "2012-07-01")
    bureau = WebClient(web.client.application.test_client())
    bureau.login("hr_city")
    assert bureau.client.get("/profile/details").status_code == 404
