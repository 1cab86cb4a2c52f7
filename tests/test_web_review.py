"""The reviewer's inbox (待办任务), the task page, decisions, claims, batch review, revision."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.accounts.models import Membership, Organisation, Role, User
from app.extensions import db
from app.workflow.models import Attachment, ProcessInstance
from tests.webutil import (
    PDF,
    act,
    browser,
    declare,
    field_error,
    form_data,
    open_task,
    text,
    upload,
)


def task_ids(resp) -> list[str]:
    return re.findall(r'name="task_ids" value="([^"]+)"', resp.get_data(as_text=True))


def test_inbox_lists_masks_and_filters(app):
    chen = declare("chenshihui")
    declare("liuwenbin", year=2025, course_name="医院感染管理", start_date="2025-06-01", end_date="2025-06-03")
    web = browser(app, "hospital_admin")
    page = web.client.get("/tasks")
    body = text(page)
    assert "陈诗慧" in body and "刘文斌" in body and "急诊医学新进展" in body and "单位审核" in body
    assert "1101**********2711" in body and "110101199003072711" not in page.get_data(as_text=True)
    assert len(task_ids(page)) == 2

    def names(query: str) -> set[str]:
        body = text(web.client.get("/tasks" + query))
        return {n for n in ("陈诗慧", "刘文斌") if n in body}

    assert names("?year=2025") == {"刘文斌"}
    assert names("?q=陈") == {"陈诗慧"}
    assert names("?q=3211") == {"刘文斌"}
    assert names("?q=110101199003072711") == {"陈诗慧"}
    assert names("?process=credit_hour_approval") == {"陈诗慧", "刘文斌"}
    assert names("?process=other") == set()
    assert "没有符合条件的待办任务" in text(web.client.get("/tasks?year=2024"))
    # the unit of another branch sees none of them
    assert task_ids(browser(app, "tech_admin").client.get("/tasks")) == []
    assert open_task(chen).task_spec == "unit_review"


def test_inbox_paginates(app, monkeypatch):
    monkeypatch.setitem(app.config, "INBOX_PAGE_SIZE", 2)
    for i in range(5):
        declare("chenshihui", course_name=f"课程{i}")
    web = browser(app, "hospital_admin")
    first = web.client.get("/tasks")
    assert "共 5 条" in text(first)
    assert "课程0" in text(first) and "课程1" in text(first) and "课程2" not in text(first)
    assert 'href="/tasks?page=2"' in first.get_data(as_text=True)
    last = text(web.client.get("/tasks?page=3"))
    assert "课程4" in last and "课程3" not in last
    # filters survive paging
    page2 = web.client.get("/tasks?year=2026&page=2").get_data(as_text=True)
    assert "page=3" in page2 and "year=2026" in page2


def test_task_page_shows_declaration_attachments_and_history(app):
    web_chen = browser(app, "chenshihui")
    r = web_chen.post_form("/declare", {**form_data(), "attachments": [upload(PDF, "结业证书.pdf")]},
                           content_type="multipart/form-data")
    assert r.status_code == 302
    inst = db.session.scalar(select(ProcessInstance))
    act(inst, "hospital_admin", {"outcome": "approve", "comment": "情况属实"})
    task = open_task(inst)
    web = browser(app, "health_admin")
    page = web.client.get(f"/tasks/{task.id}")
    body = text(page)
    assert page.status_code == 200
    assert "110101199003072711" in body  # the whole ID number where the task needs it
    for shown in ("急诊医学新进展", "专业科目", "面授", "市继续教育学院", "合格", "结业证书.pdf"):
        assert shown in body, shown
    # history: step, organisation, person, outcome, comment
    assert "提交申报" in body and "陈诗慧" in body
    assert "单位审核" in body and "市第一人民医院" in body and "市一医院管理员" in body
    assert "同意" in body and "情况属实" in body
    att = db.session.scalar(select(Attachment))
    assert f'/attachments/{att.id}' in page.get_data(as_text=True)
    assert web.client.get(f"/attachments/{att.id}").data == PDF


def test_other_organisation_gets_404(app):
    web_chen = browser(app, "chenshihui")
    web_chen.post_form("/declare", {**form_data(), "attachments": [upload(PDF, "结业证书.pdf")]},
                       content_type="multipart/form-data")
    inst = db.session.scalar(select(ProcessInstance))
    task = open_task(inst)
    att = db.session.scalar(select(Attachment))
    other = browser(app, "tech_admin")
    for url in (f"/tasks/{task.id}", f"/attachments/{att.id}", f"/applications/{inst.id}"):
        assert other.client.get(url).status_code == 404, url
    r = other.post_form("/tasks", {"outcome": "approve"}, post_url=f"/tasks/{task.id}")
    assert r.status_code == 404
    assert other.post_form("/tasks", {}, post_url=f"/tasks/{task.id}/claim").status_code == 404
    assert open_task(inst).id == task.id  # untouched


def test_approve_through_the_chain(app):
    inst = declare()
    hospital = browser(app, "hospital_admin")
    task = open_task(inst)
    r = hospital.post_form(f"/tasks/{task.id}", {"outcome": "approve", "comment": "同意"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/tasks")
    assert "已提交" in text(hospital.client.get("/tasks"))
    assert open_task(inst).task_spec == "supervisory_review"
    health = browser(app, "health_admin")
    task = open_task(inst)
    assert health.post_form(f"/tasks/{task.id}", {"outcome": "approve"}).status_code == 302
    task = open_task(inst)
    hr = browser(app, "hr_city")
    page = hr.client.get(f"/tasks/{task.id}")
    assert "认定学时" in text(page) and 'value="18"' in page.get_data(as_text=True)
    r = hr.post_form(f"/tasks/{task.id}", {"outcome": "approve", "recognised_hours": "15"})
    assert r.status_code == 302, text(r)
    db.session.expire_all()
    assert db.session.get(ProcessInstance, inst.id).status == "completed"
    # the finished task stays readable for its reviewer but cannot be completed twice
    assert "该任务已办理完毕" in text(hr.client.get(f"/tasks/{task.id}"))
    r = hr.post_form(f"/tasks/{task.id}", {"outcome": "approve", "recognised_hours": "15"},
                     post_url=f"/tasks/{task.id}")
    assert r.status_code in (404, 409)
    mine = text(browser(app, "chenshihui").client.get(f"/applications/{inst.id}"))
    assert "审核通过" in mine and "人社部门审核认定" in mine and "市人社局管理员" in mine


def test_reject_and_return_need_a_comment(app):
    inst = declare()
    task = open_task(inst)
    web = browser(app, "hospital_admin")
    for outcome in ("reject", "return"):
        r = web.post_form(f"/tasks/{task.id}", {"outcome": outcome, "comment": "  "})
        assert r.status_code == 422
        assert field_error(r, "comment") == "此项为必填项"
        assert 'value="' + outcome + '" checked' in r.get_data(as_text=True) or outcome in r.get_data(as_text=True)
    assert open_task(inst).id == task.id
    r = web.post_form(f"/tasks/{task.id}", {"outcome": ""})
    assert r.status_code == 422 and field_error(r, "outcome") == "此项为必填项"
    r = web.post_form(f"/tasks/{task.id}", {"outcome": "reject", "comment": "材料不实"})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(ProcessInstance, inst.id).status == "rejected"
    page = text(browser(app, "chenshihui").client.get(f"/applications/{inst.id}"))
    assert "审核未通过，已结案" in page and "材料不实" in page and "不同意并结案" in page


def test_return_then_revise_with_changed_hours_and_resubmit(app):
    inst = declare()
    task = open_task(inst)
    hospital = browser(app, "hospital_admin")
    r = hospital.post_form(f"/tasks/{task.id}", {"outcome": "return", "comment": "请补充结业证书"})
    assert r.status_code == 302
    chen = browser(app, "chenshihui")
    listing = text(chen.client.get("/applications"))
    assert "退回修改" in listing and "修改申报" in listing
    detail = text(chen.client.get(f"/applications/{inst.id}"))
    assert "请补充结业证书" in detail and "不同意并退案" in detail
    revise = open_task(inst)
    assert revise.candidate_user_id is not None
    page = chen.client.get(f"/tasks/{revise.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'value="急诊医学新进展"' in html and "请补充结业证书" in text(page)
    # the declaration's required fields are marked as on the declaration form
    assert re.search(r'for="f-course_name">课程名称 <span class="text-danger"', html)
    assert not re.search(r'for="f-location">学习地点 <span', html)
    # a bad value is shown again with its error, nothing moves
    r = chen.post_form(f"/tasks/{revise.id}", {**form_data(hours="-1"), "action": "resubmit"})
    assert r.status_code == 422 and "必须大于0" in field_error(r, "hours")
    assert open_task(inst).id == revise.id
    r = chen.post_form(f"/tasks/{revise.id}", {**form_data(hours="12"), "action": "resubmit",
                                               "attachments": [upload(PDF, "补充证书.pdf")]},
                       content_type="multipart/form-data")
    assert r.status_code == 302, text(r)
    assert r.headers["Location"].endswith(f"/applications/{inst.id}")
    detail = text(chen.client.get(f"/applications/{inst.id}"))
    assert "修改后重新提交" in detail and "拟申报学时：18 → 12" in detail and "补充证书.pdf" in detail
    task = open_task(inst)
    assert task.task_spec == "unit_review"
    assert "12" in text(hospital.client.get(f"/tasks/{task.id}"))


def test_withdraw_returned_declaration(app):
    inst = declare()
    act(inst, "hospital_admin", {"outcome": "return", "comment": "课程不属于专业科目"})
    chen = browser(app, "chenshihui")
    revise = open_task(inst)
    r = chen.post_form(f"/tasks/{revise.id}", {"action": "withdraw"})
    assert r.status_code == 302, text(r)
    db.session.expire_all()
    assert db.session.get(ProcessInstance, inst.id).status == "withdrawn"
    listing = text(chen.client.get("/applications"))
    assert "已撤回" in listing


def test_my_applications_show_status_step_and_holder(app):
    a = declare()
    b = declare(course_name="医院管理")
    act(b, "hospital_admin", {"outcome": "approve"})
    chen = browser(app, "chenshihui")
    page = chen.client.get("/applications")
    body = text(page)
    assert "审核中" in body
    rows = re.findall(r"<tr>(.*?)</tr>", page.get_data(as_text=True), re.S)
    row_a = next(r for r in rows if f"/applications/{a.id}\"" in r)
    row_b = next(r for r in rows if f"/applications/{b.id}\"" in r)
    assert "单位审核" in row_a and "市第一人民医院" in row_a
    assert "主管部门审核" in row_b and "市卫生健康委员会" in row_b
    detail = chen.client.get(f"/applications/{b.id}")
    table = re.search(r"审批流程.*?</table>", detail.get_data(as_text=True), re.S).group(0)
    for head in ("环节", "审核单位", "审核人", "时间", "结果", "意见"):
        assert head in table
    assert "单位审核" in table and "市第一人民医院" in table and "市一医院管理员" in table
    assert re.search(r"20\d\d年\d{1,2}月\d{1,2}日 \d\d:\d\d", table)  # times written the Chinese way
    # filter by status
    assert "医院管理" not in text(chen.client.get("/applications?status=completed"))
    # someone else's application is not found
    assert browser(app, "liuwenbin").client.get(f"/applications/{a.id}").status_code == 404


def _second_reviewer(app) -> None:
    """A sub-admin of the hospital with the credit review module."""
    hospital = db.session.scalar(select(Organisation).where(Organisation.name == "市第一人民医院"))
    admin = db.session.scalar(select(User).where(User.login == "hospital_admin"))
    user = User(login="hospital_clerk", name="医院审核员", password_hash=admin.password_hash)
    db.session.add(user)
    db.session.flush()
    db.session.add(Membership(user_id=user.id, organisation_id=hospital.id, role=Role.SUB_ADMIN,
                              permissions=["credit_review"]))
    db.session.commit()


def test_claim_blocks_other_reviewers_until_unclaimed(app):
    _second_reviewer(app)
    inst = declare()
    task = open_task(inst)
    clerk = browser(app, "hospital_clerk")
    admin = browser(app, "hospital_admin")
    r = clerk.post_form(f"/tasks/{task.id}", {}, post_url=f"/tasks/{task.id}/claim")
    assert r.status_code == 302
    assert "已认领该任务" in text(clerk.client.get(f"/tasks/{task.id}"))
    # the admin sees who holds it, cannot select it for batch review, and cannot complete it
    assert "医院审核员" in text(admin.client.get("/tasks"))
    assert task_ids(admin.client.get("/tasks")) == []
    page = text(admin.client.get(f"/tasks/{task.id}"))
    assert "认领人：医院审核员" in page
    r = admin.post_form(f"/tasks/{task.id}", {"outcome": "approve"})
    assert r.status_code == 409 and "该任务已被其他人认领" in text(r)
    r = admin.post_form(f"/tasks/{task.id}", {}, post_url=f"/tasks/{task.id}/claim")
    assert r.status_code == 409
    assert open_task(inst).id == task.id
    # the claimant gives it back; then anyone of the unit may act
    r = clerk.post_form(f"/tasks/{task.id}", {}, post_url=f"/tasks/{task.id}/unclaim")
    assert r.status_code == 302
    assert admin.post_form(f"/tasks/{task.id}", {"outcome": "approve"}).status_code == 302
    assert open_task(inst).task_spec == "supervisory_review"


def test_batch_approve_with_failure_per_task(app):
    _second_reviewer(app)
    insts = [declare(course_name=f"课程{i}") for i in range(3)]
    tasks = [open_task(i) for i in insts]
    clerk = browser(app, "hospital_clerk")
    admin = browser(app, "hospital_admin")
    page = admin.client.get("/tasks")
    assert "批量审核" in text(page) and set(task_ids(page)) == {t.id for t in tasks}
    # while the page is open, the clerk claims the third task
    clerk.post_form(f"/tasks/{tasks[2].id}", {}, post_url=f"/tasks/{tasks[2].id}/claim")
    r = admin.post_form("/tasks", {"task_ids": [t.id for t in tasks], "comment": "同意"}, post_url="/tasks/batch")
    assert r.status_code == 302
    body = text(admin.client.get(r.headers["Location"]))
    assert "批量审核完成：2 个任务已审核通过" in body
    assert "陈诗慧《课程2》 未能审核：该任务已被其他人认领" in body
    assert [open_task(i).task_spec for i in insts] == ["supervisory_review", "supervisory_review", "unit_review"]
    # nothing chosen
    r = admin.post_form("/tasks", {}, post_url="/tasks/batch")
    assert "请先勾选要审核的任务" in text(admin.client.get(r.headers["Location"]))


def test_application_page_masks_the_id_number(app):
    web = browser(app, "hospital_admin")
    r = web.post_form("/declare", form_data(person_id_number="321101198110166954"))
    inst = db.session.scalar(select(ProcessInstance))
    for who in (web, browser(app, "liuwenbin")):
        page = who.client.get(f"/applications/{inst.id}").get_data(as_text=True)
        assert "3211**********6954" in page and "321101198110166954" not in page
    assert r.status_code == 302
    # a unit's own declaration skips its unit review; the reviewer's task page shows the whole number
    task = open_task(inst)
    assert task.task_spec == "supervisory_review"
    assert "321101198110166954" in browser(app, "health_admin").client.get(f"/tasks/{task.id}").get_data(as_text=True)


def test_unit_revises_what_it_declared_for_its_staff(app):
    unit = browser(app, "hospital_admin")
    unit.post_form("/declare", form_data(person_id_number="321101198110166954"))
    inst = db.session.scalar(select(ProcessInstance))
    act(inst, "health_admin", {"outcome": "return", "comment": "学时偏高"})
    revise = open_task(inst)
    # the person sees why and whom to ask, but cannot revise it themselves
    person = browser(app, "liuwenbin")
    page = text(person.client.get(f"/applications/{inst.id}"))
    assert "学时偏高" in page and "申报由单位代为提交，请联系单位修改" in page
    assert person.client.get(f"/tasks/{revise.id}").status_code == 404
    # the unit finds it in its inbox and resubmits
    assert revise.id in unit.client.get("/tasks").get_data(as_text=True)
    r = unit.post_form(f"/tasks/{revise.id}", {**form_data(person_id_number="321101198110166954", hours="10"),
                                               "action": "resubmit"})
    assert r.status_code == 302, text(r)
    assert open_task(inst).task_spec == "supervisory_review"
