"""Declaring credit hours through the web form (学时申报), with field errors and attachments."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.workflow.models import Attachment, ProcessInstance
from tests.webutil import JPEG, PDF, browser, count, field_error, form_data, open_task, png_bytes, text, upload


def test_professional_declares_for_self(app):
    web = browser(app, "chenshihui")
    page = web.client.get("/declare")
    assert page.status_code == 200
    assert "课程名称" in text(page) and 'name="csrf_token"' in page.get_data(as_text=True)
    r = web.post_form("/declare", form_data())
    assert r.status_code == 302, text(r)
    inst = db.session.scalar(select(ProcessInstance))
    assert r.headers["Location"].endswith(f"/applications/{inst.id}")
    assert inst.applicant_name == "陈诗慧" and inst.status == "running"
    page = text(web.client.get(r.headers["Location"]))
    assert "申报已提交，等待审核" in page
    assert "急诊医学新进展" in page and "专业科目" in page and "面授" in page
    assert "单位审核" in page and "市第一人民医院" in page


def test_unit_declares_for_its_staff(app):
    web = browser(app, "hospital_admin")
    r = web.post_form("/declare", form_data(person_id_number="321101198110166954"))
    assert r.status_code == 302, text(r)
    inst = db.session.scalar(select(ProcessInstance))
    assert inst.applicant_name == "刘文斌"
    # the unit's declaration appears among its own applications and for the person
    assert "急诊医学新进展" in text(browser(app, "liuwenbin").client.get("/applications"))
    assert "刘文斌" in text(web.client.get("/applications"))


def test_unit_cannot_declare_for_someone_elses_staff(app):
    web = browser(app, "hospital_admin")
    r = web.post_form("/declare", form_data(person_id_number="440102198001010013"))
    assert r.status_code == 422
    assert field_error(r, "person_id_number")
    assert count() == 0


@pytest.mark.parametrize(("field", "value", "message"), [
    ("course_name", "", "此项为必填项"),
    ("hours", "-3", "拟申报学时必须大于0"),
    ("hours", "十二", "请输入数字"),
    ("end_date", "2026-02-01", "学习结束时间不能早于学习开始时间"),
    ("start_date", "2026-13-01", "请输入有效日期"),
    ("person_id_number", "110101199003072712", "校验"),
])
def test_field_errors_in_chinese_and_nothing_written(app, field, value, message):
    web = browser(app, "hospital_admin")
    data = form_data(**{"person_id_number": "110101199003072711", field: value})
    r = web.post_form("/declare", data)
    assert r.status_code == 422
    error = field_error(r, field)
    assert error and message in error, (field, error)
    assert "提交的内容有误，请按提示修改" in text(r)
    # the other values stay filled in so nothing has to be typed again
    html = r.get_data(as_text=True)
    if field != "course_name":
        assert 'value="急诊医学新进展"' in html
    assert count() == 0


def test_several_errors_at_once(app):
    web = browser(app, "chenshihui")
    r = web.post_form("/declare", form_data(course_name="", hours="0", subject_type=""))
    assert r.status_code == 422
    assert field_error(r, "course_name") == "此项为必填项"
    assert field_error(r, "subject_type") == "此项为必填项"
    assert "必须大于0" in field_error(r, "hours")
    assert count() == 0


def test_attachments_real_files_accepted(app):
    web = browser(app, "chenshihui")
    files = [upload(png_bytes(), "证书.png"), upload(JPEG, "结业证明.jpg"), upload(PDF, "成绩单.pdf")]
    r = web.post_form("/declare", {**form_data(), "attachments": files}, content_type="multipart/form-data")
    assert r.status_code == 302, text(r)
    inst = db.session.scalar(select(ProcessInstance))
    atts = list(db.session.scalars(select(Attachment).order_by(Attachment.id)))
    assert [(a.filename, a.content_type, a.instance_id) for a in atts] == [
        ("证书.png", "image/png", inst.id), ("结业证明.jpg", "image/jpeg", inst.id),
        ("成绩单.pdf", "application/pdf", inst.id)]
    page = text(web.client.get(f"/applications/{inst.id}"))
    assert "证书.png" in page and "成绩单.pdf" in page
    got = web.client.get(f"/attachments/{atts[0].id}")
    assert got.status_code == 200 and got.data == png_bytes() and got.mimetype == "image/png"
    assert got.headers["X-Content-Type-Options"] == "nosniff" and "sandbox" in got.headers["Content-Security-Policy"]
    got = web.client.get(f"/attachments/{atts[0].id}?download=1")
    disposition = got.headers["Content-Disposition"]
    assert disposition.startswith("attachment") and "filename*=UTF-8''%E8%AF%81%E4%B9%A6.png" in disposition
    # the reviewer of the unit reads it as well
    reviewer = browser(app, "hospital_admin")
    assert reviewer.client.get(f"/attachments/{atts[2].id}").data == PDF


def test_disguised_file_refused_with_message(app):
    web = browser(app, "chenshihui")
    files = [upload(b"MZ\x90\x00 this is a program, not a picture", "证书.png")]
    r = web.post_form("/declare", {**form_data(), "attachments": files}, content_type="multipart/form-data")
    assert r.status_code == 422
    error = field_error(r, "attachments")
    assert "证书.png" in error and "内容不是有效的图片或 PDF" in error
    assert count() == 0 and count(Attachment) == 0


@pytest.mark.parametrize("data,name,message", [
    # a program or a page with "%PDF-" tucked inside its first kilobyte is not a PDF
    (b"MZ\x90\x00" + b"\x00" * 100 + b"%PDF-1.4 " + b"\x00" * 200, "setup.pdf", "内容不是有效的图片或 PDF"),
    (b"<html><!-- %PDF-1.4 --><script>alert(1)</script></html>", "x.pdf", "内容不是有效的图片或 PDF"),
    (b"%PDF-1.4\n" + b"A" * 4096, "cut-off.pdf", "内容不是有效的图片或 PDF"),  # no trailer: not a whole PDF
    (PDF, "scan.png", "扩展名与内容不符（内容是PDF 文件）"),  # would be shown as a picture
    (png_bytes(), "scan.pdf", "扩展名与内容不符（内容是图片）"),
])
def test_a_file_is_checked_by_what_it_really_is(app, data, name, message):
    web = browser(app, "chenshihui")
    r = web.post_form("/declare", {**form_data(), "attachments": [upload(data, name)]},
                      content_type="multipart/form-data")
    assert r.status_code == 422
    assert name in field_error(r, "attachments") and message in field_error(r, "attachments")
    assert count() == 0 and count(Attachment) == 0


def test_wrong_extension_refused(app):
    web = browser(app, "chenshihui")
    r = web.post_form("/declare", {**form_data(), "attachments": [upload(PDF, "a.exe")]},
                      content_type="multipart/form-data")
    assert r.status_code == 422 and "类型不允许" in field_error(r, "attachments")
    assert count() == 0


def test_file_over_4mb_refused_with_message(app):
    web = browser(app, "chenshihui")
    big = png_bytes() + b"\x00" * (4 * 1024 * 1024)
    r = web.post_form("/declare", {**form_data(), "attachments": [upload(big, "大图.png")]},
                      content_type="multipart/form-data")
    r.request.environ["wsgi.input"].close()  # the test client spooled the big body to a temp file
    assert r.status_code == 422
    assert "超过4MB" in field_error(r, "attachments")
    assert count() == 0 and count(Attachment) == 0


def test_good_file_kept_when_form_has_errors(app):
    web = browser(app, "chenshihui")
    r = web.post_form("/declare", {**form_data(course_name=""), "attachments": [upload(PDF, "成绩单.pdf")]},
                      content_type="multipart/form-data")
    assert r.status_code == 422 and count() == 0
    att = db.session.scalar(select(Attachment))
    html = r.get_data(as_text=True)
    assert "成绩单.pdf" in html and f'value="{att.id}"' in html  # offered again, checked
    r = web.post_form("/declare", {**form_data(), "attachments": [str(att.id)]})
    assert r.status_code == 302, text(r)
    inst = db.session.scalar(select(ProcessInstance))
    db.session.refresh(att)
    assert att.instance_id == inst.id
    assert open_task(inst).task_spec == "unit_review"


def test_someone_elses_upload_cannot_be_attached(app):
    chen = browser(app, "chenshihui")
    chen.post_form("/declare", {**form_data(course_name=""), "attachments": [upload(PDF, "x.pdf")]},
                   content_type="multipart/form-data")
    att = db.session.scalar(select(Attachment))
    other = browser(app, "liuwenbin")
    assert other.client.get(f"/attachments/{att.id}").status_code == 404
    r = other.post_form("/declare", {**form_data(), "attachments": [str(att.id)]})
    assert r.status_code == 302
    db.session.refresh(att)
    assert att.instance_id is None
