"""The ``online_results`` import kind (线上培训成果导入): passed rows become archive hours (source ``online``,
learning form 网络, the platform recorded) exactly once; every bad row comes back with its reason; the corrected
failure file imports again; the import is scoped (a unit's own staff, an institution's enrolled students)."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from app.accounts.models import Organisation
from app.archive.models import ONLINE_SOURCE, AnnualVerification, CreditRecord, OnlineResult
from app.classes.models import ClassMember
from app.core.models import utcnow
from app.extensions import db
from app.imports import registry
from app.imports.registry import Batch
from app.people.models import Person
from app.training import online_results
from tests.conftest import actor, api_token
from tests.test_imports import download, id_number, sheet_of

KIND = "online_results"
PLATFORM = "国家专业技术人员继续教育平台"
DAY = date.today().replace(month=1, day=2).isoformat()
YEAR = date.today().year


def xlsx(rows: list[list]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append([c.header for c in registry.get(KIND).columns])
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def run(client, h, data: bytes) -> dict:
    boundary, body = encode_multipart({"kind": KIND, "file": FileStorage(io.BytesIO(data), filename="online.xlsx")})
    r = client.post("/api/v1/imports", headers=h, data=body, content_type=f"multipart/form-data; boundary={boundary}")
    assert r.status_code == 202, r.get_json()
    return client.get(f"/api/v1/imports/{r.get_json()['id']}", headers=h).get_json()


def person(login_name: str) -> Person:
    return db.session.scalar(select(Person).where(Person.name == login_name))


def online_records() -> list[CreditRecord]:
    return list(db.session.scalars(select(CreditRecord).where(CreditRecord.source == ONLINE_SOURCE)))


def test_template_has_the_columns_and_drop_downs(client):
    h = api_token(client, "hospital_admin")
    r = client.get(f"/api/v1/imports/templates/{KIND}", headers=h, buffered=True)
    assert r.status_code == 200
    wb = load_workbook(io.BytesIO(r.data))
    ws = wb.active
    assert [c.value for c in ws[1]] == [c.header for c in online_results.COLUMNS]
    lists = " ".join(str(v.formula1) for v in ws.data_validations.dataValidation)
    assert "公需" in lists and "不合格" in lists


def test_unit_import_records_passed_rows_once_with_reasons_and_the_failure_file_again(client):
    chen, liu, wang = person("陈诗慧"), person("刘文斌"), person("王立平")  # wang works at another unit
    unknown = id_number(901)
    bad = chen.id_number[:17] + ("0" if chen.id_number[17] != "0" else "1")
    rows = [
        [chen.id_number, "陈诗慧", PLATFORM, "数字经济", "公需", 6, DAY, "合格"],
        [liu.id_number, "刘文斌", PLATFORM, "急诊医学进展", "专业", "8.5", DAY, "合格"],
        [bad, "陈诗慧", PLATFORM, "法治素养", "公需", 3, DAY, "合格"],
        [unknown, "无此人", PLATFORM, "法治素养", "公需", 3, DAY, "合格"],
        [wang.id_number, "王立平", PLATFORM, "法治素养", "公需", 3, DAY, "合格"],
        [liu.id_number, "刘文彬", PLATFORM, "法治素养", "公需", 3, DAY, "合格"],
        [chen.id_number, "陈诗慧", PLATFORM, "心理健康", "公需", 0, DAY, "合格"],
        [chen.id_number, "陈诗慧", PLATFORM, "职业道德", "公需", 500, DAY, "合格"],
        [chen.id_number, "陈诗慧", PLATFORM, "人工智能", "选修", 4, DAY, "合格"],
        [liu.id_number, "刘文斌", PLATFORM, "院感防控", "专业", 4, DAY, "不合格"],
        [chen.id_number, "陈诗慧", PLATFORM, "数字经济", "公需", 6, DAY, "合格"],  # same as row 2
    ]
    h = api_token(client, "hospital_admin")
    body = run(client, h, xlsx(rows))
    assert (body["state"], body["succeeded"], body["failed"]) == ("done", 2, 9)
    records = {(r.person_id, r.course_name): r for r in online_records()}
    assert set(records) == {(chen.id, "数字经济"), (liu.id, "急诊医学进展")}
    rec = records[(liu.id, "急诊医学进展")]
    assert (rec.learning_form, rec.platform, rec.year, rec.subject_type, rec.recognised_hours) == (
        "online",
        PLATFORM,
        YEAR,
        "professional",
        Decimal("8.5"),
    )
    assert rec.institution_name == "市第一人民医院"
    # counted in the annual verification (the recount ran for the people recorded)
    verification = db.session.scalar(
        select(AnnualVerification).where(AnnualVerification.person_id == liu.id, AnnualVerification.year == YEAR)
    )
    assert verification is not None and verification.professional_hours >= Decimal("8.5")

    failed = sheet_of(client, h, body["failure_file_url"])
    assert failed[0][-1] == "失败原因"
    reasons = [r[-1] for r in failed[1:]]
    assert reasons[0].startswith("公民身份号码：") and "未找到" not in reasons[0]
    assert reasons[1] == reasons[2] == online_results.NOT_FOUND  # unknown, and another unit's person
    assert reasons[3] == "姓名：与公民身份号码登记的姓名不符"
    assert reasons[4].startswith("学时：") and reasons[5].startswith("学时：")
    assert reasons[6].startswith("科目类型：")
    assert "不合格" in reasons[7] and "不记入" in reasons[7]
    assert "与第2行重复" in reasons[8]

    # the same file again: the two passed rows are duplicates now, never a second record
    again = run(client, h, xlsx(rows[:2]))
    assert (again["succeeded"], again["failed"]) == (0, 2)
    assert all("已导入过" in r[-1] for r in sheet_of(client, h, again["failure_file_url"])[1:])
    assert len(online_records()) == 2

    # corrected, the failure file imports again: fixed rows land, the others keep their reasons
    wb = load_workbook(io.BytesIO(download(client, h, body["failure_file_url"])))
    ws = wb.active
    for row in ws.iter_rows(min_row=2):
        if row[3].value in ("心理健康", "职业道德"):
            row[5].value = 2
        elif row[3].value == "人工智能":
            row[4].value = "专业"
        elif row[1].value == "刘文彬":
            row[1].value = "刘文斌"
    ws.delete_cols(ws.max_column)
    buf = io.BytesIO()
    wb.save(buf)
    fixed = run(client, h, buf.getvalue())
    assert (fixed["succeeded"], fixed["failed"]) == (4, 5)
    assert len(online_records()) == 6


def test_a_batch_applied_again_after_a_retry_refuses_every_row_as_duplicate(app):
    """A retried job that reapplies a committed batch (or two imports at the same moment) finds the key stored:
    the rows are refused as duplicates and no second record is written."""
    chen = person("陈诗慧")
    hospital = db.session.scalar(select(Organisation).where(Organisation.name == "市第一人民医院"))
    batch = Batch(
        [
            (
                2,
                {
                    "id_number": chen.id_number,
                    "name": "陈诗慧",
                    "platform": PLATFORM,
                    "course_name": "数字经济",
                    "subject_type": "公需科目",
                    "hours": 6,
                    "completed_on": date.today(),
                    "result": "合格",
                },
            )
        ],
        hospital,
        actor("hospital_admin"),
    )
    assert online_results._apply(batch) == {}  # noqa: SLF001
    db.session.commit()
    assert "已导入过" in online_results._apply(batch)[2]  # noqa: SLF001
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(OnlineResult)) == 1
    assert len(online_records()) == 1


def test_institution_imports_for_its_enrolled_students_only(client):
    from app.classes import services
    from app.training.demo import seed_catalogue, seed_plans
    from tests.test_classes import values

    seed_catalogue()
    seed_plans()
    row = services.create(actor("institute_admin"), None, values())
    student, other = Person(name="学员甲", id_number=id_number(801)), Person(name="路人乙", id_number=id_number(802))
    db.session.add_all([student, other])
    db.session.flush()
    db.session.add(ClassMember(class_id=row.id, person_id=student.id, enrolled_at=utcnow(), subject_scores={}))
    db.session.commit()
    h = api_token(client, "institute_admin")
    body = run(
        client,
        h,
        xlsx(
            [
                [student.id_number, "学员甲", PLATFORM, "数字经济", "公需", 6, DAY, "合格"],
                [other.id_number, "路人乙", PLATFORM, "数字经济", "公需", 6, DAY, "合格"],
            ]
        ),
    )
    assert (body["succeeded"], body["failed"]) == (1, 1)
    assert [r.person_id for r in online_records()] == [student.id]
    assert sheet_of(client, h, body["failure_file_url"])[1][-1] == online_results.NOT_FOUND
    assert online_records()[0].institution_name == "市继续教育学院"


def test_professionals_and_bureaus_cannot_import_online_results(client):
    data = xlsx([])
    for login in ("chenshihui", "hr_city"):
        h = api_token(client, login)
        boundary, body = encode_multipart({"kind": KIND, "file": FileStorage(io.BytesIO(data), filename="o.xlsx")})
        r = client.post(
            "/api/v1/imports", headers=h, data=body, content_type=f"multipart/form-data; boundary={boundary}"
        )
        assert r.status_code == 404, (login, r.status_code)
        assert client.get(f"/api/v1/imports/templates/{KIND}", headers=h).status_code == 404


def test_archive_page_shows_the_platform(client, web):
    chen = person("陈诗慧")
    h = api_token(client, "hospital_admin")
    run(client, h, xlsx([[chen.id_number, "陈诗慧", PLATFORM, "数字经济", "公需", 6, DAY, "合格"]]))
    web.login("chenshihui")
    page = client.get(f"/archive?year={YEAR}").get_data(as_text=True)
    assert PLATFORM in page and "线上培训成果" in page
    r = client.get(f"/api/v1/archive?year={YEAR}", headers=api_token(client, "chenshihui"))
    assert r.status_code == 200
    assert any(rec.get("platform") == PLATFORM for rec in r.get_json()["records"])


def test_on_postgresql_a_retried_batch_and_a_concurrent_import_write_nothing_twice(pg_app):
    chen = person("陈诗慧")
    hospital = db.session.scalar(select(Organisation).where(Organisation.name == "市第一人民医院"))
    raw = {
        "id_number": chen.id_number,
        "name": "陈诗慧",
        "platform": PLATFORM,
        "course_name": "数字经济",
        "subject_type": "专业",
        "hours": "12.5",
        "completed_on": DAY,
        "result": "合格",
    }
    batch = Batch([(2, raw), (3, {**raw, "course_name": "急诊医学"})], hospital, actor("hospital_admin"))
    assert online_results._apply(batch) == {}  # noqa: SLF001
    db.session.commit()
    # another import stored one of the keys meanwhile: ON CONFLICT DO NOTHING refuses it, the new row lands
    again = Batch([(2, raw), (4, {**raw, "course_name": "院感防控"})], hospital, actor("hospital_admin"))
    refused = online_results._apply(again)  # noqa: SLF001
    db.session.commit()
    assert list(refused) == [2] and "已导入过" in refused[2]
    assert sorted(r.course_name for r in online_records()) == ["急诊医学", "数字经济", "院感防控"]
    assert {r.recognised_hours for r in online_records()} == {Decimal("12.5")}


def test_an_institution_imports_nothing_for_the_people_of_a_cancelled_class(client):
    """As for declarations (classes.workflow_hooks.is_student): enrolment in a class that was cancelled does not
    make the person the institution's student, so no archive hours can be imported for them."""
    from app.classes import services
    from app.classes.models import CANCELLED
    from app.training.demo import seed_catalogue, seed_plans
    from tests.test_classes import values

    seed_catalogue()
    seed_plans()
    row = services.create(actor("institute_admin"), None, values())
    former = Person(name="学员丙", id_number=id_number(803))
    db.session.add(former)
    db.session.flush()
    db.session.add(ClassMember(class_id=row.id, person_id=former.id, enrolled_at=utcnow(), subject_scores={}))
    row.status = CANCELLED
    db.session.commit()
    h = api_token(client, "institute_admin")
    body = run(client, h, xlsx([[former.id_number, "学员丙", PLATFORM, "数字经济", "公需", 6, DAY, "合格"]]))
    assert (body["succeeded"], body["failed"]) == (0, 1)
    assert online_records() == []
    assert sheet_of(client, h, body["failure_file_url"])[1][-1] == online_results.NOT_FOUND
