"""Batch import of courses and teachers (课程、师资批量导入) through the import centre: bad rows refused with
their reasons, good ones kept, the failure file corrected and imported again."""

from __future__ import annotations

import io

from openpyxl import Workbook, load_workbook
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from app.extensions import db
from app.imports import registry
from app.training.models import Teacher, TrainingCourse
from tests.conftest import api_token
from tests.test_imports import download, id_number, sheet_of

ADMIN = "institute_admin"


def headers(kind: str) -> list[str]:
    return [c.header for c in registry.get(kind).columns]


def xlsx(kind: str, rows: list[list]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(headers(kind))
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def run(client, h, kind: str, data: bytes) -> dict:
    boundary, body = encode_multipart({"kind": kind, "file": FileStorage(io.BytesIO(data), filename=f"{kind}.xlsx")})
    r = client.post("/api/v1/imports", headers=h, data=body, content_type=f"multipart/form-data; boundary={boundary}")
    assert r.status_code == 202, r.json
    return client.get(f"/api/v1/imports/{r.json['id']}", headers=h).json


def courses() -> dict[str, TrainingCourse]:
    return {c.name: c for c in db.session.scalars(select(TrainingCourse))}


def test_courses_import_with_bad_rows_and_the_failure_file_again(client):
    h = api_token(client, ADMIN)
    template = client.get("/api/v1/imports/templates/courses", headers=h, buffered=True)
    assert template.status_code == 200
    assert [c.value for c in load_workbook(io.BytesIO(template.data)).active[1]] == headers("courses")
    body = run(client, h, "courses", xlsx("courses", [
        ["医院质量管理", "专业科目", 12, "质量工具"],
        ["职业道德", "公需科目", "6", ""],
        ["医院质量管理", "专业科目", 6, ""],  # twice in the file
        ["数字经济", "选修", 6, ""],  # no such subject type
        ["=HYPERLINK(\"x\")", "公需科目", 3, ""],
        ["心理健康", "公需科目", "abc", ""],
    ]))
    assert (body["kind"], body["succeeded"], body["failed"]) == ("courses", 2, 4)
    assert {n: (c.subject_type, c.hours) for n, c in courses().items()} == {
        "医院质量管理": ("professional", 12), "职业道德": ("public", 6)}
    failed = sheet_of(client, h, body["failure_file_url"])
    reasons = {r[0]: r[-1] for r in failed[1:]}
    assert reasons["医院质量管理"] == "课程名称：与第2行重复"
    assert reasons["数字经济"].startswith("科目类型：")
    assert reasons["心理健康"].startswith("学时：")
    assert "疑似公式" in next(v for k, v in reasons.items() if "HYPERLINK" in str(k))
    # corrected, the failure file imports again: a name already in the catalogue is refused, the others land
    wb = load_workbook(io.BytesIO(download(client, h, body["failure_file_url"])))
    ws = wb.active
    for row in ws.iter_rows(min_row=2):
        if row[0].value == "数字经济":
            row[1].value = "公需科目"
        elif row[0].value == "心理健康":
            row[2].value = 3
        elif "HYPERLINK" in str(row[0].value):
            row[0].value = "法治素养"
    buf = io.BytesIO()
    wb.save(buf)
    again = run(client, h, "courses", buf.getvalue())
    assert (again["succeeded"], again["failed"]) == (3, 1)
    assert [r[-1] for r in sheet_of(client, h, again["failure_file_url"])[1:]] == ["课程名称：已有同名课程"]
    assert set(courses()) == {"医院质量管理", "职业道德", "数字经济", "心理健康", "法治素养"}


def test_teachers_import_checks_id_numbers_duplicates_and_courses(client):
    h = api_token(client, ADMIN)
    run(client, h, "courses", xlsx("courses", [["医院质量管理", "专业科目", 12, ""], ["职业道德", "公需科目", 6, ""]]))
    good, other = id_number(1, "19800101"), id_number(2, "19800101")
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    body = run(client, h, "teachers", xlsx("teachers", [
        ["周明", good, "男", "13912345678", "zm@example.com", "教授", "医院质量管理、职业道德", ""],
        ["周明二", good, "男", "", "", "", "", ""],  # the same ID number twice
        ["错号", bad, "女", "", "", "", "", ""],
        ["无课", other, "女", "", "", "", "医院质量管理，量子力学", ""],
        ["电话", id_number(3, "19800101"), "男", "12345", "", "", "", ""],
    ]))
    assert (body["succeeded"], body["failed"]) == (1, 4)
    [teacher] = db.session.scalars(select(Teacher)).all()
    assert teacher.name == "周明" and teacher.mobile == "13912345678"
    assert sorted(teacher.course_ids) == sorted(c.id for c in courses().values())
    reasons = {r[0]: r[-1] for r in sheet_of(client, h, body["failure_file_url"])[1:]}
    assert reasons["周明二"] == "公民身份号码：与第2行重复"
    assert reasons["错号"].startswith("公民身份号码：") and "校验位" in reasons["错号"]
    assert reasons["无课"] == "可授课程：课程库中没有《量子力学》，请先添加或导入课程"
    assert reasons["电话"].startswith("手机号码：")
    # the unknown course added, the failure file imports again; the duplicate is now in the catalogue
    client.post("/api/v1/training/courses", json={"name": "量子力学", "subject_type": "professional", "hours": 6},
                headers=h)
    wb = load_workbook(io.BytesIO(download(client, h, body["failure_file_url"])))
    for row in wb.active.iter_rows(min_row=2):
        if row[0].value == "错号":
            row[1].value = id_number(4, "19800101")
        elif row[0].value == "电话":
            row[3].value = "13800000000"
    buf = io.BytesIO()
    wb.save(buf)
    again = run(client, h, "teachers", buf.getvalue())
    assert (again["succeeded"], again["failed"]) == (3, 1)
    assert [r[-1] for r in sheet_of(client, h, again["failure_file_url"])[1:]] == [
        "公民身份号码：该身份证号码的师资已登记"]


def test_training_imports_need_the_training_module(client):
    hospital_person = api_token(client, "chenshihui")
    assert client.get("/api/v1/imports/templates/courses", headers=hospital_person).status_code == 404
    boundary, body = encode_multipart({"kind": "teachers", "file": FileStorage(io.BytesIO(xlsx("teachers", [])),
                                                                              filename="t.xlsx")})
    r = client.post("/api/v1/imports", headers=hospital_person, data=body,
                    content_type=f"multipart/form-data; boundary={boundary}")
    assert r.status_code == 404
